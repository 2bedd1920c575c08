// Package outbound is how driftd calls the HTTP endpoints its operators
// name — webhook, Slack and Alertmanager sinks (alerting) and the
// remediation pre-action hook — and how it keeps their secrets out of logs,
// errors and API output.
//
// Those URLs are credentials: a Slack incoming-webhook path, a token in a
// query string, user:password in the authority. So the client never follows
// a redirect (a 3xx answer is the final response, reported with the
// redirect's origin only), never sends a Referer, and every message that
// could quote the URL goes through one Redactor.
package outbound

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// NewClient returns the HTTP client for operator-named endpoints: the
// default transport, no redirects followed, no Referer sent. Per-request
// timeouts come from the caller's context.
func NewClient() *http.Client { return Client(nil) }

// Client returns a copy of c (nil: a new default client) that does not
// follow redirects and strips any Referer header, whatever c was configured
// with. The copy shares c's transport (connection pool).
func Client(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	if _, ok := out.Transport.(noReferer); !ok {
		out.Transport = noReferer{out.Transport}
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// noReferer removes the Referer header before a request leaves.
type noReferer struct{ rt http.RoundTripper }

func (t noReferer) RoundTrip(r *http.Request) (*http.Response, error) {
	rt := t.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	if _, ok := r.Header["Referer"]; ok {
		r = r.Clone(r.Context())
		r.Header.Del("Referer")
	}
	return rt.RoundTrip(r)
}

// IsRedirect reports whether an HTTP status is a redirection (3xx).
func IsRedirect(status int) bool { return status >= 300 && status < 400 }

// RedirectNote describes a redirect that was not followed, naming only the
// origin of its target (the target's path may be as secret as the URL's):
// "redirect to https://other.example.com not followed".
func RedirectNote(resp *http.Response) string {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "redirect not followed"
	}
	target, err := resp.Request.URL.Parse(loc)
	if err != nil || target.Host == "" {
		return "redirect not followed"
	}
	return "redirect to " + Origin(target) + " not followed"
}

// Origin returns scheme://host[:port] of u, without user information.
func Origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// RedactURL keeps only the scheme and host (and port) of a URL: user
// information, path and query of operator-named endpoints are secrets.
// "https://user:pw@hooks.example.com/T/B/X?token=1" becomes
// "https://hooks.example.com/<redacted>".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<redacted-url>"
	}
	return Origin(u) + "/<redacted>"
}

// Redactor scrubs known secrets from text: whole URLs and their secret
// parts (user information, path, query, each query value), in every
// spelling (raw, query-escaped, path-escaped), and other secrets given
// verbatim. Pieces shorter than 4 bytes are not scrubbed (they would mangle
// ordinary text and are no real secret).
type Redactor struct{ secrets []string }

// NewRedactor builds a Redactor for secrets (URLs or plain values).
func NewRedactor(secrets ...string) Redactor {
	var r Redactor
	add := func(s string) {
		if len(s) < 4 {
			return
		}
		for _, v := range [...]string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if !contains(r.secrets, v) {
				r.secrets = append(r.secrets, v)
			}
		}
	}
	for _, s := range secrets {
		add(s)
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			continue
		}
		if u.User != nil {
			add(u.User.String())
			add(u.User.Username())
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
		add(strings.Trim(u.EscapedPath(), "/"))
		add(strings.Trim(u.Path, "/"))
		add(u.RawQuery)
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
			}
		}
	}
	// longest first, so a URL is replaced whole before its parts
	for i := 1; i < len(r.secrets); i++ {
		for j := i; j > 0 && len(r.secrets[j]) > len(r.secrets[j-1]); j-- {
			r.secrets[j], r.secrets[j-1] = r.secrets[j-1], r.secrets[j]
		}
	}
	return r
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Scrub replaces every known secret in s with "<redacted>".
func (r Redactor) Scrub(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "<redacted>")
	}
	return s
}

// Error renders err for a log line or a reason: a *url.Error (what
// net/http returns, quoting the request URL) is rebuilt with the URL
// reduced to its origin, and the text is scrubbed.
func (r Redactor) Error(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		inner := "<nil>"
		if ue.Err != nil {
			inner = ue.Err.Error()
		}
		msg = fmt.Sprintf("%s %s: %s", ue.Op, RedactURL(ue.URL), inner)
	}
	return r.Scrub(msg)
}
