package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/wsticket/wsticket/internal/apierror"
)

// decode reads one JSON object from r's body into v: at most MaxBodyBytes,
// no unknown fields, nothing after the object. An empty body leaves v as it
// is when allowEmpty.
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) *apierror.Error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && allowEmpty {
		return nil
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apierror.Error{Status: http.StatusRequestEntityTooLarge, Code: apierror.CodeTooLarge, Message: "request body too large"}
	case err != nil:
		return badRequest("request body is not the expected JSON object")
	case dec.More():
		return badRequest("request body has data after the JSON object")
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
