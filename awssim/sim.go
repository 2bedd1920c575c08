// Package awssim is a simulated AWS region: EC2, Auto Scaling, SSM, S3,
// SQS, SNS, EventBridge, STS, Image Builder and DynamoDB (each in its own
// package, plus any service registered with Sim.Register) over their real
// wire protocols, backed by a concurrency-safe fleet model (awssim/fleet),
// with fault injection, a call log and an admin API under /_awssim/. Real
// aws-sdk-go-v2 clients talk to it through BaseEndpoint or
// AWS_ENDPOINT_URL; nothing on the client side knows it is a simulator.
package awssim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/autoscaling"
	"github.com/driftd/driftd/awssim/configservice"
	"github.com/driftd/driftd/awssim/dynamodb"
	"github.com/driftd/driftd/awssim/ec2"
	"github.com/driftd/driftd/awssim/events"
	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/imagebuilder"
	"github.com/driftd/driftd/awssim/s3"
	"github.com/driftd/driftd/awssim/securityhub"
	"github.com/driftd/driftd/awssim/sns"
	"github.com/driftd/driftd/awssim/sqs"
	"github.com/driftd/driftd/awssim/ssm"
	"github.com/driftd/driftd/awssim/wire"
)

// Options configures a Sim. Zero values pick the defaults in parentheses.
type Options struct {
	Clock               Clock         // time source (wall clock)
	Region              string        // region reported in ARNs (us-east-1)
	AccountID           string        // owner of every resource (123456789012)
	LaunchDelay         time.Duration // Pending → InService / pending → running (30s); <0 means immediate
	TerminateDelay      time.Duration // shutting-down → terminated (5s); <0 means immediate
	InventoryDelay      time.Duration // InService → first inventory report (2m); <0 means immediate
	InventoryInterval   time.Duration // inventory association schedule: every run reports a fresh CaptureTime (30m); <0: the association runs once
	InventorySpread     bool          // spread the nodes' inventory runs over InventoryInterval (per-node phase from the instance id)
	TerminatedRetention time.Duration // how long terminated instances stay visible (1h)
	AgentVersion        string        // SSM agent version of new nodes (3.3.1142.0)
	Seed                uint64        // seed for ids and random faults (1)
	CallLogLimit        int           // calls kept in the log; counts are always exact (100000)
	CallerARN           string        // STS GetCallerIdentity's Arn (arn:aws:iam::<AccountID>:user/driftd)
	// S3VirtualHostSuffixes are host names (without port) under which S3
	// requests are virtual-hosted-style (bucket.<suffix>); "localhost" and
	// hosts containing "s3." always are.
	S3VirtualHostSuffixes []string
	// Services are extra service handlers registered at construction, by
	// service name (wire.Svc*).
	Services map[string]wire.Handler
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = fleet.WallClock{}
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	dflt := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0
		}
	}
	dflt(&o.LaunchDelay, 30*time.Second)
	dflt(&o.TerminateDelay, 5*time.Second)
	dflt(&o.InventoryDelay, 2*time.Minute)
	dflt(&o.InventoryInterval, 30*time.Minute)
	dflt(&o.TerminatedRetention, time.Hour)
	if o.AgentVersion == "" {
		o.AgentVersion = "3.3.1142.0"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.CallLogLimit <= 0 {
		o.CallLogLimit = 100000
	}
	if o.CallerARN == "" {
		o.CallerARN = "arn:aws:iam::" + o.AccountID + ":user/driftd"
	}
}

// Sim is a simulated AWS region. It is an http.Handler.
type Sim struct {
	opts   Options
	fleet  *fleet.Fleet
	ssm    *ssm.Service
	log    *callLog
	faults *faults
	s3     *s3.Service
	sqs    *sqs.Service
	sns    *sns.Service
	evb    *events.Service
	ib     *imagebuilder.Service
	ddb    *dynamodb.Service
	shub   *securityhub.Service
	cfgsvc *configservice.Service

	mu       sync.RWMutex
	services map[string]wire.Handler
}

// New returns a simulator with every service registered and an empty fleet.
func New(opts Options) *Sim {
	opts.defaults()
	s := &Sim{
		opts:     opts,
		log:      newCallLog(opts.CallLogLimit),
		faults:   newFaults(opts.Seed),
		services: map[string]wire.Handler{},
	}
	s.fleet = fleet.New(fleet.Options{Clock: opts.Clock, Region: opts.Region, AccountID: opts.AccountID,
		LaunchDelay: opts.LaunchDelay, TerminateDelay: opts.TerminateDelay, InventoryDelay: opts.InventoryDelay,
		InventoryInterval: opts.InventoryInterval, InventorySpread: opts.InventorySpread,
		TerminatedRetention: opts.TerminatedRetention, AgentVersion: opts.AgentVersion, Seed: opts.Seed}, publisher{s})
	s.Register(wire.SvcEC2, ec2.New(s.fleet))
	s.Register(wire.SvcAutoScaling, autoscaling.New(s.fleet))
	s.ssm = ssm.New(s.fleet)
	s.Register(wire.SvcSSM, s.ssm)
	s.registerServices()
	for name, h := range opts.Services {
		s.Register(name, h)
	}
	return s
}

