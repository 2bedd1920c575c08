package daemon

// Inventory source selection (SSM API or Resource Data Sync objects in S3),
// per-scan API cost against its lower bound, and the event-driven refresh
// from S3 event notifications. Kept apart from scan.go: the scanner only
// sees an inventoryReader.

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	dcollectors "github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/collectors/baselines"
	"github.com/driftd/driftd/collectors/datasync"
	"github.com/driftd/driftd/internal/apicost"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

// inventoryReader reads one instance's inventory types: First learns whether
// a type changed (and may read it), Rest completes it.
type inventoryReader interface {
	First(ctx context.Context, instanceID, typeName string) (*dcollectors.TypeData, error)
	Rest(ctx context.Context, instanceID string, td *dcollectors.TypeData) error
}

// scaleState is the Daemon's data-sync collector and cost metrics.
type scaleState struct {
	mu       sync.Mutex
	loc      datasync.Location
	coll     *datasync.Collector
	calls    *prometheus.GaugeVec
	lower    *prometheus.GaugeVec
	register sync.Once
}

func (a *Daemon) scaleInit() *scaleState {
	a.scaleOnce.Do(func() {
		s := &scaleState{
			calls: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_scan_api_calls",
				Help: "API call attempts of the last full scan, by service and operation (retries included)."}, []string{"service", "operation"}),
			lower: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_scan_api_calls_lower_bound",
				Help: "Minimum API calls the last full scan needed for the same fleet and changes, by service and operation."}, []string{"service", "operation"}),
		}
		a.reg.MustRegister(s.calls, s.lower)
		a.scale = s
	})
	return a.scale
}

// dataSyncLocation resolves the configured location (region defaults to the
// daemon's).
func dataSyncLocation(cfg *config.Config, region string) datasync.Location {
	r := cfg.Inventory.ResourceDataSync
	loc := datasync.Location{Bucket: r.Bucket, Prefix: r.Prefix, AccountID: r.AccountID, Region: r.Region}
	if loc.Region == "" {
		loc.Region = region
	}
	return loc
}

// scanInventory returns the inventory reader for one scan and a function
// that completes the scan's cost report.
func (a *Daemon) scanInventory(rt *generation, only []string) (inventoryReader, func(*scan.Result)) {
	st := a.scaleInit()
	cfg := rt.cfg
	if !cfg.Inventory.UsesDataSync() {
		r := &apiReader{inner: rt.inventory()}
		return r, func(res *scan.Result) {
			f := discoveryFacts(res, len(only) > 0)
			f.Mode = apicost.ModeSSMAPI
			r.mu.Lock()
			f.UnchangedTypeReads = r.firstOnly
			f.ChangedTypeEntries = r.full
			r.mu.Unlock()
			a.finishCost(st, res, f, nil, len(only) > 0)
		}
	}
	loc := dataSyncLocation(cfg, rt.clients.AWS.Region)
	st.mu.Lock()
	if st.coll == nil || st.loc != loc {
		st.coll = datasync.New(baselines.NewS3Client(rt.clients.AWS), loc)
		st.loc = loc
	}
	coll := st.coll
	st.mu.Unlock()
	sc := coll.NewScan(cfg.Inventory.Types, len(only) > 0)
	return sc, func(res *scan.Result) {
		if res.Err == nil {
			sc.Finish()
		}
		ds := sc.Stats()
		f := discoveryFacts(res, len(only) > 0)
		f.Mode = apicost.ModeResourceDataSync
		for _, t := range cfg.Inventory.Types {
			f.KeysPerType = append(f.KeysPerType, ds.Keys[t])
		}
		f.ChangedObjects = ds.Gets
		f.DirectObjects = ds.Gets + ds.NotModified
		a.finishCost(st, res, f, &ds, len(only) > 0)
	}
}

// discoveryFacts derives the discovery part of the cost facts from a scan.
func discoveryFacts(res *scan.Result, restricted bool) apicost.Facts {
	f := apicost.Facts{Restricted: restricted, Instances: len(res.Instances), Groups: len(res.Groups)}
	lts, amis := map[string]bool{}, map[string]bool{}
	for _, ami := range res.Groups {
		if ami != "" {
			lts[ami] = true
		}
	}
	managed := 0
	for _, ir := range res.Instances {
		if ir.Instance.AMI != "" {
			amis[ir.Instance.AMI] = true
		}
		if ir.Instance.Managed {
			managed++
		}
	}
	f.LaunchTemplates, f.AMIs, f.Managed = len(lts), len(amis), managed
	return f
}

