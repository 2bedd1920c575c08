package logfmt

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func newLogger(buf *bytes.Buffer, opts ...zap.Option) *zap.Logger {
	enc, _ := NewEncoder(zapcore.EncoderConfig{})
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(buf), zapcore.DebugLevel), opts...)
}

type obj struct{ a string }

func (o obj) MarshalLogObject(e zapcore.ObjectEncoder) error { e.AddString("a", o.a); return nil }

// TestLines: one logfmt line per entry, keys in the documented order,
// values quoted when logfmt needs it, nested values as JSON.
func TestLines(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	for _, tc := range []struct {
		name string
		log  func(l *zap.Logger)
		want string
	}{
		{"plain", func(l *zap.Logger) { l.Info("scan finished", zap.Int("instances", 30), zap.Bool("ok", true)) },
			`ts=2026-01-02T03:04:05.678Z level=info msg="scan finished" instances=30 ok=true`},
		{"quoting", func(l *zap.Logger) { l.Warn("bad", zap.String("path", `a b"c`), zap.String("empty", "")) },
			`ts=2026-01-02T03:04:05.678Z level=warn msg=bad path="a b\"c" empty=""`},
		{"error without stack", func(l *zap.Logger) { l.Error("scan failed", zap.Error(errors.New("ec2: throttled"))) },
			`ts=2026-01-02T03:04:05.678Z level=error msg="scan failed" error="ec2: throttled"`},
		{"context fields sorted, then entry fields in order", func(l *zap.Logger) {
			l.Named("remediation").With(zap.String("z", "1"), zap.String("asg", "web")).Debug("m", zap.String("b", "2"), zap.String("a", "3"))
		}, `ts=2026-01-02T03:04:05.678Z level=debug msg=m logger=remediation asg=web z=1 b=2 a=3`},
		{"nested and durations", func(l *zap.Logger) {
			l.Info("x", zap.Object("o", obj{"v"}), zap.Strings("ids", []string{"i-1", "i-2"}), zap.Duration("took", 1500*time.Millisecond))
		}, `ts=2026-01-02T03:04:05.678Z level=info msg=x o="{\"a\":\"v\"}" ids="[\"i-1\",\"i-2\"]" took=1.5s`},
		{"fields named like the built-ins stay", func(l *zap.Logger) { l.Info("x", zap.String("level", "L"), zap.String("time", "T")) },
			`ts=2026-01-02T03:04:05.678Z level=info msg=x level=L time=T`},
		{"newline in a message", func(l *zap.Logger) { l.Info("two\nlines") },
			`ts=2026-01-02T03:04:05.678Z level=info msg="two\nlines"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(newLogger(&buf, zap.WithClock(fixedClock(ts))))
			if got := strings.TrimSuffix(buf.String(), "\n"); got != tc.want {
				t.Errorf("got\n %s\nwant\n %s", got, tc.want)
			}
			if strings.Count(buf.String(), "\n") != 1 {
				t.Errorf("want exactly one line, got %q", buf.String())
			}
		})
	}
}

func TestCaller(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, zap.AddCaller()).Info("x")
	if !regexp.MustCompile(`^ts=\S+ level=info msg=x caller=logfmt/logfmt_test\.go:\d+\n$`).MatchString(buf.String()) {
		t.Errorf("got %q", buf.String())
	}
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time                         { return time.Time(c) }
func (c fixedClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }
