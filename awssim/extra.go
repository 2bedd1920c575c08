package awssim

import (
	"github.com/driftd/driftd/awssim/dynamodb"
	"github.com/driftd/driftd/awssim/services"
	"github.com/driftd/driftd/awssim/wire"
)

// registerExtraServices plugs in the services implemented in awssim/services
// (S3, SNS, SQS, EventBridge, STS, Image Builder) and awssim/dynamodb, sharing the simulator's
// clock, region and account.
func registerExtraServices(s *Sim) {
	s.extra = services.New(services.Options{
		Clock:     s.opts.Clock.Now,
		Region:    s.opts.Region,
		AccountID: s.opts.AccountID,
	})
	for name, h := range s.extra.Handlers() {
		s.Register(name, h)
	}
	// DynamoDB (the HA lease table and decision store): its own package,
	// served on the same endpoint so faults and the call log apply to it.
	s.Register(wire.SvcDynamoDB, dynamodb.New(dynamodb.Options{Clock: s.opts.Clock.Now, Region: s.opts.Region, AccountID: s.opts.AccountID}))
}

// Services returns the simulated supporting services, for seeding data
// (S3 objects, Image Builder images) and reading what was published (SNS,
// EventBridge).
func (s *Sim) Services() *services.Services { return s.extra }
