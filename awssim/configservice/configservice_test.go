package configservice

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cs "github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/smithy-go"

	"github.com/driftd/driftd/awssim/wire"
)

func simClient(t *testing.T, svc *Service) *cs.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		body, _ := io.ReadAll(r.Body)
		if prefix != TargetPrefix {
			op = "-"
		}
		svc.ServeAWS(w, &wire.Request{Protocol: wire.JSON11, Service: "config", Op: op, Body: body, HTTP: r, ID: wire.NewRequestID()})
	}))
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	return cs.NewFromConfig(cfg, func(o *cs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func eval(id string, ct types.ComplianceType, at time.Time) types.Evaluation {
	return types.Evaluation{ComplianceResourceType: aws.String("AWS::EC2::Instance"), ComplianceResourceId: aws.String(id),
		ComplianceType: ct, OrderingTimestamp: aws.Time(at), Annotation: aws.String("note " + id)}
}

func TestPutEvaluationsRecordsLatest(t *testing.T) {
	ctx := context.Background()
	svc := New()
	c := simClient(t, svc)
	tok := svc.IssueToken("driftd")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, in := range [][]types.Evaluation{
		{eval("i-1", types.ComplianceTypeNonCompliant, t0), eval("i-2", types.ComplianceTypeCompliant, t0)},
		{eval("i-1", types.ComplianceTypeCompliant, t0.Add(time.Hour))},
		{eval("i-2", types.ComplianceTypeNonCompliant, t0.Add(-time.Hour))}, // older: ignored
	} {
		out, err := c.PutEvaluations(ctx, &cs.PutEvaluationsInput{ResultToken: aws.String(tok), Evaluations: in})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.FailedEvaluations) != 0 {
			t.Fatalf("failed: %+v", out.FailedEvaluations)
		}
	}
	got := svc.Evaluations("driftd")
	if len(got) != 2 || got[0].ComplianceType != "COMPLIANT" || !got[0].OrderingTimestamp.Equal(t0.Add(time.Hour)) || got[1].ComplianceType != "COMPLIANT" {
		t.Fatalf("evaluations: %+v", got)
	}
	// Test mode: any token, nothing recorded.
	if _, err := c.PutEvaluations(ctx, &cs.PutEvaluationsInput{ResultToken: aws.String("anything"), TestMode: true,
		Evaluations: []types.Evaluation{eval("i-3", types.ComplianceTypeNotApplicable, t0)}}); err != nil {
		t.Fatal(err)
	}
	if n := len(svc.Evaluations("driftd")); n != 2 {
		t.Fatalf("test mode recorded an evaluation: %d", n)
	}
}

func TestPutEvaluationsErrors(t *testing.T) {
	ctx := context.Background()
	svc := New()
	c := simClient(t, svc)
	tok := svc.IssueToken("driftd")
	t0 := time.Now()
	many := make([]types.Evaluation, MaxEvaluations+1)
	for i := range many {
		many[i] = eval("i-x", types.ComplianceTypeCompliant, t0)
	}
	long := eval("i-1", types.ComplianceTypeCompliant, t0)
	long.Annotation = aws.String(strings.Repeat("é", MaxAnnotation+1))
	for _, tc := range []struct {
		name string
		in   cs.PutEvaluationsInput
		code string
	}{
		{"unknown token", cs.PutEvaluationsInput{ResultToken: aws.String("forged"), Evaluations: []types.Evaluation{eval("i-1", types.ComplianceTypeCompliant, t0)}}, "InvalidResultTokenException"},
		{"empty token in test mode", cs.PutEvaluationsInput{ResultToken: aws.String(""), TestMode: true, Evaluations: []types.Evaluation{eval("i-1", types.ComplianceTypeCompliant, t0)}}, "InvalidResultTokenException"},
		{"no evaluations", cs.PutEvaluationsInput{ResultToken: aws.String(tok)}, "InvalidParameterValueException"},
		{"too many", cs.PutEvaluationsInput{ResultToken: aws.String(tok), Evaluations: many}, "ValidationException"},
		{"insufficient data", cs.PutEvaluationsInput{ResultToken: aws.String(tok), Evaluations: []types.Evaluation{eval("i-1", types.ComplianceTypeInsufficientData, t0)}}, "InvalidParameterValueException"},
		{"long annotation", cs.PutEvaluationsInput{ResultToken: aws.String(tok), Evaluations: []types.Evaluation{long}}, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutEvaluations(ctx, &tc.in)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}
	if n := len(svc.Evaluations("driftd")); n != 0 {
		t.Fatalf("a rejected request recorded %d evaluations", n)
	}
}
