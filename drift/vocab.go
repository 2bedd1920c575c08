package drift

import (
	"slices"
	"strings"
)

// The driftd:* tags: the one place their keys are spelled. Discovery reads
// them from instances, the daemon restores history and alerting its
// deduplication from them after a restart, remediation writes them. They
// are a contract with operators (protection, opt-in) and with a restarted
// driftd (in-flight work), documented in docs/remediation.md.
const (
	// TagPrefix starts every driftd tag; discovery keeps only these.
	TagPrefix = "driftd:"

	// Instance tags.
	TagStatus  = "driftd:status"  // drifted | in_sync
	TagSince   = "driftd:since"   // RFC 3339 time of the transition
	TagReason  = "driftd:reason"  // short reason of a drifted status
	TagAction  = "driftd:action"  // <action>@<RFC 3339>: the last remediation action on the instance
	TagProtect = "driftd:protect" // opt-out: "true" or an RFC 3339 expiry

	// Auto Scaling group tags.
	TagRemediation = "driftd:remediation" // off | flag | approve | replace
	TagInFlight    = "driftd:inflight"    // in-flight set "<instance>@<RFC 3339>,..."
	TagFailures    = "driftd:failures"    // "<consecutive failures>@<RFC 3339 of the last>"
)

// String renders a finding on one line, for people (logs, chat messages,
// alert descriptions, the demo):
//
//	package openssl.x86_64 version changed: 3.0.8-1 → 3.0.9-1 (upgrade, high)
//
// Inventory data (names, architectures, attributes, values) is escaped with
// Printable, so a NUL, an ESC or a newline an instance reports cannot break
// the line or rewrite what surrounds it.
func (f Finding) String() string {
	var b strings.Builder
	b.Grow(len(f.Name) + len(f.Expected) + len(f.Observed) + 48)
	b.WriteString(string(f.Category))
	b.WriteByte(' ')
	b.WriteString(Printable(f.Name))
	if f.Arch != "" {
		b.WriteByte('.')
		b.WriteString(Printable(f.Arch))
	}
	if f.Attribute != "" && f.Change == ChangeChanged { // what changed; an added or removed item is added whole
		b.WriteByte(' ')
		b.WriteString(Printable(f.Attribute))
	}
	b.WriteByte(' ')
	b.WriteString(string(f.Change))
	switch {
	case f.Expected != "" && f.Observed != "":
		b.WriteString(": " + Printable(f.Expected) + " → " + Printable(f.Observed))
	case f.Observed != "":
		b.WriteString(": " + Printable(f.Observed))
	case f.Expected != "":
		b.WriteString(": was " + Printable(f.Expected))
	}
	b.WriteString(" (")
	if f.Direction != DirectionNone {
		b.WriteString(string(f.Direction) + ", ")
	}
	b.WriteString(f.Severity.String() + ")")
	return b.String()
}

// TopFindings returns at most n findings (n < 0: all), most severe first,
// ties in report order: the order a capped Report keeps its findings in, so
// the top findings of a capped report are the ones it kept. The result is a
// slice of its own, exactly as long as it needs to be: holding it does not
// keep fs's backing array, or the findings beyond n, alive. fs is not
// modified.
func TopFindings(fs []Finding, n int) []Finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, byImportance)
	if n >= 0 && len(out) > n {
		out = append(make([]Finding, 0, n), out[:n]...) // an array of exactly n: a Clone's capacity may round up
	}
	return out
}
