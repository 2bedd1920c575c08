// Command webhook-receiver is an example receiver for driftd's signed
// webhooks. It verifies X-Driftd-Signature (HMAC-SHA256 over
// "<timestamp>.<body>") and rejects timestamps outside the allowed skew
// (replays), ignores repeated deliveries of the same X-Driftd-Delivery id
// (driftd retries reuse it), and prints every event on one line.
//
// It depends only on the standard library so it can be copied into any
// project as a starting point.
//
//	DRIFTD_WEBHOOK_SECRET=... webhook-receiver -listen 127.0.0.1:9095
//	webhook-receiver -secret-file /run/secrets/driftd-webhook
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)) }

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("webhook-receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9095", "address to listen on")
	path := fs.String("path", "/", "URL path receiving the webhooks")
	secretFile := fs.String("secret-file", "", "file holding the shared secret (default: $DRIFTD_WEBHOOK_SECRET)")
	maxSkew := fs.Duration("max-skew", 5*time.Minute, "reject timestamps further than this from the local clock")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	secret, err := loadSecret(*secretFile, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "webhook-receiver:", err)
		return 2
	}
	mux := http.NewServeMux()
	mux.Handle(*path, NewHandler(secret, *maxSkew, time.Now, stdout))
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.New(stderr, "", log.LstdFlags).Printf("listening on %s%s", *listen, *path)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(stderr, "webhook-receiver:", err)
		return 1
	}
	return 0
}

func loadSecret(file string, getenv func(string) string) ([]byte, error) {
	var s string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("secret file: %w", err)
		}
		s = string(b)
	} else {
		s = getenv("DRIFTD_WEBHOOK_SECRET")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("no secret: pass -secret-file or set DRIFTD_WEBHOOK_SECRET")
	}
	return []byte(s), nil
}

// maxBody bounds a request body.
const maxBody = 10 << 20

// Payload is the part of driftd's version 1 payload this receiver prints.
type Payload struct {
	Version         string  `json:"version"`
	ID              string  `json:"id"`
	EventCount      int     `json:"event_count"`
	TruncatedEvents int     `json:"truncated_events"`
	Groups          []Group `json:"groups"`
}

// Group is one ASG's events.
type Group struct {
	ASG             string  `json:"asg"`
	TruncatedEvents int     `json:"truncated_events"`
	Events          []Event `json:"events"`
}

// Event is one driftd event.
type Event struct {
	Type              string    `json:"type"`
	Time              time.Time `json:"time"`
	ASG               string    `json:"asg"`
	AMI               string    `json:"ami"`
	InstanceID        string    `json:"instance_id"`
	Severity          string    `json:"severity"`
	Summary           string    `json:"summary"`
	FindingsTruncated int       `json:"findings_truncated"`
	Repeat            bool      `json:"repeat"`
}

// Verify checks a driftd signature: header "sha256=<hex>" must equal
// HMAC-SHA256(secret, timestamp + "." + body), and the timestamp (unix
// seconds) must be within maxSkew of now.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("missing or malformed X-Driftd-Timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("timestamp %s is outside the allowed skew (%s)", timestamp, maxSkew)
	}
	got, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return errors.New("missing or malformed X-Driftd-Signature")
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return errors.New("malformed X-Driftd-Signature")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// Handler verifies and prints deliveries.
type Handler struct {
	secret  []byte
	maxSkew time.Duration
	now     func() time.Time
	out     io.Writer

	mu   sync.Mutex
	seen map[string]time.Time // delivery id → first seen
}

// NewHandler returns the receiving handler.
func NewHandler(secret []byte, maxSkew time.Duration, now func() time.Time, out io.Writer) *Handler {
	return &Handler{secret: secret, maxSkew: maxSkew, now: now, out: out, seen: map[string]time.Time{}}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := Verify(h.secret, r.Header.Get("X-Driftd-Timestamp"), r.Header.Get("X-Driftd-Signature"), body, h.now(), h.maxSkew); err != nil {
		// 401 is a 4xx: driftd will not retry a request we cannot verify.
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "invalid JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	if p.Version != "1" {
		http.Error(w, "unsupported payload version "+strconv.Quote(p.Version), http.StatusBadRequest)
		return
	}
	if h.duplicate(r.Header.Get("X-Driftd-Delivery")) {
		w.WriteHeader(http.StatusOK) // already processed: acknowledge, do nothing
		return
	}
	h.print(p)
	w.WriteHeader(http.StatusNoContent)
}

// duplicate remembers delivery ids for twice the skew window (older ones
// would be rejected by the timestamp check anyway).
func (h *Handler) duplicate(id string) bool {
	if id == "" {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	for k, t := range h.seen {
		if now.Sub(t) > 2*h.maxSkew {
			delete(h.seen, k)
		}
	}
	if _, ok := h.seen[id]; ok {
		return true
	}
	h.seen[id] = now
	return false
}

func (h *Handler) print(p Payload) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.out, "delivery %s: %d events (%d not listed)\n", p.ID, p.EventCount, p.TruncatedEvents)
	for _, g := range p.Groups {
		for _, e := range g.Events {
			line := fmt.Sprintf("%s %-22s asg=%s", e.Time.UTC().Format(time.RFC3339), e.Type, orDash(g.ASG))
			if e.InstanceID != "" {
				line += " instance=" + e.InstanceID
			}
			if e.AMI != "" {
				line += " ami=" + e.AMI
			}
			line += " severity=" + e.Severity
			if e.Repeat {
				line += " (reminder)"
			}
			if e.Summary != "" {
				line += " — " + e.Summary
			}
			fmt.Fprintln(h.out, line)
		}
		if g.TruncatedEvents > 0 {
			fmt.Fprintf(h.out, "  … %d more events in %s not listed\n", g.TruncatedEvents, orDash(g.ASG))
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
