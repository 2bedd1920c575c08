package autoscaling

import (
	"strconv"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func (s *Service) startInstanceRefresh(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	if st := req.Form.Get("Strategy"); st != "" && st != "Rolling" {
		return nil, validation("Strategy %s is not supported by this region; use Rolling.", st)
	}
	intPref := func(key string, lo, hi, def int) (int, *wire.Error) {
		v := req.Form.Get("Preferences." + key)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, validation("1 validation error detected: Value '%s' at 'preferences.%s' failed to satisfy constraint: Member must have value between %d and %d", v, lowerFirst(key), lo, hi)
		}
		return n, nil
	}
	minH, err := intPref("MinHealthyPercentage", 0, 100, 90)
	if err != nil {
		return nil, err
	}
	maxH, err := intPref("MaxHealthyPercentage", 100, 200, 100)
	if err != nil {
		return nil, err
	}
	if maxH-minH > 100 {
		return nil, validation("The difference between MaxHealthyPercentage and MinHealthyPercentage can't be greater than 100.")
	}
	g, unlock, err := s.lockGroup(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	f := s.f
	warm, err := intPref("InstanceWarmup", 0, 1<<30, g.Grace)
	if err != nil {
		return nil, err
	}
	if g.ActiveRefresh() != nil {
		return nil, wire.Errorf(400, "InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	}
	r := &fleet.Refresh{ID: f.UUID(), Group: g.Name, Status: "Pending", Start: f.Now(), MinHealthy: minH, MaxHealthy: maxH,
		Warmup: time.Duration(warm) * time.Second, ProtectedPref: "Ignore", StandbyPref: "Ignore"}
	if v := req.Form.Get("Preferences.SkipMatching"); v != "" {
		r.SkipMatching, _ = wire.ParseBool(v)
	}
	if v := req.Form.Get("Preferences.ScaleInProtectedInstances"); v != "" {
		r.ProtectedPref = v
	}
	if v := req.Form.Get("Preferences.StandbyInstances"); v != "" {
		r.StandbyPref = v
	}
	if id, nm := req.Form.Get("DesiredConfiguration.LaunchTemplate.LaunchTemplateId"), req.Form.Get("DesiredConfiguration.LaunchTemplate.LaunchTemplateName"); id != "" || nm != "" {
		lt, e := f.FindLaunchTemplate(id, nm)
		if e != nil {
			return nil, validation("%s", e.Message)
		}
		ver := req.Form.Get("DesiredConfiguration.LaunchTemplate.Version")
		if ver == "" {
			ver = "$Default"
		}
		if _, ok := lt.Resolve(ver); !ok {
			return nil, validation("The launch template version %s does not exist.", ver)
		}
		r.DesiredLTID, r.DesiredVersion = lt.ID, ver
	}
	f.AddRefreshLocked(g, r)
	f.TouchLocked()
	return refreshID(r), nil
}

func refreshID(r *fleet.Refresh) []byte {
	var b wire.XML
	b.El("InstanceRefreshId", r.ID)
	return b.Bytes()
}

func (s *Service) cancelInstanceRefresh(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	g, unlock, err := s.lockGroup(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r := g.ActiveRefresh()
	if r == nil || r.Status == "Cancelling" {
		return nil, wire.Errorf(400, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", name)
	}
	r.Status = "Cancelling"
	s.f.ScheduleLocked(s.f.Now())
	return refreshID(r), nil
}
