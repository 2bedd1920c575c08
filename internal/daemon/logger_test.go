package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// captureStderr runs fn with os.Stderr sent to a file and returns what was
// written (zap opens "stderr" when the logger is built).
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = f
	defer func() { os.Stderr = old }()
	fn()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLoggerNoStackTraces: in every format an error is logged with its
// message, without a stack trace, and the format is what was asked for.
func TestLoggerNoStackTraces(t *testing.T) {
	for _, tc := range []struct{ format, prefix string }{
		{"json", `{"level":"error"`},
		{"logfmt", "ts="},
		{"console", ""},
	} {
		t.Run(tc.format, func(t *testing.T) {
			out := captureStderr(t, func() {
				log, err := NewLogger("info", tc.format)
				if err != nil {
					t.Fatal(err)
				}
				log.Error("scan failed", zap.Error(errors.New("ec2: RequestLimitExceeded")))
				log.Warn("slow")
				log.Debug("hidden at info")
				_ = log.Sync()
			})
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 lines (error, warn), got %d:\n%s", len(lines), out)
			}
			if !strings.HasPrefix(lines[0], tc.prefix) || !strings.Contains(lines[0], "scan failed") || !strings.Contains(lines[0], "RequestLimitExceeded") {
				t.Errorf("error line %q: want the %s format with message and error", lines[0], tc.format)
			}
			for _, stack := range []string{"stacktrace", "TestLoggerNoStackTraces", "goroutine", "testing.tRunner"} {
				if strings.Contains(out, stack) {
					t.Errorf("output has a stack trace (%q):\n%s", stack, out)
				}
			}
		})
	}
}

func TestLoggerBadArguments(t *testing.T) {
	if _, err := NewLogger("info", "xml"); err == nil || !strings.Contains(err.Error(), `log format "xml": want json, logfmt or console`) {
		t.Errorf("format xml: %v", err)
	}
	if _, err := NewLogger("loud", "json"); err == nil || !strings.Contains(err.Error(), "log level") {
		t.Errorf("level loud: %v", err)
	}
}
