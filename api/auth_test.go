package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/telltale-dev/telltale/storage/storagetest"
)

// TestQueryNeedsToken checks that /api/v1/ answers only a request with one
// of the configured Bearer tokens, and that the rest of the server does not
// ask for one.
func TestQueryNeedsToken(t *testing.T) {
	reg := prometheus.NewRegistry()
	db := storagetest.OpenTemp(t)
	_, base := startTestServer(t, Config{Addr: "127.0.0.1:0", Tokens: []string{"first-token-0123456789", "second-token-0123456789"}},
		nil, reg, func(s *Server) error { return s.EnableQuery(db, QueryConfig{}, reg) })
	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/api/v1/status/buildinfo", "", 401},
		{"/api/v1/status/buildinfo", "Bearer wrong-token-0123456789", 401},
		{"/api/v1/status/buildinfo", "Basic Zmlyc3QtdG9rZW4tMDEyMzQ1Njc4OQ==", 401},
		{"/api/v1/status/buildinfo", "Bearer first-token-012345678", 401}, // a prefix
		{"/api/v1/status/buildinfo", "Bearer first-token-0123456789", 200},
		{"/api/v1/query?query=1", "Bearer second-token-0123456789", 200},
		{"/healthz", "", 200},
		{"/metrics", "", 200},
	} {
		req, _ := http.NewRequest("GET", base+c.path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s with %q = %d, want %d", c.path, c.auth, resp.StatusCode, c.want)
		}
		if c.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET %s: 401 without a Bearer challenge", c.path)
		}
	}
}
