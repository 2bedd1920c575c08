package configservice

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cs "github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/smithy-go"

	"github.com/driftd/driftd/internal/testenv/motoenv"
)

func codeOf(err error) string {
	if err == nil {
		return "OK"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "non-API error: " + err.Error()
}

// conformanceSteps are the PutEvaluations calls driftd makes in test mode
// (moto 5.2.1 implements PutEvaluations only with TestMode) and the
// rejections both must agree on.
func conformanceSteps(t *testing.T, c *cs.Client) []string {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var evs []types.Evaluation
	for i, ct := range []types.ComplianceType{types.ComplianceTypeCompliant, types.ComplianceTypeNonCompliant, types.ComplianceTypeNotApplicable} {
		evs = append(evs, types.Evaluation{ComplianceResourceType: aws.String("AWS::EC2::Instance"), ComplianceResourceId: aws.String(fmt.Sprintf("i-%d", i)),
			ComplianceType: ct, Annotation: aws.String("drifted from ami-1: 2 findings"), OrderingTimestamp: aws.Time(at)})
	}
	var out []string
	res, err := c.PutEvaluations(ctx, &cs.PutEvaluationsInput{ResultToken: aws.String("test-token"), TestMode: true, Evaluations: evs})
	if err == nil {
		out = append(out, fmt.Sprintf("test mode, 3 evaluations: OK, %d failed", len(res.FailedEvaluations)))
	} else {
		out = append(out, "test mode, 3 evaluations: "+codeOf(err))
	}
	_, err = c.PutEvaluations(ctx, &cs.PutEvaluationsInput{ResultToken: aws.String("test-token"), TestMode: true})
	out = append(out, "no evaluations: "+codeOf(err))
	_, err = c.PutEvaluations(ctx, &cs.PutEvaluationsInput{ResultToken: aws.String(""), TestMode: true, Evaluations: evs})
	out = append(out, "empty token: "+codeOf(err))
	return out
}

func TestConformanceWithMoto(t *testing.T) {
	const region = "us-east-1"
	var sim, moto []string
	t.Run("awssim", func(t *testing.T) {
		srv := httptest.NewServer(New())
		t.Cleanup(srv.Close)
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "secret", "")))
		if err != nil {
			t.Fatal(err)
		}
		sim = conformanceSteps(t, cs.NewFromConfig(cfg, func(o *cs.Options) { o.BaseEndpoint = aws.String(srv.URL); o.RetryMaxAttempts = 1 }))
	})
	t.Run("moto", func(t *testing.T) {
		u := motoenv.URL(t)
		cfg, _ := motoenv.Account(t, context.Background(), u, region)
		moto = conformanceSteps(t, cs.NewFromConfig(cfg, func(o *cs.Options) { o.BaseEndpoint = aws.String(u); o.RetryMaxAttempts = 1 }))
	})
	if len(moto) == 0 || len(sim) == 0 {
		t.Skip("SKIPPED: one side did not run; conformance not compared")
	}
	for i := range sim {
		if sim[i] != moto[i] {
			t.Errorf("step %d differs:\n awssim: %s\n   moto: %s", i, sim[i], moto[i])
		}
		t.Log(sim[i])
	}
}
