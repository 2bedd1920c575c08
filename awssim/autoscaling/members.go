package autoscaling

import (
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func (s *Service) setInstanceHealth(req *wire.Request) ([]byte, *wire.Error) {
	id, err := requireParam(req, "InstanceId")
	if err != nil {
		return nil, err
	}
	hs, err := requireParam(req, "HealthStatus")
	if err != nil {
		return nil, err
	}
	if hs != "Healthy" && hs != "Unhealthy" {
		return nil, validation("Valid health status values are: Healthy, Unhealthy")
	}
	respect := true
	if v := req.Form.Get("ShouldRespectGracePeriod"); v != "" {
		b, ok := wire.ParseBool(v)
		if !ok {
			return nil, validation("Invalid value for ShouldRespectGracePeriod: %s", v)
		}
		respect = b
	}
	f := s.f
	f.Lock()
	defer f.Unlock()
	in, g, err := member(f, id)
	if err != nil {
		return nil, err
	}
	now := f.Now()
	if respect && g.Grace > 0 && now.Before(in.LaunchTime.Add(time.Duration(g.Grace)*time.Second)) {
		return nil, nil // within the grace period: AWS ignores the call
	}
	if in.Lifecycle == fleet.LCInService || in.Lifecycle == fleet.LCStandby || in.Lifecycle == fleet.LCPending {
		in.Health = hs
	}
	f.TouchLocked()
	return nil, nil
}

func (s *Service) terminateInstance(req *wire.Request) ([]byte, *wire.Error) {
	id, err := requireParam(req, "InstanceId")
	if err != nil {
		return nil, err
	}
	dec, err := requireBool(req, "ShouldDecrementDesiredCapacity")
	if err != nil {
		return nil, err
	}
	f := s.f
	f.Lock()
	defer f.Unlock()
	in, g, err := member(f, id)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.Lifecycle, "Terminating") {
		return nil, wire.Errorf(400, "ScalingActivityInProgress", "Instance %s is already terminating.", id)
	}
	cause := "an instance was taken out of service in response to a user request"
	if dec {
		if g.Desired-1 < g.Min {
			return nil, validation("Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.Min)
		}
		g.Desired--
		cause += ", shrinking the capacity from " + strconv.Itoa(g.Desired+1) + " to " + strconv.Itoa(g.Desired) + "."
	} else {
		cause += "."
	}
	f.BeginTerminateLocked(g, in, f.Now(), cause)
	var b wire.XML
	b.Open("Activity")
	s.renderActivity(&b, in.LastActivity())
	b.Close("Activity")
	f.TouchLocked()
	return b.Bytes(), nil
}

func (s *Service) setInstanceProtection(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	ids, err := instanceIDs(req, 50)
	if err != nil {
		return nil, err
	}
	protect, err := requireBool(req, "ProtectedFromScaleIn")
	if err != nil {
		return nil, err
	}
	g, unlock, err := s.lockGroup(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	targets, err := groupMembers(s.f, g, ids, func(id string, in *fleet.Instance) *wire.Error {
		if in.Lifecycle == fleet.LCTerminated {
			return validation("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, in := range targets {
		in.Protected = protect
	}
	return []byte{}, nil
}

// standby serves EnterStandby (enter) and ExitStandby.
func (s *Service) standby(req *wire.Request, enter bool) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	ids, err := instanceIDs(req, 20)
	if err != nil {
		return nil, err
	}
	dec := false
	if enter {
		if dec, err = requireBool(req, "ShouldDecrementDesiredCapacity"); err != nil {
			return nil, err
		}
	}
	g, unlock, err := s.lockGroup(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	f := s.f
	targets, err := groupMembers(f, g, ids, func(id string, in *fleet.Instance) *wire.Error {
		if enter && in.Lifecycle != fleet.LCInService {
			return validation("The instance %s is not in InService.", id)
		}
		if !enter && in.Lifecycle != fleet.LCStandby {
			return validation("The instance %s is not in Standby.", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if enter && dec && g.Desired-len(targets) < g.Min {
		return nil, validation("Cannot decrement desired capacity below the group's min size (%d).", g.Min)
	}
	if !enter {
		nDec := 0
		for _, in := range targets {
			if in.StandbyDecremented() {
				nDec++
			}
		}
		if g.Desired+nDec > g.Max {
			return nil, validation("Exiting standby would increase the desired capacity above the group's max size (%d).", g.Max)
		}
	}
	now := f.Now()
	var b wire.XML
	wire.MemberList(&b, "Activities", targets, func(b *wire.XML, in *fleet.Instance) {
		if enter {
			s.renderActivity(b, f.EnterStandbyLocked(g, in, dec, now))
		} else {
			s.renderActivity(b, f.ExitStandbyLocked(g, in, now))
		}
	})
	f.TouchLocked()
	return b.Bytes(), nil
}
