// Package services simulates the AWS services that surround driftd's main
// data sources in the simulated region: S3 (with virtual, on-demand objects
// and event notifications), SQS, SNS, EventBridge, STS and Image Builder.
//
// Each service speaks its real wire protocol (as classified by awssim/wire),
// so tests drive it with the real aws-sdk-go-v2 clients. The simulator mounts
// the handlers returned by Handlers under their service names; the Go methods
// on *Services are hooks for tests and scenarios (seeding data, injecting
// faults, reading what was published).
package services

import (
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// Options configures the simulated services.
type Options struct {
	// Clock returns the current time; defaults to time.Now. Timestamps,
	// SQS visibility timeouts and S3 LastModified use it. Long polling waits
	// in real time.
	Clock func() time.Time
	// Region defaults to us-east-1.
	Region string
	// AccountID defaults to 123456789012.
	AccountID string
	// CallerARN is returned by STS GetCallerIdentity; defaults to
	// arn:aws:iam::<AccountID>:user/driftd.
	CallerARN string
	// S3VirtualHostSuffixes are host names (without port) under which S3
	// requests are virtual-hosted-style (bucket.<suffix>). "localhost" and
	// hosts containing "s3." are always recognised.
	S3VirtualHostSuffixes []string
}

// Services is the set of simulated supporting services. All methods are safe
// for concurrent use.
type Services struct {
	opts Options

	s3  *s3Service
	sqs *sqsService
	sns *snsService
	evb *eventsService
	sts *stsService
	ib  *imageBuilderService
}

// New returns the services with empty state.
func New(opts Options) *Services {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.CallerARN == "" {
		opts.CallerARN = "arn:aws:iam::" + opts.AccountID + ":user/driftd"
	}
	s := &Services{opts: opts}
	s.sqs = newSQS(s)
	s.s3 = newS3(s)
	s.sns = newSNS(s)
	s.evb = newEvents(s)
	s.sts = &stsService{svc: s}
	s.ib = newImageBuilder(s)
	return s
}

func (s *Services) now() time.Time { return s.opts.Clock() }

// Handlers returns the wire handlers keyed by service name (wire.SvcS3, ...).
func (s *Services) Handlers() map[string]wire.Handler {
	return map[string]wire.Handler{
		wire.SvcS3:           wire.HandlerFunc(s.s3.serve),
		wire.SvcSQS:          wire.HandlerFunc(s.sqs.serve),
		wire.SvcSNS:          wire.HandlerFunc(s.sns.serve),
		wire.SvcEvents:       wire.HandlerFunc(s.evb.serve),
		wire.SvcSTS:          wire.HandlerFunc(s.sts.serve),
		wire.SvcImageBuilder: wire.HandlerFunc(s.ib.serve),
	}
}

// Register hands every handler to register, for example
// (*awssim.Sim).Register; the simulator may equally take Handlers() as its
// Options.Services.
func (s *Services) Register(register func(service string, h wire.Handler)) {
	for name, h := range s.Handlers() {
		register(name, h)
	}
}

// faultCounter is a "fail the next n" hook.
type faultCounter struct {
	mu sync.Mutex
	n  int
}

func (f *faultCounter) set(n int) {
	f.mu.Lock()
	f.n = n
	f.mu.Unlock()
}

func (f *faultCounter) take() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		f.n--
		return true
	}
	return false
}