func (a *Daemon) finishCost(st *scaleState, res *scan.Result, f apicost.Facts, ds *datasync.Stats, restricted bool) {
	lb := apicost.LowerBound(f)
	c := &scan.Cost{Mode: f.Mode, Calls: map[string]int{}, LowerBound: lb, DataSync: ds}
	for op, n := range res.APICalls.ByOperation {
		c.Calls[op] = n
	}
	c.CallsTotal, c.LowerBoundTotal = apicost.Total(c.Calls), apicost.Total(lb)
	if c.LowerBoundTotal > 0 {
		c.Ratio = float64(c.CallsTotal) / float64(c.LowerBoundTotal)
	}
	res.Cost = c
	if restricted || res.Err != nil {
		return // the gauges describe full scans
	}
	st.calls.Reset()
	st.lower.Reset()
	for op, n := range c.Calls {
		svc, o, _ := strings.Cut(op, ":")
		st.calls.WithLabelValues(svc, o).Set(float64(n))
	}
	for op, n := range lb {
		svc, o, _ := strings.Cut(op, ":")
		st.lower.WithLabelValues(svc, o).Set(float64(n))
	}
}

// apiReader wraps the ListInventoryEntries reader and records, per instance
// and type, whether only the first page was needed or the type was read in
// full (with its entry count), for the lower bound.
type apiReader struct {
	inner     inventoryReader
	mu        sync.Mutex
	firstOnly int
	full      []int
}

func (r *apiReader) First(ctx context.Context, id, typeName string) (*dcollectors.TypeData, error) {
	td, err := r.inner.First(ctx, id, typeName)
	r.mu.Lock()
	if td != nil && td.Complete {
		r.full = append(r.full, len(td.Entries))
	} else {
		r.firstOnly++
	}
	r.mu.Unlock()
	return td, err
}

func (r *apiReader) Rest(ctx context.Context, id string, td *dcollectors.TypeData) error {
	if td.Complete {
		return nil
	}
	err := r.inner.Rest(ctx, id, td)
	if err == nil && td.Complete {
		r.mu.Lock()
		r.firstOnly--
		r.full = append(r.full, len(td.Entries))
		r.mu.Unlock()
	}
	return err
}

// noInventoryReason is the unknown reason for an instance with no inventory.
func noInventoryReason(cfg *config.Config) string {
	if cfg.Inventory.UsesDataSync() {
		return "no inventory in data sync"
	}
	return "no inventory yet"
}

// ---------------------------------------------------------------------------
// Event-driven refresh

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
func (a *Daemon) RunEvents(ctx context.Context) error {
	cfg := a.Config()
	ev := cfg.Inventory.Events
	if ev == nil || !cfg.Inventory.UsesDataSync() {
		return nil
	}
	client := sqs.NewFromConfig(a.Clients().AWS)
	return a.consumeEvents(ctx, client, ev)
}

func (a *Daemon) consumeEvents(ctx context.Context, client SQSAPI, ev *config.InventoryEvents) error {
	backoff := time.Second
	for ctx.Err() == nil {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(ev.QueueURL), MaxNumberOfMessages: int32(ev.MaxMessages), WaitTimeSeconds: int32(ev.WaitSeconds),
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			a.log.Warn("receiving inventory events", zap.String("queue", ev.QueueURL), zap.Error(err))
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		cfg := a.Config()
		if !cfg.Inventory.UsesDataSync() {
			continue
		}
		loc := dataSyncLocation(cfg, a.Clients().AWS.Region)
		var ids []string
		seen := map[string]bool{}
		for _, m := range out.Messages {
			got, err := EventInstances(aws.ToString(m.Body), loc)
			if err != nil {
				a.log.Warn("ignoring a message that is not an S3 event", zap.String("queue", ev.QueueURL), zap.Error(err))
			}
			for _, id := range got {
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
		if len(ids) > 0 && !a.refresh(ctx, ids) {
			continue // not handled: the messages come back after their visibility timeout
		}
		for _, m := range out.Messages {
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(ev.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil && ctx.Err() == nil {
				a.log.Warn("deleting an inventory event", zap.Error(err))
			}
		}
	}
	return nil
}

// refresh re-compares ids, waiting for a running scan to finish.
func (a *Daemon) refresh(ctx context.Context, ids []string) bool {
	for ctx.Err() == nil {
		_, err := a.Scan(ctx, ids)
		if !errors.Is(err, ErrScanRunning) {
			if err != nil {
				a.log.Warn("event-driven refresh failed", zap.Strings("instances", ids), zap.Error(err))
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
