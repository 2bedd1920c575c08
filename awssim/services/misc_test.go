package services

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	ibtypes "github.com/aws/aws-sdk-go-v2/service/imagebuilder/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftd/driftd/awssim/wire"
)

func TestSNSPublish(t *testing.T) {
	clk := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	e := newEnv(t, Options{Clock: func() time.Time { return clk }})
	cx := ctx(t)
	ct, err := e.sns.CreateTopic(cx, &sns.CreateTopicInput{Name: aws.String("drift-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(ct.TopicArn)
	if arn != "arn:aws:sns:us-east-1:123456789012:drift-alerts" {
		t.Errorf("TopicArn %s", arn)
	}
	out, err := e.sns.Publish(cx, &sns.PublishInput{
		TopicArn: ct.TopicArn, Message: aws.String(`{"instance":"i-0abc","verdict":"drifted"}`), Subject: aws.String("driftd: i-0abc drifted"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity": {DataType: aws.String("String"), StringValue: aws.String("high")},
			"count":    {DataType: aws.String("Number"), StringValue: aws.String("3")},
			"blob":     {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.svc.Published(arn)
	if len(got) != 1 {
		t.Fatalf("Published = %d messages", len(got))
	}
	m := got[0]
	if m.MessageID != aws.ToString(out.MessageId) || m.Subject != "driftd: i-0abc drifted" || m.Message != `{"instance":"i-0abc","verdict":"drifted"}` || !m.Time.Equal(clk) {
		t.Errorf("captured %+v", m)
	}
	want := map[string]SNSAttribute{
		"severity": {DataType: "String", StringValue: "high"},
		"count":    {DataType: "Number", StringValue: "3"},
		"blob":     {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
	}
	if fmt.Sprint(m.Attributes) != fmt.Sprint(want) {
		t.Errorf("attributes %v, want %v", m.Attributes, want)
	}

	_, err = e.sns.Publish(cx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:nope"), Message: aws.String("x")})
	var nf *snstypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("Publish to an unknown topic: %v, want *NotFoundException", err)
	}
	assertAPIError(t, err, "NotFound", 404)
	bad := []struct {
		name string
		in   *sns.PublishInput
	}{
		{"empty message", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("")}},
		{"subject with newline", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"), Subject: aws.String("a\nb")}},
		{"attribute without value", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("String")}}}},
		{"number attribute not a number", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("Number"), StringValue: aws.String("three")}}}},
		{"bad data type", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("Float"), StringValue: aws.String("1")}}}},
		{"dedup id on a standard topic", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"), MessageDeduplicationId: aws.String("d")}},
		{"malformed arn", &sns.PublishInput{TopicArn: aws.String("drift-alerts"), Message: aws.String("x")}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.sns.Publish(cx, tc.in)
			var ip *snstypes.InvalidParameterException
			if !errors.As(err, &ip) {
				t.Errorf("err %v, want *InvalidParameterException", err)
			}
		})
	}
	if n := len(e.svc.Published(arn)); n != 1 {
		t.Errorf("rejected publishes were captured: %d", n)
	}

	// FIFO topics need a group id and a deduplication id, and return a sequence number
	fifo, err := e.sns.CreateTopic(cx, &sns.CreateTopicInput{Name: aws.String("drift.fifo"), Attributes: map[string]string{"FifoTopic": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.sns.Publish(cx, &sns.PublishInput{TopicArn: fifo.TopicArn, Message: aws.String("x")})
	assertAPIError(t, err, "InvalidParameter", 400)
	fo, err := e.sns.Publish(cx, &sns.PublishInput{TopicArn: fifo.TopicArn, Message: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")})
	if err != nil || aws.ToString(fo.SequenceNumber) == "" {
		t.Errorf("FIFO publish: %+v %v", fo, err)
	}
	if p := e.svc.Published(aws.ToString(fifo.TopicArn)); len(p) != 1 || p[0].MessageGroupID != "g" || p[0].MessageDeduplicationID != "d" {
		t.Errorf("FIFO capture %+v", p)
	}
}

func TestEventBridgePutEvents(t *testing.T) {
	e := newEnv(t, Options{})
	cx := ctx(t)
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	entry := func(detail string) ebtypes.PutEventsRequestEntry {
		return ebtypes.PutEventsRequestEntry{Source: aws.String("driftd"), DetailType: aws.String("Drift Detected"), Detail: aws.String(detail),
			Resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"}, Time: aws.Time(at)}
	}
	out, err := e.events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
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
	evs := e.svc.Events()
	if len(evs) != 2 || evs[0].Detail != `{"instance":"i-0abc"}` || evs[0].Source != "driftd" || evs[0].DetailType != "Drift Detected" ||
		!evs[0].Time.Equal(at) || evs[0].EventBusName != "default" || len(evs[0].Resources) != 1 || evs[0].ID != aws.ToString(out.Entries[0].EventId) {
		t.Errorf("captured events %+v", evs)
	}

	// injected failures: the client resends only the failed entries
	e.svc.FailNextEntries(2, "ThrottlingException")
	batch := []ebtypes.PutEventsRequestEntry{entry(`{"n":1}`), entry(`{"n":2}`), entry(`{"n":3}`)}
	out, err = e.events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: batch})
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
	out, err = e.events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: retry})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("retry of failed entries: %+v %v", out, err)
	}
	if n := len(e.svc.Events()); n != 5 {
		t.Errorf("%d events captured, want 5", n)
	}

	// more than 10 entries is a request error
	many := make([]ebtypes.PutEventsRequestEntry, 11)
	for i := range many {
		many[i] = entry("{}")
	}
	_, err = e.events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: many})
	assertAPIError(t, err, "ValidationException", 400)

	// custom bus by name and ARN
	e.svc.CreateEventBus("drift")
	out, err = e.events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("driftd"), DetailType: aws.String("x"), Detail: aws.String("{}"), EventBusName: aws.String("drift")},
		{Source: aws.String("driftd"), DetailType: aws.String("x"), Detail: aws.String("{}"), EventBusName: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/drift")},
	}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Errorf("custom bus: %+v %v", out, err)
	}
}

