package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A yaml.v3 decoder with KnownFields(true) stops at the first unknown key
// and names it by Go type ("field crn not found in type config.Schedule").
// checkTree instead walks the parsed node tree against the yaml tags of the
// target type and reports every unknown key, duplicate key and value of the
// wrong type, each with its YAML path and line. It also repairs the tree so
// that the decoder that follows can decode everything else: offending pairs
// are removed and values of the wrong type become null (the key's default).

// FieldError is a problem found while decoding: the YAML path of the key, the
// line of the offending node and what is wrong.
type FieldError struct {
	Path string // e.g. "schedule.crn", "remediation.groups[2].budget"; "" is the document
	Line int
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: line %d: %s", e.Path, e.Line, e.Msg)
}

// maxTreeVisits bounds the walk (aliases can make a small file a huge tree);
// it is far above any real configuration.
const maxTreeVisits = 1_000_000

type treeChecker struct {
	errs   []*FieldError
	visits int
	// valueErr holds the paths whose value was dropped for having the wrong
	// type: validation messages about those paths would only repeat the news.
	valueErr map[string]bool
	fields   map[reflect.Type]map[string]reflect.Type
}

func (c *treeChecker) fieldsOf(t reflect.Type) map[string]reflect.Type {
	f, ok := c.fields[t]
	if !ok {
		f = yamlFields(t)
		c.fields[t] = f
	}
	return f
}

// checkTree walks root (a document's top node) against type t. It returns
// the problems and the paths whose value was dropped.
func checkTree(root *yaml.Node, t reflect.Type) ([]*FieldError, map[string]bool) {
	c := &treeChecker{valueErr: map[string]bool{}, fields: map[reflect.Type]map[string]reflect.Type{}}
	c.walk(root, t, "")
	return c.errs, c.valueErr
}

func (c *treeChecker) add(path string, n *yaml.Node, format string, a ...any) {
	c.errs = append(c.errs, &FieldError{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, a...)})
}

var (
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	durationType        = reflect.TypeOf(time.Duration(0))
	timeType            = reflect.TypeOf(time.Time{})
)

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// setNull turns n into a null scalar, so the decoder leaves the target at
// its zero value (then defaults apply).
func setNull(n *yaml.Node) {
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "", Line: n.Line, Column: n.Column}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected node"
}

// visit counts a node and reports whether the walk may go on.
func (c *treeChecker) visit(n *yaml.Node, path string) bool {
	c.visits++
	if c.visits == maxTreeVisits+1 {
		c.add("", n, "the document expands to more than %d nodes through aliases and merge keys", maxTreeVisits)
		c.valueErr[""] = true // nothing is decoded
	}
	return c.visits <= maxTreeVisits
}

func (c *treeChecker) walk(n *yaml.Node, t reflect.Type, path string) {
	if !c.visit(n, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isNull(n) {
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		c.leaf(n, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.wrongKind(n, path, "a mapping")
			return
		}
		c.mapping(n, path, func(key *yaml.Node, val *yaml.Node) bool {
			f, ok := c.fieldsOf(t)[key.Value]
			if !ok {
				c.unknownKey(key, t, joinPath(path, key.Value))
				return false
			}
			c.walk(val, f, joinPath(path, key.Value))
			return true
		})
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.wrongKind(n, path, "a mapping")
			return
		}
		c.mapping(n, path, func(key *yaml.Node, val *yaml.Node) bool {
			kp := joinPath(path, key.Value)
			if err := key.Decode(reflect.New(t.Key()).Interface()); err != nil {
				c.add(kp, key, "%s", leafMessage(key, t.Key(), err))
				return false
			}
			c.walk(val, t.Elem(), kp)
			return true
		})
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			c.wrongKind(n, path, "a list")
			return
		}
		for i, item := range n.Content {
			c.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Interface:
		// Anything decodes into an interface.
	default:
		c.leaf(n, t, path)
	}
}

