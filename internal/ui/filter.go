package ui

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
)

// NoGroup is the group filter value of instances outside any Auto
// Scaling group.
const NoGroup = "-"

// filter is the instance list's query: every parameter optional and
// repeatable (or comma-separated); values of one parameter are OR-ed,
// parameters AND-ed.
type filter struct {
	Groups   []string
	Verdicts []drift.Verdict
	AMIs     []string
}

var (
	// Auto Scaling group names: 1-255 characters without control
	// characters (the API's pattern [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*
	// also allows line breaks, which no name needs in a URL).
	groupRe = regexp.MustCompile(`^[^\x00-\x1f\x7f]{1,255}$`)
	amiRe   = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
)

// parseFilter validates the instance list's query. An unknown parameter or
// a malformed value is an error naming it.
func parseFilter(q url.Values) (filter, error) {
	var f filter
	for key, vals := range q {
		for _, raw := range vals {
			for v := range strings.SplitSeq(raw, ",") {
				v = strings.TrimSpace(v)
				if v == "" {
					continue
				}
				switch key {
				case "group":
					if v != NoGroup && !groupRe.MatchString(v) {
						return filter{}, fmt.Errorf("group %q: not an Auto Scaling group name (or %q for instances outside any group)", v, NoGroup)
					}
					f.Groups = append(f.Groups, v)
				case "verdict":
					if !slices.Contains(drift.Verdicts, drift.Verdict(v)) {
						return filter{}, fmt.Errorf("verdict %q: not one of %s", v, verdictList())
					}
					f.Verdicts = append(f.Verdicts, drift.Verdict(v))
				case "ami":
					if !amiRe.MatchString(v) {
						return filter{}, fmt.Errorf("ami %q: not an AMI id (ami- and 8 or 17 hexadecimal digits)", v)
					}
					f.AMIs = append(f.AMIs, v)
				default:
					return filter{}, fmt.Errorf("unknown parameter %q: the instance list takes group, verdict and ami", key)
				}
			}
		}
	}
	slices.Sort(f.Groups)
	slices.Sort(f.Verdicts)
	slices.Sort(f.AMIs)
	f.Groups, f.Verdicts, f.AMIs = slices.Compact(f.Groups), slices.Compact(f.Verdicts), slices.Compact(f.AMIs)
	return f, nil
}

func verdictList() string {
	s := make([]string, len(drift.Verdicts))
	for i, v := range drift.Verdicts {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// match reports whether an entry passes the filter.
func (f filter) match(e *state.Entry) bool {
	g := e.ASG
	if g == "" {
		g = NoGroup
	}
	return (len(f.Groups) == 0 || slices.Contains(f.Groups, g)) &&
		(len(f.Verdicts) == 0 || slices.Contains(f.Verdicts, e.Verdict)) &&
		(len(f.AMIs) == 0 || slices.Contains(f.AMIs, e.AMI))
}

// empty reports whether the filter lets everything through.
func (f filter) empty() bool { return len(f.Groups)+len(f.Verdicts)+len(f.AMIs) == 0 }

// query is the filter as a query string ("" when empty), in a stable order.
func (f filter) query() string {
	q := url.Values{}
	for _, g := range f.Groups {
		q.Add("group", g)
	}
	for _, v := range f.Verdicts {
		q.Add("verdict", string(v))
	}
	for _, a := range f.AMIs {
		q.Add("ami", a)
	}
	return q.Encode()
}
