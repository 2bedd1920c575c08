package autoscaling

import (
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func (s *Service) putLifecycleHook(req *wire.Request) ([]byte, *wire.Error) {
	var h fleet.Hook
	return s.inGroup(req, func() (err *wire.Error) {
		if h.Name, err = requireParam(req, "LifecycleHookName"); err != nil {
			return err
		}
		h.Transition = req.Form.Get("LifecycleTransition")
		if h.Transition != "autoscaling:EC2_INSTANCE_TERMINATING" && h.Transition != "autoscaling:EC2_INSTANCE_LAUNCHING" {
			return validation("Invalid LifecycleTransition %q", h.Transition)
		}
		to, has, err := intParam(req, "HeartbeatTimeout", false)
		if err != nil {
			return err
		}
		if !has {
			to = 3600
		}
		if to < 30 || to > 7200 {
			return validation("HeartbeatTimeout must be between 30 and 7200 seconds")
		}
		h.Timeout = time.Duration(to) * time.Second
		if h.DefaultResult = req.Form.Get("DefaultResult"); h.DefaultResult == "" {
			h.DefaultResult = "ABANDON"
		}
		return nil
	}, func(g *fleet.Group) ([]byte, *wire.Error) {
		for i := range g.Hooks {
			if g.Hooks[i].Name == h.Name {
				g.Hooks[i] = h
				return []byte{}, nil
			}
		}
		if len(g.Hooks) >= 50 {
			return nil, wire.Errorf(400, "LimitExceeded", "Lifecycle hook limit of 50 reached for %s", g.Name)
		}
		g.Hooks = append(g.Hooks, h)
		return []byte{}, nil
	})
}

// hookAction serves a lifecycle action call: group and hook name are
// required, check validates the rest, and fn runs under the fleet lock with
// the hook (nil: the group has none of that name) and the instance waiting
// in a lifecycle action of the group; an instance that waits in none fails
// the call.
func (s *Service) hookAction(req *wire.Request, check func() *wire.Error, fn func(hook *fleet.Hook, in *fleet.Instance) ([]byte, *wire.Error)) ([]byte, *wire.Error) {
	return s.inGroup(req, func() *wire.Error {
		if _, err := requireParam(req, "LifecycleHookName"); err != nil {
			return err
		}
		return check()
	}, func(g *fleet.Group) ([]byte, *wire.Error) {
		id := req.Form.Get("InstanceId")
		var hook *fleet.Hook
		for i := range g.Hooks {
			if g.Hooks[i].Name == req.Form.Get("LifecycleHookName") {
				hook = &g.Hooks[i]
			}
		}
		in := s.f.InstanceLocked(id)
		if in == nil || in.Group != g.Name || (in.Lifecycle != fleet.LCTerminatingWait && in.Lifecycle != fleet.LCPendingWait) {
			return nil, validation("No active Lifecycle Action found with instance ID %s", id)
		}
		return fn(hook, in)
	})
}

func (s *Service) completeLifecycleAction(req *wire.Request) ([]byte, *wire.Error) {
	res := req.Form.Get("LifecycleActionResult")
	return s.hookAction(req, func() *wire.Error {
		if res != "CONTINUE" && res != "ABANDON" {
			return validation("LifecycleActionResult must be CONTINUE or ABANDON")
		}
		return nil
	}, func(_ *fleet.Hook, in *fleet.Instance) ([]byte, *wire.Error) {
		f := s.f
		now := f.Now()
		if in.Lifecycle == fleet.LCPendingWait {
			f.FinishLaunchHookLocked(in, now, res)
		} else {
			in.Lifecycle = fleet.LCTerminatingProceed
			f.ShutdownLocked(in, now)
		}
		f.TouchLocked()
		return []byte{}, nil
	})
}

func (s *Service) recordHeartbeat(req *wire.Request) ([]byte, *wire.Error) {
	return s.hookAction(req, func() *wire.Error { return nil }, func(hook *fleet.Hook, in *fleet.Instance) ([]byte, *wire.Error) {
		if hook == nil {
			return nil, validation("No active Lifecycle Action found with instance ID %s", in.ID)
		}
		s.f.ExtendHookLocked(in, hook.Timeout, s.f.Now())
		return []byte{}, nil
	})
}
