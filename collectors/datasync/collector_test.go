package datasync_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/collectors/datasync"
)

const bucket = "inventory-sync"

type env struct {
	sim  *awssim.Sim
	ds   *awssim.DataSync
	s3   *s3.Client
	ssm  *ssm.Client
	loc  datasync.Location
	ids  []string
	coll *datasync.Collector
}

func newEnv(t *testing.T, instances, packages int) *env {
	t.Helper()
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1})
	if err := sim.LoadScenario(awssim.GenerateFleet(instances, packages, 2, 1)); err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ds := sim.EnableResourceDataSync(bucket, "sync")
	t.Cleanup(ds.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(srv.URL)}
	e := &env{sim: sim, ds: ds,
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		ssm: ssm.NewFromConfig(cfg),
		loc: datasync.Location{Bucket: bucket, Prefix: "sync", AccountID: "123456789012", Region: "us-east-1"}}
	for _, v := range sim.Instances() {
		e.ids = append(e.ids, v.ID)
	}
	e.coll = datasync.New(e.s3, e.loc)
	return e
}

// s3Calls counts the simulator's S3 calls by operation from its call log
// (path-style: "GET /bucket" lists, "GET /bucket/key" gets).
// The simulator logs a call after writing its response, so the log is read
// once it stopped growing.
func s3Calls(sim *awssim.Sim) (lists, gets int) {
	calls := sim.Calls()
	for range 50 {
		time.Sleep(10 * time.Millisecond)
		next := sim.Calls()
		if len(next) == len(calls) {
			break
		}
		calls = next
	}
	for _, c := range calls {
		if c.Service != "s3" || !strings.HasPrefix(c.Params, "GET /") {
			continue
		}
		if strings.Contains(strings.TrimPrefix(c.Params, "GET /"), "/") {
			gets++
		} else {
			lists++
		}
	}
	return lists, gets
}

var types = []string{"AWS:Application", "Custom:FileDigest", "Custom:SystemdUnit"}

// read reads every instance's types like the daemon does (First, then Rest).
func (e *env) read(t *testing.T, sc *datasync.Scan, forceRest bool) map[string][]*collectors.TypeData {
	t.Helper()
	out := map[string][]*collectors.TypeData{}
	for _, id := range e.ids {
		for _, typ := range types {
			td, err := sc.First(context.Background(), id, typ)
			if err != nil {
				t.Fatalf("%s %s: %v", id, typ, err)
			}
			if forceRest {
				if err := sc.Rest(context.Background(), id, td); err != nil {
					t.Fatalf("%s %s rest: %v", id, typ, err)
				}
			}
			out[id] = append(out[id], td)
		}
	}
	sc.Finish()
	return out
}

func TestDataSyncMatchesSSMAPI(t *testing.T) {
	e := newEnv(t, 12, 120)
	got := e.read(t, e.coll.NewScan(types, false), false)
	api := &collectors.Inventory{SSM: e.ssm}
	for _, id := range e.ids {
		for i, typ := range types {
			want, err := api.First(context.Background(), id, typ)
			if err != nil {
				t.Fatal(err)
			}
			if err := api.Rest(context.Background(), id, want); err != nil {
				t.Fatal(err)
			}
			g := got[id][i]
			if !g.Present || !g.Complete || !g.CaptureTime.Equal(want.CaptureTime) || g.SchemaVersion != want.SchemaVersion {
				t.Fatalf("%s %s: data sync %+v, api capture %s schema %s", id, typ, g, want.CaptureTime, want.SchemaVersion)
			}
			if !reflect.DeepEqual(sortEntries(g.Entries), sortEntries(want.Entries)) {
				t.Fatalf("%s %s: entries differ (%d vs %d)", id, typ, len(g.Entries), len(want.Entries))
			}
		}
	}
}

func sortEntries(es []map[string]string) map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, e := range es {
		m[e["Name"]+"|"+e["Path"]+"|"+e["Architecture"]] = e
	}
	return m
}

