package collectors

import "time"

// Recorder receives collector timings and errors (implemented by the
// daemon's metrics; collectors do not import them).
type Recorder interface {
	ObserveCollector(name string, d time.Duration, ok bool)
	CollectorError(name, reason string)
}

// NopRecorder discards everything.
type NopRecorder struct{}

// ObserveCollector implements Recorder.
func (NopRecorder) ObserveCollector(string, time.Duration, bool) {}

// CollectorError implements Recorder.
func (NopRecorder) CollectorError(string, string) {}

// Run times fn as one run of the named collector (node_exporter style): the
// duration and success are always recorded, an error is counted by reason.
func Run(rec Recorder, name string, fn func() error) error {
	start := time.Now()
	err := fn()
	rec.ObserveCollector(name, time.Since(start), err == nil)
	if err != nil {
		rec.CollectorError(name, Reason(err))
	}
	return err
}
