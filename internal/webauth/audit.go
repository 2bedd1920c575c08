package webauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/driftd/driftd/internal/ha"
)

// AuditKind is the ha.AuditEntry kind of HTTP API records.
const AuditKind = "http"

// Record is one audit log record: a mutating request, accepted or refused.
type Record struct {
	Time     time.Time `json:"time"`
	Decision string    `json:"decision"` // allowed, rejected, unauthenticated, forbidden
	Status   int       `json:"status"`   // the answer's HTTP status
	Identity string    `json:"identity,omitempty"`
	Method   string    `json:"auth_method"`
	Role     string    `json:"role"`
	Route    string    `json:"route"` // "POST /api/v1/approvals"
	// Body summarises the request body: top-level fields, values cut to
	// MaxAuditField bytes.
	Body   map[string]string `json:"body,omitempty"`
	Remote string            `json:"remote"` // the peer address
	// Client is the first address left of the trusted proxies in
	// X-Forwarded-For ("" when the peer is not a trusted proxy).
	Client string `json:"client,omitempty"`
	// Suppressed counts refused requests not recorded before this one
	// (refusals are recorded at a bounded rate).
	Suppressed int64  `json:"suppressed_before,omitempty"`
	Error      string `json:"error,omitempty"` // why it was refused

	body []byte // summarised into Body only when the record is written
}

// Decisions.
const (
	DecisionAllowed         = "allowed"  // the route accepted it (status < 400)
	DecisionRejected        = "rejected" // an operator's request the route refused (4xx/5xx): nothing changed
	DecisionUnauthenticated = "unauthenticated"
	DecisionForbidden       = "forbidden"
)

// MaxAuditField bounds a summarised body value.
const MaxAuditField = 256

// AuditStore keeps records durably (ha.FileStore, ha.DynamoStore).
type AuditStore interface {
	Append(ctx context.Context, e ha.AuditEntry) error
}

// AuditLog writes Records to a store. Accepted mutations are always
// recorded; refusals and rejections at most RefusedPerMinute a minute (a
// flood of bad requests must not become a flood of disk writes), the rest
// counted in the next record's suppressed_before.
type AuditLog struct {
	store      AuditStore
	holder     string
	log        *zap.Logger
	refused    *rate.Limiter
	suppressed atomic.Int64
	failures   atomic.Int64
	OnFailure  func() // called when a record cannot be written (metrics)
	now        func() time.Time
}

// RefusedPerMinute bounds recorded refusals.
const RefusedPerMinute = 60

// NewAuditLog records to store under holder (the replica's name).
func NewAuditLog(store AuditStore, holder string, log *zap.Logger) *AuditLog {
	if log == nil {
		log = zap.NewNop()
	}
	return &AuditLog{store: store, holder: holder, log: log, now: time.Now,
		refused: rate.NewLimiter(rate.Every(time.Minute/RefusedPerMinute), RefusedPerMinute)}
}

// Failures counts records that could not be written.
func (a *AuditLog) Failures() int64 { return a.failures.Load() }

// Write stores rec; failures are logged and counted, never returned to
// the client (the mutation has happened or was refused either way).
func (a *AuditLog) Write(ctx context.Context, rec Record) {
	if rec.Decision != DecisionAllowed && !a.refused.AllowN(a.now(), 1) {
		a.suppressed.Add(1)
		return
	}
	rec.Suppressed = a.suppressed.Swap(0)
	if rec.body != nil {
		rec.Body = summarize(rec.body)
	}
	data, err := json.Marshal(rec)
	if err == nil {
		err = a.store.Append(context.WithoutCancel(ctx), ha.AuditEntry{At: rec.Time, ID: newID(), Holder: a.holder, Kind: AuditKind, Data: data})
	}
	if err != nil {
		a.failures.Add(1)
		if a.OnFailure != nil {
			a.OnFailure()
		}
		a.log.Error("audit record not written", zap.String("route", rec.Route), zap.String("identity", rec.Identity), zap.String("decision", rec.Decision), zap.Error(err))
		return
	}
	a.log.Info("audit", zap.String("route", rec.Route), zap.String("identity", rec.Identity), zap.String("auth_method", rec.Method),
		zap.String("decision", rec.Decision), zap.Int("status", rec.Status), zap.String("remote", rec.Remote))
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// summarize keeps a JSON object body's top-level fields, each cut to
// MaxAuditField bytes; any other body is described by its size.
func summarize(body []byte) map[string]string {
	if len(body) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return map[string]string{"(not a JSON object)": strconv.Itoa(len(body)) + " bytes"}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if len(out) == 16 {
			out["(more fields)"] = strconv.Itoa(len(m) - 16)
			break
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		out[cut(k, 64)] = cut(s, MaxAuditField)
	}
	return out
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// AuditHandler serves GET /api/v1/audit: records newest first,
// ?limit=1-1000 (default 100), ?before=<next of the previous page>.
func AuditHandler(l ha.AuditLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l == nil {
			writeError(w, http.StatusNotFound, "no audit log: this daemon has no durable store for it")
			return
		}
		limit := 100
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > ha.MaxAuditList {
				writeError(w, http.StatusBadRequest, "limit: want 1-"+strconv.Itoa(ha.MaxAuditList))
				return
			}
			limit = n
		}
		entries, next, err := l.AuditList(r.Context(), r.URL.Query().Get("before"), limit)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return
			}
			writeError(w, http.StatusInternalServerError, "reading the audit log failed")
			return
		}
		out := struct {
			Records []json.RawMessage `json:"records"`
			Next    string            `json:"next,omitempty"`
		}{Records: []json.RawMessage{}, Next: next}
		for _, e := range entries {
			if e.Kind == AuditKind && json.Valid(e.Data) {
				out.Records = append(out.Records, e.Data)
				continue
			}
			// Another writer's entry (e.g. the remediation engine's).
			b, _ := json.Marshal(map[string]any{"time": e.At, "kind": e.Kind, "holder": e.Holder, "data": string(e.Data)})
			out.Records = append(out.Records, b)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
