package webauth

import (
	"bytes"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// MaxBody bounds a mutating request's body.
const MaxBody = 64 << 10

// Options configure a Gate.
type Options struct {
	Web *WebConfig // headers and rate limit (nil: none)
	// Lifecycle enables POST /-/reload (--web.enable-lifecycle).
	Lifecycle bool
	// Audit records every mutation (nil: mutations are only logged).
	Audit *AuditLog
	Log   *zap.Logger
	Now   func() time.Time
	// Refused counts refused requests by reason (nil: not counted).
	Refused func(reason string)
}

// Policy is what a reload may change: the identities and the proxies
// trusted for X-Forwarded-For.
type Policy struct {
	Auth           *Authenticator
	TrustedProxies []netip.Prefix
}

// Gate enforces the HTTP API's rules in front of the daemon's routes:
//
//   - GET/HEAD /-/healthy and /-/ready are always open (probes);
//   - other GET/HEAD routes need a viewer unless reads are open;
//   - every other method is a mutation: it needs an authenticated
//     operator, always (401 without credentials or with invalid ones,
//     403 with another role), Content-Type: application/json (415;
//     browsers cannot send it cross-origin without a CORS preflight,
//     which driftd never grants) and a body of at most MaxBody (413);
//   - POST /-/reload also needs Options.Lifecycle (403 otherwise);
//   - every mutation, accepted or refused for want of authentication or
//     role, is written to the audit log (refusals, and operator requests
//     the route itself rejects, at a bounded rate: AuditLog).
type Gate struct {
	opts    Options
	policy  atomic.Pointer[Policy]
	limiter *rate.Limiter
}

// NewGate returns a gate with the policy p.
func NewGate(p Policy, o Options) *Gate {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Gate{opts: o}
	g.policy.Store(&p)
	if o.Web != nil && o.Web.Limit.Interval > 0 {
		g.limiter = rate.NewLimiter(rate.Every(o.Web.Limit.Interval), max(o.Web.Limit.Burst, 1))
	}
	return g
}

// SetPolicy replaces the identities and trusted proxies (reload).
func (g *Gate) SetPolicy(p Policy) { g.policy.Store(&p) }

func mutating(m string) bool { return m != http.MethodGet && m != http.MethodHead }

func (g *Gate) refused(reason string) {
	if g.opts.Refused != nil {
		g.opts.Refused(reason)
	}
}

// Wrap returns next behind the gate.
func (g *Gate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.opts.Web != nil {
			for k, v := range g.opts.Web.Headers {
				w.Header().Set(k, v)
			}
		}
		if g.limiter != nil && !g.limiter.Allow() {
			g.refused("rate_limited")
			writeError(w, http.StatusTooManyRequests, http.StatusText(http.StatusTooManyRequests))
			return
		}
		if !mutating(r.Method) && (r.URL.Path == "/-/healthy" || r.URL.Path == "/-/ready") {
			next.ServeHTTP(w, r)
			return
		}
		p := g.policy.Load()
		mut := mutating(r.Method)
		if mut && r.URL.Path == "/-/reload" && !g.opts.Lifecycle {
			g.refused("lifecycle_disabled")
			writeError(w, http.StatusForbidden, "lifecycle API is not enabled (start driftd run with --web.enable-lifecycle)")
			return
		}
		id, err := p.Auth.Authenticate(r.Context(), r)
		rec := Record{Time: g.opts.Now().UTC(), Route: r.Method + " " + r.URL.Path, Method: id.Method, Identity: id.Name, Role: id.Role.String()}
		rec.Remote, rec.Client = from(r, p.TrustedProxies)
		if err != nil {
			rec.Method = methodOf(err)
			g.refused("bad_credentials")
			g.challenge(w, p.Auth)
			writeError(w, http.StatusUnauthorized, "authentication failed: "+err.Error())
			if mut {
				rec.Decision, rec.Status, rec.Error = DecisionUnauthenticated, http.StatusUnauthorized, err.Error()
				g.audit(r, rec)
			}
			return
		}
		r = r.WithContext(withIdentity(r.Context(), id))
		if !mut {
			if p.Auth.ReadsOpen() || id.Role >= RoleViewer {
				next.ServeHTTP(w, r)
				return
			}
			if id.Anonymous() {
				g.refused("unauthenticated")
				g.challenge(w, p.Auth)
				writeError(w, http.StatusUnauthorized, "authentication required (reads need the viewer role)")
				return
			}
			g.refused("forbidden")
			writeError(w, http.StatusForbidden, id.Name+" ("+id.Method+") has no role on this server")
			return
		}
		switch {
		case id.Anonymous():
			g.refused("unauthenticated")
			g.challenge(w, p.Auth)
			writeError(w, http.StatusUnauthorized, "authentication required: mutating routes need an operator")
			rec.Decision, rec.Status, rec.Error = DecisionUnauthenticated, http.StatusUnauthorized, "no credentials"
			g.audit(r, rec)
			return
		case id.Role < RoleOperator:
			g.refused("forbidden")
			writeError(w, http.StatusForbidden, "the operator role is required; "+id.Name+" has role "+id.Role.String())
			rec.Decision, rec.Status, rec.Error = DecisionForbidden, http.StatusForbidden, "role "+id.Role.String()
			g.audit(r, rec)
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			g.refused("content_type")
			writeError(w, http.StatusUnsupportedMediaType, "mutating routes accept only Content-Type: application/json")
			return
		}
		if r.ContentLength > MaxBody {
			g.refused("body_too_large")
			writeError(w, http.StatusRequestEntityTooLarge, "request body larger than "+strconv.Itoa(MaxBody)+" bytes")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "reading the request body failed")
			return
		}
		if len(body) > MaxBody {
			g.refused("body_too_large")
			writeError(w, http.StatusRequestEntityTooLarge, "request body larger than "+strconv.Itoa(MaxBody)+" bytes")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		rec.Decision, rec.Status, rec.body = DecisionAllowed, sw.status, body
		if sw.status >= 400 {
			rec.Decision = DecisionRejected // refused by the route: nothing changed
		}
		g.audit(r, rec)
	})
}

