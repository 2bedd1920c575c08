// Package alerting turns scan results and remediation events into
// notifications: a pure deduplication step (Decide), batching per scan and
// ASG with truncation, and asynchronous, bounded delivery to sinks (signed
// webhooks, Slack, SNS, EventBridge, Alertmanager) with retries, backoff and
// failure metrics. Secrets never reach logs or errors.
package alerting

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/drift"
)

// EventType names a notification event. The names are an API (payloads,
// filters, SNS attributes, EventBridge detail types).
type EventType string

// Drift lifecycle events, decided by Decide.
const (
	EventDriftDetected   EventType = "drift.detected"
	EventDriftChanged    EventType = "drift.changed"
	EventDriftResolved   EventType = "drift.resolved"
	EventBaselineMissing EventType = "baseline.missing"
	EventScanFailed      EventType = "scan.failed"
)

// Remediation events, pushed by the remediation engine through Notifier.Emit.
const (
	EventRemediationStarted   EventType = "remediation.started"
	EventRemediationSucceeded EventType = "remediation.succeeded"
	EventRemediationFailed    EventType = "remediation.failed"
	EventRemediationBlocked   EventType = "remediation.blocked"
	EventBreakerOpened        EventType = "breaker.opened"
	EventBreakerClosed        EventType = "breaker.closed"
	EventKillswitchEngaged    EventType = "killswitch.engaged"
	EventKillswitchReleased   EventType = "killswitch.released"
)

