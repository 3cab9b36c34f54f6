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

func TestSet(t *testing.T) {
	s, err := origin.NewSet([]string{"https://app.example", "http://127.0.0.1:8080"})
	if err != nil || s.Len() != 2 {
		t.Fatalf("NewSet: %v, %d entries", err, s.Len())
	}
	for o, want := range map[string]bool{
		"https://app.example": true, "http://127.0.0.1:8080": true,
		"https://App.example": false, "https://app.example/": false, "https://app.example.evil": false,
		"http://app.example": false, "https://app.exampl": false, "": false, "null": false,
	} {
		if got := s.Contains(o); got != want {
			t.Errorf("Contains(%q) = %v, want %v", o, got, want)
		}
	}
	if _, err := origin.NewSet([]string{"https://app.example", "*"}); err == nil {
		t.Error("NewSet accepted a wildcard")
	}
	var zero origin.Set
	if zero.Len() != 0 || zero.Contains("https://app.example") {
		t.Error("the zero Set must be empty")
	}
}
