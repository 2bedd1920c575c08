package alerting

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/driftd/driftd/drift"
)

// SNSAPI is the part of the SNS client the notifier uses (*sns.Client satisfies it).
type SNSAPI interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNSMaxMessage is the byte budget for one SNS message: SNS's default limit
// is 256 KiB for body and attributes together; 4 KiB stay for attributes.
const SNSMaxMessage = 256*1024 - 4*1024

// progress remembers, per batch, which parts were accepted, so a retry of a
// batch sends only what is missing.
type progress struct {
	mu   sync.Mutex
	done map[string]map[string]bool
}

func (p *progress) isDone(batch, part string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done[batch][part]
}

func (p *progress) markDone(batch, part string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		p.done = map[string]map[string]bool{}
	}
	if p.done[batch] == nil {
		p.done[batch] = map[string]bool{}
	}
	p.done[batch][part] = true
}

func (p *progress) Forget(batch string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.done, batch)
}

func (p *progress) batches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.done)
}

// SNSSink publishes one message per ASG and event type of a batch: the
// message is the versioned JSON payload holding that one group, with the
// message attributes event_type, asg and severity (the group's highest) as
// String values so subscriptions can filter. Publishing per (ASG, type)
// rather than per event keeps a fleet-wide drift to a handful of messages,
// and rather than per batch keeps filter policies exact.
type SNSSink struct {
	name     string
	topicARN string
	api      SNSAPI
	progress
}

// NewSNSSink builds an SNS sink.
func NewSNSSink(name, topicARN string, api SNSAPI) *SNSSink {
	return &SNSSink{name: name, topicARN: topicARN, api: api}
}

func (s *SNSSink) Name() string { return s.name }
func (s *SNSSink) Type() string { return "sns" }

// snsMessage is one Publish of a batch.
type snsMessage struct {
	key      string
	asg      string
	typ      EventType
	severity drift.Severity
	batch    *Batch
}

// SplitForSNS splits a batch into per-(ASG, event type) sub-batches.
func splitForSNS(b *Batch) []snsMessage {
	var out []snsMessage
	for _, g := range b.Groups {
		byType := map[EventType][]Event{}
		for _, ev := range g.Events {
			byType[ev.Type] = append(byType[ev.Type], ev)
		}
		types := make([]string, 0, len(byType))
		for t := range byType {
			types = append(types, string(t))
		}
		sort.Strings(types)
		for i, t := range types {
			evs := byType[EventType(t)]
			sev := drift.SeverityNone
			for _, ev := range evs {
				if ev.Severity > sev {
					sev = ev.Severity
				}
			}
			sub := &Batch{Version: b.Version, ID: b.ID, Source: b.Source, Time: b.Time, EventCount: len(evs)}
			sg := Group{ASG: g.ASG, EventCount: len(evs), Events: append([]Event(nil), evs...)}
			if i == 0 {
				// The group's truncation count travels once, with its first message.
				sg.TruncatedEvents = g.TruncatedEvents
				sub.EventCount += g.TruncatedEvents
				sub.TruncatedEvents = g.TruncatedEvents
			}
			sub.Groups = []Group{sg}
			out = append(out, snsMessage{key: g.ASG + "\x00" + t, asg: g.ASG, typ: EventType(t), severity: sev, batch: sub})
		}
	}
	return out
}

func snsSubject(m snsMessage) string {
	where := m.asg
	if where == "" {
		where = "fleet"
	}
	s := fmt.Sprintf("driftd %s: %s (%d)", m.typ, where, m.batch.EventCount)
	// SNS subjects: ASCII, no line breaks, < 100 characters.
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(s) > 99 {
		s = s[:99]
	}
	return s
}

// Notify publishes every message not yet accepted for this batch.
func (s *SNSSink) Notify(ctx context.Context, b *Batch) (bool, error) {
	msgs := splitForSNS(b)
	var failed []*SinkError
	red := newRedactor()
	for _, m := range msgs {
		if s.isDone(b.ID, m.key) {
			continue
		}
		body, err := fitJSON(m.batch, SNSMaxMessage)
		if err != nil {
			return false, &SinkError{Reason: ReasonEncode, msg: "encode sns message: " + err.Error()}
		}
		attrs := map[string]snstypes.MessageAttributeValue{
			"event_type": {DataType: aws.String("String"), StringValue: aws.String(string(m.typ))},
			"severity":   {DataType: aws.String("String"), StringValue: aws.String(m.severity.String())},
		}
		if m.asg != "" { // SNS rejects empty attribute values
			attrs["asg"] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.asg)}
		}
		_, err = s.api.Publish(ctx, &sns.PublishInput{
			TopicArn:          aws.String(s.topicARN),
			Message:           aws.String(string(body)),
			Subject:           aws.String(snsSubject(m)),
			MessageAttributes: attrs,
		})
		if err != nil {
			failed = append(failed, red.wrap("sns Publish", err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		s.markDone(b.ID, m.key)
	}
	return partialResult("sns", len(msgs), failed)
}

// partialResult folds the failures of a multi-part delivery into one error:
// retry when any failure is retryable; the reason is the first failure's.
func partialResult(what string, total int, failed []*SinkError) (bool, error) {
	if len(failed) == 0 {
		return false, nil
	}
	retry := false
	for _, f := range failed {
		retry = retry || f.Reason.Retryable()
	}
	return retry, &SinkError{
		Reason: failed[0].Reason, Status: failed[0].Status,
		msg: fmt.Sprintf("%s: %d of %d parts failed; first: %s", what, len(failed), total, failed[0].msg),
	}
}
