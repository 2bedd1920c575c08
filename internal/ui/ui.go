// Package ui is the operator page the daemon serves at /: server-rendered
// HTML (html/template, embedded; no build step) over narrow read
// interfaces of the daemon's per-instance state, its scans and the
// remediation engine. It shows the fleet by group and verdict, the
// instances (filtered by group, verdict and AMI), one instance's findings,
// baseline and drift-gap chart, the remediation plan, and a running scan's
// progress. Everything reads without JavaScript; the approve, revoke and
// breaker-reset buttons use a small script (static/ui.js) that calls the
// daemon's JSON API, so they go through whatever protects that API.
package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/driftd/driftd/internal/state"
	"github.com/driftd/driftd/remediation"
	"github.com/driftd/driftd/scan"
)

// Fleet reads the daemon's per-instance state (*state.Store).
type Fleet interface {
	List() []state.Entry
	Get(id string) (state.Entry, bool)
}

// Scans reads the daemon's scans (*daemon.Daemon).
type Scans interface {
	// LastScan is the last finished scan without its instances (nil
	// before the first).
	LastScan() *scan.Result
	// Progress is the running scan's progress (false when none runs).
	Progress() (scan.Progress, bool)
}

// Remediation reads the remediation engine (*remediation.Engine).
type Remediation interface {
	Status() remediation.Status
}

// Options configure the page.
type Options struct {
	Fleet Fleet
	Scans Scans
	// Remediation is nil when no remediation engine runs: the remediation
	// view says so.
	Remediation Remediation
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RefreshWhileScanning is the meta-refresh interval of the pages while
	// a scan runs (default 5s; negative: none).
	RefreshWhileScanning time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the page. Its routes:
//
//	GET /                       fleet overview: groups × verdicts, the scan
//	GET /instances              instance list (?group=, ?verdict=, ?ami=)
//	GET /instances/{id}         one instance
//	GET /remediation            the plan, budgets, windows, breakers, approvals
//	GET /static/{file}          stylesheet and script
type Handler struct {
	o     Options
	pages map[string]*template.Template
	mux   *http.ServeMux
}

var pageNames = []string{"overview", "instances", "instance", "remediation", "error"}

// New returns the page's handler.
func New(o Options) (*Handler, error) {
	if o.Fleet == nil || o.Scans == nil {
		return nil, fmt.Errorf("ui: Fleet and Scans are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefreshWhileScanning == 0 {
		o.RefreshWhileScanning = 5 * time.Second
	}
	h := &Handler{o: o, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	base, err := template.New("layout.html").Funcs(h.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	for _, p := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		h.pages[p] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /instances", h.instances)
	h.mux.HandleFunc("GET /instances/{id}", h.instance)
	h.mux.HandleFunc("GET /remediation", h.remediation)
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "no page at "+r.URL.Path)
	})
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// No inline script or style anywhere: the policy allows only the
	// page's own files.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// page is what every page's layout reads.
type page struct {
	Title   string
	Nav     string // overview | instances | remediation
	Scan    scanView
	Refresh int // seconds; 0 none
	Body    any
}

// render executes a page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, code int, name string, p page) {
	p.Scan = h.scanView()
	if p.Scan.Running && h.o.RefreshWhileScanning > 0 {
		p.Refresh = max(1, int(h.o.RefreshWhileScanning/time.Second))
	}
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

// fail renders an error page.
func (h *Handler) fail(w http.ResponseWriter, _ *http.Request, code int, msg string) {
	h.render(w, code, "error", page{Title: http.StatusText(code), Body: struct {
		Code    int
		Status  string
		Message string
	}{code, http.StatusText(code), msg}})
}
