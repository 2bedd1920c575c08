package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/outbound"
)

// AlertnameDrifted is the alertname of driftd's per-instance alerts.
const AlertnameDrifted = "DriftdInstanceDrifted"

// alertmanagerChunk bounds the alerts of one POST.
const alertmanagerChunk = 500

// AMAlert is an alert of the Alertmanager v2 API (POST /api/v2/alerts).
type AMAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// AlertmanagerSink sends one alert per drifted instance to every configured
// Alertmanager (an HA cluster dedups); the delivery succeeds when any accepts.
// Firing alerts are re-sent every scan with endsAt = now + resend window, so
// they stay firing while driftd runs and expire on their own if it stops; a
// resolution sends endsAt = now.
type AlertmanagerSink struct {
	name         string
	urls         []string
	client       *http.Client
	resendWindow time.Duration
	externalURL  string
	maxFindings  int
	now          func() time.Time
	red          redactor
	// Log, when set, receives a warning when some (not all) members fail.
	Log *zap.Logger
}

// NewAlertmanagerSink builds an Alertmanager sink. urls are base URLs
// (http://am:9093); externalURL is driftd's own URL for generatorURL.
func NewAlertmanagerSink(name string, urls []string, client *http.Client, resendWindow time.Duration, externalURL string, maxFindings int, now func() time.Time) *AlertmanagerSink {
	client = outbound.Client(client) // no redirects, no Referer
	if now == nil {
		now = time.Now
	}
	if resendWindow <= 0 {
		resendWindow = time.Hour
	}
	return &AlertmanagerSink{name: name, urls: urls, client: client, resendWindow: resendWindow,
		externalURL: externalURL, maxFindings: maxFindings, now: now, red: newRedactor(urls...)}
}

func (a *AlertmanagerSink) Name() string      { return a.name }
func (a *AlertmanagerSink) Type() string      { return "alertmanager" }
func (a *AlertmanagerSink) WantsActive() bool { return true }

// Alerts builds the alerts of a batch: every active (announced drifted)
// instance firing, every drift.resolved event resolved.
func (a *AlertmanagerSink) Alerts(b *Batch) []AMAlert {
	now := a.now().UTC()
	var out []AMAlert
	firing := map[string]bool{}
	for _, ev := range b.Active {
		firing[ev.InstanceID] = true
		out = append(out, a.alert(ev, now, now.Add(a.resendWindow)))
	}
	for _, ev := range b.Events() {
		if ev.Type == EventDriftResolved && !firing[ev.InstanceID] {
			out = append(out, a.alert(ev, now, now))
		}
	}
	return out
}

func (a *AlertmanagerSink) alert(ev Event, now, endsAt time.Time) AMAlert {
	starts := ev.Since
	if starts.IsZero() || starts.After(endsAt) {
		starts = now
	}
	desc := []string{}
	for _, f := range drift.TopFindings(ev.Findings, a.maxFindings) {
		desc = append(desc, f.String())
	}
	total := ev.FindingsTotal
	if total < len(ev.Findings) {
		total = len(ev.Findings)
	}
	if more := total - len(desc); more > 0 && len(desc) > 0 {
		desc = append(desc, fmt.Sprintf("…and %d more findings", more))
	}
	al := AMAlert{
		Labels: map[string]string{
			"alertname":   AlertnameDrifted,
			"asg":         ev.ASG,
			"ami":         ev.AMI,
			"severity":    ev.Severity.String(),
			"instance_id": ev.InstanceID,
		},
		Annotations: map[string]string{"summary": ev.Summary},
		StartsAt:    starts.UTC(),
		EndsAt:      endsAt.UTC(),
	}
	for k, v := range al.Labels {
		if v == "" {
			delete(al.Labels, k) // Alertmanager treats empty labels as absent
		}
	}
	if len(desc) > 0 {
		al.Annotations["description"] = strings.Join(desc, "\n")
	}
	if a.externalURL != "" {
		al.GeneratorURL = strings.TrimRight(a.externalURL, "/") + "/?instance_id=" + url.QueryEscape(ev.InstanceID)
	}
	return al
}

// Notify posts the alerts to every Alertmanager.
func (a *AlertmanagerSink) Notify(ctx context.Context, b *Batch) (bool, error) {
	alerts := a.Alerts(b)
	if len(alerts) == 0 {
		return false, nil
	}
	var bodies [][]byte
	for i := 0; i < len(alerts); i += alertmanagerChunk {
		j := min(i+alertmanagerChunk, len(alerts))
		body, err := json.Marshal(alerts[i:j])
		if err != nil {
			return false, &SinkError{Reason: ReasonEncode, msg: "encode alerts: " + err.Error()}
		}
		bodies = append(bodies, body)
	}
	var failed []*SinkError
	accepted := 0
	for _, base := range a.urls {
		ok := true
		for _, body := range bodies {
			_, err := postJSON(ctx, a.client, strings.TrimRight(base, "/")+"/api/v2/alerts", body, nil, a.red)
			if err != nil {
				failed = append(failed, a.red.wrap("", err))
				ok = false
				break
			}
		}
		if ok {
			accepted++
		}
	}
	if accepted > 0 {
		// Any Alertmanager accepting is enough: the cluster gossips.
		if len(failed) > 0 && a.Log != nil {
			for _, f := range failed {
				a.Log.Warn("alertmanager member did not accept alerts", zap.String("sink", a.name),
					zap.String("reason", string(f.Reason)), zap.String("error", f.Error()))
			}
		}
		return false, nil
	}
	return partialResult("alertmanager", len(a.urls), failed)
}