func (g *Gate) audit(r *http.Request, rec Record) {
	if g.opts.Audit != nil {
		g.opts.Audit.Write(r.Context(), rec)
		return
	}
	if rec.Decision != DecisionAllowed {
		return // refusals without a durable log: counted (Options.Refused), not logged one by one
	}
	g.opts.Log.Info("audit (no durable audit log)", zap.String("route", rec.Route), zap.String("identity", rec.Identity),
		zap.String("decision", rec.Decision), zap.Int("status", rec.Status), zap.String("remote", rec.Remote))
}

// challenge names the schemes this server accepts.
func (g *Gate) challenge(w http.ResponseWriter, a *Authenticator) {
	w.Header().Add("WWW-Authenticate", `Bearer realm="driftd"`)
	if len(a.users) > 0 {
		w.Header().Add("WWW-Authenticate", `Basic realm="driftd", charset="UTF-8"`)
	}
	if a.aws != nil {
		w.Header().Add("WWW-Authenticate", AWSScheme+` realm="driftd"`)
	}
}

func methodOf(err error) string {
	if e, ok := err.(*errBadCredentials); ok {
		return e.method
	}
	return MethodNone
}

// from returns the peer address and, when the peer is a trusted proxy,
// the client address: the rightmost X-Forwarded-For entry that is not
// itself a trusted proxy.
func from(r *http.Request, trusted []netip.Prefix) (remote, client string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer.Unmap(), trusted) {
		return host, ""
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	for i := len(hops) - 1; i >= 0 && i >= len(hops)-32; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return host, "(malformed X-Forwarded-For)"
		}
		if !isTrusted(a.Unmap(), trusted) {
			return host, a.String()
		}
	}
	return host, ""
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