// EventTypes lists every event type in a stable order.
var EventTypes = []EventType{
	EventDriftDetected, EventDriftChanged, EventDriftResolved, EventBaselineMissing, EventScanFailed,
	EventRemediationStarted, EventRemediationSucceeded, EventRemediationFailed, EventRemediationBlocked,
	EventBreakerOpened, EventBreakerClosed, EventKillswitchEngaged, EventKillswitchReleased,
}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool {
	for _, k := range EventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Title is the human form used as EventBridge DetailType ("Drift Detected").
func (t EventType) Title() string {
	parts := strings.FieldsFunc(string(t), func(r rune) bool { return r == '.' || r == '_' })
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

// Event is one notification-worthy fact. Instance-level events carry the
// instance, fleet-level ones (scan.failed, killswitch.*) leave ASG empty.
type Event struct {
	Type       EventType      `json:"type"`
	Time       time.Time      `json:"time"`
	ASG        string         `json:"asg,omitempty"`
	AMI        string         `json:"ami,omitempty"`
	InstanceID string         `json:"instance_id,omitempty"`
	Severity   drift.Severity `json:"severity"`
	Summary    string         `json:"summary,omitempty"`
	// Findings are the top findings (truncated to max_findings_per_instance
	// when batched); FindingsTotal is the full count and FindingsTruncated
	// how many were left out of this payload.
	Findings          []drift.Finding   `json:"findings,omitempty"`
	FindingsTotal     int               `json:"findings_total,omitempty"`
	FindingsTruncated int               `json:"findings_truncated,omitempty"`
	Reason            string            `json:"reason,omitempty"`
	Details           map[string]string `json:"details,omitempty"`
	// Since is when the drift was first announced (drift.* events).
	Since time.Time `json:"since,omitzero"`
	// Repeat marks a re-announcement of unchanged drift after repeat_interval.
	Repeat bool `json:"repeat,omitempty"`
}

// InstanceState is the per-instance input to Decide: the outcome of one scan
// for one instance. Findings should be the instance's full finding list (the
// digest is computed over it; batching truncates).
type InstanceState struct {
	InstanceID string
	ASG        string
	AMI        string
	Verdict    drift.Verdict
	Severity   drift.Severity
	// Summary is a one-line findings summary; empty means Summarize(Findings).
	Summary  string
	Findings []drift.Finding
	// Reason explains unknown/stale/no_baseline/exempt verdicts.
	Reason string
	// FindingsTotal is the full number of findings when Findings holds only
	// the top ones (0 = len(Findings)).
	FindingsTotal int
	// ConsecutiveDrifted is the number of consecutive drifted scans, this
	// one included (0 = unknown, treated as enough). With
	// DedupConfig.MinDriftedScans > 1, new drift is announced only once it
	// persisted that long (debounce).
	ConsecutiveDrifted int
	// FindingsUnchanged says the verdict was reused from the previous scan
	// (inventory unchanged), so the findings are known not to have changed
	// even if Findings holds only the retained top findings.
	FindingsUnchanged bool
}

// FromReport converts a drift.Report into an InstanceState. A report that
// lists only the most severe of its findings (Truncated) is summarised from
// its exact counts.
func FromReport(r drift.Report) InstanceState {
	st := InstanceState{
		InstanceID:    r.InstanceID,
		ASG:           r.ASG,
		AMI:           r.AMI,
		Verdict:       r.Verdict,
		Severity:      r.Severity,
		Findings:      r.Findings,
		FindingsTotal: r.FindingsTotal,
		Reason:        strings.Join(r.Reasons, "; "),
	}
	if r.FindingsTotal > len(r.Findings) && len(r.Counts) > 0 {
		st.Summary = SummarizeCounts(r.Counts)
	}
	return st
}

// Summarize renders a one-line summary: "3 findings (2 package, 1 file), max severity high".
func Summarize(fs []drift.Finding) string {
	if len(fs) == 0 {
		return "no findings"
	}
	counts := map[drift.Category]int{}
	maxSev := drift.SeverityNone
	for _, f := range fs {
		counts[f.Category]++
		if f.Severity > maxSev {
			maxSev = f.Severity
		}
	}
	return summarize(counts, len(fs), maxSev)
}

// SummarizeCounts is Summarize from finding counts by "category/severity"
// (drift.Report.Counts), for reports that list only some of their findings.
func SummarizeCounts(counts map[string]int) string {
	byCat := map[drift.Category]int{}
	total, maxSev := 0, drift.SeverityNone
	for k, n := range counts {
		if n <= 0 {
			continue
		}
		cat, sev, _ := strings.Cut(k, "/")
		byCat[drift.Category(cat)] += n
		total += n
		if s, err := drift.ParseSeverity(sev); err == nil && s > maxSev {
			maxSev = s
		}
	}
	if total == 0 {
		return "no findings"
	}
	return summarize(byCat, total, maxSev)
}

func summarize(counts map[drift.Category]int, total int, maxSev drift.Severity) string {
	var parts []string
	for _, c := range drift.Categories {
		if n := counts[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
			delete(counts, c)
		}
	}
	var rest []string
	for c := range counts {
		rest = append(rest, string(c))
	}
	sort.Strings(rest)
	for _, c := range rest {
		parts = append(parts, fmt.Sprintf("%d %s", counts[drift.Category(c)], c))
	}
	noun := "findings"
	if total == 1 {
		noun = "finding"
	}
	return fmt.Sprintf("%d %s (%s), max severity %s", total, noun, strings.Join(parts, ", "), maxSev)
}

// Digest is a stable digest of a finding set: independent of order, changing
// when any finding's item, change, expected/observed value or severity does.
// Rule names are left out so renaming a policy rule does not re-announce.
// extra, when given, is digested too (the exact counts of a truncated list).
func Digest(fs []drift.Finding, extra ...string) string {
	// Each finding is hashed on its own and the hashes are combined by sorted
	// order: order-independent, no per-scan string building.
	sums := make([][sha256.Size]byte, len(fs))
	var buf []byte
	for i, f := range fs {
		buf = buf[:0]
		for _, s := range [...]string{
			string(f.Category), f.Type, f.Name, f.Arch, f.Attribute, string(f.Change),
			string(f.Direction), f.Expected, f.Observed, f.Severity.String(),
		} {
			buf = append(buf, s...)
			buf = append(buf, 0x1f)
		}
		sums[i] = sha256.Sum256(buf)
	}
	sort.Slice(sums, func(i, j int) bool { return string(sums[i][:]) < string(sums[j][:]) })
	h := sha256.New()
	for i := range sums {
		h.Write(sums[i][:])
	}
	for _, e := range extra {
		h.Write([]byte{0x1e})
		h.Write([]byte(e))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
