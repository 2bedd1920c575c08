package daemon

import (
	"fmt"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/driftd/driftd/internal/logfmt"
)

var registerLogfmt = sync.OnceValue(func() error { return zap.RegisterEncoder("logfmt", logfmt.NewEncoder) })

// NewLogger builds the root logger: JSON (default), logfmt or console, at
// level. Errors are logged without stack traces: driftd's errors (an
// unreachable API, a bad manifest) are expected conditions, described by
// their message; only a DPanic or worse (a bug) carries a stack.
func NewLogger(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var cfg zap.Config
	switch format {
	case "", "json":
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.TimeKey = "ts"
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	case "logfmt":
		if err := registerLogfmt(); err != nil {
			return nil, err
		}
		cfg = zap.NewProductionConfig()
		cfg.Encoding = "logfmt"
	case "console":
		cfg = zap.NewDevelopmentConfig()
	default:
		return nil, fmt.Errorf("log format %q: want json, logfmt or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	cfg.DisableStacktrace = true
	return cfg.Build(zap.AddStacktrace(zapcore.DPanicLevel))
}
