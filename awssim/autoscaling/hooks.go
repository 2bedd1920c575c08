package autoscaling

import (
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func (s *Service) putLifecycleHook(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	hook, err := requireParam(req, "LifecycleHookName")
	if err != nil {
		return nil, err
	}
	tr := req.Form.Get("LifecycleTransition")
	if tr != "autoscaling:EC2_INSTANCE_TERMINATING" && tr != "autoscaling:EC2_INSTANCE_LAUNCHING" {
		return nil, validation("Invalid LifecycleTransition %q", tr)
	}
	to, has, err := intParam(req, "HeartbeatTimeout", false)
	if err != nil {
		return nil, err
	}
	if !has {
		to = 3600
	}
	if to < 30 || to > 7200 {
		return nil, validation("HeartbeatTimeout must be between 30 and 7200 seconds")
	}
	dr := req.Form.Get("DefaultResult")
	if dr == "" {
		dr = "ABANDON"
	}
	g, unlock, err := s.lockGroup(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	h := fleet.Hook{Name: hook, Transition: tr, Timeout: time.Duration(to) * time.Second, DefaultResult: dr}
	for i := range g.Hooks {
		if g.Hooks[i].Name == hook {
			g.Hooks[i] = h
			return []byte{}, nil
		}
	}
	if len(g.Hooks) >= 50 {
		return nil, wire.Errorf(400, "LimitExceeded", "Lifecycle hook limit of 50 reached for %s", name)
	}
	g.Hooks = append(g.Hooks, h)
	return []byte{}, nil
}

// hookAction reads a lifecycle action call (group, hook name, instance;
// check validates the rest), locks the fleet and returns the group and the
// instance if it waits in a lifecycle action of the group (else nil); the
// caller defers unlock.
func (s *Service) hookAction(req *wire.Request, check func() *wire.Error) (g *fleet.Group, in *fleet.Instance, unlock func(), err *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := requireParam(req, "LifecycleHookName"); err != nil {
		return nil, nil, nil, err
	}
	if err := check(); err != nil {
		return nil, nil, nil, err
	}
	if g, unlock, err = s.lockGroup(name); err != nil {
		return nil, nil, nil, err
	}
	in = s.f.InstanceLocked(req.Form.Get("InstanceId"))
	if in == nil || in.Group != name || (in.Lifecycle != fleet.LCTerminatingWait && in.Lifecycle != fleet.LCPendingWait) {
		in = nil
	}
	return g, in, unlock, nil
}

func noAction(req *wire.Request) *wire.Error {
	return validation("No active Lifecycle Action found with instance ID %s", req.Form.Get("InstanceId"))
}

func (s *Service) completeLifecycleAction(req *wire.Request) ([]byte, *wire.Error) {
	res := req.Form.Get("LifecycleActionResult")
	_, in, unlock, err := s.hookAction(req, func() *wire.Error {
		if res != "CONTINUE" && res != "ABANDON" {
			return validation("LifecycleActionResult must be CONTINUE or ABANDON")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer unlock()
	if in == nil {
		return nil, noAction(req)
	}
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
}

func (s *Service) recordHeartbeat(req *wire.Request) ([]byte, *wire.Error) {
	g, in, unlock, err := s.hookAction(req, func() *wire.Error { return nil })
	if err != nil {
		return nil, err
	}
	defer unlock()
	var hook *fleet.Hook
	for i := range g.Hooks {
		if g.Hooks[i].Name == req.Form.Get("LifecycleHookName") {
			hook = &g.Hooks[i]
		}
	}
	if hook == nil || in == nil {
		return nil, noAction(req)
	}
	s.f.ExtendHookLocked(in, hook.Timeout, s.f.Now())
	return []byte{}, nil
}
