package remediation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ApprovalRequest is the body of POST /api/v1/approvals.
type ApprovalRequest struct {
	InstanceID string `json:"instance_id"`
	// TTL is a Go duration ("1h"); empty or above approvals.ttl uses approvals.ttl.
	TTL string `json:"ttl,omitempty"`
	By  string `json:"by,omitempty"`
}

// BreakerResetRequest is the body of POST /api/v1/remediation/breakers/reset.
type BreakerResetRequest struct {
	Scope string `json:"scope"` // group name or "fleet"
}

// Handler serves the remediation API for the daemon to mount on its mux:
//
//	GET    /api/v1/remediation                  state: queue, budgets, breakers, kill switch, last plan
//	POST   /api/v1/remediation/breakers/reset   {"scope": "web-asg"|"fleet"}
//	GET    /api/v1/approvals                    unexpired approvals
//	POST   /api/v1/approvals                    {"instance_id": "i-...", "ttl": "1h", "by": "alice"}
//	DELETE /api/v1/approvals/{instance}         revoke
//
// The handler does no authentication: the daemon mounts it behind its
// gate (internal/webauth: operators only, JSON bodies of at most 64 KiB,
// audit log). It bounds fields (MaxFieldBytes), outstanding approvals
// (MaxApprovals) and accepts breaker resets only for known breakers.
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/remediation", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Status())
	})
	mux.HandleFunc("POST /api/v1/remediation/breakers/reset", func(w http.ResponseWriter, r *http.Request) {
		var req BreakerResetRequest
		if err := decodeBody(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := checkField("scope", req.Scope); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		scope := strings.TrimSpace(req.Scope)
		if ok, known := e.knownBreaker(scope); !ok && scope != "" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no breaker %q: scope must be \"fleet\" or a group the engine has planned for (known: %s)", scope, strings.Join(known, ", ")))
			return
		}
		if err := e.ResetBreaker(r.Context(), scope); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"reset": req.Scope})
	})
	mux.HandleFunc("GET /api/v1/approvals", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Approvals())
	})
	mux.HandleFunc("POST /api/v1/approvals", func(w http.ResponseWriter, r *http.Request) {
		var req ApprovalRequest
		if err := decodeBody(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		for _, f := range []struct{ name, v string }{{"instance_id", req.InstanceID}, {"ttl", req.TTL}, {"by", req.By}} {
			if err := checkField(f.name, f.v); err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		if !e.approvalRoom(strings.TrimSpace(req.InstanceID)) {
			writeError(w, http.StatusConflict, fmt.Sprintf("%d approvals are outstanding already; revoke some or let them expire", MaxApprovals))
			return
		}
		var ttl time.Duration
		if req.TTL != "" {
			d, err := time.ParseDuration(req.TTL)
			if err != nil || d <= 0 {
				writeError(w, http.StatusBadRequest, "ttl: "+req.TTL+" is not a positive duration")
				return
			}
			ttl = d
		}
		a, err := e.Approve(strings.TrimSpace(req.InstanceID), approver(r.Context(), req.By), ttl)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, a)
	})
	mux.HandleFunc("DELETE /api/v1/approvals/{instance}", func(w http.ResponseWriter, r *http.Request) {
		existed, err := e.Revoke(r.PathValue("instance"))
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		if !existed {
			writeError(w, http.StatusNotFound, "no approval for "+r.PathValue("instance"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("invalid JSON body: " + err.Error())
	}
	if dec.More() {
		return errors.New("invalid JSON body: data after the object")
	}
	return nil
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
