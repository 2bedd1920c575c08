package autoscaling

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func reservedTagKey(k string) *wire.Error {
	if strings.HasPrefix(strings.ToLower(k), "aws:") {
		return validation("Tag keys starting with 'aws:' are reserved for internal use")
	}
	return nil
}

// sizes checks min <= desired <= max.
func sizes(minS, maxS, des int) *wire.Error {
	if minS > maxS || des < minS || des > maxS {
		return validation("Desired capacity:%d must be between the specified min size:%d and max size:%d", des, minS, maxS)
	}
	return nil
}

func (s *Service) createGroup(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	minS, _, err := intParam(req, "MinSize", true)
	if err != nil {
		return nil, err
	}
	maxS, _, err := intParam(req, "MaxSize", true)
	if err != nil {
		return nil, err
	}
	des, hasDes, err := intParam(req, "DesiredCapacity", false)
	if err != nil {
		return nil, err
	}
	if !hasDes {
		des = minS
	}
	if err := sizes(minS, maxS, des); err != nil {
		return nil, err
	}
	grace, _, err := intParam(req, "HealthCheckGracePeriod", false)
	if err != nil {
		return nil, err
	}
	spec := fleet.GroupSpec{Name: name, Min: minS, Max: maxS, Desired: des, Grace: grace,
		LaunchTemplateID: req.Form.Get("LaunchTemplate.LaunchTemplateId"), LaunchTemplateName: req.Form.Get("LaunchTemplate.LaunchTemplateName"),
		LaunchTemplateVersion: req.Form.Get("LaunchTemplate.Version"), AZs: wire.QueryList(req.Form, "AvailabilityZones"),
		HealthCheckType: req.Form.Get("HealthCheckType"), VPCZoneIdentifier: req.Form.Get("VPCZoneIdentifier"),
		NewInstancesProtected: req.Form.Get("NewInstancesProtectedFromScaleIn") == "true"}
	if req.Form.Get("LaunchConfigurationName") != "" || req.Form.Get("MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId") != "" {
		return nil, validation("Only LaunchTemplate is supported by this region.")
	}
	for _, n := range wire.Indices(req.Form, "Tags.member.") {
		p := "Tags.member." + strconv.Itoa(n) + "."
		k := req.Form.Get(p + "Key")
		if err := reservedTagKey(k); err != nil {
			return nil, err
		}
		spec.Tags = append(spec.Tags, fleet.GroupTag{Key: k, Value: req.Form.Get(p + "Value"), PropagateAtLaunch: req.Form.Get(p+"PropagateAtLaunch") == "true"})
	}
	f := s.f
	f.Lock()
	defer f.Unlock()
	if f.GroupLocked(name) != nil {
		return nil, wire.Errorf(400, "AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	if err := f.CreateGroupLocked(spec, f.Now()); err != nil {
		return nil, validation("%s", err.Error())
	}
	f.TouchLocked()
	return nil, nil
}

func (s *Service) updateGroup(req *wire.Request) ([]byte, *wire.Error) {
	return s.inGroup(req, nil, func(g *fleet.Group) ([]byte, *wire.Error) {
		f := s.f
		minS, maxS, des := g.Min, g.Max, g.Desired
		for _, p := range []struct {
			name string
			v    *int
		}{{"MinSize", &minS}, {"MaxSize", &maxS}, {"DesiredCapacity", &des}} {
			if n, ok, err := intParam(req, p.name, false); err != nil {
				return nil, err
			} else if ok {
				*p.v = n
			}
		}
		if err := sizes(minS, maxS, des); err != nil {
			return nil, err
		}
		lt, v, err := launchTemplateParam(f, req, "LaunchTemplate.")
		if err != nil {
			return nil, err
		}
		if lt != nil {
			g.LTID, g.LTVersion = lt.ID, v
		}
		if n, ok, err := intParam(req, "HealthCheckGracePeriod", false); err != nil {
			return nil, err
		} else if ok {
			g.Grace = n
		}
		if v := req.Form.Get("NewInstancesProtectedFromScaleIn"); v != "" {
			g.NewInstancesProtected = v == "true"
		}
		g.Min, g.Max, g.Desired = minS, maxS, des
		f.TouchLocked()
		return nil, nil
	})
}

func (s *Service) deleteGroup(req *wire.Request) ([]byte, *wire.Error) {
	return s.inGroup(req, nil, func(g *fleet.Group) ([]byte, *wire.Error) {
		if len(g.Members()) > 0 && req.Form.Get("ForceDelete") != "true" {
			return nil, wire.Errorf(400, "ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.")
		}
		s.f.DeleteGroupLocked(g, s.f.Now())
		s.f.TouchLocked()
		return nil, nil
	})
}

type tagIn struct {
	resourceID, key, value string
	propagate              bool
	hasValue               bool
}

func parseTags(req *wire.Request) ([]tagIn, *wire.Error) {
	var out []tagIn
	for _, n := range wire.Indices(req.Form, "Tags.member.") {
		p := "Tags.member." + strconv.Itoa(n) + "."
		t := tagIn{resourceID: req.Form.Get(p + "ResourceId"), key: req.Form.Get(p + "Key"), value: req.Form.Get(p + "Value")}
		_, t.hasValue = req.Form[p+"Value"]
		if rt := req.Form.Get(p + "ResourceType"); rt != "" && rt != "auto-scaling-group" {
			return nil, validation("ResourceType must be auto-scaling-group")
		}
		if t.key == "" || len(t.key) > 128 || len(t.value) > 256 {
			return nil, validation("Tag key must be 1-128 characters and value at most 256 characters")
		}
		if err := reservedTagKey(t.key); err != nil {
			return nil, err
		}
		t.propagate = req.Form.Get(p+"PropagateAtLaunch") == "true"
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, nullParam("Tags")
	}
	return out, nil
}

// updateTags validates a CreateOrUpdateTags/DeleteTags request and applies
// each tag to its group under the fleet lock.
func (s *Service) updateTags(req *wire.Request, apply func(g *fleet.Group, t tagIn) *wire.Error) ([]byte, *wire.Error) {
	tags, err := parseTags(req)
	if err != nil {
		return nil, err
	}
	f := s.f
	f.Lock()
	defer f.Unlock()
	for _, t := range tags {
		if _, err := group(f, t.resourceID); err != nil {
			return nil, err
		}
	}
	for _, t := range tags {
		if err := apply(f.GroupLocked(t.resourceID), t); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *Service) createOrUpdateTags(req *wire.Request) ([]byte, *wire.Error) {
	return s.updateTags(req, func(g *fleet.Group, t tagIn) *wire.Error {
		found := false
		for i := range g.Tags {
			if g.Tags[i].Key == t.key {
				g.Tags[i].Value, g.Tags[i].PropagateAtLaunch, found = t.value, t.propagate, true
			}
		}
		if !found {
			if len(g.Tags) >= 50 {
				return wire.Errorf(400, "LimitExceeded", "The number of tags for %s has reached the limit of 50.", g.Name)
			}
			g.Tags = append(g.Tags, fleet.GroupTag{Key: t.key, Value: t.value, PropagateAtLaunch: t.propagate})
		}
		sort.Slice(g.Tags, func(i, j int) bool { return g.Tags[i].Key < g.Tags[j].Key })
		return nil
	})
}

func (s *Service) deleteTags(req *wire.Request) ([]byte, *wire.Error) {
	return s.updateTags(req, func(g *fleet.Group, t tagIn) *wire.Error {
		for i := range g.Tags {
			if g.Tags[i].Key == t.key && (!t.hasValue || g.Tags[i].Value == t.value) {
				g.Tags = append(g.Tags[:i], g.Tags[i+1:]...)
				break
			}
		}
		return nil
	})
}

func processes(req *wire.Request) ([]string, *wire.Error) {
	ps := wire.QueryList(req.Form, "ScalingProcesses")
	all := fleet.ScalingProcesses()
	if len(ps) == 0 {
		return all, nil
	}
	for _, p := range ps {
		if !slices.Contains(all, p) {
			return nil, validation("Process %s is not a valid scaling process.", p)
		}
	}
	return ps, nil
}

func (s *Service) suspendProcesses(req *wire.Request) ([]byte, *wire.Error) {
	return s.updateProcesses(req, func(g *fleet.Group, ps []string, now time.Time) {
		for _, p := range ps {
			if _, ok := g.Suspended[p]; !ok {
				g.Suspended[p] = "User suspended at " + now.UTC().Format("2006-01-02T15:04:05Z")
			}
		}
	})
}

func (s *Service) resumeProcesses(req *wire.Request) ([]byte, *wire.Error) {
	return s.updateProcesses(req, func(g *fleet.Group, ps []string, _ time.Time) {
		for _, p := range ps {
			delete(g.Suspended, p)
		}
	})
}

// updateProcesses validates a Suspend/ResumeProcesses request, applies it to
// the group under the fleet lock and lets the state machine catch up (a
// resumed ReplaceUnhealthy, say, replaces instances now).
func (s *Service) updateProcesses(req *wire.Request, apply func(g *fleet.Group, ps []string, now time.Time)) ([]byte, *wire.Error) {
	var ps []string
	return s.inGroup(req, func() (err *wire.Error) {
		ps, err = processes(req)
		return err
	}, func(g *fleet.Group) ([]byte, *wire.Error) {
		apply(g, ps, s.f.Now())
		s.f.TouchLocked()
		return nil, nil
	})
}
