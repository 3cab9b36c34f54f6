package ratelimit_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
)

func TestParseLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    ratelimit.Limit
		wantErr bool
	}{
		{in: "", want: ratelimit.Limit{}},
		{in: "off", want: ratelimit.Limit{}},
		{in: "20/1m", want: ratelimit.Limit{N: 20, Per: time.Minute}},
		{in: "60/1m", want: ratelimit.Limit{N: 60, Per: time.Minute}},
		{in: "1/1s", want: ratelimit.Limit{N: 1, Per: time.Second}},
		{in: "600/1h30m", want: ratelimit.Limit{N: 600, Per: 90 * time.Minute}},
		{in: "3/24h", want: ratelimit.Limit{N: 3, Per: 24 * time.Hour}},
		{in: "20", wantErr: true},
		{in: "20/", wantErr: true},
		{in: "/1m", wantErr: true},
		{in: "0/1m", wantErr: true},
		{in: "-1/1m", wantErr: true},
		{in: "x/1m", wantErr: true},
		{in: "20/1", wantErr: true},
		{in: "20/m", wantErr: true},
		{in: "20/0s", wantErr: true},
		{in: "20/-1m", wantErr: true},
		{in: "20/25h", wantErr: true},
		{in: "20/1m/1m", wantErr: true},
		{in: " 20/1m", wantErr: true},
		{in: "2000/1us", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ratelimit.ParseLimit(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseLimit(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLimit(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if tt.in != "" {
				back, err := ratelimit.ParseLimit(got.String())
				if err != nil || back != got {
					t.Errorf("ParseLimit(%q.String() = %q) = %+v, %v", tt.in, got.String(), back, err)
				}
			}
			if got.IsZero() != (tt.in == "" || tt.in == "off") {
				t.Errorf("IsZero() = %v for %q", got.IsZero(), tt.in)
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int64{
		0: 1, time.Nanosecond: 1, time.Second: 1, time.Second + 1: 2, 20 * time.Second: 20, 59500 * time.Millisecond: 60,
	} {
		if got := ratelimit.RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestIPKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":               "203.0.113.7",
		"::ffff:203.0.113.7":        "203.0.113.7",
		"2001:db8:1:2:aaaa::1":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":           "2001:db8:1:3::/64",
		"fe80::1%eth0":              "fe80::/64",
	} {
		if got := ratelimit.IPKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("IPKey(%s) = %s, want %s", in, got, want)
		}
	}
}
