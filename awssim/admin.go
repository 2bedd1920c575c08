package awssim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const adminPrefix = "/_awssim/"

// adminFault is the admin API's fault shape (durations as Go duration strings).
type adminFault struct {
	Service      string  `json:"service"`
	Operation    string  `json:"operation"`
	Rate         float64 `json:"rate"`
	Burst        int     `json:"burst"`
	Latency      string  `json:"latency"`
	Jitter       string  `json:"jitter"`
	ErrorRate    float64 `json:"errorRate"`
	ErrorStatus  int     `json:"errorStatus"`
	DropRate     float64 `json:"dropRate"`
	TruncateRate float64 `json:"truncateRate"`
	Count        int     `json:"count"`
	// Params: see Fault.
	Params map[string]string `json:"params"`

	ErrorCode     string                     `json:"errorCode"`
	ErrorMessage  string                     `json:"errorMessage"`
	Patch         map[string]json.RawMessage `json:"patch"`
	EchoNextToken bool                       `json:"echoNextToken"`
	InstanceID    string                     `json:"instanceId"`
	Terminate     string                     `json:"terminate"`
}

// adminDrift selects an instance and a drift.
type adminDrift struct {
	Instance string `json:"instance"`
	Group    string `json:"group"`
	Index    int    `json:"index"`
	Drift
	Age string `json:"age"`
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func adminErr(w http.ResponseWriter, status int, format string, args ...any) {
	adminJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func parseDur(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a non-negative duration (e.g. 250ms, 5m)", field, s)
	}
	return d, nil
}

func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// serveAdmin implements the control API under /_awssim/ (see docs/awssim.md).
func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, adminPrefix)
	switch {
	case path == "health":
		adminJSON(w, 200, map[string]string{"status": "ok"})
	case path == "summary" && r.Method == http.MethodGet:
		adminJSON(w, 200, s.Summary())
	case path == "instances" && r.Method == http.MethodGet:
		adminJSON(w, 200, s.Instances())
	case path == "scenario" && r.Method == http.MethodPost:
		var err error
		if r.URL.Query().Get("name") == "demo" {
			err = s.LoadScenario(DemoScenario())
		} else {
			data, rerr := io.ReadAll(io.LimitReader(r.Body, 16<<20))
			if rerr != nil {
				adminErr(w, 400, "reading scenario: %v", rerr)
				return
			}
			sc, perr := ParseScenario(data)
			if perr != nil {
				adminErr(w, 400, "%v", perr)
				return
			}
			err = s.LoadScenario(sc)
		}
		if err != nil {
			adminErr(w, 400, "%v", err)
			return
		}
		adminJSON(w, 200, s.Summary())
	case path == "inject" && r.Method == http.MethodPost:
		var d adminDrift
		if err := decodeStrict(r, &d); err != nil {
			adminErr(w, 400, "inject: %v", err)
			return
		}
		age, err := parseDur("age", d.Age)
		if err != nil {
			adminErr(w, 400, "inject: %v", err)
			return
		}
		d.Drift.Age = age
		id := d.Instance
		if id == "" && d.Group != "" {
			ids := s.GroupMembers(d.Group)
			if d.Index < 0 || d.Index >= len(ids) {
				adminErr(w, 404, "inject: group %q has no member %d", d.Group, d.Index)
				return
			}
			id = ids[d.Index]
		}
		if err := s.Inject(id, d.Drift); err != nil {
			adminErr(w, 400, "inject: %v", err)
			return
		}
		adminJSON(w, 200, map[string]string{"instance": id, "action": d.Action})
	case path == "faults" && r.Method == http.MethodGet:
		adminJSON(w, 200, s.Faults())
	case path == "faults" && r.Method == http.MethodPost:
		var af adminFault
		if err := decodeStrict(r, &af); err != nil {
			adminErr(w, 400, "fault: %v", err)
			return
		}
		lat, err1 := parseDur("latency", af.Latency)
		jit, err2 := parseDur("jitter", af.Jitter)
		if err1 != nil || err2 != nil {
			adminErr(w, 400, "fault: %v", firstErr(err1, err2))
			return
		}
		id, err := s.AddFault(Fault{Service: af.Service, Operation: af.Operation, Rate: af.Rate, Burst: af.Burst,
			Latency: lat, Jitter: jit, ErrorRate: af.ErrorRate, ErrorStatus: af.ErrorStatus, DropRate: af.DropRate,
			TruncateRate: af.TruncateRate, Count: af.Count, Params: af.Params, ErrorCode: af.ErrorCode, ErrorMessage: af.ErrorMessage,
			Patch: af.Patch, EchoNextToken: af.EchoNextToken, InstanceID: af.InstanceID, Terminate: af.Terminate})
		if err != nil {
			adminErr(w, 400, "%v", err)
			return
		}
		adminJSON(w, 201, map[string]string{"id": id})
	case path == "faults/aws-rate-limits" && r.Method == http.MethodPost:
		adminJSON(w, 201, map[string][]string{"ids": s.AWSRateLimits()})
	case path == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		adminJSON(w, 200, map[string]string{"status": "cleared"})
	case strings.HasPrefix(path, "faults/") && r.Method == http.MethodDelete:
		if !s.RemoveFault(strings.TrimPrefix(path, "faults/")) {
			adminErr(w, 404, "no fault %q", strings.TrimPrefix(path, "faults/"))
			return
		}
		adminJSON(w, 200, map[string]string{"status": "removed"})
	case path == "calls" && r.Method == http.MethodGet:
		adminJSON(w, 200, map[string]any{"counts": s.CallCounts(), "calls": s.Calls()})
	case path == "calls" && r.Method == http.MethodDelete:
		s.ResetCalls()
		adminJSON(w, 200, map[string]string{"status": "reset"})
	case path == "clock/advance" && r.Method == http.MethodPost:
		mc, ok := s.opts.Clock.(*ManualClock)
		if !ok {
			adminErr(w, 409, "the simulator runs on the wall clock; start it with a manual clock to advance time")
			return
		}
		d, err := parseDur("by", r.URL.Query().Get("by"))
		if err != nil {
			adminErr(w, 400, "%v", err)
			return
		}
		mc.Advance(d)
		s.Tick()
		adminJSON(w, 200, map[string]string{"now": s.Now().Format(time.RFC3339)})
	case path == "tick" && r.Method == http.MethodPost:
		s.Tick()
		adminJSON(w, 200, map[string]string{"now": s.Now().Format(time.RFC3339)})
	default:
		adminErr(w, 404, "unknown admin endpoint %s %s", r.Method, r.URL.Path)
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
