package ssm

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

// maxInventoryPerPage is ListInventoryEntries' largest page.
const maxInventoryPerPage = 50

// ListInventoryEntriesDefaultMax is the page size used when MaxResults is absent.
const ListInventoryEntriesDefaultMax = 50

type lieInput struct {
	InstanceId *string     `json:"InstanceId"`
	TypeName   *string     `json:"TypeName"`
	Filters    []invFilter `json:"Filters"`
	MaxResults *int        `json:"MaxResults"`
	NextToken  *string     `json:"NextToken"`
}

func (s *Service) listInventoryEntries(req *wire.Request) ([]byte, *wire.Error) {
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
	cur, terr := s.cursor(scope, in.NextToken)
	if terr != nil {
		return nil, terr
	}
	off := cur.Off
	f := s.f
	now := s.f.Now()
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
		td      *fleet.TypeData
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
	next := ""
	switch {
	case td == nil:
		b = append(b, "[]"...)
	case len(in.Filters) == 0 && off%size == 0:
		page, more := td.Page(size, off/size)
		b = append(b, page...)
		if more {
			next = cur.Next(off + size)
		}
	default:
		var sel []fleet.Entry
		for _, e := range td.Entries {
			if entryMatches(typ, e, in.Filters) {
				sel = append(sel, e)
			}
		}
		var page []fleet.Entry
		page, next = wire.Page(cur, sel, size)
		pb, _ := json.Marshal(page)
		if len(page) == 0 {
			pb = []byte("[]")
		}
		b = append(b, pb...)
	}
	b = append(b, `,"InstanceId":`...)
	b = wire.AppendJSONString(b, id)
	if next != "" {
		b = append(b, `,"NextToken":`...)
		b = wire.AppendJSONString(b, next)
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

func entryMatches(typ string, e fleet.Entry, fs []invFilter) bool {
	for _, f := range fs {
		attr := strings.TrimPrefix(f.Key, typ+".")
		v, ok := e[attr]
		if !f.match(v, ok) {
			return false
		}
	}
	return true
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
