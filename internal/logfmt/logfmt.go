// Package logfmt is a zap encoder writing logfmt lines the way Prometheus
// components do (their promslog formats logfmt with log/slog's
// TextHandler, which this encoder uses too):
//
//	ts=2026-01-02T03:04:05.678Z level=info msg="scan finished" caller=daemon/daemon.go:42 instances=30
//
// Keys are ts, level (lower case), msg, logger, caller, then the logger's
// context fields (sorted by key) and the entry's fields in order. Objects
// and arrays are written as JSON strings, durations as Go durations.
package logfmt

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"time"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// Encoder implements zapcore.Encoder.
type Encoder struct {
	*zapcore.MapObjectEncoder // the logger's context fields (With)
}

// NewEncoder returns a logfmt encoder. The encoder configuration is not
// used: the keys and formats are the fixed ones above.
func NewEncoder(zapcore.EncoderConfig) (zapcore.Encoder, error) {
	return &Encoder{zapcore.NewMapObjectEncoder()}, nil
}

var pool = buffer.NewPool()

// Clone implements zapcore.Encoder.
func (e *Encoder) Clone() zapcore.Encoder {
	c := zapcore.NewMapObjectEncoder()
	maps.Copy(c.Fields, e.Fields)
	return &Encoder{c}
}

// EncodeEntry implements zapcore.Encoder.
func (e *Encoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	attrs := make([]slog.Attr, 0, 4+len(e.Fields)+len(fields))
	if ent.LoggerName != "" {
		attrs = append(attrs, slog.String("logger", ent.LoggerName))
	}
	if ent.Caller.Defined {
		attrs = append(attrs, slog.String("caller", ent.Caller.TrimmedPath()))
	}
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		attrs = append(attrs, attr(k, e.Fields[k]))
	}
	for _, f := range fields {
		m := zapcore.NewMapObjectEncoder()
		f.AddTo(m)
		for _, k := range slices.Sorted(maps.Keys(m.Fields)) {
			attrs = append(attrs, attr(k, m.Fields[k]))
		}
	}
	if ent.Stack != "" {
		attrs = append(attrs, slog.String("stacktrace", ent.Stack))
	}

	buf := pool.Get()
	level := ent.Level.String()
	// slog passes the built-in time and level first; a field of the same
	// name later is the caller's and is left alone.
	var timeDone, levelDone bool
	h := slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: slog.Level(-100), // zap has filtered already
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch {
			case len(groups) > 0:
			case a.Key == slog.TimeKey && !timeDone:
				timeDone = true
				a.Key = "ts"
			case a.Key == slog.LevelKey && !levelDone:
				levelDone = true
				a.Value = slog.StringValue(level)
			}
			return a
		},
	})
	rec := slog.NewRecord(ent.Time.UTC(), slog.LevelInfo, ent.Message, 0)
	rec.AddAttrs(attrs...)
	if err := h.Handle(context.Background(), rec); err != nil {
		buf.Free()
		return nil, err
	}
	return buf, nil
}

// attr converts a value zap's MapObjectEncoder recorded.
func attr(k string, v any) slog.Attr {
	switch v := v.(type) {
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			return slog.Any(k, v)
		}
		return slog.String(k, string(b))
	case time.Time:
		return slog.Time(k, v.UTC())
	case time.Duration:
		return slog.String(k, v.String())
	}
	return slog.Any(k, v)
}