func TestSTSGetCallerIdentity(t *testing.T) {
	e := newEnv(t, Options{AccountID: "210987654321"})
	out, err := e.sts.GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "210987654321" || aws.ToString(out.Arn) != "arn:aws:iam::210987654321:user/driftd" || aws.ToString(out.UserId) == "" {
		t.Errorf("GetCallerIdentity = %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
}

const testImageARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/al2023-base/1.2.3/4"

func TestImageBuilder(t *testing.T) {
	e := newEnv(t, Options{})
	cx := ctx(t)
	var pkgs []ImagePackage
	for i := 0; i < 60; i++ {
		pkgs = append(pkgs, ImagePackage{Name: fmt.Sprintf("pkg-%02d", i), Version: fmt.Sprintf("1.%d-1.amzn2023", i)})
	}
	e.svc.PutImage(testImageARN, "ami-0123456789abcdef0", pkgs)
	p := imagebuilder.NewListImagePackagesPaginator(e.ib, &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String(testImageARN), MaxResults: aws.Int32(25)})
	var got []ImagePackage
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(cx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if aws.ToString(out.RequestId) == "" {
			t.Error("no requestId")
		}
		for _, ip := range out.ImagePackageList {
			got = append(got, ImagePackage{Name: aws.ToString(ip.PackageName), Version: aws.ToString(ip.PackageVersion)})
		}
		if pages > 10 {
			t.Fatal("paginator did not stop")
		}
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(pkgs) {
		t.Errorf("%d pages, %d packages", pages, len(got))
	}
	img, err := e.ib.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(testImageARN)})
	if err != nil {
		t.Fatal(err)
	}
	if img.Image == nil || img.Image.OutputResources == nil || len(img.Image.OutputResources.Amis) != 1 ||
		aws.ToString(img.Image.OutputResources.Amis[0].Image) != "ami-0123456789abcdef0" || aws.ToString(img.Image.Arn) != testImageARN ||
		aws.ToString(img.Image.Version) != "1.2.3/4" || aws.ToString(img.Image.Name) != "al2023-base" {
		t.Errorf("GetImage = %+v", img.Image)
	}

	// GetImage does not model ResourceNotFoundException (generic API error);
	// ListImagePackages does.
	other := aws.String("arn:aws:imagebuilder:us-east-1:123456789012:image/other/1.0.0/1")
	_, err = e.ib.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: other})
	assertAPIError(t, err, "ResourceNotFoundException", 404)
	_, err = e.ib.ListImagePackages(cx, &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: other})
	var rnf *ibtypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("unknown image: %v", err)
	}
	cases := []struct {
		name string
		in   *imagebuilder.ListImagePackagesInput
		code string
	}{
		{"maxResults 26", &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String(testImageARN), MaxResults: aws.Int32(26)}, "InvalidRequestException"},
		{"maxResults 0", &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String(testImageARN), MaxResults: aws.Int32(0)}, "InvalidRequestException"},
		{"not a build version arn", &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String("arn:aws:imagebuilder:us-east-1:123456789012:image/al2023-base/1.2.3")}, "InvalidRequestException"},
		{"bad token", &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String(testImageARN), NextToken: aws.String("bogus")}, "InvalidPaginationTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ib.ListImagePackages(cx, tc.in)
			assertAPIError(t, err, tc.code, 400)
		})
	}
	var ipt *ibtypes.InvalidPaginationTokenException
	_, err = e.ib.ListImagePackages(cx, cases[3].in)
	if !errors.As(err, &ipt) {
		t.Errorf("bad token error type %T", err)
	}

	// throttling surfaces as CallRateLimitExceededException ...
	e.svc.ThrottleImageBuilder(1)
	_, err = e.ib.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(testImageARN)})
	var thr *ibtypes.CallRateLimitExceededException
	if !errors.As(err, &thr) {
		t.Fatalf("throttled call: %v", err)
	}
	assertStatus(t, err, 429)
	// ... which the standard retryer does not retry unless told to
	e.svc.ThrottleImageBuilder(2)
	retrying := imagebuilder.NewFromConfig(e.cfg, func(o *imagebuilder.Options) {
		o.BaseEndpoint = aws.String(e.url)
		o.RetryMaxAttempts = 4
		o.Retryer = retry.AddWithErrorCodes(retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 4
			so.MaxBackoff = 10 * time.Millisecond
		}), "CallRateLimitExceededException")
	})
	if _, err := retrying.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(testImageARN)}); err != nil {
		t.Errorf("GetImage with CallRateLimitExceededException retried: %v", err)
	}
	e.svc.ThrottleImageBuilder(1)
	plain := imagebuilder.NewFromConfig(e.cfg, func(o *imagebuilder.Options) {
		o.BaseEndpoint = aws.String(e.url)
		o.RetryMaxAttempts = 4
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = 4; so.MaxBackoff = 10 * time.Millisecond })
	})
	if _, err := plain.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(testImageARN)}); !errors.As(err, &thr) {
		t.Errorf("standard retryer without the code: %v, want CallRateLimitExceededException (not retried)", err)
	}
}

