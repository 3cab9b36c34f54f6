package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/wsticket/wsticket/internal/apierror"
)

// decode reads one JSON object from r's body into v: at most MaxBodyBytes,
// valid UTF-8 throughout (encoding/json would silently replace invalid
// bytes), no unknown fields, nothing after the object. An empty body leaves
// v as it is when allowEmpty; a JSON null is never an object.
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
	case !utf8.Valid(body):
		return badRequest("request body is not valid UTF-8")
	case bytes.Equal(bytes.TrimSpace(body), []byte("null")):
		return badRequest("request body is not the expected JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("request body is not the expected JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("request body has data after the JSON object")
	}
	return nil
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
