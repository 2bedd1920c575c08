package outbound

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func TestClientNeverFollowsRedirectsNorSendsReferer(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	var referer atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		referer.Store(r.Header.Get("Referer"))
		http.Redirect(w, r, other.URL+"/next/secret-path", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	for name, c := range map[string]*http.Client{
		"new":                              NewClient(),
		"from a default one":               Client(&http.Client{}),
		"from one that follows everything": Client(&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}),
		"wrapped twice":                    Client(Client(nil)),
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hook/secret", strings.NewReader("{}"))
		req.Header.Set("Referer", "https://driftd.example/secret")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect || !IsRedirect(resp.StatusCode) {
			t.Errorf("%s: status %d, want the 307 itself", name, resp.StatusCode)
		}
		if got := RedirectNote(resp); got != "redirect to "+other.URL+" not followed" {
			t.Errorf("%s: note %q", name, got)
		}
		if r := referer.Load(); r != "" {
			t.Errorf("%s: Referer %q sent", name, r)
		}
	}
	if elsewhere.Load() != 0 {
		t.Errorf("redirect followed %d times", elsewhere.Load())
	}
	if _, ok := Client(Client(nil)).Transport.(noReferer).rt.(noReferer); ok {
		t.Error("transport wrapped twice")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T/B/X":           "https://hooks.slack.com/<redacted>",
		"http://user:pw@host:8080/p?token=1":               "http://host:8080/<redacted>",
		"not a url":                                        "<redacted-url>",
		"http://[::1]:namedport/x":                         "<redacted-url>",
		"https://alertmanager.example.com:9093/api/v2":     "https://alertmanager.example.com:9093/<redacted>",
		"https://approver:hunter22@gate.example/hook?sig=": "https://gate.example/<redacted>",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactorScrubsEveryPart: user, password, path, query and each query
// value of a secret URL disappear from text, however it is spelt.
func TestRedactorScrubsEveryPart(t *testing.T) {
	raw := "https://approver:hunter22pw@gate.example:8443/v1/hooks/abcd1234?token=TOK3N-value&sig=S1GNATURE%2Fx"
	r := NewRedactor(raw, "plain-secret-value")
	secrets := []string{"approver", "hunter22pw", "v1/hooks/abcd1234", "TOK3N-value", "S1GNATURE/x", "S1GNATURE%2Fx", "plain-secret-value"}
	for _, text := range []string{
		"POST " + raw + ": connection refused",
		`Post "https://approver:***@gate.example:8443/v1/hooks/abcd1234?token=TOK3N-value&sig=S1GNATURE%2Fx": EOF`,
		"server said: bad token TOK3N-value for approver (sig S1GNATURE/x) plain-secret-value",
		"escaped: " + url.QueryEscape("TOK3N-value") + " " + url.PathEscape("v1/hooks/abcd1234"),
	} {
		got := r.Scrub(text)
		for _, s := range secrets {
			if strings.Contains(got, s) {
				t.Errorf("%q survives in %q", s, got)
			}
		}
		if !strings.Contains(got, "<redacted>") {
			t.Errorf("nothing redacted in %q", got)
		}
	}
	// url.Error (what net/http returns) is rebuilt with the origin only.
	err := &url.Error{Op: "Post", URL: raw, Err: errors.New("dial tcp: connection refused")}
	if got := r.Error(err); got != "Post https://gate.example:8443/<redacted>: dial tcp: connection refused" {
		t.Errorf("Error = %q", got)
	}
	// Short pieces are left alone (they would mangle ordinary text).
	if got := NewRedactor("http://a:b@h/x?k=v").Scrub("a b x v"); got != "a b x v" {
		t.Errorf("short pieces scrubbed: %q", got)
	}
}
