// Package ec2 serves the simulated region's EC2 API (ec2Query protocol)
// from the fleet model: instances, images, launch templates and tags.
package ec2

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

var (
	instanceIDRE = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	ltNameRE     = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)
)

// amazonOwner is the owner id of Amazon's images (DescribeImages Owner
// "amazon").
const amazonOwner = "137112412989"

// Service is the EC2 handler over a fleet.
type Service struct {
	f   *fleet.Fleet
	tok *wire.Tokens
	ops wire.Ops[[]byte] // answers: the members of the OpResponse
}

// New returns the EC2 service of f.
func New(f *fleet.Fleet) *Service {
	s := &Service{f: f, tok: wire.NewTokens()}
	s.ops = wire.Ops[[]byte]{
		"DescribeInstances":              s.describeInstances,
		"DescribeImages":                 s.describeImages,
		"DescribeLaunchTemplates":        s.describeLaunchTemplates,
		"DescribeLaunchTemplateVersions": s.describeLaunchTemplateVersions,
		"CreateLaunchTemplate":           s.createLaunchTemplate,
		"CreateLaunchTemplateVersion":    s.createLaunchTemplateVersion,
		"ModifyLaunchTemplate":           s.modifyLaunchTemplate,
		"CreateTags":                     s.createTags,
		"DeleteTags":                     s.deleteTags,
		"TerminateInstances":             s.terminateInstances,
		"RunInstances":                   s.runInstances,
	}
	for name, op := range s.ops {
		s.ops[name] = dryRun(op)
	}
	return s
}

// dryRun answers a DryRun request of op without running it.
func dryRun(op func(*wire.Request) ([]byte, *wire.Error)) func(*wire.Request) ([]byte, *wire.Error) {
	return func(req *wire.Request) ([]byte, *wire.Error) {
		if req.Form.Get("DryRun") == "true" {
			return nil, wire.Errorf(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
		}
		return op(req)
	}
}

// ServeAWS implements wire.Handler.
func (s *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	s.ops.Serve(w, req, wire.WriteEC2, func(req *wire.Request) *wire.Error {
		return wire.Errorf(400, "InvalidAction", "The action %s is not valid for this web service.", req.Op)
	})
}

func (s *Service) account() string { return s.f.Options().AccountID }

func invalidParam(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "InvalidParameterValue", format, args...)
}

// maxResults validates MaxResults (lo..hi); 0 means absent.
func maxResults(req *wire.Request, lo, hi int) (int, *wire.Error) {
	v := req.Form.Get("MaxResults")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalidParam("Invalid value '%s' for maxResults", v)
	}
	if n < lo || n > hi {
		return 0, invalidParam("Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", n, lo, hi)
	}
	return n, nil
}

// cursor resumes a listing at the request's NextToken, which must have been
// issued for the same operation and other parameters.
func (s *Service) cursor(req *wire.Request) (wire.Cursor, *wire.Error) {
	c, ok := s.tok.Resume(req.Op+"|"+wire.Fingerprint(req.Form, "NextToken", "MaxResults"), req.Form.Get("NextToken"))
	if !ok {
		return c, invalidParam("The parameter NextToken is invalid.")
	}
	return c, nil
}

func notFoundIDs(code, what string, ids []string) *wire.Error {
	if len(ids) == 1 {
		return wire.Errorf(400, code, "The %s ID '%s' does not exist", what, ids[0])
	}
	return wire.Errorf(400, code, "The %s IDs '%s' do not exist", what, strings.Join(ids, ", "))
}

