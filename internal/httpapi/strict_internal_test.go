package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// strictTarget has every shape a request body may take: strings, a bool,
// a claims map, a nested struct, a list of structs and an untyped value.
type strictTarget struct {
	Audience  string            `json:"audience"`
	Cookie    bool              `json:"cookie"`
	SessionID string            `json:"session_id"`
	Claims    map[string]string `json:"claims"`
	Inner     *strictInner      `json:"inner"`
	List      []strictInner     `json:"list"`
	Any       any               `json:"any"`
	Ignored   string            `json:"-"`
	//lint:ignore U1000 here to show that an unexported field takes no key
	unexported string
}

type strictInner struct {
	Key string `json:"key"`
}

// strictCases are bodies and what the strict decoder says of them. std
// marks bodies that encoding/json, even with DisallowUnknownFields, takes
// without an error: the reason the strict decoder exists.
var strictCases = []struct {
	name string
	body string
	want string // a part of the message; "" means accepted
	std  bool   // encoding/json accepts it
}{
	{"empty object", `{}`, "", true},
	{"every field", `{"audience":"chat","cookie":true,"session_id":"s1","claims":{"role":"admin","Role":"x"},"inner":{"key":"k"},"list":[{"key":"a"},{"key":"b"}],"any":{"x":[1,{"y":null}]}}`, "", true},
	{"escaped key is the same key", `{"audi\u0065nce":"chat"}`, "", true},
	{"surrogate pair", `{"audience":"\ud83d\ude00"}`, "", true},
	{"escaped backslash before u", `{"audience":"\\ud800"}`, "", true},
	{"null field", `{"audience":null}`, "", true},
	{"whitespace around", " \n\t{\"audience\":\"chat\"}\r\n ", "", true},

	{"duplicate key", `{"audience":"chat","audience":"echo"}`, `the field "audience" twice`, true},
	{"duplicate key, escaped", `{"audience":"chat","audi\u0065nce":"echo"}`, `the field "audience" twice`, true},
	{"duplicate in claims", `{"claims":{"role":"user","role":"admin"}}`, `a key twice in "claims"`, true},
	{"duplicate in a nested struct", `{"inner":{"key":"a","key":"b"}}`, `the field "inner.key" twice`, true},
	{"duplicate in a list element", `{"list":[{"key":"a"},{"key":"a","key":"b"}]}`, `the field "list.key" twice`, true},
	{"duplicate in an untyped value", `{"any":{"x":1,"x":2}}`, `a key twice in "any"`, true},
	{"duplicate deep in an untyped value", `{"any":[{"x":{"y":1,"y":2}}]}`, `a key twice in "any"`, true},
	{"upper case", `{"AUDIENCE":"echo"}`, `differs from "audience" only in case`, true},
	{"title case after the field", `{"audience":"chat","Audience":"echo"}`, `differs from "audience" only in case`, true},
	{"title case before the field", `{"Audience":"echo","audience":"chat"}`, `differs from "audience" only in case`, true},
	{"Kelvin sign", `{"inner":{"\u212aey":"k"}}`, `differs from "inner.key" only in case`, true},
	{"long s", `{"\u017fession_id":"s"}`, `differs from "session_id" only in case`, true},
	{"case in a nested struct", `{"inner":{"KEY":"k"}}`, `differs from "inner.key" only in case`, true},
	{"case in a list element", `{"list":[{"Key":"k"}]}`, `differs from "list.key" only in case`, true},
	{"a json:\"-\" field by its Go name", `{"Ignored":"x"}`, "unknown field", false},
	{"an unexported field", `{"unexported":"x"}`, "unknown field", false},

	{"unknown field", `{"audience":"chat","extra":1}`, `unknown field; its fields are "any", "audience", "claims", "cookie", "inner", "list", "session_id"`, false},
	{"unknown nested field", `{"inner":{"other":1}}`, `field "inner" has an unknown field; its fields are "key"`, false},
	{"invalid UTF-8", "{\"audience\":\"\xff\"}", "not valid UTF-8", true},
	{"lone high surrogate", `{"audience":"\ud800"}`, "lone UTF-16 surrogate", true},
	{"lone high surrogate at the end", `{"audience":"a\uD800"}`, "lone UTF-16 surrogate", true},
	{"high surrogate and a letter escape", `{"audience":"\ud800\n"}`, "lone UTF-16 surrogate", true},
	{"two high surrogates", `{"audience":"\ud800\ud800"}`, "lone UTF-16 surrogate", true},
	{"lone low surrogate", `{"audience":"\udc00"}`, "lone UTF-16 surrogate", true},
	{"lone surrogate in a key", `{"claims":{"\udfff":"x"}}`, "lone UTF-16 surrogate", true},
	{"null", `null`, "not a JSON object", true},
	{"array", `[{"audience":"chat"}]`, "not a JSON object", false},
	{"string", `"audience"`, "not a JSON object", false},
	{"trailing data", `{"audience":"chat"} x`, "data after the JSON object", true},
	{"two objects", `{}{}`, "data after the JSON object", true},
	{"truncated", `{"audience":"chat"`, "not valid JSON", false},
	{"missing value", `{"audience":}`, "not valid JSON", false},
	{"number key", `{1:2}`, "not valid JSON", false},
	{"wrong type", `{"audience":1}`, `field "audience" must be a string`, false},
	{"wrong nested type", `{"inner":{"key":true}}`, `field "inner.key" must be a string`, false},
	{"wrong type for a map", `{"claims":[]}`, `field "claims" must be an object`, false},
	{"too deep", `{"any":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`, "deeper than", true},
	{"just deep enough", `{"any":` + strings.Repeat("[", maxDepth-2) + strings.Repeat("]", maxDepth-2) + `}`, "", true},
}