func TestWarmScanListsOnly(t *testing.T) {
	e := newEnv(t, 30, 40)
	e.read(t, e.coll.NewScan(types, false), false)
	e.sim.ResetCalls()
	sc := e.coll.NewScan(types, false)
	got := e.read(t, sc, false)
	if lists, gets := s3Calls(e.sim); gets != 0 || lists != len(types) {
		t.Fatalf("warm scan with nothing changed: %d ListObjectsV2 and %d GetObject calls, want %d and 0", lists, gets, len(types))
	}
	for id, tds := range got {
		for _, td := range tds {
			if !td.Present || td.Complete || td.CaptureTime.IsZero() {
				t.Fatalf("%s %s: unchanged object should be present with its remembered capture time, not read: %+v", id, td.TypeName, td)
			}
		}
	}
	if st := sc.Stats(); st.Gets != 0 || st.Skipped != len(e.ids)*len(types) {
		t.Fatalf("stats %+v", st)
	}

	// One drifted instance: its objects (a new upload rewrites every type
	// with the new capture time) and nothing else are downloaded again.
	if err := e.sim.Inject(e.ids[3], awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "netcat", Version: "1.0", Release: "1"}}); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetCalls()
	sc = e.coll.NewScan(types, false)
	got = e.read(t, sc, false)
	if lists, gets := s3Calls(e.sim); gets != len(types) || lists != len(types) {
		t.Fatalf("after one drift: %d lists, %d GetObject calls, want %d and %d", lists, gets, len(types), len(types))
	}
	td := got[e.ids[3]][0]
	found := false
	for _, en := range td.Entries {
		found = found || en["Name"] == "netcat"
	}
	if !td.Complete || !found {
		t.Fatalf("drifted instance's application object not re-read: complete=%v", td.Complete)
	}
	// Rest on an unchanged object reads it.
	e.sim.ResetCalls()
	sc = e.coll.NewScan(types, false)
	e.read(t, sc, true)
	if _, gets := s3Calls(e.sim); gets != len(e.ids)*len(types) {
		t.Fatalf("Rest read %d objects, want %d", gets, len(e.ids)*len(types))
	}
}

func TestPagingOverThousandKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e := newEnv(t, 1001, 0)
	sc := e.coll.NewScan([]string{"Custom:SystemdUnit"}, false)
	td, err := sc.First(context.Background(), e.ids[1000], "Custom:SystemdUnit")
	if err != nil || !td.Present {
		t.Fatalf("%+v %v", td, err)
	}
	st := sc.Stats()
	if st.ListPages["Custom:SystemdUnit"] != 2 || st.Keys["Custom:SystemdUnit"] != 1001 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMissingAndBrokenObjects(t *testing.T) {
	e := newEnv(t, 4, 30)
	// Missing: an instance id without objects.
	sc := e.coll.NewScan(types, false)
	td, err := sc.First(context.Background(), "i-0ffffffffffffffff", "AWS:Application")
	if err != nil || td.Present {
		t.Fatalf("missing object: %+v %v", td, err)
	}
	// Truncated: a stored object shadows the rendered one, cut mid-line.
	key := e.loc.Key("AWS:Application", e.ids[0])
	full, ok := e.ds.Content(key)
	if !ok {
		t.Fatal("no content")
	}
	e.sim.S3().PutObject(bucket, key, full[:len(full)/2])
	// Invalid: the wrong instance in resourceId.
	key2 := e.loc.Key("AWS:Application", e.ids[1])
	c2, _ := e.ds.Content(key2)
	e.sim.S3().PutObject(bucket, key2, []byte(strings.ReplaceAll(string(c2), e.ids[1], e.ids[2])))
	sc = e.coll.NewScan(types, false)
	for _, k := range []struct{ id, key, want string }{{e.ids[0], key, "truncated"}, {e.ids[1], key2, "resourceId"}} {
		_, err = sc.First(context.Background(), k.id, "AWS:Application")
		var ie *collectors.InconsistentError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), k.key) || !strings.Contains(err.Error(), k.want) {
			t.Fatalf("%s: got %v, want an inconsistency naming %s (%s)", k.id, err, k.key, k.want)
		}
	}
	// A connection cut mid-body is an error too, never partial data.
	e.sim.S3().PutObject(bucket, key, full)
	if _, err := e.sim.AddFault(awssim.Fault{Service: "s3", TruncateRate: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	// (restricted: the GET is the first S3 request, so it is the one cut)
	sc = datasync.New(e.s3, e.loc).NewScan(types, true)
	_, err = sc.First(context.Background(), e.ids[0], "AWS:Application")
	if err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("truncated response: %v, want an error naming %s", err, key)
	}
}

