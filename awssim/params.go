package awssim

import (
	"sort"
	"strings"
	"sync"
	"time"
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
func (s *Sim) PutParameter(name, value string) int64 {
	v, _ := s.params.put(name, "String", value, true, s.Now())
	return v
}

// DeleteParameter removes a parameter from the Go API.
func (s *Sim) DeleteParameter(name string) bool { return s.params.del(name) }
