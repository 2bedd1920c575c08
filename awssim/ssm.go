package awssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

var (
	ssmInstanceIDRE = regexp.MustCompile(`(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)`)
	typeNameRE      = regexp.MustCompile(`^(AWS|Custom):.*$`)
	captureTimeRE   = regexp.MustCompile(`^(20)\d\d-(0[1-9]|1[012])-([12]\d|3[01]|0[1-9])T(2[0-3]|[01]\d)(:[0-5]\d){2}Z$`)
)

type ssmOp func(req *wire.Request) (any, *wire.Error)

func (s *Sim) serveSSM(w http.ResponseWriter, req *wire.Request) {
	if req.Op == "ListInventoryEntries" { // hot path: pre-rendered pages
		body, err := s.ssmListInventoryEntries(req)
		if err != nil {
			wire.WriteError(w, req, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", req.ID)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
		return
	}
	ops := map[string]ssmOp{
		"DescribeInstanceInformation": s.ssmDescribeInstanceInformation,
		"GetInventory":                s.ssmGetInventory,
		"GetInventorySchema":          s.ssmGetInventorySchema,
		"PutInventory":                s.ssmPutInventory,
		"GetParameter":                s.ssmGetParameter,
		"GetParameters":               s.ssmGetParameters,
		"PutParameter":                s.ssmPutParameter,
		"DeleteParameter":             s.ssmDeleteParameter,
		"GetParametersByPath":         s.ssmGetParametersByPath,
	}
	op, ok := ops[req.Op]
	if !ok {
		wire.WriteError(w, req, wire.Errorf(400, "UnknownOperationException", "Unknown operation %s", req.Op))
		return
	}
	out, err := op(req)
	if err != nil {
		wire.WriteError(w, req, err)
		return
	}
	wire.WriteJSON(w, req, out)
}

// decode unmarshals a JSON request body; type mismatches are the protocol's
// SerializationException, as on AWS.
func decode(req *wire.Request, v any) *wire.Error {
	if len(req.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(req.Body, v); err != nil {
		msg := "Start of structure or map found where not expected."
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			msg = fmt.Sprintf("Unexpected value type for field %s: expected %s", te.Field, te.Type)
		}
		return wire.Errorf(400, "SerializationException", "%s", msg)
	}
	return nil
}

func validationErr(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "ValidationException", "1 validation error detected: "+format, args...)
}

// maxResults validates an optional MaxResults in lo..hi, returning def when absent.
func maxResults(v *int, field string, lo, hi, def int) (int, *wire.Error) {
	if v == nil {
		return def, nil
	}
	if *v < lo {
		return 0, validationErr("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", *v, field, lo)
	}
	if *v > hi {
		return 0, validationErr("Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *v, field, hi)
	}
	return *v, nil
}

type invFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
	Type   string   `json:"Type"`
}

func (f invFilter) validate() *wire.Error {
	if f.Key == "" || len(f.Key) > 200 || len(f.Values) == 0 || len(f.Values) > 40 {
		return wire.Errorf(400, "InvalidFilter", "Filter key must be 1-200 characters with 1-40 values")
	}
	switch f.Type {
	case "", "Equal", "NotEqual", "BeginWith", "LessThan", "GreaterThan":
	case "Exists":
		return wire.Errorf(400, "InvalidFilter", "The Exists filter type can only be used with aggregators.")
	default:
		return wire.Errorf(400, "InvalidFilter", "Invalid filter type %s", f.Type)
	}
	return nil
}

func (f invFilter) match(v string, present bool) bool {
	if !present {
		return f.Type == "NotEqual"
	}
	for _, want := range f.Values {
		ok := false
		switch f.Type {
		case "", "Equal":
			ok = v == want
		case "NotEqual":
			ok = v != want
		case "BeginWith":
			ok = strings.HasPrefix(v, want)
		case "LessThan", "GreaterThan":
			a, e1 := strconv.ParseFloat(v, 64)
			b, e2 := strconv.ParseFloat(want, 64)
			if e1 != nil || e2 != nil {
				ok = (f.Type == "LessThan" && v < want) || (f.Type == "GreaterThan" && v > want)
			} else {
				ok = (f.Type == "LessThan" && a < b) || (f.Type == "GreaterThan" && a > b)
			}
		}
		if f.Type == "NotEqual" && !ok {
			return false
		}
		if f.Type != "NotEqual" && ok {
			return true
		}
	}
	return f.Type == "NotEqual"
}

type lieInput struct {
	InstanceId *string     `json:"InstanceId"`
	TypeName   *string     `json:"TypeName"`
	Filters    []invFilter `json:"Filters"`
	MaxResults *int        `json:"MaxResults"`
	NextToken  *string     `json:"NextToken"`
}

// maxInventoryPerPage is ListInventoryEntries' largest page.
const maxInventoryPerPage = 50

// ListInventoryEntriesDefaultMax is the page size used when MaxResults is absent.
const ListInventoryEntriesDefaultMax = 50

func (s *Sim) ssmListInventoryEntries(req *wire.Request) ([]byte, *wire.Error) {
	var in lieInput
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.InstanceId == nil {
		return nil, validationErr("Value null at 'instanceId' failed to satisfy constraint: Member must not be null")
	}
	if in.TypeName == nil {
		return nil, validationErr("Value null at 'typeName' failed to satisfy constraint: Member must not be null")
	}
	id, typ := *in.InstanceId, *in.TypeName
	if !ssmInstanceIDRE.MatchString(id) {
		return nil, wire.Errorf(400, "InvalidInstanceId", "Instance Id %s is not valid.", id)
	}
	if len(typ) == 0 || len(typ) > 100 || !typeNameRE.MatchString(typ) || !fleet.ValidTypeName(typ) {
		return nil, wire.Errorf(400, "InvalidTypeNameException", "The parameter type name %s is not valid.", typ)
	}
	size, err := maxResults(in.MaxResults, "maxResults", 1, maxInventoryPerPage, ListInventoryEntriesDefaultMax)
	if err != nil {
		return nil, err
	}
	if len(in.Filters) > 5 {
		return nil, validationErr("Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 5")
	}
	for _, f := range in.Filters {
		if e := f.validate(); e != nil {
			return nil, e
		}
	}
	scope := "LIE|" + id + "|" + typ
	if len(in.Filters) > 0 {
		fb, _ := json.Marshal(in.Filters)
		scope += "|" + string(fb)
	}
	off, terr := s.ssmOffset(scope, in.NextToken)
	if terr != nil {
		return nil, terr
	}
	f := s.fleet
	now := s.Now()
	f.RLock()
	inst := f.InstanceLocked(id)
	if inst == nil {
		f.RUnlock()
		return nil, wire.Errorf(400, "InvalidInstanceId", "Instance Id %s is not valid or is not registered with Systems Manager.", id)
	}
	if !f.TypeDefined(typ, now) {
		// A Custom:* type no instance of the account ever reported: an
		// error for every instance, not an empty list.
		f.RUnlock()
		return nil, wire.Errorf(400, "InvalidTypeNameException", "The parameter type name %s is not valid.", typ)
	}
	var (
		td      *TypeData
		capture time.Time
		has     = f.HasInventory(inst, now)
	)
	if has {
		td = inst.Effective(typ)
		capture = f.TypeCaptureTime(inst, typ, now)
	}
	f.RUnlock()

	b := make([]byte, 0, 256+size*300)
	if td != nil {
		b = append(b, `{"CaptureTime":"`...)
		b = append(b, wire.CaptureTime(capture)...)
		b = append(b, `","Entries":`...)
	} else {
		b = append(b, `{"Entries":`...)
	}
	next := -1
	switch {
	case td == nil:
		b = append(b, "[]"...)
	case len(in.Filters) == 0 && off%size == 0:
		page, more := td.Page(size, off/size)
		b = append(b, page...)
		if more {
			next = off + size
		}
	default:
		var sel []Entry
		for _, e := range td.Entries {
			if entryMatches(typ, e, in.Filters) {
				sel = append(sel, e)
			}
		}
		off = min(off, len(sel))
		end := min(off+size, len(sel))
		pb, _ := json.Marshal(sel[off:end])
		if end == off {
			pb = []byte("[]")
		}
		b = append(b, pb...)
		if end < len(sel) {
			next = end
		}
	}
	b = append(b, `,"InstanceId":`...)
	b = wire.AppendJSONString(b, id)
	if next >= 0 {
		b = append(b, `,"NextToken":`...)
		b = wire.AppendJSONString(b, s.tok.Mint(scope, next))
	}
	if td != nil {
		b = append(b, `,"SchemaVersion":`...)
		b = wire.AppendJSONString(b, td.SchemaVersion)
	}
	b = append(b, `,"TypeName":`...)
	b = wire.AppendJSONString(b, typ)
	b = append(b, '}')
	return b, nil
}

func entryMatches(typ string, e Entry, fs []invFilter) bool {
	for _, f := range fs {
		attr := strings.TrimPrefix(f.Key, typ+".")
		v, ok := e[attr]
		if !f.match(v, ok) {
			return false
		}
	}
	return true
}

// ---- DescribeInstanceInformation ----

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

func platformType(in *Instance) string {
	if in.AMI() != nil && in.AMI().Platform == "windows" {
		return "Windows"
	}
	return "Linux"
}

// pingStatus is the node's SSM ping status (f.mu held).
func pingStatus(in *Instance) string {
	if in.AgentOnline && in.State == StateRunning {
		return "Online"
	}
	return "ConnectionLost"
}

// visibleToSSM reports whether DescribeInstanceInformation lists the node: a
// registered agent on a running instance (the operation does not return
// stopped or terminated nodes).
func visibleToSSM(in *Instance) bool {
	return in.Managed && in.State == StateRunning
}

// validForSSM reports whether an InstanceIds filter may name the node. The
// InvalidInstanceId documentation lists the causes: no access to the node,
// SSM Agent not running or not registered, or a state other than Running,
// Pending, Stopped and Stopping ("Invalid states are: Shutting-down and
// Terminated"). A pending instance's agent has not registered yet, so only
// running and stopped nodes with a registered agent are valid here.
func validForSSM(in *Instance) bool {
	return in.Managed && (in.State == StateRunning || in.State == StateStopped)
}

// invalidInstancesErr is DescribeInstanceInformation's answer when an
// InstanceIds filter names an id it cannot describe (never registered, not
// running, unknown to the account): 400 InvalidInstanceId for the whole call,
// listing the offending ids as AWS's message does for one id
// ("Instances [[i-123]] not in a valid state for account 456"; several ids
// are rendered like a Java list, comma and space separated).
func (s *Sim) invalidInstancesErr(ids []string) *wire.Error {
	return wire.Errorf(400, "InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", strings.Join(ids, ", "), s.opts.AccountID)
}

func (s *Sim) ssmDescribeInstanceInformation(req *wire.Request) (any, *wire.Error) {
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
	off, terr := s.ssmOffset(scope, in.NextToken)
	if terr != nil {
		return nil, terr
	}
	f := s.fleet
	now := s.Now()
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
		sel     []*Instance
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
	out := map[string]any{"InstanceInformationList": list}
	if more {
		out["NextToken"] = s.tok.Mint(scope, off+size)
	}
	return out, nil
}

func (s *Sim) platform(x *Instance) (name, version string) {
	if x.AMI() != nil {
		return x.AMI().PlatformName, x.AMI().PlatformVersion
	}
	return "Amazon Linux", "2023"
}

func (s *Sim) instanceInfo(x *Instance, now time.Time) instanceInfo {
	ping := pingStatus(x)
	last := now.Truncate(time.Minute)
	if ping != "Online" && !x.OfflineSince().IsZero() {
		last = x.OfflineSince()
	}
	assoc := wire.EpochSeconds(x.LaunchTime.Add(s.opts.LaunchDelay))
	pn, pv := s.platform(x)
	return instanceInfo{
		InstanceId: x.ID, PingStatus: ping, LastPingDateTime: wire.EpochSeconds(last),
		AgentVersion: x.AgentVersion, IsLatestVersion: x.AgentVersion == s.opts.AgentVersion,
		PlatformType: platformType(x), PlatformName: pn, PlatformVersion: pv,
		ResourceType: "EC2Instance", IPAddress: x.PrivateIP, ComputerName: x.ComputerName,
		AssociationStatus: "Success", LastAssociationExecutionDate: &assoc, LastSuccessfulAssociationExecutionDate: &assoc,
		AssociationOverview: map[string]any{"DetailedStatus": "Success", "InstanceAssociationStatusAggregatedCount": map[string]int{"Success": 1}},
		SourceId:            x.ID, SourceType: "AWS::EC2::Instance",
	}
}

// ---- GetInventory ----

type getInvInput struct {
	Filters          []invFilter       `json:"Filters"`
	Aggregators      []json.RawMessage `json:"Aggregators"`
	ResultAttributes []struct {
		TypeName string `json:"TypeName"`
	} `json:"ResultAttributes"`
	MaxResults *int    `json:"MaxResults"`
	NextToken  *string `json:"NextToken"`
}

func (s *Sim) instanceStatus(x *Instance) string {
	switch x.State {
	case StateTerminated, StateShuttingDown:
		return "Terminated"
	case StateStopped:
		return "Stopped"
	}
	if pingStatus(x) == "Online" {
		return "Active"
	}
	return "ConnectionLost"
}

func (s *Sim) instanceInfoContent(x *Instance) map[string]string {
	pn, pv := s.platform(x)
	return map[string]string{
		"AgentType": "amazon-ssm-agent", "AgentVersion": x.AgentVersion, "ComputerName": x.ComputerName,
		"InstanceId": x.ID, "InstanceStatus": s.instanceStatus(x), "IpAddress": x.PrivateIP,
		"PlatformName": pn, "PlatformType": platformType(x), "PlatformVersion": pv, "ResourceType": "EC2Instance",
	}
}

func (s *Sim) ssmGetInventory(req *wire.Request) (any, *wire.Error) {
	var in getInvInput
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	size, err := maxResults(in.MaxResults, "maxResults", 1, 50, 50)
	if err != nil {
		return nil, err
	}
	if len(in.Aggregators) > 0 {
		return nil, wire.Errorf(400, "InvalidAggregatorException", "Aggregators are not supported by this region.")
	}
	if len(in.Filters) > 5 {
		return nil, validationErr("Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 5")
	}
	for _, f := range in.Filters {
		if e := f.validate(); e != nil {
			return nil, e
		}
		t, _, ok := strings.Cut(f.Key, ".")
		if !ok || !typeNameRE.MatchString(t) {
			return nil, wire.Errorf(400, "InvalidFilter", "The filter key %s is not valid. Use TypeName.Attribute.", f.Key)
		}
		if !fleet.ValidTypeName(t) {
			return nil, wire.Errorf(400, "InvalidTypeNameException", "The type name %s is not valid.", t)
		}
	}
	result := TypeInstanceInfo
	if n := len(in.ResultAttributes); n > 1 {
		return nil, validationErr("Value at 'resultAttributes' failed to satisfy constraint: Member must have length less than or equal to 1")
	} else if n == 1 {
		t := in.ResultAttributes[0].TypeName
		if t != TypeInstanceInfo && t != TypePatchSummary {
			return nil, wire.Errorf(400, "InvalidResultAttributeException",
				"Result type name %s is not supported. Supported type names are: AWS:InstanceInformation, AWS:PatchSummary. Default result type name is AWS:InstanceInformation.", t)
		}
		result = t
	}
	fb, _ := json.Marshal(in.Filters)
	scope := "GI|" + result + "|" + string(fb)
	off, terr := s.ssmOffset(scope, in.NextToken)
	if terr != nil {
		return nil, terr
	}
	f := s.fleet
	now := s.Now()
	f.RLock()
	defer f.RUnlock()
	var sel []*Instance
	for _, x := range f.InstancesLocked() {
		if !x.Managed || !f.HasInventory(x, now) {
			continue
		}
		ok := true
		for _, fl := range in.Filters {
			t, attr, _ := strings.Cut(fl.Key, ".")
			if t == TypeInstanceInfo {
				v, present := s.instanceInfoContent(x)[attr]
				ok = fl.match(v, present)
			} else {
				ok = false
				if td := x.Effective(t); td != nil {
					for _, e := range td.Entries {
						if v, present := e[attr]; present && fl.match(v, true) {
							ok = true
							break
						}
					}
				}
			}
			if !ok {
				break
			}
		}
		if ok {
			sel = append(sel, x)
		}
	}
	off = min(off, len(sel))
	end := min(off+size, len(sel))
	type item struct {
		TypeName      string              `json:"TypeName"`
		SchemaVersion string              `json:"SchemaVersion"`
		CaptureTime   string              `json:"CaptureTime,omitempty"`
		ContentHash   string              `json:"ContentHash,omitempty"`
		Content       []map[string]string `json:"Content"`
	}
	type entity struct {
		Id   string          `json:"Id"`
		Data map[string]item `json:"Data"`
	}
	ents := make([]entity, 0, end-off)
	for _, x := range sel[off:end] {
		e := entity{Id: x.ID, Data: map[string]item{}}
		if result == TypeInstanceInfo {
			c := s.instanceInfoContent(x)
			e.Data[result] = item{TypeName: result, SchemaVersion: fleet.SchemaDefault, CaptureTime: wire.CaptureTime(f.NodeCaptureTime(x, now)), Content: []map[string]string{c}}
		}
		ents = append(ents, e)
	}
	out := map[string]any{"Entities": ents}
	if end < len(sel) {
		out["NextToken"] = s.tok.Mint(scope, end)
	}
	return out, nil
}

func (s *Sim) ssmGetInventorySchema(req *wire.Request) (any, *wire.Error) {
	var in struct {
		TypeName   *string `json:"TypeName"`
		MaxResults *int    `json:"MaxResults"`
		NextToken  *string `json:"NextToken"`
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if _, err := maxResults(in.MaxResults, "maxResults", 50, 200, 200); err != nil {
		return nil, err
	}
	f := s.fleet
	now := s.Now()
	f.RLock()
	defer f.RUnlock()
	attrs := map[string]map[string]bool{}
	add := func(t string, td *TypeData) {
		if td == nil {
			return
		}
		if attrs[t] == nil {
			attrs[t] = map[string]bool{}
		}
		for _, e := range td.Entries {
			for k := range e {
				attrs[t][k] = true
			}
		}
	}
	for _, a := range f.AMIsLocked() {
		for t, td := range a.Inventory {
			add(t, td)
		}
	}
	for _, x := range f.InstancesLocked() {
		for t, td := range x.ChangedTypes() {
			add(t, td)
		}
	}
	var names []string
	for t := range attrs {
		if !f.TypeDefined(t, now) {
			continue // AMI content no instance has reported yet
		}
		if in.TypeName == nil || strings.HasPrefix(t, *in.TypeName) {
			names = append(names, t)
		}
	}
	sort.Strings(names)
	type attr struct {
		Name     string `json:"Name"`
		DataType string `json:"DataType"`
	}
	type schema struct {
		TypeName   string `json:"TypeName"`
		Version    string `json:"Version"`
		Attributes []attr `json:"Attributes"`
	}
	out := []schema{}
	for _, t := range names {
		sc := schema{TypeName: t, Version: fleet.SchemaDefault}
		if t == TypeApplication {
			sc.Version = fleet.SchemaApplication
		}
		var ks []string
		for k := range attrs[t] {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			sc.Attributes = append(sc.Attributes, attr{k, "string"})
		}
		out = append(out, sc)
	}
	return map[string]any{"Schemas": out}, nil
}

// ---- PutInventory ----

type putInvInput struct {
	InstanceId *string `json:"InstanceId"`
	Items      []struct {
		TypeName      string              `json:"TypeName"`
		SchemaVersion string              `json:"SchemaVersion"`
		CaptureTime   string              `json:"CaptureTime"`
		ContentHash   *string             `json:"ContentHash"`
		Content       []map[string]string `json:"Content"`
		Context       map[string]string   `json:"Context"`
	} `json:"Items"`
}

func (s *Sim) ssmPutInventory(req *wire.Request) (any, *wire.Error) {
	var in putInvInput
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.InstanceId == nil {
		return nil, validationErr("Value null at 'instanceId' failed to satisfy constraint: Member must not be null")
	}
	if !ssmInstanceIDRE.MatchString(*in.InstanceId) {
		return nil, wire.Errorf(400, "InvalidInstanceId", "Instance Id %s is not valid.", *in.InstanceId)
	}
	if len(in.Items) < 1 || len(in.Items) > 30 {
		return nil, validationErr("Value at 'items' failed to satisfy constraint: Member must have length between 1 and 30")
	}
	for _, it := range in.Items {
		if !strings.HasPrefix(it.TypeName, "Custom:") || !fleet.ValidTypeName(it.TypeName) {
			return nil, wire.Errorf(400, "InvalidTypeNameException", "The type name %s is not valid. Custom inventory type names must start with Custom:.", it.TypeName)
		}
		if !regexp.MustCompile(`^([0-9]{1,6})(\.[0-9]{1,6})$`).MatchString(it.SchemaVersion) {
			return nil, wire.Errorf(400, "InvalidInventoryItemContextException", "SchemaVersion %q is not valid.", it.SchemaVersion)
		}
		if !captureTimeRE.MatchString(it.CaptureTime) {
			return nil, validationErr("Value '%s' at 'items.member.captureTime' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(20)\\d\\d-(0[1-9]|1[012])-([12]\\d|3[01]|0[1-9])T(2[0-3]|[01]\\d)(:[0-5]\\d){2}Z$", it.CaptureTime)
		}
		if len(it.Content) > 10000 {
			return nil, wire.Errorf(400, "ItemSizeLimitExceededException", "The inventory item size exceeded the limit.")
		}
		for _, e := range it.Content {
			if len(e) > 50 {
				return nil, wire.Errorf(400, "CustomSchemaCountLimitExceededException", "An entry has more than 50 attributes.")
			}
		}
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	x := f.InstanceLocked(*in.InstanceId)
	if x == nil || x.State == StateTerminated {
		return nil, wire.Errorf(400, "InvalidInstanceId", "Instance Id %s is not valid or is not registered with Systems Manager.", *in.InstanceId)
	}
	// The agent uploads a hash-only item (ContentHash, fresh CaptureTime, no
	// Content) when a type's content hash is unchanged since its last upload,
	// and re-sends the full items when the service answers
	// ItemContentMismatchException (aws/amazon-ssm-agent
	// agent/plugins/inventory/datauploader/uploader.go, inventory.go). A
	// hash-only item whose hash is not the stored one is refused, the whole
	// request with it.
	for _, it := range in.Items {
		if it.ContentHash == nil || it.Content != nil {
			continue
		}
		if h, ok := x.PutHash(it.TypeName); !ok || h != *it.ContentHash {
			return nil, wire.Errorf(400, "ItemContentMismatchException",
				"Inventory item %s has no stored content with ContentHash %s; send the item with its Content.", it.TypeName, *it.ContentHash)
		}
	}
	now := s.Now()
	for _, it := range in.Items {
		ct, _ := time.Parse(time.RFC3339, it.CaptureTime)
		f.PutInventoryLocked(x, it.TypeName, it.SchemaVersion, ct, it.ContentHash, it.Content, now)
	}
	return map[string]any{"Message": "Success"}, nil
}

// ---- Parameter Store ----

type paramOut struct {
	Name             string  `json:"Name"`
	Type             string  `json:"Type"`
	Value            string  `json:"Value"`
	Version          int64   `json:"Version"`
	LastModifiedDate float64 `json:"LastModifiedDate"`
	ARN              string  `json:"ARN"`
	DataType         string  `json:"DataType"`
	Selector         string  `json:"Selector,omitempty"`
}

func (s *Sim) paramOut(p Parameter, selector string) paramOut {
	arnName := p.Name
	if !strings.HasPrefix(arnName, "/") {
		arnName = "/" + arnName
	}
	return paramOut{Name: p.Name, Type: p.Type, Value: p.Value, Version: p.Version, LastModifiedDate: wire.EpochSeconds(p.LastModified),
		ARN: "arn:aws:ssm:" + s.opts.Region + ":" + s.opts.AccountID + ":parameter" + arnName, DataType: "text", Selector: selector}
}

func validParamName(n string) bool {
	if n == "" || len(n) > 2048 || strings.Contains(n, "//") {
		return false
	}
	if strings.Contains(n, "/") && !strings.HasPrefix(n, "/") {
		return false
	}
	for _, c := range n {
		if !(c == '/' || c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (s *Sim) lookupParam(name string) (paramOut, *wire.Error) {
	base, sel, hasSel := strings.Cut(name, ":")
	var ver int64
	if hasSel {
		v, err := strconv.ParseInt(sel, 10, 64)
		if err != nil || v < 1 {
			return paramOut{}, wire.Errorf(400, "ParameterVersionLabelNotFound", "The specified parameter label %s was not found.", sel)
		}
		ver = v
	}
	p, exists, okVer := s.params.get(base, ver)
	if !exists {
		return paramOut{}, wire.Errorf(400, "ParameterNotFound", "Parameter %s not found.", base)
	}
	if !okVer {
		return paramOut{}, wire.Errorf(400, "ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", ver, base)
	}
	selector := ""
	if hasSel {
		selector = ":" + sel
	}
	return s.paramOut(p, selector), nil
}

func (s *Sim) ssmGetParameter(req *wire.Request) (any, *wire.Error) {
	var in struct {
		Name           *string `json:"Name"`
		WithDecryption *bool   `json:"WithDecryption"`
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.Name == nil || *in.Name == "" {
		return nil, validationErr("Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	p, err := s.lookupParam(*in.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Parameter": p}, nil
}

func (s *Sim) ssmGetParameters(req *wire.Request) (any, *wire.Error) {
	var in struct {
		Names          []string `json:"Names"`
		WithDecryption *bool    `json:"WithDecryption"`
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if len(in.Names) < 1 || len(in.Names) > 10 {
		return nil, validationErr("Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	ps, invalid := []paramOut{}, []string{}
	for _, n := range in.Names {
		p, err := s.lookupParam(n)
		if err != nil {
			invalid = append(invalid, n)
			continue
		}
		ps = append(ps, p)
	}
	return map[string]any{"Parameters": ps, "InvalidParameters": invalid}, nil
}

func (s *Sim) ssmPutParameter(req *wire.Request) (any, *wire.Error) {
	var in struct {
		Name      *string `json:"Name"`
		Value     *string `json:"Value"`
		Type      string  `json:"Type"`
		Overwrite *bool   `json:"Overwrite"`
		Tier      string  `json:"Tier"`
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.Name == nil || !validParamName(*in.Name) {
		return nil, wire.Errorf(400, "ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive) and must be a valid, fully qualified name.")
	}
	if in.Value == nil {
		return nil, validationErr("Value null at 'value' failed to satisfy constraint: Member must not be null")
	}
	limit := 4096
	if in.Tier == "Advanced" {
		limit = 8192
	}
	if len(*in.Value) > limit {
		return nil, validationErr("Value at 'value' failed to satisfy constraint: Member must have length less than or equal to %d", limit)
	}
	switch in.Type {
	case "", "String", "StringList", "SecureString":
	default:
		return nil, validationErr("Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", in.Type)
	}
	lower := strings.ToLower(strings.TrimPrefix(*in.Name, "/"))
	if strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") {
		return nil, wire.Errorf(400, "ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).")
	}
	ow := in.Overwrite != nil && *in.Overwrite
	v, ok := s.params.put(*in.Name, in.Type, *in.Value, ow, s.Now())
	if !ok {
		return nil, wire.Errorf(400, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	tier := in.Tier
	if tier == "" {
		tier = "Standard"
	}
	return map[string]any{"Version": v, "Tier": tier}, nil
}

func (s *Sim) ssmDeleteParameter(req *wire.Request) (any, *wire.Error) {
	var in struct {
		Name *string `json:"Name"`
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.Name == nil || !s.params.del(*in.Name) {
		n := ""
		if in.Name != nil {
			n = *in.Name
		}
		return nil, wire.Errorf(400, "ParameterNotFound", "Parameter %s not found.", n)
	}
	return map[string]any{}, nil
}

func (s *Sim) ssmGetParametersByPath(req *wire.Request) (any, *wire.Error) {
	var in struct {
		Path             *string           `json:"Path"`
		Recursive        *bool             `json:"Recursive"`
		WithDecryption   *bool             `json:"WithDecryption"`
		ParameterFilters []json.RawMessage `json:"ParameterFilters"`
		MaxResults       *int              `json:"MaxResults"`
		NextToken        *string           `json:"NextToken"`
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.Path == nil || !strings.HasPrefix(*in.Path, "/") || len(*in.Path) > 2048 {
		return nil, wire.Errorf(400, "ValidationException", "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".")
	}
	if len(in.ParameterFilters) > 0 {
		return nil, wire.Errorf(400, "InvalidFilterKey", "ParameterFilters are not supported by this region.")
	}
	size, err := maxResults(in.MaxResults, "maxResults", 1, 10, 10)
	if err != nil {
		return nil, err
	}
	rec := in.Recursive != nil && *in.Recursive
	scope := "GPBP|" + *in.Path + "|" + strconv.FormatBool(rec)
	off := 0
	if in.NextToken != nil && *in.NextToken != "" {
		o, ok := s.tok.Check(scope, *in.NextToken)
		if !ok {
			return nil, wire.Errorf(400, "ValidationException", "The specified token isn't valid.")
		}
		off = o
	}
	all := s.params.byPath(*in.Path, rec)
	off = min(off, len(all))
	end := min(off+size, len(all))
	ps := make([]paramOut, 0, end-off)
	for _, p := range all[off:end] {
		ps = append(ps, s.paramOut(p, ""))
	}
	out := map[string]any{"Parameters": ps}
	if end < len(all) {
		out["NextToken"] = s.tok.Mint(scope, end)
	}
	return out, nil
}

// ssmOffset resumes a paginated SSM call: no token starts at 0; a token must
// have been issued for the same query (scope), else InvalidNextToken.
func (s *Sim) ssmOffset(scope string, token *string) (int, *wire.Error) {
	if token == nil || *token == "" {
		return 0, nil
	}
	off, ok := s.tok.Check(scope, *token)
	if !ok {
		return 0, wire.Errorf(400, "InvalidNextToken", "The specified token isn't valid.")
	}
	return off, nil
}