func versionNotFound(version, ltID string) *wire.Error {
	return wire.Errorf(400, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template ID %s.", version, ltID)
}

// describeReq holds the parameters every EC2 Describe* call shares.
type describeReq struct {
	ids     []string
	max     int
	filters []wire.Filter
	cursor  wire.Cursor
}

// describeParams validates them: MaxResults 5–1000 and not with ids, each
// id well-formed, at most 200 filter values, a NextToken issued for this
// very query.
func (s *Service) describeParams(req *wire.Request, idKey, idSetName string, checkID func(string) *wire.Error) (describeReq, *wire.Error) {
	d := describeReq{ids: wire.EC2List(req.Form, idKey)}
	var err *wire.Error
	if d.max, err = maxResults(req, 5, 1000); err != nil {
		return d, err
	}
	if d.max > 0 && len(d.ids) > 0 {
		return d, wire.Errorf(400, "InvalidParameterCombination", "The parameter %s cannot be used with the parameter maxResults", idSetName)
	}
	for _, id := range d.ids {
		if err := checkID(id); err != nil {
			return d, err
		}
	}
	d.filters = wire.EC2Filters(req.Form)
	n := 0
	for _, f := range d.filters {
		n += len(f.Values)
	}
	if n > 200 {
		return d, wire.Errorf(400, "FilterLimitExceeded", "The maximum number of filter values specified on a single call is 200")
	}
	d.cursor, err = s.cursor(req)
	return d, err
}

// byID returns the resources the request names, each once, in the order
// named, or all of them when it names none; a name without a resource
// fails the call with notFound(every missing id).
func byID[T comparable](ids []string, lookup func(string) T, all []T, notFound func([]string) *wire.Error) ([]T, *wire.Error) {
	if len(ids) == 0 {
		return all, nil
	}
	var (
		zero    T
		sel     []T
		missing []string
		seen    = map[string]bool{}
	)
	for _, id := range ids {
		v := lookup(id)
		switch {
		case v == zero:
			missing = append(missing, id)
		case !seen[id]:
			seen[id] = true
			sel = append(sel, v)
		}
	}
	if len(missing) > 0 {
		return nil, notFound(missing)
	}
	return sel, nil
}

// filtered keeps the items every filter matches; an invalid filter fails
// the call.
func filtered[T any](items []T, fs []wire.Filter, match func(T, wire.Filter) (bool, *wire.Error)) ([]T, *wire.Error) {
	var out []T
outer:
	for _, it := range items {
		for _, fl := range fs {
			m, err := match(it, fl)
			if err != nil {
				return nil, err
			}
			if !m {
				continue outer
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// tagMatch applies the tag filters (tag:<key>, tag-key, tag-value); handled
// is false for any other filter.
func tagMatch(tags map[string]string, f wire.Filter) (ok, handled bool) {
	switch {
	case strings.HasPrefix(f.Name, "tag:"):
		v, ok := tags[f.Name[4:]]
		return ok && anyGlob(f.Values, v), true
	case f.Name == "tag-key":
		for k := range tags {
			if anyGlob(f.Values, k) {
				return true, true
			}
		}
		return false, true
	case f.Name == "tag-value":
		for _, v := range tags {
			if anyGlob(f.Values, v) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

// attrMatch matches a filter against the value of the attribute its name
// selects (attr returns ok=false for an unknown filter name).
func attrMatch(tags map[string]string, f wire.Filter, attr func(name string) (string, bool)) (bool, *wire.Error) {
	if ok, handled := tagMatch(tags, f); handled {
		return ok, nil
	}
	v, ok := attr(f.Name)
	if !ok {
		return false, invalidParam("The filter '%s' is invalid", f.Name)
	}
	return anyGlob(f.Values, v), nil
}

// glob matches v against an EC2 filter pattern (* and ? wildcards).
func glob(pat, v string) bool {
	if !strings.ContainsAny(pat, "*?") {
		return pat == v
	}
	for len(pat) > 0 {
		switch pat[0] {
		case '*':
			for len(pat) > 0 && pat[0] == '*' {
				pat = pat[1:]
			}
			if pat == "" {
				return true
			}
			for i := 0; i <= len(v); i++ {
				if glob(pat, v[i:]) {
					return true
				}
			}
			return false
		case '?':
			if v == "" {
				return false
			}
			pat, v = pat[1:], v[1:]
		default:
			if v == "" || pat[0] != v[0] {
				return false
			}
			pat, v = pat[1:], v[1:]
		}
	}
	return v == ""
}

func anyGlob(pats []string, v string) bool {
	for _, p := range pats {
		if glob(p, v) {
			return true
		}
	}
	return false
}