func TestUnmarshalStrict(t *testing.T) {
	t.Parallel()
	for _, tc := range strictCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got strictTarget
			err := unmarshalStrict([]byte(tc.body), &got)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error with %q: %+v", tc.want, got)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want one with %q", err, tc.want)
			}
			var std strictTarget
			dec := json.NewDecoder(strings.NewReader(tc.body))
			dec.DisallowUnknownFields()
			stdErr := dec.Decode(&std)
			if tc.std != (stdErr == nil) {
				t.Errorf("encoding/json: %v; the table says it accepts it: %v", stdErr, tc.std)
			}
			if err == nil && !reflect.DeepEqual(got, std) {
				t.Errorf("decoded %+v, encoding/json %+v", got, std)
			}
		})
	}
}

// TestDecodeMessagesNameNoClientKey: a refusal names fields of the
// request type, never a key the client sent (it could be a secret pasted
// in the wrong place, and refusals are logged).
func TestDecodeMessagesNameNoClientKey(t *testing.T) {
	t.Parallel()
	const secret = "wst_SECRETSECRETSECRET"
	for _, body := range []string{
		`{"` + secret + `":1}`,
		`{"inner":{"` + secret + `":1}}`,
		`{"claims":{"` + secret + `":"a","` + secret + `":"b"}}`,
		`{"any":{"` + secret + `":1,"` + secret + `":2}}`,
		`{"` + strings.ToUpper(secret) + `":1}`,
		`{"` + secret + `":1,"` + secret + `":2}`,
		`{"inner":{"` + secret + `":1,"` + secret + `":2}}`,
	} {
		err := unmarshalStrict([]byte(body), &strictTarget{})
		if err == nil {
			t.Fatalf("%s accepted", body)
		}
		if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret)) {
			t.Errorf("the message repeats the client's key: %v", err)
		}
	}
}

