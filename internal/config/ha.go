package config

import (
	"regexp"
	"time"
	"unicode"
)

// HA is the `ha:` section: several replicas, one actor. With
// dynamodb_table set, the replicas share a leader lease and the decision
// store (approvals, breaker resets, in-flight replacements) in that
// DynamoDB table; only the lease holder remediates, tags and notifies.
// Without it the daemon runs as a single replica and keeps its decisions
// in a file next to state.file.
type HA struct {
	// DynamoDBTable names the table (partition key "pk", string).
	DynamoDBTable string `yaml:"dynamodb_table"`
	// LeaseDuration is the lease length (default 30s). Renewals run every
	// third of it.
	LeaseDuration time.Duration `yaml:"lease_duration"`
	// SkewMargin is the clock-skew margin (default 5s): a leader stops
	// acting this long before its lease expires, and a contender takes over
	// only this long after it expired. Less than half lease_duration.
	SkewMargin time.Duration `yaml:"skew_margin"`
	// Holder identifies this replica in the lease (default: host name,
	// process id and random bytes). It must differ between replicas.
	Holder string `yaml:"holder"`
	// VerifyFence makes every guarded action confirm with a strongly
	// consistent read that this replica still holds the lease (one GetItem
	// per action; catches a leader paused past its lease).
	VerifyFence bool `yaml:"verify_fence"`
}

// Defaults and limits of the ha section.
const (
	DefaultLeaseDuration = 30 * time.Second
	DefaultSkewMargin    = 5 * time.Second
	// MinLeaseDuration keeps renewals (every third of the lease) at least
	// a second apart.
	MinLeaseDuration = 3 * time.Second
	MaxLeaseDuration = 10 * time.Minute
	maxHolderLen     = 128
)

// tableNameRe is DynamoDB's table-name rule (3-255 characters of a-z, A-Z,
// 0-9, '_', '-', '.'):
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html
var tableNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

// Enabled reports whether several replicas share a lease (dynamodb_table set).
func (h HA) Enabled() bool { return h.DynamoDBTable != "" }

// RenewEvery is the renewal period: a third of the lease duration.
func (h HA) RenewEvery() time.Duration { return h.LeaseDuration / 3 }

func (h *HA) applyDefaults() {
	if !h.Enabled() {
		return
	}
	if h.LeaseDuration == 0 {
		h.LeaseDuration = DefaultLeaseDuration
	}
	if h.SkewMargin == 0 {
		h.SkewMargin = DefaultSkewMargin
	}
}

// Validate checks the ha section (after defaults).
func (h HA) Validate() []error {
	var errs errorList
	if !h.Enabled() {
		for key, set := range map[string]bool{"lease_duration": h.LeaseDuration != 0, "skew_margin": h.SkewMargin != 0, "holder": h.Holder != "", "verify_fence": h.VerifyFence} {
			if set {
				errs.add("ha.%s: only valid with ha.dynamodb_table", key)
			}
		}
		sortErrors(errs)
		return errs
	}
	if !tableNameRe.MatchString(h.DynamoDBTable) {
		errs.add("ha.dynamodb_table: %q is not a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')", h.DynamoDBTable)
	}
	switch {
	case h.LeaseDuration < MinLeaseDuration || h.LeaseDuration > MaxLeaseDuration:
		errs.add("ha.lease_duration: %s must be between %s and %s", h.LeaseDuration, MinLeaseDuration, MaxLeaseDuration)
	case h.LeaseDuration%time.Millisecond != 0:
		errs.add("ha.lease_duration: %s must be whole milliseconds", h.LeaseDuration)
	}
	switch {
	case h.SkewMargin <= 0:
		errs.add("ha.skew_margin: %s must be positive", h.SkewMargin)
	case h.SkewMargin%time.Millisecond != 0:
		errs.add("ha.skew_margin: %s must be whole milliseconds", h.SkewMargin)
	case 2*h.SkewMargin >= h.LeaseDuration && h.LeaseDuration > 0:
		errs.add("ha.skew_margin: %s must be less than half ha.lease_duration %s", h.SkewMargin, h.LeaseDuration)
	}
	if len(h.Holder) > maxHolderLen {
		errs.add("ha.holder: longer than %d bytes", maxHolderLen)
	} else {
		for _, r := range h.Holder {
			if !unicode.IsPrint(r) || unicode.IsSpace(r) {
				errs.add("ha.holder: %q: only printable characters without spaces", h.Holder)
				break
			}
		}
	}
	return errs
}

// sortErrors orders messages (the keys of a map were visited in random order).
func sortErrors(errs errorList) {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Error() < errs[j-1].Error(); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}

// DecisionsFile is where a single replica (no ha.dynamodb_table) keeps its
// decisions (approvals, breaker resets, in-flight replacements): next to
// state.file, "" without one (decisions are then kept in memory only).
func (s State) DecisionsFile() string {
	if s.File == "" {
		return ""
	}
	return s.File + ".decisions.json"
}
