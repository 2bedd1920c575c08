package daemon

// The event-driven refresh: S3 event notifications of changed data-sync
// objects, read from an SQS queue (inventory.events), re-compare the
// instances they name at once. Periodic scans remain the safety net.

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.uber.org/zap"

	"github.com/driftd/driftd/collectors/datasync"
	"github.com/driftd/driftd/internal/config"
)

// SQSAPI is the subset of the SQS client the event consumer uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, params *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// s3Event is the part of an S3 event notification the consumer reads.
type s3Event struct {
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
	Event string `json:"Event"` // "s3:TestEvent"
}

// EventInstances returns the instances whose data-sync objects a message
// reports created (deduplicated, sorted). Messages of other buckets, other
// key layouts, removals and test events yield none; a body that is not an
// S3 event is an error.
func EventInstances(body string, loc datasync.Location) ([]string, error) {
	var ev s3Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		return nil, err
	}
	if ev.Event == "s3:TestEvent" {
		return nil, nil
	}
	if ev.Records == nil {
		return nil, errors.New("not an S3 event notification (no Records)")
	}
	set := map[string]bool{}
	for _, r := range ev.Records {
		if r.S3.Bucket.Name != loc.Bucket || !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			continue
		}
		if _, id := loc.ParseKey(key); id != "" {
			set[id] = true
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

// RunEvents consumes inventory.events until ctx ends: each S3 notification
// of a changed data-sync object re-compares that instance (a restricted scan:
// conditional GETs, no listing); the message is deleted once handled.
// Periodic scans remain the safety net. It returns at once when events are
// not configured.
func (d *Daemon) RunEvents(ctx context.Context) error {
	cfg := d.Config()
	ev := cfg.Inventory.Events
	if ev == nil || !cfg.Inventory.UsesDataSync() {
		return nil
	}
	backoff := time.Second
	for ctx.Err() == nil {
		// The running generation's client: a reload's new credentials or
		// endpoint apply from the next receive on.
		client := SQSAPI(d.rt.Load().clients.SQS)
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(ev.QueueURL), MaxNumberOfMessages: int32(ev.MaxMessages), WaitTimeSeconds: int32(ev.WaitSeconds),
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			d.log.Warn("receiving inventory events", zap.String("queue", ev.QueueURL), zap.Error(err))
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		if d.handleEvents(ctx, ev, out.Messages) {
			d.deleteEvents(ctx, client, ev, out.Messages)
		}
	}
	return nil
}

// handleEvents refreshes the instances the messages name. It reports
// whether they were handled; unhandled messages come back after their
// visibility timeout.
func (d *Daemon) handleEvents(ctx context.Context, ev *config.InventoryEvents, msgs []sqstypes.Message) bool {
	rt := d.rt.Load() // after the long poll: the configuration may have been reloaded meanwhile
	if rt.dataSync == nil {
		return false
	}
	var ids []string
	seen := map[string]bool{}
	for _, m := range msgs {
		got, err := EventInstances(aws.ToString(m.Body), rt.dataSync.Loc)
		if err != nil {
			d.log.Warn("ignoring a message that is not an S3 event", zap.String("queue", ev.QueueURL), zap.Error(err))
		}
		for _, id := range got {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return len(ids) == 0 || d.refresh(ctx, ids)
}

func (d *Daemon) deleteEvents(ctx context.Context, client SQSAPI, ev *config.InventoryEvents, msgs []sqstypes.Message) {
	for _, m := range msgs {
		if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(ev.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil && ctx.Err() == nil {
			d.log.Warn("deleting an inventory event", zap.Error(err))
		}
	}
}

// refresh re-compares ids, waiting for a running scan to finish.
func (d *Daemon) refresh(ctx context.Context, ids []string) bool {
	for ctx.Err() == nil {
		_, err := d.Scan(ctx, ids)
		if !errors.Is(err, ErrScanRunning) {
			if err != nil {
				d.log.Warn("event-driven refresh failed", zap.Strings("instances", ids), zap.Error(err))
				return false
			}
			return true
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
