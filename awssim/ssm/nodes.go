package ssm

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

type diiFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type diiLegacyFilter struct {
	Key      string   `json:"key"`
	ValueSet []string `json:"valueSet"`
}

type diiInput struct {
	Filters                       []diiFilter       `json:"Filters"`
	InstanceInformationFilterList []diiLegacyFilter `json:"InstanceInformationFilterList"`
	MaxResults                    *int              `json:"MaxResults"`
	NextToken                     *string           `json:"NextToken"`
}

type instanceInfo struct {
	InstanceId                             string   `json:"InstanceId"`
	PingStatus                             string   `json:"PingStatus"`
	LastPingDateTime                       float64  `json:"LastPingDateTime"`
	AgentVersion                           string   `json:"AgentVersion"`
	IsLatestVersion                        bool     `json:"IsLatestVersion"`
	PlatformType                           string   `json:"PlatformType"`
	PlatformName                           string   `json:"PlatformName"`
	PlatformVersion                        string   `json:"PlatformVersion"`
	ResourceType                           string   `json:"ResourceType"`
	IPAddress                              string   `json:"IPAddress"`
	ComputerName                           string   `json:"ComputerName"`
	AssociationStatus                      string   `json:"AssociationStatus"`
	LastAssociationExecutionDate           *float64 `json:"LastAssociationExecutionDate,omitempty"`
	LastSuccessfulAssociationExecutionDate *float64 `json:"LastSuccessfulAssociationExecutionDate,omitempty"`
	AssociationOverview                    any      `json:"AssociationOverview,omitempty"`
	SourceId                               string   `json:"SourceId"`
	SourceType                             string   `json:"SourceType"`
}

var diiKeys = map[string]bool{"ActivationIds": true, "AgentVersion": true, "AssociationStatus": true, "IamRole": true,
	"InstanceIds": true, "PingStatus": true, "PlatformTypes": true, "ResourceType": true, "SourceIds": true, "SourceTypes": true}

var diiLegacyKeys = map[string]bool{"InstanceIds": true, "AgentVersion": true, "PingStatus": true, "PlatformTypes": true,
	"ActivationIds": true, "IamRole": true, "ResourceType": true, "AssociationStatus": true}

func platformType(in *fleet.Instance) string {
	if in.AMI() != nil && in.AMI().Platform == "windows" {
		return "Windows"
	}
	return "Linux"
}

// pingStatus is the node's SSM ping status (f.mu held).
func pingStatus(in *fleet.Instance) string {
	if in.AgentOnline && in.State == fleet.StateRunning {
		return "Online"
	}
	return "ConnectionLost"
}

// visibleToSSM reports whether DescribeInstanceInformation lists the node: a
// registered agent on a running instance (the operation does not return
// stopped or terminated nodes).
func visibleToSSM(in *fleet.Instance) bool {
	return in.Managed && in.State == fleet.StateRunning
}

// validForSSM reports whether an InstanceIds filter may name the node. The
// InvalidInstanceId documentation lists the causes: no access to the node,
// SSM Agent not running or not registered, or a state other than Running,
// Pending, Stopped and Stopping ("Invalid states are: Shutting-down and
// Terminated"). A pending instance's agent has not registered yet, so only
// running and stopped nodes with a registered agent are valid here.
func validForSSM(in *fleet.Instance) bool {
	return in.Managed && (in.State == fleet.StateRunning || in.State == fleet.StateStopped)
}

// invalidInstancesErr is DescribeInstanceInformation's answer when an
// InstanceIds filter names an id it cannot describe (never registered, not
// running, unknown to the account): 400 InvalidInstanceId for the whole call,
// listing the offending ids as AWS's message does for one id
// ("Instances [[i-123]] not in a valid state for account 456"; several ids
// are rendered like a Java list, comma and space separated).
func (s *Service) invalidInstancesErr(ids []string) *wire.Error {
	return wire.Errorf(400, "InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", strings.Join(ids, ", "), s.options().AccountID)
}

