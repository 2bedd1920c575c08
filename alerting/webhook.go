package alerting

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/outbound"
)

// Webhook headers.
const (
	HeaderSignature = "X-Driftd-Signature" // "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body))
	HeaderTimestamp = "X-Driftd-Timestamp" // unix seconds, also part of the signed string
	HeaderDelivery  = "X-Driftd-Delivery"  // batch id, identical across retries (idempotency key)
)

// Sign returns the X-Driftd-Signature value for a body sent at timestamp
// (decimal unix seconds): "sha256=" + lower-case hex HMAC-SHA256 over the
// bytes timestamp + "." + body.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature and rejects timestamps further than maxSkew from
// now (replays). It is what a receiver written in Go would call.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("bad %s header", HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("timestamp outside the allowed skew of %s", maxSkew)
	}
	if !strings.HasPrefix(signature, "sha256=") {
		return errors.New("signature scheme is not sha256")
	}
	want := Sign(secret, timestamp, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// WebhookSink posts the versioned JSON payload, signed.
type WebhookSink struct {
	name   string
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
	red    redactor
}

// NewWebhookSink builds a webhook sink. The URL and the secret are scrubbed
// from every error it returns.
func NewWebhookSink(name, rawURL string, secret []byte, client *http.Client, now func() time.Time) *WebhookSink {
	client = outbound.Client(client) // no redirects, no Referer
	if now == nil {
		now = time.Now
	}
	return &WebhookSink{name: name, url: rawURL, secret: secret, client: client, now: now, red: newRedactor(rawURL, string(secret))}
}

func (w *WebhookSink) Name() string { return w.name }
func (w *WebhookSink) Type() string { return "webhook" }

// Notify posts the batch. The signature is computed per attempt (fresh
// timestamp); the delivery id stays the same across retries.
func (w *WebhookSink) Notify(ctx context.Context, b *Batch) (bool, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return false, &SinkError{Reason: ReasonEncode, msg: "encode payload: " + w.red.scrub(err.Error())}
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(w.secret, ts, body))
	h.Set(HeaderDelivery, b.ID)
	return postJSON(ctx, w.client, w.url, body, h, w.red)
}
