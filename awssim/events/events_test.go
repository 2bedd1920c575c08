package events_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestEventBridgePutEvents(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	entry := func(detail string) ebtypes.PutEventsRequestEntry {
		return ebtypes.PutEventsRequestEntry{Source: aws.String("driftd"), DetailType: aws.String("Drift Detected"), Detail: aws.String(detail),
			Resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"}, Time: aws.Time(at)}
	}
	out, err := e.Events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		entry(`{"instance":"i-0abc"}`), entry(`not json`), entry(`[1,2]`), entry(`{"ok":true}`),
		{Source: aws.String("driftd"), DetailType: aws.String("x"), Detail: aws.String("{}"), EventBusName: aws.String("nosuchbus")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 3 || len(out.Entries) != 5 {
		t.Fatalf("FailedEntryCount %d, %d entries", out.FailedEntryCount, len(out.Entries))
	}
	wantCodes := []string{"", "MalformedDetail", "MalformedDetail", "", "InvalidArgument"}
	for i, w := range wantCodes {
		got := out.Entries[i]
		if aws.ToString(got.ErrorCode) != w || (w == "") != (aws.ToString(got.EventId) != "") {
			t.Errorf("entry %d = code %q id %q, want code %q", i, aws.ToString(got.ErrorCode), aws.ToString(got.EventId), w)
		}
	}
	evs := e.Sim.EventBridge().Events()
	if len(evs) != 2 || evs[0].Detail != `{"instance":"i-0abc"}` || evs[0].Source != "driftd" || evs[0].DetailType != "Drift Detected" ||
		!evs[0].Time.Equal(at) || evs[0].EventBusName != "default" || len(evs[0].Resources) != 1 || evs[0].ID != aws.ToString(out.Entries[0].EventId) {
		t.Errorf("captured events %+v", evs)
	}

	// injected failures: the client resends only the failed entries
	e.Sim.EventBridge().FailNextEntries(2, "ThrottlingException")
	batch := []ebtypes.PutEventsRequestEntry{entry(`{"n":1}`), entry(`{"n":2}`), entry(`{"n":3}`)}
	out, err = e.Events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: batch})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 2 || aws.ToString(out.Entries[0].ErrorCode) != "ThrottlingException" || aws.ToString(out.Entries[2].EventId) == "" {
		t.Fatalf("injected failures: %+v", out.Entries)
	}
	var retry []ebtypes.PutEventsRequestEntry
	for i, r := range out.Entries {
		if r.ErrorCode != nil {
			retry = append(retry, batch[i])
		}
	}
	out, err = e.Events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: retry})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("retry of failed entries: %+v %v", out, err)
	}
	if n := len(e.Sim.EventBridge().Events()); n != 5 {
		t.Errorf("%d events captured, want 5", n)
	}

	// more than 10 entries is a request error
	many := make([]ebtypes.PutEventsRequestEntry, 11)
	for i := range many {
		many[i] = entry("{}")
	}
	_, err = e.Events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: many})
	simtest.AssertAPIError(t, err, "ValidationException", 400)

	// custom bus by name and ARN
	e.Sim.EventBridge().CreateEventBus("drift")
	out, err = e.Events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("driftd"), DetailType: aws.String("x"), Detail: aws.String("{}"), EventBusName: aws.String("drift")},
		{Source: aws.String("driftd"), DetailType: aws.String("x"), Detail: aws.String("{}"), EventBusName: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/drift")},
	}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Errorf("custom bus: %+v %v", out, err)
	}
}
