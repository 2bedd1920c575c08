// Package remediation closes the loop on drift without becoming the outage:
// it flags drifted instances with tags and, where an operator opted in,
// replaces them through Auto Scaling one at a time under budgets,
// maintenance windows, circuit breakers, approvals and a kill switch.
//
// The decision is Plan, a pure function of instance verdicts, Auto Scaling
// facts, configuration, remembered state and an injected time. It returns
// commands as data: every candidate ends as an Action or a Skip with a
// reason. The Engine runs Plan each cycle, re-validates each action right
// before acting, executes it through an Executor (AWS, or the DryRun
// decorator), tracks replacements until the new instance is InService and
// in sync, and persists in-flight work in tags so a restart neither repeats
// nor forgets an action.
package remediation

import (
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// ActionKind is what the executor does.
type ActionKind string

const (
	ActionSetInstanceHealth ActionKind = "set_instance_health"
	ActionTerminate         ActionKind = "terminate"
	ActionInstanceRefresh   ActionKind = "start_instance_refresh"
)

// InstanceState is one instance's latest verdict, as the daemon's state
// tracks it. The engine owns no verdict history: the daemon reports it.
type InstanceState struct {
	ID  string `json:"instance_id"`
	ASG string `json:"asg,omitempty"`
	// Verdict of the latest scan.
	Verdict drift.Verdict `json:"verdict"`
	// Severity is the instance severity (highest finding) when drifted.
	Severity drift.Severity `json:"severity"`
	// ConsecutiveScans is how many scans in a row reported this verdict (>= 1).
	ConsecutiveScans int `json:"consecutive_scans"`
	// Since is when the current verdict was first seen.
	Since time.Time `json:"since"`
	// Reason is a short explanation ("3 package changes, openssl downgraded").
	Reason string `json:"reason,omitempty"`
	// AMIOnly is true when every finding is instance-level AMI drift (the
	// instance runs an older AMI than the group's launch template).
	AMIOnly bool `json:"ami_only,omitempty"`
	// Tags are the instance's current EC2 tags; nil means not known (the
	// engine then fills them from its own observation).
	Tags map[string]string `json:"tags,omitempty"`
	// LastKnown is, for an instance whose verdict is unknown or stale, the
	// last in_sync or drifted verdict the engine saw for it (AMIOnly as it
	// was then in LastKnownAMIOnly). Only the group and fleet counts read it
	// (drift-share breakers, the choice of an instance refresh): one
	// instance's failed collection must not move a breaker that would
	// otherwise stay open (or shut). Never a reason to act on the instance.
	// The engine fills it from its memory of earlier cycles.
	LastKnown        drift.Verdict `json:"last_known,omitempty"`
	LastKnownAMIOnly bool          `json:"last_known_ami_only,omitempty"`
}

// GroupFacts are the Auto Scaling facts about one group.
type GroupFacts struct {
	Name               string            `json:"name"`
	Desired            int               `json:"desired"`
	Instances          []GroupInstance   `json:"instances"`
	Tags               map[string]string `json:"tags,omitempty"`
	SuspendedProcesses []string          `json:"suspended_processes,omitempty"`
	// RefreshActive is true while an instance refresh is Pending, InProgress,
	// Cancelling, RollbackInProgress or Baking.
	RefreshActive bool `json:"refresh_active,omitempty"`
}

// GroupInstance is a group member as DescribeAutoScalingGroups reports it.
type GroupInstance struct {
	ID             string    `json:"instance_id"`
	LifecycleState string    `json:"lifecycle_state"`
	HealthStatus   string    `json:"health_status"`
	LaunchTime     time.Time `json:"launch_time,omitempty"`
}

// InFlight is an action in progress: its slot in the group stays occupied
// until the replacement is InService and in sync, or it fails.
type InFlight struct {
	Group      string     `json:"group"`
	InstanceID string     `json:"instance_id,omitempty"` // empty for a refresh
	Kind       ActionKind `json:"action"`
	Started    time.Time  `json:"started"`
	RefreshID  string     `json:"refresh_id,omitempty"`
}

// GroupHistory is what the engine remembers about a group between cycles.
type GroupHistory struct {
	ConsecutiveFailures int       `json:"consecutive_failures"`
	LastFailure         time.Time `json:"last_failure,omitempty"`
	// Override is set by an operator reset: the drift-share breaker is
	// ignored until its condition clears once.
	Override bool `json:"override,omitempty"`
}

// Approval lets one instance in an `approve` group be replaced until it expires.
type Approval struct {
	InstanceID string    `json:"instance_id"`
	By         string    `json:"by,omitempty"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
}

// State is the engine's memory carried into each Plan.
type State struct {
	InFlight      []InFlight              `json:"in_flight,omitempty"`
	Groups        map[string]GroupHistory `json:"groups,omitempty"`
	FleetOverride bool                    `json:"fleet_override,omitempty"`
	// RecentActions are the start times of actions (for the hourly cap).
	RecentActions []time.Time `json:"recent_actions,omitempty"`
	Approvals     []Approval  `json:"approvals,omitempty"`
}

// KillSwitch is the evaluated kill switch.
type KillSwitch struct {
	Engaged bool   `json:"engaged"`
	Source  string `json:"source,omitempty"` // config | ssm | file
	Detail  string `json:"detail,omitempty"`
}

// PlanInput is everything Plan decides on.
type PlanInput struct {
	Now        time.Time
	Config     config.Remediation
	Instances  []InstanceState
	Groups     map[string]GroupFacts
	State      State
	KillSwitch KillSwitch
	// ReadFailures are the reads of Auto Scaling and EC2 state that failed
	// this cycle. The groups they name are not acted on (group_state_unknown)
	// and the instances whose tags they should have read are not tagged.
	ReadFailures []ReadFailure
}

// Calls a ReadFailure names.
const (
	CallDescribeGroups    = "DescribeAutoScalingGroups"
	CallDescribeRefreshes = "DescribeInstanceRefreshes"
	CallDescribeInstances = "DescribeInstances"
)

// ReadFailure is one group's state that could not be read this cycle: it
// fails closed for that group only. A failed DescribeAutoScalingGroups
// leaves the group's driftd:remediation tag, and so its mode, unknown:
// nothing in it is tagged or replaced. A failed DescribeInstanceRefreshes
// or DescribeInstances stops replacements in the group; flagging goes on,
// except for instances whose tags were not read.
type ReadFailure struct {
	Group string `json:"group,omitempty"` // "" for instances outside any group
	Call  string `json:"call"`            // CallDescribeGroups, CallDescribeRefreshes or CallDescribeInstances
	// Instances whose EC2 tags and launch times are unknown (DescribeInstances).
	Instances []string `json:"instances,omitempty"`
	// Code is the AWS error code ("AccessDenied", "Throttling", ...; "" when
	// there was no answer).
	Code  string `json:"code,omitempty"`
	Error string `json:"error"`
}

// Action is one command to execute.
type Action struct {
	Kind       ActionKind     `json:"action"`
	Group      string         `json:"group"`
	InstanceID string         `json:"instance_id,omitempty"`
	Severity   drift.Severity `json:"severity"`
	Reason     string         `json:"reason"` // why: the drift reason
	DriftSince time.Time      `json:"drift_since,omitempty"`
	// Covers lists the instances an instance refresh replaces.
	Covers []string `json:"covers,omitempty"`
	// MinHealthyPercentage is passed to StartInstanceRefresh.
	MinHealthyPercentage int `json:"min_healthy_percentage,omitempty"`
	// Approved is set when an operator approval allowed the action.
	Approved bool `json:"approved,omitempty"`
}

// SkipReason is a bounded set of reasons (also a metric label).
type SkipReason string

const (
	SkipModeOff           SkipReason = "mode_off"
	SkipModeFlag          SkipReason = "mode_flag"
	SkipNotInGroup        SkipReason = "not_in_asg"
	SkipDebounce          SkipReason = "debounce"
	SkipSeverity          SkipReason = "below_min_severity"
	SkipInFlight          SkipReason = "already_in_flight"
	SkipKillSwitch        SkipReason = "kill_switch"
	SkipMisconfigured     SkipReason = "misconfigured"
	SkipFleetBreaker      SkipReason = "fleet_breaker_open"
	SkipGroupBreaker      SkipReason = "group_breaker_open"
	SkipFailureBreaker    SkipReason = "failure_breaker_open"
	SkipBackoff           SkipReason = "failure_backoff"
	SkipRefreshActive     SkipReason = "instance_refresh_active"
	SkipSuspended         SkipReason = "processes_suspended"
	SkipGroupUnhealthy    SkipReason = "group_unhealthy"
	SkipOutsideWindow     SkipReason = "outside_window"
	SkipProtected         SkipReason = "protected"
	SkipNotInService      SkipReason = "not_in_service"
	SkipAwaitingApproval  SkipReason = "awaiting_approval"
	SkipMaxInFlight       SkipReason = "max_in_flight"
	SkipBudget            SkipReason = "budget_exhausted"
	SkipHourlyCap         SkipReason = "hourly_cap"
	SkipRevalidation      SkipReason = "revalidation_failed"
	SkipHookVeto          SkipReason = "hook_veto"
	SkipGroupUnknown      SkipReason = "group_unknown"
	SkipGroupStateUnknown SkipReason = "group_state_unknown"
	SkipExecutionFailed   SkipReason = "execution_failed"
	SkipForeignController SkipReason = "managed_by_other_controller"
)

// SkipReasons is every skip reason: the values of the reason label of
// driftd_remediation_blocked, each documented in docs/remediation.md.
var SkipReasons = []SkipReason{
	SkipModeOff, SkipModeFlag, SkipNotInGroup, SkipDebounce, SkipSeverity, SkipInFlight, SkipKillSwitch, SkipMisconfigured,
	SkipFleetBreaker, SkipGroupBreaker, SkipFailureBreaker, SkipBackoff, SkipRefreshActive, SkipSuspended, SkipGroupUnhealthy,
	SkipOutsideWindow, SkipProtected, SkipNotInService, SkipAwaitingApproval, SkipMaxInFlight, SkipBudget, SkipHourlyCap,
	SkipRevalidation, SkipHookVeto, SkipGroupUnknown, SkipGroupStateUnknown, SkipExecutionFailed, SkipForeignController,
}

// BlockingReasons are the group- and fleet-level gates (the reasons a whole
// group can be blocked by), in check order.
var BlockingReasons = []SkipReason{
	SkipKillSwitch, SkipMisconfigured, SkipGroupStateUnknown, SkipGroupUnknown, SkipFleetBreaker, SkipGroupBreaker, SkipFailureBreaker, SkipBackoff,
	SkipRefreshActive, SkipSuspended, SkipGroupUnhealthy, SkipOutsideWindow, SkipMaxInFlight, SkipBudget, SkipHourlyCap,
}

// Skip is a candidate that was not acted on, and why.
type Skip struct {
	InstanceID string     `json:"instance_id"`
	Group      string     `json:"group,omitempty"`
	Reason     SkipReason `json:"reason"`
	Detail     string     `json:"detail,omitempty"`
}

// TagChange sets and deletes driftd:* tags on one instance.
type TagChange struct {
	InstanceID string            `json:"instance_id"`
	Set        map[string]string `json:"set,omitempty"`
	Delete     []string          `json:"delete,omitempty"`
}

// Breaker is a circuit breaker's state.
type Breaker struct {
	Scope  string `json:"scope"` // group name or "fleet"
	Open   bool   `json:"open"`
	Kind   string `json:"kind,omitempty"` // drift_share | failures
	Detail string `json:"detail,omitempty"`
}

// GroupStatus summarises one group's gates in a plan.
type GroupStatus struct {
	Name       string     `json:"name"`
	Mode       string     `json:"mode"`
	ModeSource string     `json:"mode_source"` // default | config | tag
	Budget     string     `json:"budget,omitempty"`
	Allowed    int        `json:"allowed"`
	InFlight   int        `json:"in_flight"`
	Remaining  int        `json:"remaining"` // budget left after in-flight and this plan's actions
	WindowOpen bool       `json:"window_open"`
	Drifted    int        `json:"drifted"`
	Known      int        `json:"known"`
	Breaker    Breaker    `json:"breaker"`
	Blocked    SkipReason `json:"blocked,omitempty"`
	Detail     string     `json:"detail,omitempty"`
}

// PlanResult is the decision for one cycle (the result of Plan).
type PlanResult struct {
	Now        time.Time     `json:"now"`
	KillSwitch KillSwitch    `json:"kill_switch"`
	Fleet      Breaker       `json:"fleet_breaker"`
	Actions    []Action      `json:"actions"`
	Skipped    []Skip        `json:"skipped"`
	Tags       []TagChange   `json:"tags,omitempty"`
	Groups     []GroupStatus `json:"groups"`
	// HourlyRemaining is the fleet-wide hourly cap left after this plan.
	HourlyRemaining int `json:"hourly_remaining"`
	// Errors are configuration problems; affected scopes are blocked.
	Errors []string `json:"errors,omitempty"`
	// ReadFailures are the reads that failed this cycle (see ReadFailure).
	ReadFailures []ReadFailure `json:"read_failures,omitempty"`
}
