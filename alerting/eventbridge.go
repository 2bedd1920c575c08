package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventBridgeAPI is the part of the EventBridge client the notifier uses
// (*eventbridge.Client satisfies it).
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, params *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge limits: ≤ 10 entries per PutEvents call; 256 KiB per call
// (entries summed) and per entry.
const (
	EventBridgeMaxEntries = 10
	EventBridgeMaxBytes   = 256 * 1024
	EventBridgeSource     = "driftd"
)

// EventBridgeDetail is the Detail of a driftd event: the event itself plus
// the payload version and the batch (delivery) id.
type EventBridgeDetail struct {
	Version string `json:"version"`
	BatchID string `json:"batch_id"`
	Event
}

// EventBridgeSink puts one EventBridge event per driftd event (Source
// "driftd", DetailType the event type's title, e.g. "Drift Detected"),
// batched ≤ 10 per PutEvents call. Entries that fail (FailedEntryCount,
// Entries[].ErrorCode) are retried with backoff; accepted ones are not resent.
type EventBridgeSink struct {
	name string
	bus  string
	api  EventBridgeAPI
	progress
}

// NewEventBridgeSink builds an EventBridge sink ("" bus = default).
func NewEventBridgeSink(name, bus string, api EventBridgeAPI) *EventBridgeSink {
	return &EventBridgeSink{name: name, bus: bus, api: api}
}

func (s *EventBridgeSink) Name() string { return s.name }
func (s *EventBridgeSink) Type() string { return "eventbridge" }

type ebEntry struct {
	key   string
	entry ebtypes.PutEventsRequestEntry
	size  int
}

// entrySize is EventBridge's documented entry size: 14 bytes for Time, plus
// Source, DetailType, Detail and Resources in UTF-8.
func entrySize(e ebtypes.PutEventsRequestEntry) int {
	n := 14 + len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func (s *EventBridgeSink) entries(b *Batch) ([]ebEntry, error) {
	var out []ebEntry
	i := 0
	for _, g := range b.Groups {
		for _, ev := range g.Events {
			d := EventBridgeDetail{Version: PayloadVersion, BatchID: b.ID, Event: ev}
			detail, err := json.Marshal(d)
			for err == nil && len(detail)+200 > EventBridgeMaxBytes && len(d.Findings) > 0 {
				d.Findings = d.Findings[:len(d.Findings)/2]
				d.FindingsTruncated = d.FindingsTotal - len(d.Findings)
				detail, err = json.Marshal(d)
			}
			if err != nil {
				return nil, err
			}
			e := ebtypes.PutEventsRequestEntry{
				Source:     aws.String(EventBridgeSource),
				DetailType: aws.String(ev.Type.Title()),
				Detail:     aws.String(string(detail)),
				Time:       aws.Time(ev.Time),
			}
			if s.bus != "" {
				e.EventBusName = aws.String(s.bus)
			}
			out = append(out, ebEntry{key: strconv.Itoa(i), entry: e, size: entrySize(e)})
			i++
		}
	}
	return out, nil
}

// retryableEntryCode: EventBridge documents InternalFailure and
// ThrottlingException as the retryable entry errors.
func retryableEntryCode(code string) (Reason, bool) {
	switch code {
	case "ThrottlingException":
		return ReasonThrottled, true
	case "InternalFailure", "InternalException", "ServiceUnavailable":
		return ReasonHTTP5xx, true
	}
	return ReasonHTTP4xx, false
}

// Notify sends the entries of the batch not yet accepted, in calls of ≤ 10
// entries and ≤ 256 KiB.
func (s *EventBridgeSink) Notify(ctx context.Context, b *Batch) (bool, error) {
	all, err := s.entries(b)
	if err != nil {
		return false, &SinkError{Reason: ReasonEncode, msg: "encode eventbridge detail: " + err.Error()}
	}
	var pending []ebEntry
	for _, e := range all {
		if !s.isDone(b.ID, e.key) {
			pending = append(pending, e)
		}
	}
	var failed []*SinkError
	red := newRedactor()
	for len(pending) > 0 {
		n, size := 0, 0
		for n < len(pending) && n < EventBridgeMaxEntries && (n == 0 || size+pending[n].size <= EventBridgeMaxBytes) {
			size += pending[n].size
			n++
		}
		chunk := pending[:n]
		pending = pending[n:]
		in := &eventbridge.PutEventsInput{Entries: make([]ebtypes.PutEventsRequestEntry, len(chunk))}
		for i, e := range chunk {
			in.Entries[i] = e.entry
		}
		out, err := s.api.PutEvents(ctx, in)
		if err != nil {
			failed = append(failed, red.wrap("eventbridge PutEvents", err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		for i, e := range chunk {
			if i >= len(out.Entries) {
				// A short reply leaves the rest unconfirmed: retry them.
				failed = append(failed, &SinkError{Reason: ReasonOther, msg: "eventbridge PutEvents: reply has fewer entries than the request"})
				break
			}
			r := out.Entries[i]
			if code := aws.ToString(r.ErrorCode); code != "" {
				reason, retry := retryableEntryCode(code)
				if !retry {
					// A permanently rejected entry will never succeed: stop resending it.
					s.markDone(b.ID, e.key)
				}
				failed = append(failed, &SinkError{Reason: reason, msg: fmt.Sprintf("eventbridge entry rejected: %s: %s", code, aws.ToString(r.ErrorMessage))})
				continue
			}
			s.markDone(b.ID, e.key)
		}
	}
	return partialResult("eventbridge", len(all), failed)
}