// Register plugs in (or replaces) the handler for a service name (wire.Svc*).
func (s *Sim) Register(service string, h wire.Handler) {
	s.mu.Lock()
	s.services[service] = h
	s.mu.Unlock()
}

// Now returns the simulator's current time.
func (s *Sim) Now() time.Time { return s.opts.Clock.Now() }

// Tick applies every time-based transition due now. Transitions also happen
// lazily before each request, so calling Tick is only needed when state is
// inspected through the Go API right after moving a ManualClock.
func (s *Sim) Tick() { s.fleet.Tick() }

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	start := time.Now()
	seq := s.log.begin()
	rec := &recorder{ResponseWriter: w, status: 200}
	req, perr := wire.Parse(r)
	call := Call{Time: s.Now(), Service: req.Service, Operation: req.Op, Params: summarize(req)}
	defer func() {
		if v := recover(); v != nil {
			// A handler bug must never take the process down or leave the
			// client without an answer in its protocol.
			if !rec.wrote {
				wire.WriteError(rec, req, wire.Errorf(500, internalCode(req), "internal error"))
			}
			call.Fault = "panic"
		}
		call.Status, call.ErrorCode, call.Duration = rec.status, rec.errorCode(), time.Since(start)
		s.log.add(seq, call)
	}()
	if perr != nil {
		wire.WriteError(rec, req, perr)
		return
	}
	s.mu.RLock()
	h := s.services[req.Service]
	s.mu.RUnlock()
	if h == nil {
		wire.WriteError(rec, req, noService(req))
		return
	}
	fo := s.faults.apply(rec, req)
	call.Fault = fo.kind
	for _, id := range fo.terminate {
		s.fleet.TerminateNow(id)
	}
	if fo.act == actDone {
		if fo.kind == "drop" {
			rec.status = 0
		}
		return
	}
	s.fleet.Advance(s.Now())
	switch fo.act {
	case actTruncate:
		bw := &bufferWriter{h: http.Header{}}
		h.ServeAWS(bw, req)
		rec.status = bw.status
		truncated(rec, bw.status, bw.h, bw.buf.Bytes())
		return
	case actPatch:
		bw := &bufferWriter{h: http.Header{}}
		h.ServeAWS(bw, req)
		body := patched(req, bw.status, bw.buf.Bytes(), fo.patch)
		for k, v := range bw.h {
			rec.Header()[k] = v
		}
		rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
		rec.WriteHeader(max(bw.status, 200))
		_, _ = rec.Write(body)
		return
	}
	h.ServeAWS(rec, req)
}

func noService(req *wire.Request) *wire.Error {
	switch req.Protocol {
	case wire.JSON10, wire.JSON11:
		return wire.Errorf(400, "UnknownOperationException", "service %q is not available in this region", req.Service)
	case wire.RESTXML, wire.RESTJSON:
		return wire.Errorf(501, "NotImplemented", "service %q is not available in this region", req.Service)
	}
	return wire.Errorf(400, "InvalidAction", "The action %s is not valid for this web service.", req.Op)
}

func internalCode(req *wire.Request) string {
	switch req.Protocol {
	case wire.EC2Query:
		return "InternalError"
	case wire.AWSQuery:
		return "InternalFailure"
	case wire.JSON10, wire.JSON11:
		return "InternalServerError"
	}
	return "InternalError"
}

// Server is a running simulator listener.
type Server struct {
	URL string // http://host:port
	srv *http.Server
	ln  net.Listener

	mu    sync.Mutex
	fresh map[net.Conn]struct{} // connections that have not sent a request yet
}

// Start serves the simulator on addr (e.g. "127.0.0.1:0").
func (s *Sim) Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	sv := &Server{URL: "http://" + ln.Addr().String(), ln: ln, fresh: map[net.Conn]struct{}{}}
	sv.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnState: sv.track}
	go func() { _ = sv.srv.Serve(ln) }()
	return sv, nil
}

// track remembers the connections still in their new state: a client's
// transport may dial a connection it then never uses (it got an idle one
// first), and http.Server.Shutdown only treats such a connection as idle
// after five seconds.
func (sv *Server) track(c net.Conn, st http.ConnState) {
	sv.mu.Lock()
	if st == http.StateNew {
		sv.fresh[c] = struct{}{}
	} else {
		delete(sv.fresh, c)
	}
	sv.mu.Unlock()
}

// Addr is the listener's address.
func (sv *Server) Addr() string { return sv.ln.Addr().String() }

// Close stops the listener, closes idle connections and connections that
// never sent a request at once, lets requests in flight finish for up to
// 2 s, then closes what is left.
func (sv *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sv.srv.Shutdown(ctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		sv.mu.Lock()
		for c := range sv.fresh {
			_ = c.Close()
			delete(sv.fresh, c)
		}
		sv.mu.Unlock()
		select {
		case err := <-done:
			if errors.Is(err, context.DeadlineExceeded) {
				return sv.srv.Close()
			}
			return err
		case <-tick.C:
		}
	}
}
