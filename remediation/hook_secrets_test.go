package remediation

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHookNeverLeaksItsURLNorFollowsRedirects reproduces the probe: a hook
// URL with credentials and a token. Whatever happens (unreachable, a
// redirect to another host, an answer echoing the request, a URL that does
// not parse), the veto reason names no secret, and a redirect is a veto
// without any request to its target.
func TestHookNeverLeaksItsURLNorFollowsRedirects(t *testing.T) {
	secrets := []string{"approver", "hunter22pw", "TOK3N-value", "SIGvalue99", "hooks/abcd1234"}
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Referer") != "" {
			t.Errorf("Referer sent: %q", r.Header.Get("Referer"))
		}
		switch {
		case strings.HasPrefix(r.URL.Path, "/redirect"):
			w.Header().Set("Location", other.URL+"/steal/hooks/abcd1234?token=TOK3N-value")
			w.WriteHeader(http.StatusTemporaryRedirect)
		default: // echo everything back, the worst case for leaks
			u, p, _ := r.BasicAuth()
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("denied " + r.URL.String() + " for " + u + ":" + p))
		}
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	hostOf := func(u string) string { return strings.TrimPrefix(u, "http://") }
	creds := "approver:hunter22pw@"
	query := "?token=TOK3N-value&sig=SIGvalue99"
	p := HookPayload{Version: HookPayloadVersion, Action: ActionSetInstanceHealth, Group: "web", InstanceID: "i-1", Severity: "high", Reason: "r"}
	for _, tc := range []struct {
		url, want string
	}{
		{"http://" + creds + dead + "/hooks/abcd1234" + query, "hook unreachable: Post http://" + dead + "/<redacted>: "},
		{"http://" + creds + hostOf(srv.URL) + "/redirect/hooks/abcd1234" + query, "hook answered 307: redirect to " + other.URL + " not followed"},
		{"http://" + creds + hostOf(srv.URL) + "/deny/hooks/abcd1234" + query, "hook answered 403: denied /<redacted>?<redacted> for <redacted>"},
		{"http://" + creds + hostOf(srv.URL) + "/hooks/abcd1234%zz" + query, "building hook request for <redacted-url>: invalid URL"},
	} {
		for _, client := range []*http.Client{nil, {}} { // a caller's client that would follow redirects
			h := &Hook{URL: tc.url, Timeout: 2 * time.Second, Client: client}
			ok, reason := h.Allow(context.Background(), p)
			if ok || !strings.HasPrefix(reason, tc.want) {
				t.Errorf("%s: %v %q, want prefix %q", tc.url, ok, reason, tc.want)
			}
			for _, s := range secrets {
				if strings.Contains(reason, s) {
					t.Errorf("reason leaks %q: %s", s, reason)
				}
			}
		}
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the redirect target received %d requests", elsewhere.Load())
	}
}
