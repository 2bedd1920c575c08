package ec2

import (
	"strconv"
	"strings"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

// tagTarget returns the tag map of a taggable resource (fleet locked).
func tagTarget(f *fleet.Fleet, id string) (map[string]string, *wire.Error) {
	switch {
	case strings.HasPrefix(id, "i-"):
		if err := checkInstanceID(id); err != nil {
			return nil, err
		}
		in := f.InstanceLocked(id)
		if in == nil {
			return nil, notFoundIDs("InvalidInstanceID.NotFound", "instance", []string{id})
		}
		return in.Tags, nil
	case strings.HasPrefix(id, "ami-"):
		a := f.AMILocked(id)
		if a == nil {
			return nil, wire.Errorf(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
		if a.Tags == nil {
			a.Tags = map[string]string{}
		}
		return a.Tags, nil
	}
	return nil, wire.Errorf(400, "InvalidID", "The ID '%s' is not valid", id)
}

func resourceIDs(req *wire.Request) ([]string, *wire.Error) {
	ids := wire.EC2List(req.Form, "ResourceId")
	if len(ids) == 0 {
		return nil, wire.Errorf(400, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	return ids, nil
}

func reservedTagKey(k string) *wire.Error {
	if strings.HasPrefix(strings.ToLower(k), "aws:") {
		return invalidParam("Tag keys starting with 'aws:' are reserved for internal use")
	}
	return nil
}

func (s *Service) createTags(req *wire.Request) ([]byte, *wire.Error) {
	ids, err := resourceIDs(req)
	if err != nil {
		return nil, err
	}
	type kv struct{ k, v string }
	var tags []kv
	for _, n := range wire.Indices(req.Form, "Tag.") {
		p := "Tag." + strconv.Itoa(n) + "."
		k := req.Form.Get(p + "Key")
		if k == "" || len(k) > 128 || len(req.Form.Get(p+"Value")) > 256 {
			return nil, invalidParam("Tag key must be 1-128 characters and tag value at most 256 characters")
		}
		if err := reservedTagKey(k); err != nil {
			return nil, err
		}
		tags = append(tags, kv{k, req.Form.Get(p + "Value")})
	}
	f := s.f
	f.Lock()
	defer f.Unlock()
	var targets []map[string]string
	for _, id := range ids {
		m, err := tagTarget(f, id)
		if err != nil {
			return nil, err
		}
		targets = append(targets, m)
	}
	for _, m := range targets {
		if len(m)+len(tags) > 50 {
			return nil, wire.Errorf(400, "TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
		for _, t := range tags {
			m[t.k] = t.v
		}
	}
	return []byte("<return>true</return>"), nil
}

func (s *Service) deleteTags(req *wire.Request) ([]byte, *wire.Error) {
	ids, err := resourceIDs(req)
	if err != nil {
		return nil, err
	}
	f := s.f
	f.Lock()
	defer f.Unlock()
	for _, id := range ids {
		m, err := tagTarget(f, id)
		if err != nil {
			return nil, err
		}
		for _, n := range wire.Indices(req.Form, "Tag.") {
			p := "Tag." + strconv.Itoa(n) + "."
			k := req.Form.Get(p + "Key")
			if err := reservedTagKey(k); err != nil {
				return nil, err
			}
			if v, has := req.Form[p+"Value"]; has && m[k] != v[0] {
				continue
			}
			delete(m, k)
		}
	}
	return []byte("<return>true</return>"), nil
}
