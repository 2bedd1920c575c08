// Package autoscaling serves the simulated region's Auto Scaling API
// (awsQuery protocol) from the fleet model: groups and their members,
// health, protection, standby, lifecycle hooks, instance refreshes, scaling
// activities, tags and suspended processes.
package autoscaling

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

// Service is the Auto Scaling handler over a fleet.
type Service struct {
	f   *fleet.Fleet
	tok *wire.Tokens
	// ops answer with the members of the OpResult (nil: an operation
	// without output, rendered without a Result wrapper).
	ops wire.Ops[[]byte]
}

// New returns the Auto Scaling service of f.
func New(f *fleet.Fleet) *Service {
	s := &Service{f: f, tok: wire.NewTokens()}
	s.ops = wire.Ops[[]byte]{
		"DescribeAutoScalingGroups":           s.describeGroups,
		"DescribeAutoScalingInstances":        s.describeInstances,
		"SetInstanceHealth":                   s.setInstanceHealth,
		"TerminateInstanceInAutoScalingGroup": s.terminateInstance,
		"SetInstanceProtection":               s.setInstanceProtection,
		"EnterStandby":                        func(req *wire.Request) ([]byte, *wire.Error) { return s.standby(req, true) },
		"ExitStandby":                         func(req *wire.Request) ([]byte, *wire.Error) { return s.standby(req, false) },
		"StartInstanceRefresh":                s.startInstanceRefresh,
		"DescribeInstanceRefreshes":           s.describeInstanceRefreshes,
		"CancelInstanceRefresh":               s.cancelInstanceRefresh,
		"DescribeScalingActivities":           s.describeScalingActivities,
		"CreateOrUpdateTags":                  s.createOrUpdateTags,
		"DeleteTags":                          s.deleteTags,
		"SuspendProcesses":                    s.suspendProcesses,
		"ResumeProcesses":                     s.resumeProcesses,
		"CreateAutoScalingGroup":              s.createGroup,
		"UpdateAutoScalingGroup":              s.updateGroup,
		"DeleteAutoScalingGroup":              s.deleteGroup,
		"PutLifecycleHook":                    s.putLifecycleHook,
		"DescribeLifecycleHooks":              s.describeLifecycleHooks,
		"CompleteLifecycleAction":             s.completeLifecycleAction,
		"RecordLifecycleActionHeartbeat":      s.recordHeartbeat,
	}
	return s
}

// ServeAWS implements wire.Handler.
func (s *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	s.ops.Serve(w, req, wire.WriteQuery, func(req *wire.Request) *wire.Error {
		return wire.Errorf(400, "InvalidAction", "Could not find operation %s for version 2011-01-01", req.Op)
	})
}

func (s *Service) options() fleet.Options { return s.f.Options() }

func validation(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "ValidationError", format, args...)
}

