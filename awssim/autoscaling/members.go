package autoscaling

import (
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func (s *Service) setInstanceHealth(req *wire.Request) ([]byte, *wire.Error) {
	var (
		hs      string
		respect = true
	)
	return s.inMember(req, func() (err *wire.Error) {
		if hs, err = requireParam(req, "HealthStatus"); err != nil {
			return err
		}
		if hs != "Healthy" && hs != "Unhealthy" {
			return validation("Valid health status values are: Healthy, Unhealthy")
		}
		if v := req.Form.Get("ShouldRespectGracePeriod"); v != "" {
			b, ok := wire.ParseBool(v)
			if !ok {
				return validation("Invalid value for ShouldRespectGracePeriod: %s", v)
			}
			respect = b
		}
		return nil
	}, func(in *fleet.Instance, g *fleet.Group) ([]byte, *wire.Error) {
		now := s.f.Now()
		if respect && g.Grace > 0 && now.Before(in.LaunchTime.Add(time.Duration(g.Grace)*time.Second)) {
			return nil, nil // within the grace period: AWS ignores the call
		}
		if in.Lifecycle == fleet.LCInService || in.Lifecycle == fleet.LCStandby || in.Lifecycle == fleet.LCPending {
			in.Health = hs
		}
		s.f.TouchLocked()
		return nil, nil
	})
}

func (s *Service) terminateInstance(req *wire.Request) ([]byte, *wire.Error) {
	var dec bool
	return s.inMember(req, func() (err *wire.Error) {
		dec, err = requireBool(req, "ShouldDecrementDesiredCapacity")
		return err
	}, func(in *fleet.Instance, g *fleet.Group) ([]byte, *wire.Error) {
		if strings.HasPrefix(in.Lifecycle, "Terminating") {
			return nil, wire.Errorf(400, "ScalingActivityInProgress", "Instance %s is already terminating.", in.ID)
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
		s.f.BeginTerminateLocked(g, in, s.f.Now(), cause)
		var b wire.XML
		b.Open("Activity")
		s.renderActivity(&b, in.LastActivity())
		b.Close("Activity")
		s.f.TouchLocked()
		return b.Bytes(), nil
	})
}

func (s *Service) setInstanceProtection(req *wire.Request) ([]byte, *wire.Error) {
	var (
		ids     []string
		protect bool
	)
	return s.inGroup(req, func() (err *wire.Error) {
		if ids, err = instanceIDs(req, 50); err != nil {
			return err
		}
		protect, err = requireBool(req, "ProtectedFromScaleIn")
		return err
	}, func(g *fleet.Group) ([]byte, *wire.Error) {
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
	})
}

// standby serves EnterStandby (enter) and ExitStandby.
func (s *Service) standby(req *wire.Request, enter bool) ([]byte, *wire.Error) {
	var (
		ids []string
		dec bool
	)
	return s.inGroup(req, func() (err *wire.Error) {
		if ids, err = instanceIDs(req, 20); err != nil || !enter {
			return err
		}
		dec, err = requireBool(req, "ShouldDecrementDesiredCapacity")
		return err
	}, func(g *fleet.Group) ([]byte, *wire.Error) {
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
	})
}
