package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// routeUnmatched labels a request no ServeMux pattern matched (one
// refused before routing, such as a non-canonical path).
const routeUnmatched = "unmatched"

// HTTP returns next wrapped to count each request by route pattern and
// status code (wsticket_http_requests_total) and time it by route
// (wsticket_http_request_duration_seconds). The route is the pattern of
// the innermost http.ServeMux that routed the request (such as
// "/v1/users/{user_id}/tickets/revoke"), never the raw path, so the label
// set is the server's routes. A nil *Metrics returns next.
func (m *Metrics) HTTP(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// ServeMux records its pattern in the request it is handed; a
		// shallow copy keeps an outer mux's pattern from standing in for
		// a request the inner one never routed.
		r = r.WithContext(r.Context())
		r.Pattern = ""
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = routeUnmatched
		}
		code := sw.status
		if code == 0 {
			code = http.StatusOK
		}
		m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		m.httpSeconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
