package autoscaling

import (
	"strconv"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

// intPref reads an integer refresh preference (lo..hi, def when absent).
func intPref(req *wire.Request, key string, lo, hi, def int) (int, *wire.Error) {
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

func (s *Service) startInstanceRefresh(req *wire.Request) ([]byte, *wire.Error) {
	var minH, maxH int
	return s.inGroup(req, func() (err *wire.Error) {
		if st := req.Form.Get("Strategy"); st != "" && st != "Rolling" {
			return validation("Strategy %s is not supported by this region; use Rolling.", st)
		}
		if minH, err = intPref(req, "MinHealthyPercentage", 0, 100, 90); err != nil {
			return err
		}
		if maxH, err = intPref(req, "MaxHealthyPercentage", 100, 200, 100); err != nil {
			return err
		}
		if maxH-minH > 100 {
			return validation("The difference between MaxHealthyPercentage and MinHealthyPercentage can't be greater than 100.")
		}
		return nil
	}, func(g *fleet.Group) ([]byte, *wire.Error) {
		f := s.f
		warm, err := intPref(req, "InstanceWarmup", 0, 1<<30, g.Grace)
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
		lt, ver, err := launchTemplateParam(f, req, "DesiredConfiguration.LaunchTemplate.")
		if err != nil {
			return nil, err
		}
		if lt != nil {
			if _, ok := lt.Resolve(ver); !ok {
				return nil, validation("The launch template version %s does not exist.", ver)
			}
			r.DesiredLTID, r.DesiredVersion = lt.ID, ver
		}
		f.AddRefreshLocked(g, r)
		f.TouchLocked()
		return refreshID(r), nil
	})
}

func refreshID(r *fleet.Refresh) []byte {
	var b wire.XML
	b.El("InstanceRefreshId", r.ID)
	return b.Bytes()
}

func (s *Service) cancelInstanceRefresh(req *wire.Request) ([]byte, *wire.Error) {
	return s.inGroup(req, nil, func(g *fleet.Group) ([]byte, *wire.Error) {
		r := g.ActiveRefresh()
		if r == nil || r.Status == "Cancelling" {
			return nil, wire.Errorf(400, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", g.Name)
		}
		r.Status = "Cancelling"
		s.f.ScheduleLocked(s.f.Now())
		return refreshID(r), nil
	})
}
