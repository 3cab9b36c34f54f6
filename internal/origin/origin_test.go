package origin_test

import (
	"testing"

	"github.com/wsticket/wsticket/internal/origin"
)

func TestCheck(t *testing.T) {
	valid := []string{"https://app.example", "http://127.0.0.1:8080", "http://[::1]:9000", "https://xn--bcher-kva.example"}
	invalid := []string{
		"", "*", "null", "app.example", "https://app.example/", "https://app.example/path",
		"https://App.example", "HTTPS://app.example", "https://app.example?x=1", "https://app.example#f",
		"https://user@app.example", "https://", "://app.example", " https://app.example", "https://*.example",
	}
	for _, s := range valid {
		if err := origin.Check(s); err != nil {
			t.Errorf("Check(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range invalid {
		if err := origin.Check(s); err == nil {
			t.Errorf("Check(%q) = nil, want an error", s)
		}
	}
}
