package remediation

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// policy is the compiled configuration. A problem in a scope is kept as err
// on that scope: the scope then allows nothing (fail closed).
type policy struct {
	err         error // global misconfiguration: nothing is allowed anywhere
	modeDefault int
	tagOverride bool
	tagging     bool
	debounce    int
	minSeverity drift.Severity
	action      ActionKind
	timeout     time.Duration
	maxPerHour  int
	fleetPct    float64
	approvalTTL time.Duration
	// foreignAllow names the foreign controllers whose instances may be
	// replaced fleet-wide (remediation.foreign_controllers.allow).
	foreignAllow map[string]bool
	groups       []*groupPolicy
	fallback     *groupPolicy // for groups no entry matches
	errs         []string
}

type groupPolicy struct {
	index       int // -1 for the fallback
	match       string
	mode        int
	budget      config.RemediationBudget
	budgetText  string
	maxInFlight int
	windows     []window
	driftPct    float64
	maxFailures int
	backoff     time.Duration
	backoffMax  time.Duration
	// foreignAllow adds the group entry's foreign_controllers.allow.
	foreignAllow map[string]bool
	err          error
}

type window struct {
	spec     *cron.SpecSchedule
	duration time.Duration
	loc      *time.Location
}

var modeNames = []string{config.RemediationModeOff, config.RemediationModeFlag, config.RemediationModeApprove, config.RemediationModeReplace}

const (
	modeOff = iota
	modeFlag
	modeApprove
	modeReplace
)

func compile(c config.Remediation) *policy {
	c.Groups = append([]config.RemediationGroup(nil), c.Groups...)
	for i := range c.Groups {
		c.Groups[i].Windows = append([]config.RemediationWindow(nil), c.Groups[i].Windows...)
	}
	c.ApplyDefaults()
	p := &policy{
		modeDefault:  config.RemediationModeRank(c.ModeDefault),
		tagOverride:  c.TagOverride(),
		tagging:      c.TaggingEnabled(),
		debounce:     c.DebounceScans,
		action:       ActionKind(c.Action),
		timeout:      c.ReplacementTimeout,
		maxPerHour:   *c.Global.MaxPerHour,
		fleetPct:     *c.Global.FleetBreakerPercent,
		approvalTTL:  c.Approvals.TTL,
		foreignAllow: allowSet(c.ForeignControllers.Allow),
	}
	var globalErrs []string
	for _, err := range c.Validate() {
		msg := err.Error()
		p.errs = append(p.errs, msg)
		if !strings.HasPrefix(msg, "remediation.groups[") {
			globalErrs = append(globalErrs, msg)
		}
	}
	sev, err := drift.ParseSeverity(c.MinSeverity)
	if err != nil {
		sev = drift.SeverityCritical + 1 // unreachable: nothing qualifies
	}
	p.minSeverity = sev
	if p.modeDefault < 0 {
		p.modeDefault = modeOff
	}
	if len(globalErrs) > 0 {
		p.err = fmt.Errorf("%s", strings.Join(globalErrs, "; "))
	}
	for i, g := range c.Groups {
		p.groups = append(p.groups, compileGroup(i, g))
	}
	fb := config.RemediationGroup{Match: "*"}
	fbc := config.Remediation{Groups: []config.RemediationGroup{fb}}
	fbc.ApplyDefaults()
	p.fallback = compileGroup(-1, fbc.Groups[0])
	return p
}

