package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Inventory sources (inventory.source).
const (
	SourceSSMAPI           = "ssm_api"
	SourceResourceDataSync = "resource_data_sync"
)

// InventorySource holds the inventory section's keys that choose where
// inventory is read from (inlined into `inventory:`):
//
//	inventory:
//	  source: resource_data_sync        # or ssm_api (default)
//	  resource_data_sync:
//	    bucket: my-inventory-bucket
//	    prefix: inventory               # the sync's S3 prefix
//	    account_id: "123456789012"
//	    region: us-east-1               # default: aws.region / AWS_REGION
//	  events:                           # optional: react to S3 event notifications
//	    queue_url: https://sqs.us-east-1.amazonaws.com/123456789012/driftd-inventory
//	    wait_seconds: 20
type InventorySource struct {
	// Source is ssm_api (ListInventoryEntries per instance and type) or
	// resource_data_sync (objects in S3). Default ssm_api.
	Source string `yaml:"source"`
	// ResourceDataSync locates the sync's objects (required with
	// source: resource_data_sync).
	ResourceDataSync *ResourceDataSync `yaml:"resource_data_sync"`
	// Events, when set, consumes the bucket's S3 event notifications from an
	// SQS queue and re-compares each instance whose object changed.
	Events *InventoryEvents `yaml:"events"`
}

// ResourceDataSync is `inventory.resource_data_sync`.
type ResourceDataSync struct {
	Bucket    string `yaml:"bucket"`
	Prefix    string `yaml:"prefix"`
	AccountID string `yaml:"account_id"`
	// Region is the region in the object keys; "" uses the daemon's region.
	Region string `yaml:"region"`
}

// InventoryEvents is `inventory.events`.
type InventoryEvents struct {
	QueueURL string `yaml:"queue_url"`
	// WaitSeconds is the ReceiveMessage long-poll wait (1..20). Default 20.
	WaitSeconds int `yaml:"wait_seconds"`
	// MaxMessages per ReceiveMessage (1..10). Default 10.
	MaxMessages int `yaml:"max_messages"`
}

var (
	accountRe = regexp.MustCompile(`^\d{12}$`)
)

// UsesDataSync reports whether inventory is read from S3.
func (s InventorySource) UsesDataSync() bool { return s.Source == SourceResourceDataSync }

func (s *InventorySource) applyDefaults() {
	if s.Source == "" {
		s.Source = SourceSSMAPI
	}
	if s.Events != nil {
		if s.Events.WaitSeconds == 0 {
			s.Events.WaitSeconds = 20
		}
		if s.Events.MaxMessages == 0 {
			s.Events.MaxMessages = 10
		}
	}
}

// Validate checks the keys; messages name the full key.
func (s *InventorySource) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch s.Source {
	case SourceSSMAPI:
		if s.Events != nil {
			add("inventory.events: needs inventory.source: %s (events are S3 notifications of the sync bucket)", SourceResourceDataSync)
		}
	case SourceResourceDataSync:
		r := s.ResourceDataSync
		if r == nil {
			add("inventory.resource_data_sync: required with inventory.source: %s", SourceResourceDataSync)
			break
		}
		if !bucketRe.MatchString(r.Bucket) {
			add("inventory.resource_data_sync.bucket: %q is not an S3 bucket name", r.Bucket)
		}
		if len(r.Prefix) > 256 {
			add("inventory.resource_data_sync.prefix: longer than 256 characters")
		}
		if !accountRe.MatchString(r.AccountID) {
			add("inventory.resource_data_sync.account_id: %q is not a 12-digit AWS account id", r.AccountID)
		}
		if r.Region != "" && !regionRe.MatchString(r.Region) {
			add("inventory.resource_data_sync.region: %q is not an AWS region name", r.Region)
		}
	default:
		add("inventory.source: %q is not one of %s, %s", s.Source, SourceSSMAPI, SourceResourceDataSync)
	}
	if e := s.Events; e != nil {
		if u, err := url.Parse(e.QueueURL); e.QueueURL == "" || err != nil || u.Host == "" || !strings.HasPrefix(u.Scheme, "http") {
			add("inventory.events.queue_url: %q is not an SQS queue URL", RedactURL(e.QueueURL))
		}
		if e.WaitSeconds < 1 || e.WaitSeconds > 20 {
			add("inventory.events.wait_seconds: %d must be between 1 and 20", e.WaitSeconds)
		}
		if e.MaxMessages < 1 || e.MaxMessages > 10 {
			add("inventory.events.max_messages: %d must be between 1 and 10", e.MaxMessages)
		}
	}
	if r := s.ResourceDataSync; r != nil && s.Source != SourceResourceDataSync {
		add("inventory.resource_data_sync: set but inventory.source is %q", s.Source)
	}
	return errs
}
