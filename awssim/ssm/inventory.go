package ssm

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

type getInvInput struct {
	Filters          []invFilter       `json:"Filters"`
	Aggregators      []json.RawMessage `json:"Aggregators"`
	ResultAttributes []struct {
		TypeName string `json:"TypeName"`
	} `json:"ResultAttributes"`
	MaxResults *int    `json:"MaxResults"`
	NextToken  *string `json:"NextToken"`
}

func (s *Service) instanceStatus(x *fleet.Instance) string {
	switch x.State {
	case fleet.StateTerminated, fleet.StateShuttingDown:
		return "Terminated"
	case fleet.StateStopped:
		return "Stopped"
	}
	if pingStatus(x) == "Online" {
		return "Active"
	}
	return "ConnectionLost"
}

func (s *Service) instanceInfoContent(x *fleet.Instance) map[string]string {
	pn, pv := s.platform(x)
	return map[string]string{
		"AgentType": "amazon-ssm-agent", "AgentVersion": x.AgentVersion, "ComputerName": x.ComputerName,
		"InstanceId": x.ID, "InstanceStatus": s.instanceStatus(x), "IpAddress": x.PrivateIP,
		"PlatformName": pn, "PlatformType": platformType(x), "PlatformVersion": pv, "ResourceType": "EC2Instance",
	}
}

func (s *Service) getInventory(req *wire.Request) (any, *wire.Error) {
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
	result := fleet.TypeInstanceInfo
	if n := len(in.ResultAttributes); n > 1 {
		return nil, validationErr("Value at 'resultAttributes' failed to satisfy constraint: Member must have length less than or equal to 1")
	} else if n == 1 {
		t := in.ResultAttributes[0].TypeName
		if t != fleet.TypeInstanceInfo && t != fleet.TypePatchSummary {
			return nil, wire.Errorf(400, "InvalidResultAttributeException",
				"Result type name %s is not supported. Supported type names are: AWS:InstanceInformation, AWS:PatchSummary. Default result type name is AWS:InstanceInformation.", t)
		}
		result = t
	}
	fb, _ := json.Marshal(in.Filters)
	scope := "GI|" + result + "|" + string(fb)
	cur, terr := s.cursor(scope, in.NextToken)
	if terr != nil {
		return nil, terr
	}
	f := s.f
	now := s.f.Now()
	f.RLock()
	defer f.RUnlock()
	var sel []*fleet.Instance
	for _, x := range f.InstancesLocked() {
		if !x.Managed || !f.HasInventory(x, now) {
			continue
		}
		ok := true
		for _, fl := range in.Filters {
			t, attr, _ := strings.Cut(fl.Key, ".")
			if t == fleet.TypeInstanceInfo {
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
	page, next := wire.Page(cur, sel, size)
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
	ents := make([]entity, 0, len(page))
	for _, x := range page {
		e := entity{Id: x.ID, Data: map[string]item{}}
		if result == fleet.TypeInstanceInfo {
			c := s.instanceInfoContent(x)
			e.Data[result] = item{TypeName: result, SchemaVersion: fleet.SchemaDefault, CaptureTime: wire.CaptureTime(f.NodeCaptureTime(x, now)), Content: []map[string]string{c}}
		}
		ents = append(ents, e)
	}
	return withNextToken(map[string]any{"Entities": ents}, next), nil
}

func (s *Service) getInventorySchema(req *wire.Request) (any, *wire.Error) {
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
	f := s.f
	now := s.f.Now()
	f.RLock()
	defer f.RUnlock()
	attrs := map[string]map[string]bool{}
	add := func(t string, td *fleet.TypeData) {
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
		if t == fleet.TypeApplication {
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

func (s *Service) putInventory(req *wire.Request) (any, *wire.Error) {
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
	f := s.f
	f.Lock()
	defer f.Unlock()
	x := f.InstanceLocked(*in.InstanceId)
	if x == nil || x.State == fleet.StateTerminated {
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
	now := s.f.Now()
	for _, it := range in.Items {
		ct, _ := time.Parse(time.RFC3339, it.CaptureTime)
		f.PutInventoryLocked(x, it.TypeName, it.SchemaVersion, ct, it.ContentHash, it.Content, now)
	}
	return map[string]any{"Message": "Success"}, nil
}
