package envelope

import (
	"errors"
	"testing"
)

func TestParseAuthHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Auth
		ok   bool
	}{
		// sentry-go and sentry-python (captured), different orders.
		{"Sentry sentry_version=7, sentry_client=sentry.go/0.50.0, sentry_key=abc123def456", Auth{Key: "abc123def456", Version: "7", Client: "sentry.go/0.50.0"}, true},
		{"Sentry sentry_key=abc123def456, sentry_version=7, sentry_client=sentry.python/1.9.10", Auth{Key: "abc123def456", Version: "7", Client: "sentry.python/1.9.10"}, true},
		{"sentry sentry_key=k,sentry_secret=s,sentry_timestamp=1700000000", Auth{Key: "k", Secret: "s"}, true},
		{"SENTRY   sentry_key = k ,, sentry_version=8 ,", Auth{Key: "k", Version: "8"}, true},
		{"Sentry key=k, version=7, client=c", Auth{Key: "k", Version: "7", Client: "c"}, true},
		{"  Sentry sentry_key=a, sentry_key=b", Auth{Key: "b"}, true},
		{"Sentry sentry_key=k, sentry_client=a=b", Auth{Key: "k", Client: "a=b"}, true},
		{"Sentry sentry_version=7", Auth{}, false},
		{"Sentry sentry_key=, sentry_version=7", Auth{}, false},
		{"Sentry sentry_key=k, sentry_version=9", Auth{}, false},
		{"Sentry sentry_key=k, sentry_version=seven", Auth{}, false},
		{"Sentry sentry_key=k, sentry_version=0", Auth{}, false},
		{"Basic YWJjOg==", Auth{}, false},
		{"Sentrysentry_key=k", Auth{}, false},
		{"sentry_key=k", Auth{}, false},
		{"", Auth{}, false},
	} {
		got, err := ParseAuthHeader(tc.in)
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseAuthHeader(%q): got %+v, %v, want %+v", tc.in, got, err, tc.want)
			}
		} else if !errors.Is(err, ErrInvalidAuth) || Reason(err) != "invalid_auth" {
			t.Errorf("ParseAuthHeader(%q): got %+v, %v, want ErrInvalidAuth", tc.in, got, err)
		}
	}
}

func TestParseAuthQuery(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Auth
		ok   bool
	}{
		// @sentry/node (captured).
		{"sentry_version=7&sentry_key=abc123def456&sentry_client=sentry.javascript.node%2F11.12.0", Auth{Key: "abc123def456", Version: "7", Client: "sentry.javascript.node/11.12.0"}, true},
		{"sentry_key=k&other=1&key=ignored", Auth{Key: "k"}, true},
		{"key=k", Auth{}, false},
		{"sentry_key=k&sentry_version=99", Auth{}, false},
		{"sentry_key=%zz", Auth{}, false},
		{"", Auth{}, false},
	} {
		got, err := ParseAuthQuery(tc.in)
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseAuthQuery(%q): got %+v, %v, want %+v", tc.in, got, err, tc.want)
			}
		} else if !errors.Is(err, ErrInvalidAuth) {
			t.Errorf("ParseAuthQuery(%q): got %+v, %v, want ErrInvalidAuth", tc.in, got, err)
		}
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want DSN
		ok   bool
	}{
		{"http://abc123def456@127.0.0.1:9777/42", DSN{Scheme: "http", Key: "abc123def456", Host: "127.0.0.1:9777", ProjectID: "42"}, true},
		{"https://pub:sec@o1.ingest.sentry.io/sentry/sub/1234/", DSN{Scheme: "https", Key: "pub", Secret: "sec", Host: "o1.ingest.sentry.io", Path: "/sentry/sub", ProjectID: "1234"}, true},
		{"HTTPS://k@[::1]:9000/7?x=1#f", DSN{Scheme: "https", Key: "k", Host: "[::1]:9000", ProjectID: "7"}, true},
		{"https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42", DSN{Scheme: "https", Key: "e12d836b15bb49d7bbf99e64295d995b", Host: "sentry.io", ProjectID: "42"}, true},
		{"ftp://k@h/1", DSN{}, false},
		{"http://h/1", DSN{}, false},
		{"http://:s@h/1", DSN{}, false},
		{"http://k@/1", DSN{}, false},
		{"http://k@h", DSN{}, false},
		{"http://k@h/", DSN{}, false},
		{"http://k@h/abc", DSN{}, false},
		{"http://k@h/1a", DSN{}, false},
		{"://", DSN{}, false},
		{"", DSN{}, false},
	} {
		got, err := ParseDSN(tc.in)
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseDSN(%q): got %+v, %v, want %+v", tc.in, got, err, tc.want)
			}
			if again, err := ParseDSN(got.String()); err != nil || again != got {
				t.Errorf("ParseDSN(%q).String() = %q does not round-trip: %+v, %v", tc.in, got.String(), again, err)
			}
		} else if !errors.Is(err, ErrInvalidDSN) || Reason(err) != "invalid_dsn" {
			t.Errorf("ParseDSN(%q): got %+v, %v, want ErrInvalidDSN", tc.in, got, err)
		}
	}
}