func TestRestrictedScanConditionalGet(t *testing.T) {
	e := newEnv(t, 3, 20)
	e.read(t, e.coll.NewScan(types, false), false)
	e.sim.ResetCalls()
	sc := e.coll.NewScan(types, true)
	for _, typ := range types {
		td, err := sc.First(context.Background(), e.ids[0], typ)
		if err != nil || !td.Present || td.Complete {
			t.Fatalf("%s: %+v %v", typ, td, err)
		}
	}
	if st := sc.Stats(); st.NotModified != len(types) || st.Gets != 0 {
		t.Fatalf("stats %+v", st)
	}
	if lists, gets := s3Calls(e.sim); lists != 0 || gets != len(types) {
		t.Fatalf("restricted scan: %d lists, %d gets", lists, gets)
	}
	td, err := sc.First(context.Background(), "i-0ffffffffffffffff", "AWS:Application")
	if err != nil || td.Present {
		t.Fatalf("missing object in a restricted scan: %+v %v", td, err)
	}
}

// TestListingFailureReadsDirectly: a type whose listing fails (after the
// SDK's retries) does not blind the scan: each instance's object of that
// type is asked for directly, with the same content a listed read gives,
// and an instance without an object is simply without inventory.
func TestListingFailureReadsDirectly(t *testing.T) {
	e := newEnv(t, 6, 60)
	want := e.read(t, e.coll.NewScan(types, false), true)
	if _, err := e.sim.AddFault(awssim.Fault{Service: "s3", Operation: "ListObjectsV2", ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 403, ErrorMessage: "Access Denied"}); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetCalls()
	fresh := datasync.New(e.s3, e.loc) // nothing remembered: every object is read
	sc := fresh.NewScan(types, false)
	got := e.read(t, sc, true)
	for _, id := range e.ids {
		for i := range types {
			g, w := got[id][i], want[id][i]
			if !g.Present || !g.Complete || !g.CaptureTime.Equal(w.CaptureTime) || !reflect.DeepEqual(sortEntries(g.Entries), sortEntries(w.Entries)) {
				t.Fatalf("%s %s: direct read differs from the listed one", id, types[i])
			}
		}
	}
	if st := sc.Stats(); !reflect.DeepEqual(st.ListFailed, types) || st.Gets != len(e.ids)*len(types) {
		t.Fatalf("stats %+v", st)
	}
	if lists, gets := s3Calls(e.sim); lists != len(types) || gets != len(e.ids)*len(types) {
		t.Fatalf("%d lists, %d gets", lists, gets)
	}
	td, err := sc.First(context.Background(), "i-0ffffffffffffffff", "AWS:Application")
	if err != nil || td.Present {
		t.Fatalf("instance without an object: %+v %v", td, err)
	}
	// The next scan (listing failed again) revalidates with If-None-Match:
	// unchanged objects answer 304 and keep their remembered capture time.
	sc = fresh.NewScan(types, false)
	e.read(t, sc, false)
	if st := sc.Stats(); st.NotModified != len(e.ids)*len(types) || st.Gets != 0 {
		t.Fatalf("second scan stats %+v", st)
	}
}

// TestWithClientSharesMemory: a collector rebound to new clients (a
// configuration reload) keeps what the old one learned: unchanged objects
// are not downloaded again, and the new client is the one used.
func TestWithClientSharesMemory(t *testing.T) {
	e := newEnv(t, 10, 20)
	e.read(t, e.coll.NewScan(types, false), false)
	other := s3.New(e.s3.Options())
	d := e.coll.WithClient(other)
	if d.Known() != len(e.ids) || d.Loc != e.coll.Loc || d.S3 != other {
		t.Fatalf("rebound collector knows %d instances at %+v (client rebound: %t), want %d at %+v", d.Known(), d.Loc, d.S3 == other, len(e.ids), e.coll.Loc)
	}
	sc := d.NewScan(types, false)
	e.read(t, sc, false)
	if st := sc.Stats(); st.Gets != 0 || st.Skipped != len(e.ids)*len(types) {
		t.Fatalf("after rebinding: stats %+v, want no GET and every object skipped", st)
	}
}
