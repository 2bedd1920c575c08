package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

// TestUnreadableDirBaselinesAreNoBaseline: a dir baseline that is a named
// pipe or a symlink to /dev/zero makes its AMI's instances no_baseline with
// the reason, at once; the other AMI's instances are judged as usual.
func TestUnreadableDirBaselinesAreNoBaseline(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		make       func(p string) error
	}{
		{"fifo", "is a named pipe (FIFO), not a regular file", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"dev-zero", "is a character device, not a regular file", func(p string) error { return os.Symlink("/dev/zero", p) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p := filepath.Join(f.dir, f.amiB+".json")
			must(t, os.Remove(p))
			must(t, tt.make(p))
			c := f.config()
			c.Schedule.Timeout = 20 * time.Second
			a := f.app(t, c)
			start := time.Now()
			res, err := a.Scan(context.Background(), nil)
			must(t, err)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("scan took %s", d)
			}
			got := byID(res)
			for _, id := range f.api {
				r := got[id]
				if r.Verdict != drift.VerdictNoBaseline || !strings.Contains(strings.Join(r.Reasons, "; "), p+": "+tt.want) {
					t.Errorf("%s: %s %v", id, r.Verdict, r.Reasons)
				}
			}
			for _, id := range f.web {
				if got[id].Verdict != drift.VerdictInSync {
					t.Errorf("%s (other AMI): %s %v", id, got[id].Verdict, got[id].Reasons)
				}
			}
		})
	}
}
