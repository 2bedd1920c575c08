package remediation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/driftd/driftd/internal/outbound"
)

// HookPayloadVersion is the version of the pre-action hook payload.
const HookPayloadVersion = 1

// HookPayload is POSTed (JSON) to the pre-action hook before every action.
type HookPayload struct {
	Version    int        `json:"version"`
	Time       time.Time  `json:"time"`
	Action     ActionKind `json:"action"`
	Group      string     `json:"asg"`
	InstanceID string     `json:"instance_id,omitempty"`
	Covers     []string   `json:"covers,omitempty"`
	Severity   string     `json:"severity"`
	Reason     string     `json:"reason"`
	DriftSince time.Time  `json:"drift_since,omitempty"`
	Approved   bool       `json:"approved"`
}

// Hook asks an HTTP endpoint before acting. Any 2xx allows the action;
// anything else (a redirect, another status, a timeout, a connection error)
// vetoes it. Redirects are never followed and no Referer is sent
// (outbound.Client); the URL, which may carry credentials or a token, never
// appears in a reason: it is reduced to its origin and scrubbed
// (outbound.Redactor), also from the answer's body quoted in a veto.
type Hook struct {
	URL     string
	Timeout time.Duration
	Client  *http.Client // default: outbound.NewClient()
}

// Allow posts the payload and reports whether the action may proceed,
// with the reason when it may not.
func (h *Hook) Allow(ctx context.Context, p HookPayload) (bool, string) {
	if h == nil || h.URL == "" {
		return true, ""
	}
	red := outbound.NewRedactor(h.URL)
	body, err := json.Marshal(p)
	if err != nil {
		return false, "encoding hook payload: " + err.Error()
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return false, "building hook request for " + outbound.RedactURL(h.URL) + ": invalid URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "driftd-remediation")
	resp, err := outbound.Client(h.Client).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Sprintf("hook did not answer within %s", timeout)
		}
		return false, "hook unreachable: " + red.Error(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		r := fmt.Sprintf("hook answered %d", resp.StatusCode)
		if outbound.IsRedirect(resp.StatusCode) {
			r += ": " + outbound.RedirectNote(resp)
		} else if s := string(bytes.TrimSpace(msg)); s != "" {
			r += ": " + red.Scrub(s)
		}
		return false, r
	}
	return true, ""
}
