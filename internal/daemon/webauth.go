package daemon

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/internal/webauth"
	"github.com/driftd/driftd/internal/webauth/awsauth"
)

// WebOptions are driftd run's web flags.
type WebOptions struct {
	// ConfigFile is --web.config.file (TLS, client certificates, basic
	// auth; the Prometheus exporter-toolkit format). "" : plain HTTP.
	ConfigFile string
	// EnableLifecycle is --web.enable-lifecycle: POST /-/reload.
	EnableLifecycle bool
}

// webState is the HTTP API's protection, built once (SetWeb or the first
// Handler call) and re-pointed at new identities on every reload.
type webState struct {
	once  sync.Once
	opts  WebOptions
	web   *webauth.WebConfig
	gate  *webauth.Gate
	audit auditStore // nil: no durable audit log (neither state.file nor ha)
	err   error
}

// SetWeb applies the web flags; call it before Handler and Run. It reads
// the web configuration file and the token files now, so a bad one stops
// the start.
func (d *Daemon) SetWeb(o WebOptions) error {
	d.obsMu.Lock()
	if d.web == nil {
		d.web = &webState{}
	}
	w := d.web
	d.obsMu.Unlock()
	w.once.Do(func() { w.opts = o; w.err = d.initWeb(w) })
	return w.err
}

func (d *Daemon) webState() *webState {
	d.obsMu.Lock()
	if d.web == nil {
		d.web = &webState{}
	}
	w := d.web
	d.obsMu.Unlock()
	w.once.Do(func() { w.err = d.initWeb(w) })
	return w
}

func (d *Daemon) initWeb(w *webState) error {
	web, err := webauth.LoadWebConfig(w.opts.ConfigFile)
	if err != nil {
		return err
	}
	w.web = web
	cfg := d.Config()
	p, err := d.webPolicy(cfg, web)
	if err != nil {
		return err
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driftd_http_refused_total", Help: "HTTP API requests refused by the authentication and authorisation gate, by reason.",
	}, []string{"reason"})
	auditFailures := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "driftd_audit_write_failures_total", Help: "Audit records of HTTP API mutations that could not be written to the durable store.",
	})
	d.reg.MustRegister(refused, auditFailures)
	opts := webauth.Options{Web: web, Lifecycle: w.opts.EnableLifecycle, Log: d.log.Named("http"), Now: d.now,
		Refused: func(r string) { refused.WithLabelValues(r).Inc() }}
	if store, where, rec := openAuditStore(cfg, d.rt.Load().clients.DynamoDB, d.now); store != nil {
		w.audit = store
		opts.Audit = webauth.NewAuditLog(store, holderName(), d.log.Named("audit"))
		opts.Audit.OnFailure = auditFailures.Inc
		d.log.Info("HTTP API mutations are kept in the audit log", zap.String("store", where))
		if rec != nil {
			d.log.Warn("audit log file was damaged; started from its backup or empty", zap.String("file", where), zap.Any("recovery", rec))
		}
	} else {
		d.log.Warn("neither state.file nor ha: HTTP API mutations are logged but not kept in a durable audit log")
	}
	w.gate = webauth.NewGate(p, opts)
	d.OnReload(func(c *config.Config) {
		p, err := d.webPolicy(c, web)
		if err != nil {
			d.log.Error("http.auth not reloaded; keeping the running identities", zap.Error(err))
			return
		}
		w.gate.SetPolicy(p)
	})
	return nil
}

// webPolicy builds the identities of http.auth (token files read now).
func (d *Daemon) webPolicy(cfg *config.Config, web *webauth.WebConfig) (webauth.Policy, error) {
	a := cfg.HTTP.Auth
	var v *awsauth.Verifier
	if a.AWS != nil {
		region := a.AWS.Region
		if region == "" {
			region = d.rt.Load().clients.AWS.Region
		}
		var err error
		v, err = awsauth.NewVerifier(awsauth.VerifierOptions{Region: region, ServerID: a.AWS.ServerID, Endpoint: a.AWS.STSEndpoint, Now: d.now})
		if err != nil {
			return webauth.Policy{}, err
		}
	}
	au, err := webauth.NewAuthenticator(a, web, v)
	if err != nil {
		return webauth.Policy{}, err
	}
	p := webauth.Policy{Auth: au}
	for _, s := range a.TrustedProxies {
		pr, err := config.ParseProxy(s)
		if err != nil {
			return webauth.Policy{}, err
		}
		p.TrustedProxies = append(p.TrustedProxies, pr)
	}
	return p, nil
}

// denyAll answers every request but the probes with 503: the daemon's
// protection could not be built (it never serves unprotected).
func denyAll() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/-/healthy" {
			w.Write([]byte("OK\n"))
			return
		}
		http.Error(w, "HTTP API unavailable: its authentication could not be set up (see the log)", http.StatusServiceUnavailable)
	})
}

// protect puts the gate in front of the daemon's routes.
func (d *Daemon) protect(mux *http.ServeMux) http.Handler {
	w := d.webState()
	if w.err != nil {
		d.log.Error("HTTP API authentication could not be set up", zap.Error(w.err))
		return denyAll()
	}
	var lister ha.AuditLister
	if w.audit != nil {
		lister = w.audit
	}
	mux.Handle("GET /api/v1/audit", webauth.AuditHandler(lister))
	return w.gate.Wrap(mux)
}

// serve runs srv on ln, with TLS when the web configuration file sets it.
func (d *Daemon) serve(srv *http.Server, ln net.Listener) error {
	w := d.webState()
	if w.err != nil || w.web == nil || w.web.TLS == nil {
		return srv.Serve(ln)
	}
	srv.TLSConfig = w.web.TLS
	if !w.web.HTTP2 {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	d.log.Info("TLS enabled", zap.String("web_config_file", w.web.Path), zap.Bool("http2", w.web.HTTP2))
	return srv.ServeTLS(ln, "", "")
}

func holderName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "driftd"
	}
	return h
}
