package awssim

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// Call is one request served by the simulator.
type Call struct {
	Time      time.Time     `json:"time"`
	Service   string        `json:"service"`
	Operation string        `json:"operation"`
	Params    string        `json:"params,omitempty"` // short summary of the request parameters
	Status    int           `json:"status"`
	ErrorCode string        `json:"errorCode,omitempty"`
	Fault     string        `json:"fault,omitempty"` // injected fault, if any
	Duration  time.Duration `json:"durationNs"`
}

type callLog struct {
	mu     sync.Mutex
	limit  int
	calls  []Call
	counts map[string]int
	total  int
	// seq numbers the requests; inflight holds those not yet logged. A
	// request's answer can reach the client before its entry is logged (a
	// dropped or truncated connection, a large body streamed before the
	// handler returns), so readers wait for the requests that began before
	// them (see settleLocked).
	seq      uint64
	inflight map[uint64]struct{}
}

func newCallLog(limit int) *callLog {
	return &callLog{limit: limit, counts: map[string]int{}, inflight: map[uint64]struct{}{}}
}

// begin registers a request being served; its entry is logged by add.
func (l *callLog) begin() uint64 {
	l.mu.Lock()
	l.seq++
	n := l.seq
	l.inflight[n] = struct{}{}
	l.mu.Unlock()
	return n
}

// settleWait bounds how long a reader waits for earlier requests (a long
// poll may legitimately stay in flight).
const settleWait = 2 * time.Second

// settleLocked waits (l.mu held, released while waiting) until every request
// that began before the call has been logged, or settleWait has passed.
func (l *callLog) settleLocked() {
	upto := l.seq
	deadline := time.Now().Add(settleWait)
	for {
		pending := false
		for n := range l.inflight {
			if n <= upto {
				pending = true
				break
			}
		}
		if !pending || time.Now().After(deadline) {
			return
		}
		l.mu.Unlock()
		time.Sleep(time.Millisecond)
		l.mu.Lock()
	}
}

func (l *callLog) add(n uint64, c Call) {
	l.mu.Lock()
	delete(l.inflight, n)
	if len(l.calls) >= l.limit {
		n := copy(l.calls, l.calls[len(l.calls)/10+1:])
		l.calls = l.calls[:n]
	}
	l.calls = append(l.calls, c)
	l.counts[c.Service+":"+c.Operation]++
	l.total++
	l.mu.Unlock()
}

// Calls returns a copy of the call log (oldest first; the oldest entries are
// dropped beyond Options.CallLogLimit).
func (s *Sim) Calls() []Call {
	s.log.mu.Lock()
	s.log.settleLocked()
	defer s.log.mu.Unlock()
	return append([]Call(nil), s.log.calls...)
}

// ResetCalls empties the call log and the counts.
func (s *Sim) ResetCalls() {
	s.log.mu.Lock()
	s.log.settleLocked()
	s.log.calls, s.log.counts, s.log.total = nil, map[string]int{}, 0
	s.log.mu.Unlock()
}

// CallCounts returns the number of requests per "service:Operation" since the
// last reset (exact, independent of the log limit).
func (s *Sim) CallCounts() map[string]int {
	s.log.mu.Lock()
	s.log.settleLocked()
	defer s.log.mu.Unlock()
	out := make(map[string]int, len(s.log.counts))
	for k, v := range s.log.counts {
		out[k] = v
	}
	return out
}

// CallCount returns the number of requests for one service and operation.
func (s *Sim) CallCount(service, op string) int {
	s.log.mu.Lock()
	s.log.settleLocked()
	defer s.log.mu.Unlock()
	return s.log.counts[service+":"+op]
}

// summarize renders a short, deterministic summary of a request's parameters.
func summarize(req *wire.Request) string {
	const max = 240
	var s string
	switch {
	case req.Form != nil:
		keys := make([]string, 0, len(req.Form))
		for k := range req.Form {
			if k != "Action" && k != "Version" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var b strings.Builder
		for i, k := range keys {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(req.Form.Get(k))
			if b.Len() > max {
				break
			}
		}
		s = b.String()
	case len(req.Body) > 0 && (req.Protocol == wire.JSON10 || req.Protocol == wire.JSON11):
		s = string(req.Body)
		if req.Op == "PutParameter" { // never keep parameter values (SecureString) in the log
			var p struct{ Name, Type string }
			_ = json.Unmarshal(req.Body, &p)
			s = "Name=" + p.Name + "&Type=" + p.Type + "&Value=<redacted>"
		}
	case req.HTTP != nil:
		s = req.HTTP.Method + " " + req.HTTP.URL.Path
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// recorder captures the status and, for errors, the start of the body so the
// call log can name the error code.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	errBuf []byte
}

func (r *recorder) WriteHeader(code int) {
	if r.wrote {
		return
	}
	r.status, r.wrote = code, true
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(200)
	}
	if r.status >= 300 && len(r.errBuf) < 2048 {
		r.errBuf = append(r.errBuf, b[:min(len(b), 2048-len(r.errBuf))]...)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := r.ResponseWriter.(http.Hijacker); ok {
		r.wrote = true
		return hj.Hijack()
	}
	return nil, nil, http.ErrNotSupported
}

func (r *recorder) Flush() {
	if fl, ok := r.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

var xmlCodeRE = regexp.MustCompile(`<Code>([^<]*)</Code>`)

func (r *recorder) errorCode() string {
	if r.status < 300 {
		return ""
	}
	if c := r.Header().Get("X-Amzn-Errortype"); c != "" {
		return c
	}
	if m := xmlCodeRE.FindSubmatch(r.errBuf); m != nil {
		return string(m[1])
	}
	var j struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(r.errBuf, &j) == nil && j.Type != "" {
		return j.Type
	}
	return http.StatusText(r.status)
}