// mapping checks a mapping's keys (strings, no duplicates, merge keys
// followed) and calls each for every other pair; a pair each rejects, or a
// duplicate, is removed from the node.
func (c *treeChecker) mapping(n *yaml.Node, path string, each func(key, val *yaml.Node) bool) {
	seen := map[string]*yaml.Node{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Kind == yaml.AliasNode && key.Alias != nil {
			key = key.Alias
		}
		if key.Kind == yaml.ScalarNode && key.Value == "<<" && (key.Tag == "" || key.Tag == "!" || key.ShortTag() == "!!merge") {
			c.merge(val, path, each)
			kept = append(kept, n.Content[i], n.Content[i+1])
			continue
		}
		if key.Kind != yaml.ScalarNode {
			c.add(path, key, "a key must be a plain string, not %s", kindName(key))
			continue
		}
		if first, dup := seen[key.Value]; dup {
			c.add(joinPath(path, key.Value), key, "duplicate key (first set at line %d)", first.Line)
			continue
		}
		seen[key.Value] = key
		if each(key, val) {
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = kept
}

// merge follows a merge key (<<: *anchor, or a list of them).
func (c *treeChecker) merge(val *yaml.Node, path string, each func(key, val *yaml.Node) bool) {
	if !c.visit(val, path) {
		return
	}
	if val.Kind == yaml.AliasNode && val.Alias != nil {
		val = val.Alias
	}
	switch val.Kind {
	case yaml.MappingNode:
		c.mapping(val, path, each)
	case yaml.SequenceNode:
		for _, m := range val.Content {
			c.merge(m, path, each)
		}
	default:
		c.add(path, val, "a merge key (<<) needs a mapping or a list of mappings")
		setNull(val)
	}
}

func (c *treeChecker) wrongKind(n *yaml.Node, path, want string) {
	c.add(path, n, "must be %s, not %s", want, kindName(n))
	c.valueErr[path] = true
	setNull(n)
}

func (c *treeChecker) unknownKey(key *yaml.Node, t reflect.Type, path string) {
	known := yamlFieldNames(t)
	if s := closest(key.Value, known); s != "" {
		c.add(path, key, "unknown key (did you mean %s?)", s)
		return
	}
	c.add(path, key, "unknown key (valid here: %s)", strings.Join(known, ", "))
}

// leaf decodes n into a fresh value of t and reports a failure in the key's
// terms.
func (c *treeChecker) leaf(n *yaml.Node, t reflect.Type, path string) {
	if t.Kind() == reflect.String && n.Kind == yaml.ScalarNode && !reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return // every scalar decodes into a string
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		c.add(path, n, "%s", leafMessage(n, t, err))
		c.valueErr[path] = true
		setNull(n)
	}
}

// leafMessage says why n does not decode into t. The value is quoted only
// for scalars of non-string types (numbers, durations, booleans, enums):
// a string field never fails on a scalar, so no secret is echoed.
func leafMessage(n *yaml.Node, t reflect.Type, err error) string {
	if n.Kind != yaml.ScalarNode {
		want := "a single value"
		if t.Kind() == reflect.String {
			want = "a string"
		}
		return fmt.Sprintf("must be %s, not %s", want, kindName(n))
	}
	v := strconv.Quote(n.Value)
	switch {
	case t == durationType:
		return v + " is not a duration (e.g. 90s, 5m, 2h)"
	case t == timeType:
		return v + " is not a time (RFC 3339, e.g. 2027-01-01T00:00:00Z)"
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return unmarshalerMessage(err) // e.g. drift.Severity's own
	}
	switch t.Kind() {
	case reflect.Bool:
		return v + " is not true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v + " is not a whole number"
	case reflect.Float32, reflect.Float64:
		return v + " is not a number"
	}
	return unmarshalerMessage(err)
}

// unmarshalerMessage strips yaml.v3's framing from a decode error.
func unmarshalerMessage(err error) string {
	msg := err.Error()
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = rest
		}
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the keys of struct t to their types, following yaml.v3's
// rules: the yaml tag's name, else the lower-cased field name; "-" skipped;
// ",inline" structs flattened.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if strings.Contains(","+flags+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					m[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func yamlFieldNames(t reflect.Type) []string {
	f := yamlFields(t)
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// closest returns the known key nearest to s when it is a likely typo.
func closest(s string, known []string) string {
	if len(s) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, k := range known {
		d := editDistance(s, k)
		if d < bestD && d <= len(k)/3+1 {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