// FuzzUnmarshalStrict: whatever the body, the strict decoder does not
// panic and refuses with a short message, and it accepts exactly the
// bodies that are one valid JSON object, in valid UTF-8 without a lone
// surrogate escape, nested at most maxDepth deep, without a duplicate key
// or a name that is not a field's exact name at any depth, and that
// encoding/json decodes without an error; what it accepts it reads as
// encoding/json does. The conditions are checked here independently, with
// encoding/json's token stream and a generic decode.
func FuzzUnmarshalStrict(f *testing.F) {
	for _, tc := range strictCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got strictTarget
		err := unmarshalStrict(body, &got)
		if err != nil {
			if msg := err.Error(); msg == "" || len(msg) > 200 || !utf8.ValidString(msg) {
				t.Fatalf("message %q", msg)
			}
		}
		clean, known := strictOracle(body)
		if known && clean != (err == nil) {
			t.Fatalf("strict decoder: %v; the independent checks say clean=%v, for %q", err, clean, body)
		}
		if err != nil {
			return
		}
		var std strictTarget
		if err := json.Unmarshal(body, &std); err != nil || !reflect.DeepEqual(got, std) {
			t.Fatalf("accepted %q as %+v; encoding/json: %+v, %v", body, got, std, err)
		}
	})
}

// strictOracle decides, without the strict decoder, whether body is one
// it must accept. known is false when a U+FFFD in the body hides whether
// a lone surrogate was replaced by one.
func strictOracle(body []byte) (clean, known bool) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return false, true
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); trimmed[0] != '{' {
		return false, true
	}
	var generic any
	if json.Unmarshal(body, &generic) != nil {
		return false, true
	}
	if containsFFFD(generic) {
		if bytes.Contains(body, []byte("\ufffd")) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
			return false, false
		}
		return false, true // a lone surrogate became U+FFFD
	}
	n, depth := keyTokens(body)
	if n != keysIn(generic) || depth > maxDepth {
		return false, true
	}
	if !exactNames(generic.(map[string]any), reflect.TypeFor[strictTarget]()) {
		return false, true
	}
	var std strictTarget
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(&std) == nil, true
}

func containsFFFD(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, utf8.RuneError)
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, utf8.RuneError) || containsFFFD(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if containsFFFD(e) {
				return true
			}
		}
	}
	return false
}

// keyTokens counts the object keys in the token stream of body, valid
// JSON, duplicates included, and its deepest nesting of containers.
func keyTokens(body []byte) (keys, maxNesting int) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var inObject []bool // per open container: an object?
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return keys, maxNesting
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			inObject = append(inObject, tok == json.Delim('{'))
			maxNesting = max(maxNesting, len(inObject))
			expectKey = tok == json.Delim('{')
			continue
		case json.Delim('}'), json.Delim(']'):
			inObject = inObject[:len(inObject)-1]
		default:
			if expectKey {
				keys++
				expectKey = false
				continue
			}
		}
		expectKey = len(inObject) > 0 && inObject[len(inObject)-1]
	}
}

// keysIn counts the keys of every map in v.
func keysIn(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			n += 1 + keysIn(e)
		}
	case []any:
		for _, e := range v {
			n += keysIn(e)
		}
	}
	return n
}

// exactNames reports whether every key of m is the exact JSON name of a
// field of typ, recursively into nested structs and lists of them.
func exactNames(m map[string]any, typ reflect.Type) bool {
	names := map[string]reflect.Type{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "-" && f.IsExported() {
			names[name] = deref(f.Type)
		}
	}
	for k, v := range m {
		ft, ok := names[k]
		if !ok {
			return false
		}
		switch {
		case ft.Kind() == reflect.Struct:
			if sub, ok := v.(map[string]any); ok && !exactNames(sub, ft) {
				return false
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			list, _ := v.([]any)
			for _, e := range list {
				if sub, ok := e.(map[string]any); ok && !exactNames(sub, ft.Elem()) {
					return false
				}
			}
		}
	}
	return true
}

// BenchmarkUnmarshalStrict compares the strict decoder with a plain
// encoding/json decode of the same redeem body.
func BenchmarkUnmarshalStrict(b *testing.B) {
	body := []byte(`{"ticket":"wst_AfN8OdBuoEgwfyOVzGE7mNFaU-2odLhHb5chDza383ys5NHBqP9Lj4z3MsY8rGAfdg","client_ip":"203.0.113.7","origin":"https://app.example.test","audience":"chat"}`)
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req redeemRequest
			if err := unmarshalStrict(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req redeemRequest
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