func compileGroup(i int, g config.RemediationGroup) *groupPolicy {
	gp := &groupPolicy{index: i, match: g.Match, mode: config.RemediationModeRank(g.Mode), maxInFlight: g.MaxInFlight,
		maxFailures: g.Breaker.MaxFailures, backoff: g.Breaker.Backoff, backoffMax: g.Breaker.BackoffMax, budgetText: g.Budget,
		foreignAllow: allowSet(g.ForeignControllers.Allow)}
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	key := fmt.Sprintf("remediation.groups[%d]", i)
	if gp.mode < 0 {
		bad("%s.mode: %q is not a mode", key, g.Mode)
		gp.mode = modeOff
	}
	b, err := config.ParseRemediationBudget(g.Budget)
	if err != nil {
		bad("%s.budget: %v", key, err)
	}
	gp.budget = b
	if g.Breaker.DriftPercent != nil {
		gp.driftPct = *g.Breaker.DriftPercent
	}
	if gp.driftPct <= 0 || gp.driftPct > 100 {
		bad("%s.breaker.drift_percent: %g out of range", key, gp.driftPct)
	}
	if gp.maxInFlight < 1 || gp.maxInFlight > config.RemediationMaxInFlight {
		bad("%s.max_in_flight: %d out of range", key, gp.maxInFlight)
	}
	if gp.maxFailures < 1 {
		bad("%s.breaker.max_failures: %d out of range", key, gp.maxFailures)
	}
	if _, err := path.Match(g.Match, ""); err != nil || g.Match == "" {
		bad("%s.match: %q is not a valid glob", key, g.Match)
	}
	for j, name := range g.ForeignControllers.Allow {
		if foreignController(name) == nil {
			bad("%s.foreign_controllers.allow[%d]: %q is not a controller driftd knows", key, j, name)
		}
	}
	for j, w := range g.Windows {
		wk := fmt.Sprintf("%s.windows[%d]", key, j)
		sch, err := config.ParseRemediationSchedule(w.Schedule)
		if err != nil {
			bad("%s.schedule: %v", wk, err)
			continue
		}
		spec, ok := sch.(*cron.SpecSchedule)
		if !ok {
			bad("%s.schedule: %q is not a wall-clock schedule", wk, w.Schedule)
			continue
		}
		loc, err := config.RemediationLocation(w.TimeZone)
		if err != nil {
			bad("%s.timezone: %v", wk, err)
			continue
		}
		if w.Duration <= 0 || w.Duration > 31*24*time.Hour {
			bad("%s.duration: %s out of range", wk, w.Duration)
			continue
		}
		gp.windows = append(gp.windows, window{spec: spec, duration: w.Duration, loc: loc})
	}
	if len(errs) > 0 {
		gp.err = fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return gp
}

// groupFor returns the first groups[] entry whose glob matches the name, or
// the defaults (fallback) when none does.
func (p *policy) groupFor(name string) (*groupPolicy, bool) {
	for _, g := range p.groups {
		if g.match == "" {
			continue
		}
		if ok, err := path.Match(g.match, name); err == nil && ok {
			return g, true
		}
	}
	return p.fallback, false
}

// resolveMode applies the precedence: the config (first matching groups[]
// entry, else mode_default) sets the mode; the ASG tag driftd:remediation may
// always lower it and may raise it only when allow_tag_override is true; an
// invalid tag value turns the group off (fail closed).
func (p *policy) resolveMode(gp *groupPolicy, matched bool, tags map[string]string) (mode int, source, detail string) {
	mode, source = p.modeDefault, "default"
	if matched {
		mode, source = gp.mode, "config"
	}
	v, ok := tags[drift.TagRemediation]
	if !ok {
		return mode, source, ""
	}
	r := config.RemediationModeRank(strings.TrimSpace(strings.ToLower(v)))
	switch {
	case r < 0:
		return modeOff, "tag", fmt.Sprintf("ASG tag %s=%q is not a mode; group turned off", drift.TagRemediation, v)
	case r <= mode:
		return r, "tag", ""
	case p.tagOverride:
		return r, "tag", ""
	default:
		return mode, source, fmt.Sprintf("ASG tag %s=%q ignored: allow_tag_override is false", drift.TagRemediation, v)
	}
}

// windowOpen reports whether any window is open at now (true when the group
// has no windows). A window opens at each wall-clock time in its zone that
// matches the cron fields and stays open for its duration of elapsed time.
// A start that falls into a DST gap (02:30 on the spring-forward night)
// opens the window at the first instant after the gap; a start in a repeated
// hour (fall-back) opens it once, at the first occurrence.
func (gp *groupPolicy) windowOpen(now time.Time) (bool, string) {
	if len(gp.windows) == 0 {
		return true, ""
	}
	var next time.Time
	for _, w := range gp.windows {
		if start, ok := w.activeStart(now); ok {
			return true, fmt.Sprintf("window opened %s", start.Format(time.RFC3339))
		}
		if n := w.nextStart(now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	if next.IsZero() {
		return false, "no window opens in the next 366 days"
	}
	return false, fmt.Sprintf("next window opens %s", next.Format(time.RFC3339))
}

const starBit = 1 << 63

func (w window) dayMatches(t time.Time) bool {
	s := w.spec
	if 1<<uint(t.Month())&s.Month == 0 {
		return false
	}
	dom := 1<<uint(t.Day())&s.Dom > 0
	dow := 1<<uint(t.Weekday())&s.Dow > 0
	if s.Dom&starBit > 0 || s.Dow&starBit > 0 {
		return dom && dow
	}
	return dom || dow
}

// startsOn lists the window starts on one local calendar day.
func (w window) startsOn(y int, m time.Month, d int, fn func(time.Time) bool) bool {
	day := time.Date(y, m, d, 12, 0, 0, 0, w.loc)
	if !w.dayMatches(day) {
		return false
	}
	for h := 0; h < 24; h++ {
		if 1<<uint(h)&w.spec.Hour == 0 {
			continue
		}
		for mi := 0; mi < 60; mi++ {
			if 1<<uint(mi)&w.spec.Minute == 0 {
				continue
			}
			if fn(wallClock(y, m, d, h, mi, w.loc)) {
				return true
			}
		}
	}
	return false
}

// wallClock builds a local time. A wall clock inside a DST gap moves to
// the first instant after the gap (the transition itself); a wall clock that
// occurs twice (fall back) is its first occurrence.
func wallClock(y int, m time.Month, d, h, mi int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, h, mi, 0, 0, loc)
	if t.Hour() == h && t.Minute() == mi {
		for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
			e := t.Add(-back)
			if e.Hour() == h && e.Minute() == mi && e.Day() == d {
				return e
			}
		}
		return t
	}
	// In a gap. Real offsets lie within [-12h, +14h], so the instant whose
	// wall clock first reaches h:mi lies in [base-15h, base+13h], where the
	// wall clock is monotonic (no other transition within a day of a gap).
	base := time.Date(y, m, d, h, mi, 0, 0, time.UTC)
	lo, hi := base.Add(-15*time.Hour), base.Add(13*time.Hour)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if wallBefore(mid.In(loc), base) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.Truncate(time.Second).In(loc)
}

// wallBefore compares t's wall clock with a wall clock expressed in UTC fields.
func wallBefore(t time.Time, wall time.Time) bool {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC).Before(wall)
}

