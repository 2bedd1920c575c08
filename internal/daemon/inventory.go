package daemon

// Where a scan reads inventory from: the SSM API (ListInventoryEntries per
// instance and type) or Resource Data Sync objects in S3. The scanner sees
// only an inventoryReader; each source also accounts for the scan's API
// cost (cost.go).

import (
	"context"
	"sync"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/collectors/datasync"
	"github.com/driftd/driftd/internal/apicost"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

// inventoryReader reads one instance's inventory types: First learns whether
// a type changed (and may read it), Rest completes it.
type inventoryReader interface {
	First(ctx context.Context, instanceID, typeName string) (*collectors.TypeData, error)
	Rest(ctx context.Context, instanceID string, td *collectors.TypeData) error
}

// inventorySource is one scan's inventory reader.
type inventorySource interface {
	inventoryReader
	// noInventory is the unknown reason of an instance without inventory.
	noInventory() string
	// cost is the finished scan's API calls next to their lower bound.
	cost(res *scan.Result) *scan.Cost
}

// inventorySource returns the source of one scan. A restricted scan (some
// instances only) addresses data-sync objects directly instead of listing.
func (rt *generation) inventorySource(restricted bool) inventorySource {
	if rt.dataSync == nil {
		return &apiReader{inner: rt.inventory(), restricted: restricted}
	}
	return &dataSyncReader{Scan: rt.dataSync.NewScan(rt.cfg.Inventory.Types, restricted), types: rt.cfg.Inventory.Types, restricted: restricted}
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

// apiReader wraps the ListInventoryEntries reader and records, per instance
// and type, whether only the first page was needed or the type was read in
// full (with its entry count), for the lower bound.
type apiReader struct {
	inner      inventoryReader
	restricted bool

	mu        sync.Mutex
	firstOnly int
	full      []int
}

func (r *apiReader) First(ctx context.Context, id, typeName string) (*collectors.TypeData, error) {
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

func (r *apiReader) Rest(ctx context.Context, id string, td *collectors.TypeData) error {
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

func (r *apiReader) noInventory() string { return "no inventory yet" }

func (r *apiReader) cost(res *scan.Result) *scan.Cost {
	f := discoveryFacts(res, r.restricted)
	f.Mode = apicost.ModeSSMAPI
	r.mu.Lock()
	f.UnchangedTypeReads = r.firstOnly
	f.ChangedTypeEntries = r.full
	r.mu.Unlock()
	return newCost(res, f, nil)
}

// dataSyncReader reads one scan's inventory from Resource Data Sync objects.
type dataSyncReader struct {
	*datasync.Scan
	types      []string
	restricted bool
}

func (r *dataSyncReader) noInventory() string { return "no inventory in data sync" }

// cost also completes the data-sync scan: after a successful scan, the
// collector forgets instances no longer listed.
func (r *dataSyncReader) cost(res *scan.Result) *scan.Cost {
	if res.Err == nil {
		r.Finish()
	}
	ds := r.Stats()
	f := discoveryFacts(res, r.restricted)
	f.Mode = apicost.ModeResourceDataSync
	for _, t := range r.types {
		f.KeysPerType = append(f.KeysPerType, ds.Keys[t])
	}
	f.ChangedObjects = ds.Gets
	f.DirectObjects = ds.Gets + ds.NotModified
	return newCost(res, f, &ds)
}
