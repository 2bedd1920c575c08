package awssim

import (
	"github.com/driftd/driftd/awssim/configservice"
	"github.com/driftd/driftd/awssim/dynamodb"
	"github.com/driftd/driftd/awssim/events"
	"github.com/driftd/driftd/awssim/imagebuilder"
	"github.com/driftd/driftd/awssim/s3"
	"github.com/driftd/driftd/awssim/securityhub"
	"github.com/driftd/driftd/awssim/sns"
	"github.com/driftd/driftd/awssim/sqs"
	"github.com/driftd/driftd/awssim/sts"
	"github.com/driftd/driftd/awssim/wire"
)

// registerServices builds the services around the fleet (S3, SQS, SNS,
// EventBridge, STS, Image Builder, DynamoDB, Security Hub, AWS Config), each in its own package, sharing the
// simulator's clock, region and account, and registers them. S3 event
// notifications and SNS subscriptions deliver to the simulator's SQS
// queues.
func (s *Sim) registerServices() {
	o := s.opts
	acct := wire.Account{Clock: o.Clock.Now, Region: o.Region, AccountID: o.AccountID}
	s.sqs = sqs.New(acct)
	s.s3 = s3.New(acct, s.sqs, o.S3VirtualHostSuffixes)
	s.sns = sns.New(acct, s.sqs)
	s.evb = events.New(acct)
	s.ib = imagebuilder.New(acct)
	s.ddb = dynamodb.New(dynamodb.Options{Clock: o.Clock.Now, Region: o.Region, AccountID: o.AccountID})
	s.Register(wire.SvcS3, s.s3)
	s.Register(wire.SvcSQS, s.sqs)
	s.Register(wire.SvcSNS, s.sns)
	s.Register(wire.SvcEvents, s.evb)
	s.Register(wire.SvcSTS, sts.New(o.AccountID, o.CallerARN))
	s.Register(wire.SvcImageBuilder, s.ib)
	s.Register(wire.SvcDynamoDB, s.ddb)
	s.shub = securityhub.New(securityhub.Options{Clock: o.Clock.Now, Region: o.Region, AccountID: o.AccountID})
	s.cfgsvc = configservice.New()
	s.Register(wire.SvcSecurityHub, s.shub)
	s.Register(wire.SvcConfig, s.cfgsvc)
}

// The services' Go hooks, for seeding data (buckets, objects, queues,
// topics, images) and reading what was published; see each package.

// S3 returns the simulated S3.
func (s *Sim) S3() *s3.Service { return s.s3 }

// SQS returns the simulated SQS.
func (s *Sim) SQS() *sqs.Service { return s.sqs }

// SNS returns the simulated SNS.
func (s *Sim) SNS() *sns.Service { return s.sns }

// EventBridge returns the simulated EventBridge.
func (s *Sim) EventBridge() *events.Service { return s.evb }

// ImageBuilder returns the simulated EC2 Image Builder.
func (s *Sim) ImageBuilder() *imagebuilder.Service { return s.ib }

// DynamoDB returns the simulated DynamoDB.
func (s *Sim) DynamoDB() *dynamodb.Service { return s.ddb }

// SecurityHub returns the simulated Security Hub.
func (s *Sim) SecurityHub() *securityhub.Service { return s.shub }

// Config returns the simulated AWS Config.
func (s *Sim) Config() *configservice.Service { return s.cfgsvc }