func TestRegister(t *testing.T) {
	got := map[string]bool{}
	New(Options{}).Register(func(name string, h wire.Handler) {
		if h == nil {
			t.Errorf("%s: nil handler", name)
		}
		got[name] = true
	})
	for _, n := range []string{wire.SvcS3, wire.SvcSQS, wire.SvcSNS, wire.SvcEvents, wire.SvcSTS, wire.SvcImageBuilder} {
		if !got[n] {
			t.Errorf("%s not registered", n)
		}
	}
	if len(got) != 6 {
		t.Errorf("registered %v", got)
	}
}

func TestSNSSubscriptionDelivery(t *testing.T) {
	e := newEnv(t, Options{})
	cx := ctx(t)
	topic := e.svc.CreateTopic("drift")
	e.svc.CreateQueue("all")
	e.svc.CreateQueue("resolved")
	for _, s := range []struct {
		queue string
		attrs map[string]string
	}{
		{"all", nil},
		{"resolved", map[string]string{"RawMessageDelivery": "true", "FilterPolicy": `{"event_type":["drift.resolved"],"asg":[{"prefix":"we"}],"count":[3]}`}},
	} {
		if _, err := e.sns.Subscribe(cx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
			Endpoint: aws.String("arn:aws:sqs:us-east-1:123456789012:" + s.queue), Attributes: s.attrs}); err != nil {
			t.Fatal(err)
		}
	}
	pub := func(event string, count string) {
		t.Helper()
		if _, err := e.sns.Publish(cx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("payload " + event), Subject: aws.String("s"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				"event_type": {DataType: aws.String("String"), StringValue: aws.String(event)},
				"asg":        {DataType: aws.String("String"), StringValue: aws.String("web")},
				"count":      {DataType: aws.String("Number"), StringValue: aws.String(count)},
			}}); err != nil {
			t.Fatal(err)
		}
	}
	pub("drift.detected", "3")
	pub("drift.resolved", "3")
	pub("drift.resolved", "4")
	allMsgs := e.svc.SQSMessages("all")
	if len(allMsgs) != 3 {
		t.Fatalf("unfiltered subscription got %d messages", len(allMsgs))
	}
	var env struct {
		Type, MessageId, TopicArn, Subject, Message, Timestamp, SignatureVersion string
		MessageAttributes                                                        map[string]struct{ Type, Value string }
	}
	if err := json.Unmarshal([]byte(allMsgs[0]), &env); err != nil {
		t.Fatal(err)
	}
	if env.Type != "Notification" || env.TopicArn != topic || env.Message != "payload drift.detected" || env.Subject != "s" ||
		env.MessageAttributes["count"].Type != "Number" || env.MessageAttributes["count"].Value != "3" || env.MessageId != e.svc.Published(topic)[0].MessageID {
		t.Errorf("envelope %+v", env)
	}
	out, err := e.sqs.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url + "/123456789012/resolved"), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "payload drift.resolved" ||
		aws.ToString(out.Messages[0].MessageAttributes["event_type"].StringValue) != "drift.resolved" {
		t.Errorf("filtered raw subscription got %+v", out.Messages)
	}
}
