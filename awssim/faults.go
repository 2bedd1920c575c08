package awssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
	"golang.org/x/time/rate"
)

// Fault is an injected failure mode for requests matching Service and
// Operation ("" or "*" matches any). Several kinds may be combined in one
// Fault; they are evaluated in the order: latency, throttle, drop, error,
// truncate.
type Fault struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"` // free-form label
	Service   string `json:"service,omitempty"`
	Operation string `json:"operation,omitempty"`

	// Throttle: token bucket of Rate requests/s with Burst; requests beyond it
	// get the protocol's throttling error (EC2 503 RequestLimitExceeded, Auto
	// Scaling 400 Throttling, SSM 400 ThrottlingException).
	Rate  float64 `json:"rate,omitempty"`
	Burst int     `json:"burst,omitempty"`

	// Latency adds Latency plus a uniform random 0..Jitter before serving.
	Latency time.Duration `json:"latency,omitempty"`
	Jitter  time.Duration `json:"jitter,omitempty"`

	// ErrorRate is the probability (0..1) of answering with a server error of
	// ErrorStatus (500 default; 503 gives the service's "unavailable" code).
	ErrorRate   float64 `json:"errorRate,omitempty"`
	ErrorStatus int     `json:"errorStatus,omitempty"`

	// ErrorCode, with ErrorRate, answers this error code (in the protocol's
	// error shape) instead of a server error: ErrorStatus (default 400; any
	// 4xx or 5xx) and ErrorMessage are its HTTP status and message. E.g.
	// AccessDeniedException for one instance's ListInventoryEntries, or
	// InvalidInstanceId with a message naming no id.
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`

	// DropRate is the probability of closing the connection without an answer.
	DropRate float64 `json:"dropRate,omitempty"`
	// TruncateRate is the probability of sending the headers and half the body,
	// then closing the connection.
	TruncateRate float64 `json:"truncateRate,omitempty"`

	// Patch replaces (or adds) top-level members of a successful JSON answer
	// (SSM and the other JSON protocols), e.g. {"CaptureTime": "yesterday"}
	// for a malformed capture time or {"Entries": [{"Name": 5}]} for an entry
	// the client cannot decode. A null value removes the member.
	Patch map[string]json.RawMessage `json:"patch,omitempty"`
	// EchoNextToken makes a successful JSON answer to a request that carries
	// a NextToken return that same token: a paging loop.
	EchoNextToken bool `json:"echoNextToken,omitempty"`

	// InstanceID, when set, restricts the fault to requests that name this
	// instance: a JSON request body holding it as a string (SSM
	// ListInventoryEntries' InstanceId, a value of an InstanceIds filter), a
	// query-protocol form value (EC2 InstanceId.N), or a URL path holding it
	// as a path element or file name (Resource Data Sync objects
	// ".../<instance-id>.json").
	InstanceID string `json:"instanceId,omitempty"`

	// Terminate, when set, begins terminating that instance (as EC2
	// TerminateInstances does) just before a matching request is served,
	// whatever else the fault does: the instance went away between the
	// caller's previous call and this one. Use Count 1 for a single event.
	Terminate string `json:"terminate,omitempty"`

	// Count, when > 0, limits how many requests the fault affects (throttle
	// rejections, errors, drops, truncations, patched answers and
	// terminations each count as one).
	Count int `json:"count,omitempty"`

	// Params, when set, restricts the fault to requests that carry, for every
	// entry, a parameter whose name matches the key (a path.Match pattern:
	// "AutoScalingGroupName", "InstanceIds.member.*") with exactly the value.
	// Query protocols (EC2, Auto Scaling, SNS, STS) match the form as sent
	// ("Filter.1.Value.*"); JSON protocols match the body's top-level string
	// members ("Name"). Other protocols never match.
	Params  map[string]string `json:"params,omitempty"`
	limiter *rate.Limiter
	hits    int
	// match, when set, further restricts the requests the fault applies to.
	match func(*wire.Request) bool
}

type faults struct {
	mu   sync.Mutex
	list []*Fault
	rng  *rand.Rand
	seq  int
}

func newFaults(seed uint64) *faults { return &faults{rng: rand.New(rand.NewPCG(seed, 0xfa17))} }

// AddFault installs a fault and returns its id.
func (s *Sim) AddFault(f Fault) (string, error) {
	if f.Rate < 0 || f.Burst < 0 || f.ErrorRate < 0 || f.ErrorRate > 1 || f.DropRate < 0 || f.DropRate > 1 ||
		f.TruncateRate < 0 || f.TruncateRate > 1 || f.Latency < 0 || f.Jitter < 0 {
		return "", fmt.Errorf("fault: rates must be within 0..1 and durations non-negative")
	}
	if f.ErrorCode == "" && f.ErrorStatus != 0 && (f.ErrorStatus < 500 || f.ErrorStatus > 599) {
		return "", fmt.Errorf("fault: errorStatus %d is not a 5xx status (set errorCode for a client error)", f.ErrorStatus)
	}
	if f.ErrorCode != "" && f.ErrorStatus != 0 && (f.ErrorStatus < 400 || f.ErrorStatus > 599) {
		return "", fmt.Errorf("fault: errorStatus %d is not a 4xx or 5xx status", f.ErrorStatus)
	}
	if (f.ErrorCode != "" || f.ErrorMessage != "") && f.ErrorRate == 0 {
		return "", fmt.Errorf("fault: errorCode/errorMessage need errorRate > 0")
	}
	for k := range f.Params {
		if _, err := path.Match(k, ""); err != nil || k == "" {
			return "", fmt.Errorf("fault: params key %q is not a valid pattern", k)
		}
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.seq++
	ff := f
	ff.ID = "fault-" + strconv.Itoa(s.faults.seq)
	if ff.ErrorCode != "" && ff.ErrorStatus == 0 {
		ff.ErrorStatus = 400
	}
	if ff.Rate > 0 || ff.Burst > 0 {
		b := ff.Burst
		if b <= 0 {
			b = 1
		}
		ff.limiter = rate.NewLimiter(rate.Limit(ff.Rate), b)
	}
	s.faults.list = append(s.faults.list, &ff)
	return ff.ID, nil
}

// RemoveFault removes a fault by id; it reports whether it existed.
func (s *Sim) RemoveFault(id string) bool {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for i, f := range s.faults.list {
		if f.ID == id {
			s.faults.list = append(s.faults.list[:i], s.faults.list[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.list = nil
	s.faults.mu.Unlock()
}

// Faults lists the installed faults.
func (s *Sim) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make([]Fault, 0, len(s.faults.list))
	for _, f := range s.faults.list {
		c := *f
		c.limiter, c.match, c.hits = nil, nil, 0
		out = append(out, c)
	}
	return out
}

// AWSRateLimits installs token buckets modelled on EC2's published request
// rate limits (per account and region): unfiltered and unpaginated
// DescribeInstances 50 burst / 10 per second; other non-mutating calls
// 100 / 20; RunInstances 5 / 2; TerminateInstances 100 / 5; other mutating
// calls 50 / 5. Requests beyond them get RequestLimitExceeded (503). AWS
// publishes no figures for Auto Scaling and SSM, so none are installed there.
// It returns the fault ids.
func (s *Sim) AWSRateLimits() []string {
	unfiltered := func(r *wire.Request) bool {
		if r.Op != "DescribeInstances" || r.Form.Get("MaxResults") != "" {
			return false
		}
		for k := range r.Form {
			if strings.HasPrefix(k, "Filter.") || strings.HasPrefix(k, "InstanceId.") {
				return false
			}
		}
		return true
	}
	nonMutating := func(r *wire.Request) bool { return strings.HasPrefix(r.Op, "Describe") && !unfiltered(r) }
	mutating := func(r *wire.Request) bool {
		return !strings.HasPrefix(r.Op, "Describe") && r.Op != "RunInstances" && r.Op != "TerminateInstances"
	}
	specs := []Fault{
		{Name: "ec2 unfiltered unpaginated DescribeInstances", Service: wire.SvcEC2, Operation: "DescribeInstances", Rate: 10, Burst: 50, match: unfiltered},
		{Name: "ec2 non-mutating", Service: wire.SvcEC2, Rate: 20, Burst: 100, match: nonMutating},
		{Name: "ec2 RunInstances", Service: wire.SvcEC2, Operation: "RunInstances", Rate: 2, Burst: 5},
		{Name: "ec2 TerminateInstances", Service: wire.SvcEC2, Operation: "TerminateInstances", Rate: 5, Burst: 100},
		{Name: "ec2 mutating", Service: wire.SvcEC2, Rate: 5, Burst: 50, match: mutating},
	}
	var ids []string
	for _, f := range specs {
		m := f.match
		f.match = nil
		id, _ := s.AddFault(f)
		s.faults.mu.Lock()
		for _, x := range s.faults.list {
			if x.ID == id {
				x.match = m
			}
		}
		s.faults.mu.Unlock()
		ids = append(ids, id)
	}
	return ids
}

func match(pat, v string) bool { return pat == "" || pat == "*" || pat == v }

// paramsMatch reports whether req carries every parameter of want (see
// Fault.Params).
func paramsMatch(want map[string]string, req *wire.Request) bool {
	if len(want) == 0 {
		return true
	}
	have := map[string]string{}
	switch req.Protocol {
	case wire.EC2Query, wire.AWSQuery:
		for k, v := range req.Form {
			if len(v) > 0 {
				have[k] = v[0]
			}
		}
	case wire.JSON10, wire.JSON11:
		var body map[string]any
		_ = json.Unmarshal(req.Body, &body)
		for k, v := range body {
			if s, ok := v.(string); ok {
				have[k] = s
			}
		}
	default:
		return false
	}
	for pat, val := range want {
		found := false
		for k, v := range have {
			if ok, _ := path.Match(pat, k); ok && v == val {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

type faultAction int

const (
	actNone     faultAction = iota
	actDone                 // an answer was written (or the connection dropped)
	actTruncate             // serve, then send half the answer
	actPatch                // serve, then rewrite the JSON answer
)

// faultOutcome is what apply decided for one request.
type faultOutcome struct {
	kind      string // for the call log ("" none)
	act       faultAction
	patch     *Fault   // the fault whose Patch/EchoNextToken applies (actPatch)
	terminate []string // instances to terminate before serving
}

// faultOperation is the operation a fault's Operation is matched with. S3
// requests are routed by the S3 service itself (req.Op is empty); the
// operations a fault is likely to target are named from method and path.
func faultOperation(req *wire.Request) string {
	if req.Op != "" || req.Service != wire.SvcS3 || req.HTTP == nil {
		return req.Op
	}
	hasKey := strings.Contains(strings.TrimPrefix(req.HTTP.URL.Path, "/"), "/")
	switch m := req.HTTP.Method; {
	case m == http.MethodGet && hasKey:
		return "GetObject"
	case m == http.MethodHead && hasKey:
		return "HeadObject"
	case m == http.MethodPut && hasKey:
		return "PutObject"
	case m == http.MethodDelete && hasKey:
		return "DeleteObject"
	case m == http.MethodGet && req.HTTP.URL.Query().Get("list-type") == "2":
		return "ListObjectsV2"
	}
	return ""
}

// namesInstance reports whether req names instance id (see Fault.InstanceID).
func namesInstance(req *wire.Request, id string) bool {
	if id == "" {
		return true
	}
	if len(req.Body) > 0 && bytes.Contains(req.Body, []byte(`"`+id+`"`)) {
		return true
	}
	for _, vs := range req.Form {
		for _, v := range vs {
			if v == id {
				return true
			}
		}
	}
	if req.HTTP != nil {
		for _, el := range strings.Split(req.HTTP.URL.Path, "/") {
			if el == id || strings.TrimSuffix(el, ".json") == id {
				return true
			}
		}
	}
	return false
}

// apply evaluates the faults for req and writes the answer of an injected
// error, throttle or drop. The caller serves the request unless act is
// actDone, then truncates or patches the answer as told.
func (fs *faults) apply(w http.ResponseWriter, req *wire.Request) faultOutcome {
	op := faultOperation(req)
	fs.mu.Lock()
	var (
		delay time.Duration
		out   faultOutcome
		werr  *wire.Error
	)
	for _, f := range fs.list {
		if !match(f.Service, req.Service) || !match(f.Operation, op) || (f.Count > 0 && f.hits >= f.Count) ||
			(f.match != nil && !f.match(req)) || !namesInstance(req, f.InstanceID) || !paramsMatch(f.Params, req) {
			continue
		}
		delay += f.Latency
		if f.Jitter > 0 {
			delay += time.Duration(fs.rng.Int64N(int64(f.Jitter)))
		}
		hit := false
		if f.Terminate != "" {
			out.terminate = append(out.terminate, f.Terminate)
			hit = true
		}
		switch {
		case f.limiter != nil && !f.limiter.Allow():
			out.kind, out.act, werr = "throttle", actDone, throttleError(req)
		case f.DropRate > 0 && fs.rng.Float64() < f.DropRate:
			out.kind, out.act = "drop", actDone
		case f.ErrorRate > 0 && fs.rng.Float64() < f.ErrorRate:
			if f.ErrorCode != "" {
				st := f.ErrorStatus
				if st == 0 {
					st = 400
				}
				msg := f.ErrorMessage
				if msg == "" {
					msg = "injected " + f.ErrorCode + " for " + req.Service + ":" + op
				}
				werr = wire.Errorf(st, f.ErrorCode, "%s", msg)
				out.kind = "error:" + strconv.Itoa(st) + ":" + f.ErrorCode
			} else {
				werr = serverError(req, max(f.ErrorStatus, 500))
				out.kind = "error:" + strconv.Itoa(max(f.ErrorStatus, 500))
			}
			out.act = actDone
		case f.TruncateRate > 0 && fs.rng.Float64() < f.TruncateRate:
			out.kind, out.act = "truncate", actTruncate
		case len(f.Patch) > 0 || f.EchoNextToken:
			out.kind, out.act, out.patch = "patch", actPatch, f
		}
		if hit || out.act != actNone {
			f.hits++
		}
		if out.act != actNone {
			break
		}
	}
	fs.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-req.HTTP.Context().Done():
			t.Stop()
		}
		if out.kind == "" {
			out.kind = "latency"
		}
	}
	if len(out.terminate) > 0 && out.kind == "" {
		out.kind = "terminate"
	}
	switch {
	case werr != nil:
		wire.WriteError(w, req, werr)
	case out.kind == "drop":
		dropConn(w)
	}
	return out
}

// patched rewrites a successful JSON answer as f says; other answers are
// returned unchanged.
func patched(req *wire.Request, status int, body []byte, f *Fault) []byte {
	if status != http.StatusOK || (req.Protocol != wire.JSON10 && req.Protocol != wire.JSON11 && req.Protocol != wire.RESTJSON) {
		return body
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	for k, v := range f.Patch {
		if string(v) == "null" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	if f.EchoNextToken {
		var in struct {
			NextToken *string `json:"NextToken"`
		}
		if json.Unmarshal(req.Body, &in) == nil && in.NextToken != nil {
			b, _ := json.Marshal(*in.NextToken)
			m["NextToken"] = b
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

func dropConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// truncated writes buf's headers and status, announces the full length but
// sends only half of the body, then closes the connection.
func truncated(w http.ResponseWriter, status int, h http.Header, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	_ = h.Write(rw)
	_, _ = rw.WriteString("\r\n")
	_, _ = rw.Write(body[:len(body)/2])
	_ = rw.Flush()
}

// bufferWriter collects a handler's answer for truncation.
type bufferWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.h }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = 200
	}
	return b.buf.Write(p)
}

func throttleError(req *wire.Request) *wire.Error {
	switch req.Protocol {
	case wire.EC2Query:
		return wire.Errorf(503, "RequestLimitExceeded", "Request limit exceeded.")
	case wire.AWSQuery:
		return wire.Errorf(400, "Throttling", "Rate exceeded")
	case wire.RESTXML:
		return wire.Errorf(503, "SlowDown", "Please reduce your request rate.")
	case wire.RESTJSON:
		if req.Service == wire.SvcImageBuilder {
			return wire.Errorf(429, "CallRateLimitExceededException", "Rate exceeded")
		}
		return wire.Errorf(429, "ThrottlingException", "Rate exceeded")
	}
	return wire.Errorf(400, "ThrottlingException", "Rate exceeded")
}

func serverError(req *wire.Request, status int) *wire.Error {
	if status == 503 {
		code := "ServiceUnavailable"
		if req.Protocol == wire.EC2Query {
			code = "Unavailable"
		}
		return wire.Errorf(503, code, "The service is unavailable. Please try again shortly.")
	}
	return wire.Errorf(status, internalCode(req), "We encountered an internal error. Please try again.")
}
