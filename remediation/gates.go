package remediation

import (
	"fmt"
	"strings"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// A gate is one check of the plan. check returns the reason it blocks with,
// or "" when it lets the instance (or group) through, and a detail for the
// operator. Gates are pure: they read the gate context and change nothing.
//
// The plan runs three ordered lists: groupGates once per group (the first
// that blocks is the group's GroupStatus.Blocked), then for every drifted
// instance candidateGates and, unless the instance joins its group's
// instance refresh, capacityGates. The first gate that blocks is the
// instance's skip reason. The order follows the reason table of
// docs/remediation.md, and a test keeps the two in step.
type gate struct {
	// name identifies the gate; a gate listed twice (a fleet-wide gate also
	// reported on each group) has one name.
	name string
	// reasons are every reason check may return.
	reasons []SkipReason
	check   func(c *gateCtx) (SkipReason, string)
	// allModes: a group gate also checked in off and flag mode (the others
	// only concern groups that may replace).
	allModes bool
}

// planCtx holds the plan-wide facts gates read, and the hourly cap the plan
// spends.
type planCtx struct {
	pol       *policy
	now       time.Time
	kill      KillSwitch
	fleetOpen bool
	facts     map[string]GroupFacts   // by group
	history   map[string]GroupHistory // by group
	// inFlight are the remembered actions by instance, groupInFlight their
	// number by group.
	inFlight      map[string]InFlight
	groupInFlight map[string]int
	approvals     map[string]Approval // by instance: the one expiring last
	hourly        int                 // actions left in the rolling hour
}

// gateCtx is what a gate sees: the plan, the group (nil for an instance
// outside any group) and the instance (nil while the group gates run).
type gateCtx struct {
	*planCtx
	g *groupEval
	s *InstanceState
}

// firstBlock runs gates in order and returns the first block.
func firstBlock(gates []gate, c *gateCtx) (SkipReason, string) {
	for i := range gates {
		if r, d := gates[i].check(c); r != "" {
			return r, d
		}
	}
	return "", ""
}

func reasons(r ...SkipReason) []SkipReason { return r }

// Gates listed in more than one list.
var (
	gateGroupUnreadable     = gate{name: "group_unreadable", reasons: reasons(SkipGroupStateUnknown), check: groupUnreadable, allModes: true}
	gateKillSwitch          = gate{name: "kill_switch", reasons: reasons(SkipKillSwitch), check: killSwitchEngaged}
	gateGlobalMisconfigured = gate{name: "global_misconfigured", reasons: reasons(SkipMisconfigured), check: globalMisconfigured}
)

// groupGates decide, once per group, whether the group is blocked. Only
// allModes gates run for a group in off or flag mode. The kill switch and a
// global configuration error are fleet-wide, and are also candidate gates,
// where they come earlier; here they name the group's block.
var groupGates = []gate{
	gateGroupUnreadable,
	gateKillSwitch,
	gateGlobalMisconfigured,
	{name: "group_misconfigured", reasons: reasons(SkipMisconfigured), check: groupMisconfigured},
	{name: "group_read_failed", reasons: reasons(SkipGroupStateUnknown), check: groupReadFailed},
	{name: "group_unknown", reasons: reasons(SkipGroupUnknown), check: groupUnknown},
	{name: "fleet_breaker", reasons: reasons(SkipFleetBreaker), check: fleetBreakerOpen},
	{name: "group_breaker", reasons: reasons(SkipGroupBreaker), check: groupBreakerOpen},
	{name: "failure_breaker", reasons: reasons(SkipFailureBreaker), check: failureBreakerOpen},
	{name: "failure_backoff", reasons: reasons(SkipBackoff), check: failureBackoff},
	{name: "instance_refresh_active", reasons: reasons(SkipRefreshActive), check: refreshActive},
	{name: "processes_suspended", reasons: reasons(SkipSuspended), check: processesSuspended},
	{name: "group_unhealthy", reasons: reasons(SkipGroupUnhealthy), check: groupUnhealthy},
	{name: "outside_window", reasons: reasons(SkipOutsideWindow), check: outsideWindow},
}

// gateGroupBlocked is the group gates' verdict, in the candidate list.
var gateGroupBlocked = gate{name: "group_gates", reasons: gateReasons(groupGates), check: groupBlocked}

// candidateGates decide, per drifted instance, whether it is a candidate in
// a group that may act now.
var candidateGates = []gate{
	{name: "not_in_asg", reasons: reasons(SkipNotInGroup), check: notInGroup},
	gateGroupUnreadable, // its mode is unknown: before the mode
	{name: "mode_off", reasons: reasons(SkipModeOff), check: modeIsOff},
	{name: "mode_flag", reasons: reasons(SkipModeFlag), check: modeIsFlag},
	gateGlobalMisconfigured,
	{name: "managed_by_other_controller", reasons: reasons(SkipForeignController), check: managedByOtherController},
	{name: "debounce", reasons: reasons(SkipDebounce), check: notDebounced},
	{name: "below_min_severity", reasons: reasons(SkipSeverity), check: belowMinSeverity},
	{name: "in_flight", reasons: reasons(SkipInFlight), check: inFlightRemembered},
	{name: "action_tag", reasons: reasons(SkipInFlight), check: inFlightTagged},
	gateKillSwitch,
	{name: "protected", reasons: reasons(SkipProtected), check: protectedByTag},
	{name: "not_in_service", reasons: reasons(SkipNotInService), check: notInService},
	gateGroupBlocked,
	{name: "awaiting_approval", reasons: reasons(SkipAwaitingApproval), check: awaitingApproval},
}

// capacityGates decide whether the group and the fleet have room for one
// more action (an instance joining its group's instance refresh needs none).
var capacityGates = []gate{
	{name: "max_in_flight", reasons: reasons(SkipMaxInFlight), check: maxInFlightReached},
	{name: "budget_exhausted", reasons: reasons(SkipBudget), check: budgetExhausted},
	{name: "hourly_cap", reasons: reasons(SkipHourlyCap), check: hourlyCapReached},
}

// gateReasons lists the reasons of gates, each once, in order.
func gateReasons(gates []gate) []SkipReason {
	var out []SkipReason
	seen := map[SkipReason]bool{}
	for _, g := range gates {
		for _, r := range g.reasons {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// Fleet-wide gates.

func killSwitchEngaged(c *gateCtx) (SkipReason, string) {
	if c.kill.Engaged {
		return SkipKillSwitch, killDetail(c.kill)
	}
	return "", ""
}

func globalMisconfigured(c *gateCtx) (SkipReason, string) {
	if c.pol.err != nil {
		return SkipMisconfigured, c.pol.err.Error()
	}
	return "", ""
}

// Group gates.

func groupUnreadable(c *gateCtx) (SkipReason, string) {
	if c.g.unreadable {
		return SkipGroupStateUnknown, c.g.failDetail + " (its " + drift.TagRemediation + " tag, and so its mode, are unknown: nothing is tagged or replaced)"
	}
	return "", ""
}

func groupMisconfigured(c *gateCtx) (SkipReason, string) {
	if c.g.gp.err != nil {
		return SkipMisconfigured, c.g.gp.err.Error()
	}
	return "", ""
}

func groupReadFailed(c *gateCtx) (SkipReason, string) {
	if c.g.fail != nil {
		return SkipGroupStateUnknown, c.g.failDetail
	}
	return "", ""
}

func groupUnknown(c *gateCtx) (SkipReason, string) {
	if !c.g.hasFacts {
		return SkipGroupUnknown, "no Auto Scaling facts for the group (DescribeAutoScalingGroups did not return it)"
	}
	return "", ""
}

func fleetBreakerOpen(c *gateCtx) (SkipReason, string) {
	if c.fleetOpen {
		return SkipFleetBreaker, "fleet breaker open"
	}
	return "", ""
}

func groupBreakerOpen(c *gateCtx) (SkipReason, string) {
	if b := c.g.status.Breaker; b.Open && b.Kind != breakerFailures {
		return SkipGroupBreaker, b.Detail
	}
	return "", ""
}

func failureBreakerOpen(c *gateCtx) (SkipReason, string) {
	if b := c.g.status.Breaker; b.Open && b.Kind == breakerFailures {
		return SkipFailureBreaker, b.Detail
	}
	return "", ""
}

// failureBackoff: after each failure below max_failures the group waits
// backoff * 2^(failures-1), capped at backoff_max.
func failureBackoff(c *gateCtx) (SkipReason, string) {
	h, gp := c.g.hist, c.g.gp
	if h.ConsecutiveFailures <= 0 || h.ConsecutiveFailures >= gp.maxFailures {
		return "", ""
	}
	until := h.LastFailure.Add(backoff(gp.backoff, gp.backoffMax, h.ConsecutiveFailures))
	if c.now.Before(until) {
		return SkipBackoff, fmt.Sprintf("%d failed replacement(s); next attempt after %s", h.ConsecutiveFailures, until.Format(time.RFC3339))
	}
	return "", ""
}

func refreshActive(c *gateCtx) (SkipReason, string) {
	if c.g.facts.RefreshActive {
		return SkipRefreshActive, "an instance refresh is in progress"
	}
	return "", ""
}

// suspendedBlocking are the Auto Scaling processes whose suspension makes a
// replacement unsafe or impossible.
var suspendedBlocking = []string{"Launch", "Terminate", "ReplaceUnhealthy", "HealthCheck"}

func processesSuspended(c *gateCtx) (SkipReason, string) {
	var susp []string
	for _, p := range c.g.facts.SuspendedProcesses {
		for _, b := range suspendedBlocking {
			if p == b {
				susp = append(susp, p)
			}
		}
	}
	if len(susp) > 0 {
		return SkipSuspended, "suspended processes: " + strings.Join(susp, ", ")
	}
	return "", ""
}

// groupUnhealthy: fewer healthy InService members than desired, not
// counting driftd's own replacements in flight (those are expected to be
// missing). A group without facts is group_unknown, not unhealthy.
func groupUnhealthy(c *gateCtx) (SkipReason, string) {
	g := c.g
	if !g.hasFacts {
		return "", ""
	}
	inService := 0
	for _, m := range g.facts.Instances {
		if m.LifecycleState == "InService" && (m.HealthStatus == "" || strings.EqualFold(m.HealthStatus, "Healthy")) {
			inService++
		}
	}
	if inService < g.facts.Desired-g.inFlight || g.facts.Desired == 0 {
		return SkipGroupUnhealthy, fmt.Sprintf("%d healthy InService of desired %d (%d replacements in flight)", inService, g.facts.Desired, g.inFlight)
	}
	return "", ""
}

func outsideWindow(c *gateCtx) (SkipReason, string) {
	if !c.g.status.WindowOpen {
		return SkipOutsideWindow, c.g.windowDetail
	}
	return "", ""
}

// Candidate gates.

func notInGroup(c *gateCtx) (SkipReason, string) {
	if c.s.ASG == "" {
		return SkipNotInGroup, "instance is not in an Auto Scaling group; it can only be flagged"
	}
	return "", ""
}

func modeIsOff(c *gateCtx) (SkipReason, string) {
	if c.g.mode == modeOff {
		return SkipModeOff, "remediation is off for this group (report only)"
	}
	return "", ""
}

func modeIsFlag(c *gateCtx) (SkipReason, string) {
	if c.g.mode == modeFlag {
		return SkipModeFlag, "group is in flag mode: tagged, never replaced"
	}
	return "", ""
}

// ForeignController is a controller that launches the instances it owns
// and replaces them on its own terms (Karpenter's drift and expiry, an EKS
// managed node group's updates). driftd reports their drift and flags them,
// but replacing them behind the controller's back fights it, so it replaces
// them only when remediation.foreign_controllers (or the group's entry)
// allows the controller by Name.
type ForeignController struct {
	Name string
	// TagKeys mark its instances (EC2 tags) or their Auto Scaling group.
	TagKeys []string
}

// ForeignControllers are the controllers driftd recognises, by the tags
// they write:
//
//   - karpenter: karpenter.sh/nodepool (v1beta1 and v1),
//     karpenter.sh/provisioner-name (v1alpha5), karpenter.sh/nodeclaim and
//     karpenter.sh/managed-by on the instances it launches
//     (aws/karpenter-provider-aws pkg/cloudprovider);
//   - eks: eks:nodegroup-name and eks:cluster-name, which an EKS managed
//     node group puts on its Auto Scaling group and propagates to its
//     instances, and aws:eks:cluster-name, which only AWS can write.
//
// collectors.ForeignControllerTagKeys keeps these tags in discovery; a test
// keeps the two lists equal.
var ForeignControllers = []ForeignController{
	{Name: config.ForeignControllerKarpenter, TagKeys: []string{"karpenter.sh/nodepool", "karpenter.sh/provisioner-name", "karpenter.sh/nodeclaim", "karpenter.sh/managed-by"}},
	{Name: config.ForeignControllerEKS, TagKeys: []string{"eks:nodegroup-name", "eks:cluster-name", "aws:eks:cluster-name"}},
}

// foreignController returns the controller named name, or nil.
func foreignController(name string) *ForeignController {
	for i := range ForeignControllers {
		if ForeignControllers[i].Name == name {
			return &ForeignControllers[i]
		}
	}
	return nil
}

// managedByOtherController: an instance that Karpenter or an EKS managed
// node group owns (its tags, or its group's) is not replaced unless the
// operator allowed that controller. Tags that are not known this cycle are
// left to the gates that handle failed reads.
func managedByOtherController(c *gateCtx) (SkipReason, string) {
	var groupTags map[string]string
	var gp *groupPolicy
	if c.g != nil {
		groupTags, gp = c.g.facts.Tags, c.g.gp
	}
	for i := range ForeignControllers {
		fc := &ForeignControllers[i]
		for _, k := range fc.TagKeys {
			where, v, ok := "instance", "", false
			if v, ok = c.s.Tags[k]; !ok {
				where = "group"
				v, ok = groupTags[k]
			}
			if !ok || c.pol.foreignAllowed(gp, fc.Name) {
				continue
			}
			return SkipForeignController, fmt.Sprintf("%s tag %s=%q: managed by %s, which replaces its own instances; "+
				"reported and flagged only (allow with remediation.foreign_controllers.allow: [%s], fleet-wide or in the group's entry)",
				where, k, v, fc.Name, fc.Name)
		}
	}
	return "", ""
}

func notDebounced(c *gateCtx) (SkipReason, string) {
	if c.s.ConsecutiveScans < c.pol.debounce {
		return SkipDebounce, fmt.Sprintf("drifted for %d of %d required consecutive scans", c.s.ConsecutiveScans, c.pol.debounce)
	}
	return "", ""
}

func belowMinSeverity(c *gateCtx) (SkipReason, string) {
	if c.s.Severity < c.pol.minSeverity {
		return SkipSeverity, fmt.Sprintf("severity %s is below min_severity %s", c.s.Severity, c.pol.minSeverity)
	}
	return "", ""
}

// inFlightRemembered: the engine remembers an action on this instance.
func inFlightRemembered(c *gateCtx) (SkipReason, string) {
	if f, ok := c.inFlight[c.s.ID]; ok {
		return SkipInFlight, fmt.Sprintf("%s started %s", f.Kind, f.Started.Format(time.RFC3339))
	}
	return "", ""
}

// inFlightTagged: the instance's driftd:action tag records an action younger
// than replacement_timeout (a tag dated more than a minute ahead is ignored).
func inFlightTagged(c *gateCtx) (SkipReason, string) {
	kind, at, ok := parseActionTag(c.s.Tags[drift.TagAction])
	if ok && c.now.Sub(at) < c.pol.timeout && !at.After(c.now.Add(time.Minute)) {
		return SkipInFlight, fmt.Sprintf("instance tag %s records %s at %s", drift.TagAction, kind, at.Format(time.RFC3339))
	}
	return "", ""
}

func protectedByTag(c *gateCtx) (SkipReason, string) {
	if p, detail := protected(c.s.Tags, c.now); p {
		return SkipProtected, detail
	}
	return "", ""
}

// notInService: the instance must be an InService, healthy member of its
// group (membership is only checked when the group's facts are known).
func notInService(c *gateCtx) (SkipReason, string) {
	m, ok := c.g.members[c.s.ID]
	switch {
	case !ok && c.g.hasFacts:
		return SkipNotInService, "instance is not a member of the group in DescribeAutoScalingGroups"
	case ok && m.LifecycleState != "InService":
		return SkipNotInService, "lifecycle state " + m.LifecycleState
	case ok && !strings.EqualFold(m.HealthStatus, "Healthy") && m.HealthStatus != "":
		return SkipNotInService, "health status " + m.HealthStatus
	}
	return "", ""
}

// groupBlocked returns the group gates' verdict.
func groupBlocked(c *gateCtx) (SkipReason, string) {
	if c.g.status.Blocked != "" {
		return c.g.status.Blocked, c.g.status.Detail
	}
	return "", ""
}

// awaitingApproval: in approve mode only an unexpired approval lets an
// instance through.
func awaitingApproval(c *gateCtx) (SkipReason, string) {
	if c.g.mode != modeApprove {
		return "", ""
	}
	a, ok := c.approvals[c.s.ID]
	switch {
	case !ok:
		return SkipAwaitingApproval, "run `driftd approve " + c.s.ID + "` to allow replacement"
	case !c.now.Before(a.Expires):
		return SkipAwaitingApproval, "approval expired at " + a.Expires.Format(time.RFC3339)
	}
	return "", ""
}

// Capacity gates: in-flight replacements and this plan's actions count.

func maxInFlightReached(c *gateCtx) (SkipReason, string) {
	if busy := c.g.inFlight + c.g.planned; busy >= c.g.gp.maxInFlight {
		return SkipMaxInFlight, fmt.Sprintf("%d of max_in_flight %d replacements in progress", busy, c.g.gp.maxInFlight)
	}
	return "", ""
}

func budgetExhausted(c *gateCtx) (SkipReason, string) {
	g := c.g
	if busy := g.inFlight + g.planned; g.status.Allowed-busy <= 0 {
		return SkipBudget, fmt.Sprintf("budget %s allows %d of desired %d; %d in flight", g.gp.budgetText, g.status.Allowed, g.facts.Desired, busy)
	}
	return "", ""
}

func hourlyCapReached(c *gateCtx) (SkipReason, string) {
	if c.hourly <= 0 {
		return SkipHourlyCap, fmt.Sprintf("global.max_per_hour %d reached", c.pol.maxPerHour)
	}
	return "", ""
}
