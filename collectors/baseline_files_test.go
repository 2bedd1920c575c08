package collectors

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/drift/manifest"
)

// resolveWithin resolves ami through a one-source chain and fails the test
// when it takes longer than limit.
func resolveWithin(t *testing.T, src BaselineSource, ami AMIInfo, limit time.Duration) error {
	t.Helper()
	start := time.Now()
	_, _, err := (&Chain{Sources: []BaselineSource{src}}).Resolve(context.Background(), ami)
	if d := time.Since(start); d > limit {
		t.Errorf("%s: resolution took %s, bound %s", ami.ID, d, limit)
	}
	return err
}

// TestDirSourceReadsOnlyRegularFiles: a baseline that is a named pipe, a
// device, a directory or an oversized file is refused at once with the
// reason (no_baseline), never read.
func TestDirSourceReadsOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	good := strings.ReplaceAll(manifestYAML, "%s", "ami-00000000000000001")
	write(t, dir, "ami-00000000000000001.yaml", good)
	if err := syscall.Mkfifo(filepath.Join(dir, "ami-00000000000000002.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/dev/zero", filepath.Join(dir, "ami-00000000000000003.yaml")))
	must(os.Mkdir(filepath.Join(dir, "ami-00000000000000004.json"), 0o755))
	must(os.Symlink("ami-00000000000000002.yaml", filepath.Join(dir, "ami-00000000000000005.yaml")))
	big, err := os.Create(filepath.Join(dir, "ami-00000000000000006.yaml"))
	must(err)
	must(big.Truncate(manifest.MaxDocumentBytes + 1)) // sparse: no disk used
	big.Close()
	must(os.Symlink("ami-00000000000000001.yaml", filepath.Join(dir, "ami-00000000000000007.yaml")))
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "index.yaml", "entries:\n  - {name: 'piped-*', file: pipe.yaml}\n")

	src, err := NewDirSource("local", dir, "index.yaml", nil)
	must(err)
	for _, tt := range []struct {
		ami  AMIInfo
		want string // "" resolves
	}{
		{AMIInfo{ID: "ami-00000000000000001"}, ""},
		{AMIInfo{ID: "ami-00000000000000002"}, "ami-00000000000000002.yaml: is a named pipe (FIFO), not a regular file"},
		{AMIInfo{ID: "ami-00000000000000003"}, "ami-00000000000000003.yaml: is a character device, not a regular file"},
		{AMIInfo{ID: "ami-00000000000000004"}, "ami-00000000000000004.json: is a directory, not a regular file"},
		{AMIInfo{ID: "ami-00000000000000005"}, "ami-00000000000000005.yaml: is a named pipe (FIFO), not a regular file"},
		{AMIInfo{ID: "ami-00000000000000006"}, "ami-00000000000000006.yaml: larger than the limit of 64 MiB"},
		{AMIInfo{ID: "ami-00000000000000008", Name: "piped-1"}, "pipe.yaml: is a named pipe (FIFO), not a regular file"},
		// a symlink to a regular file is read; it records another AMI
		{AMIInfo{ID: "ami-00000000000000007"}, "ami_id: document describes ami-00000000000000001, expected ami-00000000000000007"},
	} {
		err := resolveWithin(t, src, tt.ami, 2*time.Second)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.ami.ID, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want %q", tt.ami.ID, err, tt.want)
		case tt.want != "" && errors.Is(err, ErrNoManifest):
			t.Errorf("%s: an unreadable baseline is an error of the source, not a missing manifest: %v", tt.ami.ID, err)
		}
	}

	// An index that is a named pipe is refused when the source is built.
	d2 := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(d2, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := NewDirSource("x", d2, "index.yaml", nil); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("FIFO index: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("NewDirSource blocked on a FIFO index")
	}
}

// blockingFS makes reads of chosen files block, ignoring their context, as
// a read on a hung NFS mount does (uninterruptible in the kernel).
type blockingFS struct {
	mu      sync.Mutex
	block   map[string]bool
	release chan struct{}
	started chan string
}

func (b *blockingFS) read(ctx context.Context, p string, max int64) ([]byte, os.FileInfo, error) {
	b.mu.Lock()
	blk := b.block[filepath.Base(p)]
	b.mu.Unlock()
	if blk {
		b.started <- p
		<-b.release
	}
	return ReadRegularFile(ctx, p, max)
}

