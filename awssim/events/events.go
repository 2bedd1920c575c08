// Package events serves the simulated region's EventBridge PutEvents
// (awsJson1_1) and keeps the events it accepted.
package events

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// Event is an event accepted by EventBridge PutEvents.
type Event struct {
	ID           string
	EventBusName string
	Source       string
	DetailType   string
	Detail       string // JSON object text as sent
	Resources    []string
	Time         time.Time
	Account      string
	Region       string
}

type Service struct {
	acct wire.Account

	mu       sync.Mutex
	buses    map[string]bool
	events   []Event
	failN    int
	failCode string
}

// New returns an EventBridge with the default event bus.
func New(acct wire.Account) *Service {
	return &Service{acct: acct, buses: map[string]bool{"default": true}}
}

// CreateEventBus makes a custom event bus exist ("default" always does).
func (ev *Service) CreateEventBus(name string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.buses[name] = true
}

// Events returns the events accepted so far, in order.
func (ev *Service) Events() []Event {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return append([]Event(nil), ev.events...)
}

// FailNextEntries makes the next n otherwise valid PutEvents entries fail
// with ErrorCode code (for example "ThrottlingException" or
// "InternalFailure"), so a client's retry of failed entries can be tested.
func (ev *Service) FailNextEntries(n int, code string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.failN, ev.failCode = n, code
}

type putEventsEntry struct {
	Source       *string
	DetailType   *string
	Detail       *string
	EventBusName *string
	Resources    []string
	Time         *float64
	TraceHeader  *string
}

func (ev *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	if req.Op != "PutEvents" {
		wire.WriteError(w, req, wire.Errorf(400, "UnknownOperationException", "operation %s is not simulated", req.Op))
		return
	}
	out, e := ev.putEvents(req.Body)
	if e != nil {
		wire.WriteError(w, req, e)
		return
	}
	wire.WriteJSON(w, req, out)
}

type putEventsResultEntry struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

func (ev *Service) busName(n *string) (string, bool) {
	if n == nil || *n == "" {
		return "default", true
	}
	name := *n
	if strings.HasPrefix(name, "arn:") {
		// arn:aws:events:<region>:<account>:event-bus/<name>
		parts := strings.SplitN(name, ":", 6)
		if len(parts) != 6 || parts[2] != "events" || !strings.HasPrefix(parts[5], "event-bus/") {
			return name, false
		}
		if parts[3] != ev.acct.Region || parts[4] != ev.acct.AccountID {
			return name, false
		}
		name = strings.TrimPrefix(parts[5], "event-bus/")
	}
	return name, ev.buses[name]
}

func (ev *Service) putEvents(body []byte) (any, *wire.Error) {
	var in struct {
		Entries    []json.RawMessage
		EndpointId *string
	}
	if e := wire.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if in.EndpointId != nil {
		return nil, wire.Errorf(400, "ValidationException", "global endpoints are not simulated")
	}
	if len(in.Entries) < 1 || len(in.Entries) > 10 {
		return nil, wire.Errorf(400, "ValidationException", "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	entries := make([]putEventsEntry, len(in.Entries))
	total := 0
	for i, raw := range in.Entries {
		if err := json.Unmarshal(raw, &entries[i]); err != nil {
			return nil, wire.Errorf(400, "SerializationException", "entry %d: %v", i, err)
		}
		e := entries[i]
		total += len(wire.Value(e.Source)) + len(wire.Value(e.DetailType)) + len(wire.Value(e.Detail))
		for _, r := range e.Resources {
			total += len(r)
		}
		if e.Time != nil {
			total += 14
		}
	}
	if total > 256*1024 {
		return nil, wire.Errorf(400, "ValidationException", "Total size of the entries in the request is over the limit.")
	}
	results := make([]putEventsResultEntry, len(entries))
	failed := 0
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for i, e := range entries {
		code, msg := ev.validate(e)
		if code == "" && ev.failN > 0 {
			ev.failN--
			code, msg = ev.failCode, "Simulated failure of this entry."
		}
		if code != "" {
			failed++
			results[i] = putEventsResultEntry{ErrorCode: code, ErrorMessage: msg}
			continue
		}
		bus, _ := ev.busName(e.EventBusName)
		t := ev.acct.Now().UTC()
		if e.Time != nil {
			sec, frac := math.Modf(*e.Time)
			t = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		}
		id := wire.NewUUID()
		ev.events = append(ev.events, Event{
			ID: id, EventBusName: bus, Source: *e.Source, DetailType: *e.DetailType, Detail: *e.Detail,
			Resources: append([]string(nil), e.Resources...), Time: t,
			Account: ev.acct.AccountID, Region: ev.acct.Region,
		})
		results[i] = putEventsResultEntry{EventId: id}
	}
	return map[string]any{"FailedEntryCount": failed, "Entries": results}, nil
}

// validate returns the per-entry error EventBridge reports for an entry.
func (ev *Service) validate(e putEventsEntry) (code, msg string) {
	switch {
	case e.Source == nil || *e.Source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == nil || *e.DetailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case e.Detail == nil || *e.Detail == "":
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	case strings.HasPrefix(*e.Source, "aws."):
		return "NotAuthorizedForSourceException", "Not authorized for the source."
	}
	if !isJSONObject(*e.Detail) {
		return "MalformedDetail", "Detail is malformed."
	}
	if bus, ok := ev.busName(e.EventBusName); !ok {
		return "InvalidArgument", "Event bus " + bus + " does not exist."
	}
	return "", ""
}

func isJSONObject(s string) bool {
	t := bytes.TrimSpace([]byte(s))
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}
