package ssm

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// Parameter is an SSM Parameter Store parameter.
type Parameter struct {
	Name, Type, Value string
	Version           int64
	LastModified      time.Time
	history           []paramVersion
}

type paramVersion struct {
	Value    string
	Type     string
	Version  int64
	Modified time.Time
}

type paramStore struct {
	mu sync.RWMutex
	m  map[string]*Parameter
}

func newParamStore() *paramStore { return &paramStore{m: map[string]*Parameter{}} }

func (ps *paramStore) reset() {
	ps.mu.Lock()
	ps.m = map[string]*Parameter{}
	ps.mu.Unlock()
}

func (ps *paramStore) put(name, typ, value string, overwrite bool, now time.Time) (int64, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.m[name]
	if p != nil && !overwrite {
		return 0, false
	}
	if p == nil {
		p = &Parameter{Name: name}
		ps.m[name] = p
	}
	if typ == "" {
		typ = p.Type
	}
	if typ == "" {
		typ = "String"
	}
	p.Version++
	p.Type, p.Value, p.LastModified = typ, value, now
	p.history = append(p.history, paramVersion{value, typ, p.Version, now})
	return p.Version, true
}

// get returns a snapshot of a parameter, optionally at a version (0 = latest).
func (ps *paramStore) get(name string, version int64) (Parameter, bool, bool) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	p := ps.m[name]
	if p == nil {
		return Parameter{}, false, false
	}
	if version == 0 {
		return Parameter{Name: p.Name, Type: p.Type, Value: p.Value, Version: p.Version, LastModified: p.LastModified}, true, true
	}
	for _, h := range p.history {
		if h.Version == version {
			return Parameter{Name: p.Name, Type: h.Type, Value: h.Value, Version: h.Version, LastModified: h.Modified}, true, true
		}
	}
	return Parameter{}, true, false
}

func (ps *paramStore) del(name string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m[name] == nil {
		return false
	}
	delete(ps.m, name)
	return true
}

// byPath lists parameters under path (sorted by name).
func (ps *paramStore) byPath(path string, recursive bool) []Parameter {
	prefix := strings.TrimSuffix(path, "/") + "/"
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	var out []Parameter
	for n, p := range ps.m {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		if !recursive && strings.Contains(n[len(prefix):], "/") {
			continue
		}
		out = append(out, Parameter{Name: p.Name, Type: p.Type, Value: p.Value, Version: p.Version, LastModified: p.LastModified})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PutParameter stores a parameter (overwriting) from the Go API; it returns
// the new version.
func (s *Service) PutParameter(name, value string) int64 {
	v, _ := s.params.put(name, "String", value, true, s.f.Now())
	return v
}

// DeleteParameter removes a parameter from the Go API.
func (s *Service) DeleteParameter(name string) bool { return s.params.del(name) }

// Parameter returns the latest version of a parameter.
func (s *Service) Parameter(name string) (Parameter, bool) {
	p, ok, _ := s.params.get(name, 0)
	return p, ok
}

// ResetParameters empties Parameter Store.
func (s *Service) ResetParameters() { s.params.reset() }

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

func (s *Service) paramOut(p Parameter, selector string) paramOut {
	arnName := p.Name
	if !strings.HasPrefix(arnName, "/") {
		arnName = "/" + arnName
	}
	return paramOut{Name: p.Name, Type: p.Type, Value: p.Value, Version: p.Version, LastModifiedDate: wire.EpochSeconds(p.LastModified),
		ARN: "arn:aws:ssm:" + s.options().Region + ":" + s.options().AccountID + ":parameter" + arnName, DataType: "text", Selector: selector}
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

func (s *Service) lookupParam(name string) (paramOut, *wire.Error) {
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

func (s *Service) getParameter(req *wire.Request) (any, *wire.Error) {
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

func (s *Service) getParameters(req *wire.Request) (any, *wire.Error) {
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

func (s *Service) putParameter(req *wire.Request) (any, *wire.Error) {
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
	v, ok := s.params.put(*in.Name, in.Type, *in.Value, ow, s.f.Now())
	if !ok {
		return nil, wire.Errorf(400, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	tier := in.Tier
	if tier == "" {
		tier = "Standard"
	}
	return map[string]any{"Version": v, "Tier": tier}, nil
}

func (s *Service) deleteParameter(req *wire.Request) (any, *wire.Error) {
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

func (s *Service) getParametersByPath(req *wire.Request) (any, *wire.Error) {
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
	cur, ok := s.tok.Resume(scope, wire.Value(in.NextToken))
	if !ok {
		return nil, wire.Errorf(400, "ValidationException", "The specified token isn't valid.")
	}
	page, next := wire.Page(cur, s.params.byPath(*in.Path, rec), size)
	ps := make([]paramOut, 0, len(page))
	for _, p := range page {
		ps = append(ps, s.paramOut(p, ""))
	}
	return withNextToken(map[string]any{"Parameters": ps}, next), nil
}