// TestDirSourceHungReadDoesNotHoldTheScan: a read that never returns costs
// a resolution at most the source's timeout (or the caller's deadline),
// does not delay other AMIs, and later resolutions of that AMI fail at once
// until the read returns.
func TestDirSourceHungReadDoesNotHoldTheScan(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"ami-00000000000000001", "ami-00000000000000002"} {
		write(t, dir, id+".yaml", strings.ReplaceAll(manifestYAML, "%s", id))
	}
	src, err := NewDirSource("local", dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	bfs := &blockingFS{block: map[string]bool{"ami-00000000000000001.yaml": true}, release: make(chan struct{}), started: make(chan string, 4)}
	src.read = bfs.read
	src.timeout = 200 * time.Millisecond

	hung := AMIInfo{ID: "ami-00000000000000001"}
	errc := make(chan error, 1)
	go func() { errc <- resolveWithin(t, src, hung, time.Second) }()
	<-bfs.started
	// While that read hangs, another AMI resolves at once.
	if err := resolveWithin(t, src, AMIInfo{ID: "ami-00000000000000002"}, 100*time.Millisecond); err != nil {
		t.Fatalf("other AMI blocked or failed: %v", err)
	}
	err = <-errc
	if err == nil || !strings.Contains(err.Error(), "ami-00000000000000001.yaml: no answer within 200ms; the file system is not responding") {
		t.Fatalf("hung read: %v", err)
	}
	// The abandoned read has not returned: the next resolution fails at
	// once instead of piling another goroutine onto the hung mount.
	err = resolveWithin(t, src, hung, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "has still not returned; the file system is not responding") {
		t.Fatalf("second resolution: %v", err)
	}
	// A caller's deadline shorter than the source's timeout wins.
	src.timeout = time.Minute
	bfs.mu.Lock()
	bfs.block["ami-00000000000000002.yaml"] = true
	bfs.mu.Unlock()
	write(t, dir, "ami-00000000000000002.yaml", strings.ReplaceAll(manifestYAML, "%s", "ami-00000000000000002")+"  - {name: curl, version: \"8\"}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	start := time.Now()
	_, _, err = src.Resolve(ctx, AMIInfo{ID: "ami-00000000000000002"})
	cancel()
	if d := time.Since(start); d > time.Second || err == nil || !strings.Contains(err.Error(), "reading interrupted") {
		t.Fatalf("caller deadline: %v after %s", err, d)
	}

	// Once the mount answers again, the AMI resolves.
	close(bfs.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, err = src.Resolve(context.Background(), hung)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after the read returned: %v", err)
	}
}

// TestReadRegularFile checks the reader itself: context honoured between
// chunks, size bound, growth while reading.
func TestReadRegularFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.yaml")
	data := strings.Repeat("x", 3*readChunk+17)
	write(t, dir, "m.yaml", data)
	got, st, err := ReadRegularFile(context.Background(), p, int64(len(data)))
	if err != nil || string(got) != data || st.Size() != int64(len(data)) {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
	if _, _, err := ReadRegularFile(context.Background(), p, int64(len(data)-1)); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("size bound: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := ReadRegularFile(ctx, p, 1<<30); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, _, err := ReadRegularFile(context.Background(), "/dev/zero", 1<<30); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Errorf("/dev/zero: %v", err)
	}
}

// TestDirSourceConcurrentResolves: many concurrent resolutions of a few AMIs
// (the scan resolves AMIs in parallel, reloads overlap) all answer, with
// one parsed manifest per file.
func TestDirSourceConcurrentResolves(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"ami-00000000000000001", "ami-00000000000000002", "ami-00000000000000003"}
	for _, id := range ids {
		write(t, dir, id+".yaml", strings.ReplaceAll(manifestYAML, "%s", id))
	}
	src, err := NewDirSource("local", dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]map[any]bool{}
	for i := range 60 {
		id := ids[i%len(ids)]
		wg.Go(func() {
			m, res, err := src.Resolve(context.Background(), AMIInfo{ID: id})
			if err != nil || m.AMI != id || res.Version == "" {
				t.Errorf("%s: %v %+v", id, err, res)
				return
			}
			mu.Lock()
			if seen[id] == nil {
				seen[id] = map[any]bool{}
			}
			seen[id][m] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	for id, ms := range seen {
		if len(ms) != 1 {
			t.Errorf("%s parsed %d times", id, len(ms))
		}
	}
}