func nullParam(name string) *wire.Error {
	return validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func requireParam(req *wire.Request, name string) (string, *wire.Error) {
	v := req.Form.Get(name)
	if v == "" {
		return "", nullParam(name)
	}
	return v, nil
}

// requireBool reads a required boolean parameter.
func requireBool(req *wire.Request, name string) (bool, *wire.Error) {
	v, err := requireParam(req, name)
	if err != nil {
		return false, err
	}
	b, ok := wire.ParseBool(v)
	if !ok {
		return false, validation("Invalid value for %s: %s", name, v)
	}
	return b, nil
}

func intParam(req *wire.Request, name string, required bool) (int, bool, *wire.Error) {
	v := req.Form.Get(name)
	if v == "" {
		if required {
			return 0, false, nullParam(name)
		}
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false, validation("Value '%s' at '%s' is not a non-negative integer", v, lowerFirst(name))
	}
	return n, true, nil
}

// instanceIDs reads InstanceIds (1..most of them).
func instanceIDs(req *wire.Request, most int) ([]string, *wire.Error) {
	ids := wire.QueryList(req.Form, "InstanceIds")
	if len(ids) == 0 || len(ids) > most {
		return nil, validation("The number of instance ids must be between 1 and %d", most)
	}
	return ids, nil
}

// maxRecords reads MaxRecords: 1..hi, def when absent.
func maxRecords(req *wire.Request, hi, def int) (int, *wire.Error) {
	v := req.Form.Get("MaxRecords")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > hi {
		return 0, validation("1 validation error detected: Value '%s' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and %d", v, hi)
	}
	return n, nil
}

// cursor resumes a listing at the request's NextToken, which must have been
// issued for the same query (scope prefix and parameters).
func (s *Service) cursor(req *wire.Request, prefix string) (wire.Cursor, *wire.Error) {
	t := req.Form.Get("NextToken")
	c, ok := s.tok.Resume(prefix+"|"+wire.Fingerprint(req.Form, "NextToken", "MaxRecords"), t)
	if !ok {
		return c, wire.Errorf(400, "InvalidNextToken", "The token '%s' is invalid.", t)
	}
	return c, nil
}

// page reads MaxRecords (1..hi, def when absent), then the NextToken.
func (s *Service) page(req *wire.Request, prefix string, hi, def int) (int, wire.Cursor, *wire.Error) {
	max, err := maxRecords(req, hi, def)
	if err != nil {
		return 0, wire.Cursor{}, err
	}
	c, err := s.cursor(req, prefix)
	return max, c, err
}

func group(f *fleet.Fleet, name string) (*fleet.Group, *wire.Error) {
	g := f.GroupLocked(name)
	if g == nil {
		return nil, validation("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
	}
	return g, nil
}

// inGroup serves a call on the group named by AutoScalingGroupName: the
// name is required, validate (nil: none) checks the other parameters, then
// fn runs with the fleet locked for writing and the group found.
func (s *Service) inGroup(req *wire.Request, validate func() *wire.Error, fn func(g *fleet.Group) ([]byte, *wire.Error)) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	if validate != nil {
		if err := validate(); err != nil {
			return nil, err
		}
	}
	s.f.Lock()
	defer s.f.Unlock()
	g, err := group(s.f, name)
	if err != nil {
		return nil, err
	}
	return fn(g)
}

// groupMembers resolves ids to instances of group g that pass ok (which
// returns the error for an instance that does not qualify).
func groupMembers(f *fleet.Fleet, g *fleet.Group, ids []string, ok func(id string, in *fleet.Instance) *wire.Error) ([]*fleet.Instance, *wire.Error) {
	out := make([]*fleet.Instance, 0, len(ids))
	for _, id := range ids {
		in := f.InstanceLocked(id)
		if in == nil || in.Group != g.Name {
			return nil, validation("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
		if err := ok(id, in); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// inMember serves a call on the group member named by InstanceId: the id
// is required, validate checks the other parameters, then fn runs with the
// fleet locked for writing, the member and its group.
func (s *Service) inMember(req *wire.Request, validate func() *wire.Error, fn func(in *fleet.Instance, g *fleet.Group) ([]byte, *wire.Error)) ([]byte, *wire.Error) {
	id, err := requireParam(req, "InstanceId")
	if err != nil {
		return nil, err
	}
	if err := validate(); err != nil {
		return nil, err
	}
	s.f.Lock()
	defer s.f.Unlock()
	in := s.f.InstanceLocked(id)
	if in == nil || in.Group == "" || in.Lifecycle == fleet.LCTerminated || s.f.GroupLocked(in.Group) == nil {
		return nil, validation("Instance Id not found - No managed instance found for instance ID: %s", id)
	}
	return fn(in, s.f.GroupLocked(in.Group))
}

// launchTemplateParam reads a launch template specification (prefix +
// LaunchTemplateId or LaunchTemplateName, and Version, $Default when
// absent); lt is nil when the request names none.
func launchTemplateParam(f *fleet.Fleet, req *wire.Request, prefix string) (lt *fleet.LaunchTemplate, version string, err *wire.Error) {
	id, name := req.Form.Get(prefix+"LaunchTemplateId"), req.Form.Get(prefix+"LaunchTemplateName")
	if id == "" && name == "" {
		return nil, "", nil
	}
	lt, e := f.FindLaunchTemplate(id, name)
	if e != nil {
		return nil, "", validation("%s", e.Message)
	}
	if version = req.Form.Get(prefix + "Version"); version == "" {
		version = "$Default"
	}
	return lt, version, nil
}
