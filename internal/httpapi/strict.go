package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// maxDepth is how deeply a request body may nest objects and arrays. No
// request type comes near it.
const maxDepth = 32

// checkNames walks the JSON value in body and refuses, at every level of
// nesting, what encoding/json would take silently:
//
//   - a key twice in one object (encoding/json keeps the last one);
//   - a key that names a field of t only when compared ignoring case
//     (encoding/json matches names case-insensitively), and any other key
//     that is not one of t's fields;
//   - anything but one JSON object, or data after it.
//
// t is the type body will be decoded into; map values, slice elements and
// nested structs are checked against their own types, and a value with no
// type to compare against (an interface, a json.Unmarshaler) only for
// duplicate keys. The error is a client-facing message, which names only
// fields of t, never a key the client sent: a client's key could be a
// secret pasted in the wrong place, and the message is logged.
func checkNames(body []byte, t reflect.Type) error {
	s := scanner{b: body}
	s.space()
	switch s.peek() {
	case '{':
		s.i++
	case '[', '"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return errNotObject
	default:
		return errNotJSON
	}
	if err := s.object(deref(t), "", 1); err != nil {
		return err
	}
	s.space()
	if s.i != len(s.b) {
		return errTrailing
	}
	return nil
}

var (
	errNotJSON   = errors.New("request body is not valid JSON")
	errNotObject = errors.New("request body is not a JSON object")
	errTrailing  = errors.New("request body has data after the JSON object")
	errTooDeep   = fmt.Errorf("request body nests objects and arrays deeper than %d levels", maxDepth)
)

// scanner walks JSON text for checkNames. It finds the structure (objects,
// arrays, strings, where each ends) and reads keys exactly; the syntax of
// numbers and literals is left to encoding/json, which decodes the body
// after it.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value walks one value, checking every object in it against t.
func (s *scanner) value(t reflect.Type, path string, depth int) error {
	s.space()
	switch s.peek() {
	case '{':
		s.i++
		return s.object(t, path, depth+1)
	case '[':
		s.i++
		return s.array(t, path, depth+1)
	case '"':
		_, _, err := s.str()
		return err
	}
	start := s.i // a number or a literal
	for s.i < len(s.b) && literalByte(s.b[s.i]) {
		s.i++
	}
	if s.i == start {
		return errNotJSON
	}
	return nil
}

func literalByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'E'
}

// str reads the string at s.i: its text between the quotes, as written,
// and whether it holds escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	s.i++ // the opening quote
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], escaped, nil
		case c == '\\':
			escaped = true
			s.i += 2 // the escaped byte; \u's digits are read as text
		case c < 0x20:
			return nil, false, errNotJSON
		default:
			s.i++
		}
	}
	return nil, false, errNotJSON
}

// key reads an object's key as encoding/json decodes it. A key that is a
// field's exact name, as nearly all are, is returned as that name, without
// a copy.
func (s *scanner) key(fields *structFields) (string, error) {
	if s.peek() != '"' {
		return "", errNotJSON
	}
	start := s.i
	raw, escaped, err := s.str()
	switch {
	case err != nil:
		return "", err
	case !escaped:
		if fields != nil {
			if f, ok := fields.byName[string(raw)]; ok {
				return f.name, nil
			}
		}
		return string(raw), nil
	}
	var k string
	if json.Unmarshal(s.b[start:s.i], &k) != nil {
		return "", errNotJSON
	}
	return k, nil
}

// array walks the elements of an array whose '[' has been read.
func (s *scanner) array(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && !unmarshals(t) {
		elem = deref(t.Elem())
	}
	s.space()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(elem, path, depth); err != nil {
			return err
		}
		s.space()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return errNotJSON
		}
	}
}

// object walks the members of an object whose '{' has been read.
func (s *scanner) object(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	var fields *structFields
	var elem reflect.Type // the type of every member's value, for a map
	switch {
	case t == nil || unmarshals(t):
	case t.Kind() == reflect.Struct:
		fields = fieldsOf(t)
	case t.Kind() == reflect.Map:
		elem = deref(t.Elem())
	}
	s.space()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	var seen keySet
	seen.list = seen.small[:0]
	for {
		s.space()
		key, err := s.key(fields)
		if err != nil {
			return err
		}
		if !seen.add(key) {
			return duplicateKey(fields, key, path)
		}
		vt, sub := elem, path
		if fields != nil {
			f, ok := fields.byName[key]
			if !ok {
				return fields.unknown(key, path)
			}
			vt, sub = f.typ, join(path, key)
		}
		s.space()
		if s.peek() != ':' {
			return errNotJSON
		}
		s.i++
		if err := s.value(vt, sub, depth); err != nil {
			return err
		}
		s.space()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errNotJSON
		}
	}
}

