package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"unicode/utf8"

	"github.com/wsticket/wsticket/internal/apierror"
)

// decode is the one decoder of every request body: it reads one JSON
// object from r's body into v, a pointer to the request's struct, and
// answers anything else with an *apierror.Error to send as it is (400 or
// 413, with a message that names the problem). A body is refused when it
//
//   - is over MaxBodyBytes (413);
//   - is not valid UTF-8, or escapes a lone UTF-16 surrogate (encoding/json
//     would replace either with U+FFFD);
//   - is not exactly one JSON object: null, an array, a second value or
//     any other data after it;
//   - has a key twice in one object, at any depth (encoding/json keeps the
//     last), or a key that is a field's name in another case (encoding/json
//     matches names ignoring case), or any key that is not a field: unknown
//     fields are refused, not ignored, so a misspelt or misplaced field is
//     an error rather than a silent default;
//   - gives a field a value of the wrong type.
//
// An empty body leaves v as it is when allowEmpty. A new endpoint reuses
// it as it is:
//
//	var req struct {
//		SessionID string `json:"session_id"`
//	}
//	if e := decode(w, r, &req, false); e != nil {
//		a.fail(w, r, "revoke_login", e)
//		return
//	}
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) *apierror.Error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apierror.Error{Status: http.StatusRequestEntityTooLarge, Code: apierror.CodeTooLarge, Message: "request body too large"}
	case err != nil:
		return badRequest("request body could not be read")
	case len(bytes.TrimSpace(body)) == 0:
		if allowEmpty {
			return nil
		}
		return badRequest("request body is empty")
	}
	if e := unmarshalStrict(body, v); e != nil {
		return badRequest(e.Error())
	}
	return nil
}

// unmarshalStrict is decode's check and decoding of a body read in full;
// the error is the client-facing message.
func unmarshalStrict(body []byte, v any) error {
	switch {
	case !utf8.Valid(body):
		return errors.New("request body is not valid UTF-8")
	case hasLoneSurrogate(body):
		return errors.New(`request body is not valid UTF-8: a \u escape of a lone UTF-16 surrogate`)
	}
	if err := checkNames(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // checkNames refused them already
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return fmt.Errorf("request body field %q must be %s", typeErr.Field, jsonKind(typeErr.Type))
		}
		return errors.New("request body is not the expected JSON object")
	}
	return nil
}

// jsonKind names the JSON a Go type is decoded from, for messages.
func jsonKind(t reflect.Type) string {
	switch deref(t).Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

func badRequest(msg string) *apierror.Error {
	return &apierror.Error{Status: http.StatusBadRequest, Code: apierror.CodeBadRequest, Message: msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
