package alerting

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/driftd/driftd/internal/outbound"
)

// Sink delivers a batch. Notify follows Alertmanager's notifier contract:
// it returns retry=true when trying again may succeed (5xx, 429, throttling,
// network errors, timeouts) and false otherwise (other 4xx, encoding errors).
// Errors must not contain secrets (use the helpers of this file).
type Sink interface {
	Name() string
	Type() string
	Notify(ctx context.Context, b *Batch) (retry bool, err error)
}

// activeSink is implemented by sinks that want Batch.Active and a
// notification every scan even without transitions (Alertmanager).
type activeSink interface{ WantsActive() bool }

// forgetter is implemented by sinks that remember per-batch progress across
// retries (so a retry does not resend what was accepted); the dispatcher
// calls Forget when it is done with a batch.
type forgetter interface{ Forget(batchID string) }

// Reason is a failure reason label value. The set is fixed.
type Reason string

// Failure reasons (label values of driftd_notification_failures_total).
const (
	ReasonTimeout   Reason = "timeout"
	ReasonNetwork   Reason = "network"
	ReasonHTTP4xx   Reason = "http_4xx"
	ReasonHTTP5xx   Reason = "http_5xx"
	ReasonThrottled Reason = "throttled"
	ReasonEncode    Reason = "encode"
	// ReasonRedirect is a 3xx answer: redirects are never followed.
	ReasonRedirect Reason = "redirect"
	ReasonOther    Reason = "other"
)

// Reasons lists every failure reason (for pre-initialisation).
var Reasons = []Reason{ReasonTimeout, ReasonNetwork, ReasonHTTP4xx, ReasonHTTP5xx, ReasonThrottled, ReasonEncode, ReasonRedirect, ReasonOther}

// Retryable reports whether a failure of this kind is worth retrying.
func (r Reason) Retryable() bool {
	switch r {
	case ReasonTimeout, ReasonNetwork, ReasonHTTP5xx, ReasonThrottled:
		return true
	}
	return false
}

// SinkError is a delivery failure: a classified, already-redacted message.
// It deliberately does not wrap the original error, whose text (url.Error,
// SDK errors) may carry a secret URL.
type SinkError struct {
	Reason Reason
	Status int // HTTP status when there was a response
	msg    string
}

func (e *SinkError) Error() string { return e.msg }

// ReasonOf classifies an error (SinkError's reason, else by type).
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var se *SinkError
	if errors.As(err, &se) {
		return se.Reason
	}
	return classify(err)
}

func classify(err error) Reason {
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
			"RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown":
			return ReasonThrottled
		}
	}
	// Transport failures first: the SDK wraps them in a ResponseError with
	// status 0 ("request send failed").
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ReasonTimeout
		}
		return ReasonNetwork
	}
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &ue) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return ReasonNetwork
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() > 0 {
		return statusReason(re.HTTPStatusCode())
	}
	return ReasonOther
}

func statusReason(code int) Reason {
	switch {
	case code == http.StatusTooManyRequests:
		return ReasonThrottled
	case code >= 500:
		return ReasonHTTP5xx
	case code >= 400:
		return ReasonHTTP4xx
	}
	return ReasonOther
}

// redactor scrubs secrets from error text (outbound.Redactor: the one
// redaction helper of sinks and the remediation hook).
type redactor struct{ outbound.Redactor }

func newRedactor(secrets ...string) redactor { return redactor{outbound.NewRedactor(secrets...)} }

func (r redactor) scrub(s string) string { return r.Scrub(s) }

// wrap turns any error into a redacted SinkError with its reason. url.Error
// is rebuilt with the URL reduced to scheme://host.
func (r redactor) wrap(prefix string, err error) *SinkError {
	if err == nil {
		return nil
	}
	reason := ReasonOf(err)
	var status int
	var se *SinkError
	if errors.As(err, &se) {
		status = se.Status
	}
	msg := r.Error(err)
	if prefix != "" {
		msg = prefix + ": " + msg
	}
	return &SinkError{Reason: reason, Status: status, msg: msg}
}

// RedactURL keeps only scheme and host: paths and queries of webhook URLs
// (Slack's especially) are secrets (outbound.RedactURL).
func RedactURL(raw string) string { return outbound.RedactURL(raw) }

// postJSON POSTs body and classifies the outcome. The response body (at most
// 512 bytes) is quoted in errors after scrubbing.
func postJSON(ctx context.Context, client *http.Client, rawURL string, body []byte, hdr http.Header, r redactor) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return false, r.wrap("build request", &SinkError{Reason: ReasonOther, msg: "invalid URL " + RedactURL(rawURL)})
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "driftd-notifier")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return true, r.wrap("", &SinkError{Reason: ReasonTimeout, msg: "POST " + RedactURL(rawURL) + ": " + "timeout"})
		}
		se := r.wrap("", err)
		return se.Reason.Retryable(), se
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	if outbound.IsRedirect(resp.StatusCode) {
		// Never followed: the payload (and the secret URL, as Referer)
		// would go to wherever the answer points. Not retried either.
		return false, &SinkError{Reason: ReasonRedirect, Status: resp.StatusCode,
			msg: r.scrub(fmt.Sprintf("POST %s: HTTP %d: %s", RedactURL(rawURL), resp.StatusCode, outbound.RedirectNote(resp)))}
	}
	reason := statusReason(resp.StatusCode)
	msg := fmt.Sprintf("POST %s: HTTP %d", RedactURL(rawURL), resp.StatusCode)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + s
	}
	return reason.Retryable(), &SinkError{Reason: reason, Status: resp.StatusCode, msg: r.scrub(msg)}
}

// Backoff is exponential backoff with equal jitter: attempt n waits a random
// duration in [d/2, d] where d = min(Max, Initial·2ⁿ).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	// Rand returns a float in [0,1); nil uses math/rand/v2.
	Rand func() float64
}

// DefaultBackoff is used when Options.Backoff is zero.
var DefaultBackoff = Backoff{Initial: time.Second, Max: time.Minute}

// Delay returns the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Initial
	if d <= 0 {
		d = time.Second
	}
	for i := 0; i < attempt && (b.Max <= 0 || d < b.Max); i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	f := rand.Float64
	if b.Rand != nil {
		f = b.Rand
	}
	half := d / 2
	return half + time.Duration(f()*float64(d-half))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