// keySet is the keys of one object: a list while it is short, as request
// bodies' objects are, a map beyond.
type keySet struct {
	small [8]string
	list  []string
	m     map[string]struct{}
}

// add adds k, reporting false when it was there already.
func (ks *keySet) add(k string) bool {
	if ks.m != nil {
		if _, ok := ks.m[k]; ok {
			return false
		}
		ks.m[k] = struct{}{}
		return true
	}
	for _, o := range ks.list {
		if o == k {
			return false
		}
	}
	ks.list = append(ks.list, k)
	if len(ks.list) > 16 {
		ks.m = make(map[string]struct{}, 2*len(ks.list))
		for _, o := range ks.list {
			ks.m[o] = struct{}{}
		}
	}
	return true
}

// duplicateKey names the field given twice, or only where it was for a
// key that is not a field name (a map key, or an untyped object's).
func duplicateKey(fields *structFields, key, path string) error {
	if fields != nil {
		return fmt.Errorf("request body has the field %q twice", join(path, key))
	}
	if path == "" {
		return errors.New("request body has a key twice")
	}
	return fmt.Errorf("request body has a key twice in %q", path)
}

// unknown explains a key that is not one of the fields: a field name in
// another case, or no field at all.
func (fs *structFields) unknown(key, path string) error {
	for _, name := range fs.names {
		if strings.EqualFold(name, key) {
			return fmt.Errorf("request body has a field that differs from %q only in case: field names are case-sensitive", join(path, name))
		}
	}
	where := "request body"
	if path != "" {
		where = fmt.Sprintf("request body field %q", path)
	}
	if len(fs.names) == 0 {
		return errors.New(where + " must be an empty object: it takes no fields")
	}
	return fmt.Errorf("%s has an unknown field; its fields are %s", where, quoteList(fs.names))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// structFields are the JSON names of a struct's fields, as encoding/json
// names them, and each field's type.
type structFields struct {
	byName map[string]field
	names  []string // sorted
}

type field struct {
	name string
	typ  reflect.Type
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*structFields)
	}
	fs := &structFields{byName: map[string]field{}}
	addFields(fs, t)
	for name := range fs.byName {
		fs.names = append(fs.names, name)
	}
	sort.Strings(fs.names)
	fieldCache.Store(t, fs)
	return fs
}

// addFields adds t's fields, and those of its embedded structs, following
// encoding/json's rules for names: the tag's name, else the Go name; "-"
// and unexported fields are left out.
func addFields(fs *structFields, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if ft := deref(f.Type); ft.Kind() == reflect.Struct {
				addFields(fs, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs.byName[name] = field{name, deref(f.Type)}
	}
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// unmarshals reports whether t decodes itself, so its JSON has no fields
// to compare against.
func unmarshals(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

// hasLoneSurrogate reports whether a JSON string in body holds a \u escape
// of a UTF-16 surrogate that is not half of a pair: encoding/json would
// turn it into U+FFFD without a word, so what was sent is not what is
// read. body is valid UTF-8; its syntax is checked elsewhere.
func hasLoneSurrogate(body []byte) bool {
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(body) && body[i+1] != 'u' {
				i++ // a one-letter escape, such as \" or \\
				continue
			}
			r, ok := hex4(body, i+2)
			if !ok {
				continue // a syntax error, reported by the decoder
			}
			i += 5
			switch {
			case 0xDC00 <= r && r <= 0xDFFF:
				return true // a low half first
			case 0xD800 <= r && r <= 0xDBFF:
				low, ok := rune(0), i+2 < len(body) && body[i+1] == '\\' && body[i+2] == 'u'
				if ok {
					low, ok = hex4(body, i+3)
				}
				if !ok || low < 0xDC00 || low > 0xDFFF {
					return true
				}
				i += 6
			}
		}
	}
	return false
}

// hex4 reads the four hex digits of a \u escape at body[i:].
func hex4(body []byte, i int) (rune, bool) {
	if i+4 > len(body) {
		return 0, false
	}
	var r rune
	for _, c := range body[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