// activeStart finds a start s with s <= now < s+duration.
func (w window) activeStart(now time.Time) (time.Time, bool) {
	local := now.In(w.loc)
	from := now.Add(-w.duration).In(w.loc)
	var found time.Time
	day := time.Date(from.Year(), from.Month(), from.Day(), 12, 0, 0, 0, w.loc)
	end := time.Date(local.Year(), local.Month(), local.Day(), 12, 0, 0, 0, w.loc)
	for !day.After(end) {
		w.startsOn(day.Year(), day.Month(), day.Day(), func(s time.Time) bool {
			if !s.After(now) && now.Before(s.Add(w.duration)) {
				found = s
				return true
			}
			return false
		})
		if !found.IsZero() {
			return found, true
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}, false
}

// nextStart is the first start after now (zero if none within 366 days).
func (w window) nextStart(now time.Time) time.Time {
	local := now.In(w.loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 12, 0, 0, 0, w.loc)
	for i := 0; i < 367; i++ {
		var found time.Time
		w.startsOn(day.Year(), day.Month(), day.Day(), func(s time.Time) bool {
			if s.After(now) {
				found = s
				return true
			}
			return false
		})
		if !found.IsZero() {
			return found
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// allowSet is a set of names (nil for none).
func allowSet(names []string) map[string]bool {
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// foreignAllowed reports whether instances of the controller may be
// replaced in the group: allowed fleet-wide or by the group's entry.
func (p *policy) foreignAllowed(gp *groupPolicy, name string) bool {
	return p.foreignAllow[name] || gp != nil && gp.foreignAllow[name]
}