func (s *Service) describeInstanceInformation(req *wire.Request) (any, *wire.Error) {
	var in diiInput
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	size, err := maxResults(in.MaxResults, "maxResults", 5, 50, 10)
	if err != nil {
		return nil, err
	}
	if len(in.Filters) > 0 && len(in.InstanceInformationFilterList) > 0 {
		return nil, wire.Errorf(400, "InvalidInstanceInformationFilterValue", "InstanceInformationFilterList and Filters can't be used in the same request.")
	}
	type flt struct {
		Key  string   `json:"k"`
		Vals []string `json:"v"`
		set  map[string]bool
	}
	var fs []flt
	hasTag, hasOther := false, false
	for _, f := range in.Filters {
		switch {
		case strings.HasPrefix(f.Key, "tag:") && len(f.Key) > 4, f.Key == "tag-key":
			hasTag = true
		case diiKeys[f.Key]:
			hasOther = true
		default:
			return nil, wire.Errorf(400, "InvalidFilterKey", "The filter key %s is not valid.", f.Key)
		}
		if len(f.Values) == 0 || len(f.Values) > 100 {
			return nil, wire.Errorf(400, "InvalidInstanceInformationFilterValue", "Filter %s must have between 1 and 100 values.", f.Key)
		}
		fs = append(fs, flt{Key: f.Key, Vals: f.Values})
	}
	if hasTag && hasOther {
		return nil, wire.Errorf(400, "InvalidInstanceInformationFilterValue", "Tag filters can't be combined with other filter types.")
	}
	for _, f := range in.InstanceInformationFilterList {
		if !diiLegacyKeys[f.Key] {
			return nil, wire.Errorf(400, "InvalidFilterKey", "The filter key %s is not valid.", f.Key)
		}
		if len(f.ValueSet) == 0 || len(f.ValueSet) > 100 {
			return nil, wire.Errorf(400, "InvalidInstanceInformationFilterValue", "Filter %s must have between 1 and 100 values.", f.Key)
		}
		fs = append(fs, flt{Key: f.Key, Vals: f.ValueSet})
	}
	for i := range fs {
		fs[i].set = make(map[string]bool, len(fs[i].Vals))
		for _, v := range fs[i].Vals {
			fs[i].set[v] = true
		}
	}
	fb, _ := json.Marshal(fs)
	scope := "DII|" + string(fb)
	cur, terr := s.cursor(scope, in.NextToken)
	if terr != nil {
		return nil, terr
	}
	off := cur.Off
	f := s.f
	now := s.f.Now()
	f.RLock()
	defer f.RUnlock()
	var invalid []string
	for _, fl := range fs {
		if fl.Key == "InstanceIds" {
			for _, id := range fl.Vals {
				if x := f.InstanceLocked(id); (x == nil || !validForSSM(x)) && !slices.Contains(invalid, id) {
					invalid = append(invalid, id)
				}
			}
		}
	}
	if len(invalid) > 0 {
		return nil, s.invalidInstancesErr(invalid)
	}
	var (
		sel     []*fleet.Instance
		matched int
		more    bool
	)
	for _, x := range f.InstancesLocked() {
		if !visibleToSSM(x) {
			continue
		}
		ok := true
		for _, fl := range fs {
			var v string
			present := true
			switch {
			case fl.Key == "InstanceIds":
				v = x.ID
			case fl.Key == "PingStatus":
				v = pingStatus(x)
			case fl.Key == "PlatformTypes":
				v = platformType(x)
			case fl.Key == "ResourceType":
				v = "EC2Instance"
			case fl.Key == "AgentVersion":
				v = x.AgentVersion
			case fl.Key == "AssociationStatus":
				v = "Success"
			case fl.Key == "SourceIds":
				v = x.ID
			case fl.Key == "SourceTypes":
				v = "AWS::EC2::Instance"
			case fl.Key == "tag-key":
				ok = false
				for k := range x.Tags {
					if fl.set[k] {
						ok = true
					}
				}
				if !ok {
					break
				}
				continue
			case strings.HasPrefix(fl.Key, "tag:"):
				v, present = x.Tags[fl.Key[4:]]
			default:
				present = false
			}
			if !present || !fl.set[v] {
				ok = false
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		// Keep only this page (a listing of 10,000 nodes must not build a
		// 10,000-entry slice per call); one match past it proves there is more.
		if matched >= off+size {
			more = true
			break
		}
		if matched >= off {
			sel = append(sel, x)
		}
		matched++
	}
	list := make([]instanceInfo, 0, len(sel))
	for _, x := range sel {
		list = append(list, s.instanceInfo(x, now))
	}
	next := ""
	if more {
		next = cur.Next(off + size)
	}
	return withNextToken(map[string]any{"InstanceInformationList": list}, next), nil
}

func (s *Service) platform(x *fleet.Instance) (name, version string) {
	if x.AMI() != nil {
		return x.AMI().PlatformName, x.AMI().PlatformVersion
	}
	return "Amazon Linux", "2023"
}

func (s *Service) instanceInfo(x *fleet.Instance, now time.Time) instanceInfo {
	ping := pingStatus(x)
	last := now.Truncate(time.Minute)
	if ping != "Online" && !x.OfflineSince().IsZero() {
		last = x.OfflineSince()
	}
	assoc := wire.EpochSeconds(x.LaunchTime.Add(s.options().LaunchDelay))
	pn, pv := s.platform(x)
	return instanceInfo{
		InstanceId: x.ID, PingStatus: ping, LastPingDateTime: wire.EpochSeconds(last),
		AgentVersion: x.AgentVersion, IsLatestVersion: x.AgentVersion == s.options().AgentVersion,
		PlatformType: platformType(x), PlatformName: pn, PlatformVersion: pv,
		ResourceType: "EC2Instance", IPAddress: x.PrivateIP, ComputerName: x.ComputerName,
		AssociationStatus: "Success", LastAssociationExecutionDate: &assoc, LastSuccessfulAssociationExecutionDate: &assoc,
		AssociationOverview: map[string]any{"DetailedStatus": "Success", "InstanceAssociationStatusAggregatedCount": map[string]int{"Success": 1}},
		SourceId:            x.ID, SourceType: "AWS::EC2::Instance",
	}
}
