package awssim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	"github.com/driftd/driftd/awssim/wire"
)

// TestSecurityHubAndConfigRouted: the simulator routes Security Hub
// (restJson1 /findings…) and AWS Config (StarlingDoveService.*) to their
// packages; calls are logged and faults apply; an S3 bucket named
// "findings" still reaches S3.
func TestSecurityHubAndConfigRouted(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, nil)
	ctx := simtest.Ctx(t)
	cfg := simtest.SDKConfig(t, e.Ctx)
	sh := securityhub.NewFromConfig(cfg, func(o *securityhub.Options) {
		o.BaseEndpoint, o.HTTPClient, o.RetryMaxAttempts = aws.String(e.URL), awssim.NewHTTPClient(), 1
	})
	acct, region := "123456789012", "us-east-1"
	product := fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", region, acct, acct)
	f := shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"), Id: aws.String("f-1"), ProductArn: aws.String(product), GeneratorId: aws.String("driftd"),
		AwsAccountId: aws.String(acct), Types: []string{"Software and Configuration Checks/Drift"},
		CreatedAt: aws.String("2026-01-02T03:04:05Z"), UpdatedAt: aws.String("2026-01-02T03:04:05Z"),
		Severity: &shtypes.Severity{Label: shtypes.SeverityLabelLow}, Title: aws.String("t"), Description: aws.String("d"),
		Resources: []shtypes.Resource{{Type: aws.String("AwsEc2Instance"), Id: aws.String("arn:aws:ec2:us-east-1:123456789012:instance/i-1")}},
	}
	out, err := sh.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{f}})
	if err != nil || aws.ToInt32(out.SuccessCount) != 1 {
		t.Fatalf("BatchImportFindings: %+v %v", out, err)
	}
	if e.Sim.SecurityHub().Finding("f-1") == nil {
		t.Fatal("finding not stored in the simulator's Security Hub")
	}
	if n := e.Sim.CallCount(wire.SvcSecurityHub, "BatchImportFindings"); n != 1 {
		t.Errorf("call log counts %d imports", n)
	}
	cs := configservice.NewFromConfig(cfg, func(o *configservice.Options) {
		o.BaseEndpoint, o.HTTPClient, o.RetryMaxAttempts = aws.String(e.URL), awssim.NewHTTPClient(), 1
	})
	tok := e.Sim.Config().IssueToken("driftd")
	if _, err := cs.PutEvaluations(ctx, &configservice.PutEvaluationsInput{ResultToken: aws.String(tok), Evaluations: []cstypes.Evaluation{{
		ComplianceResourceType: aws.String("AWS::EC2::Instance"), ComplianceResourceId: aws.String("i-1"),
		ComplianceType: cstypes.ComplianceTypeCompliant, OrderingTimestamp: aws.Time(time.Now()),
	}}}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Sim.Config().Evaluations("driftd")); n != 1 {
		t.Fatalf("%d evaluations recorded", n)
	}
	if _, err := e.Sim.AddFault(awssim.Fault{Service: wire.SvcConfig, Operation: "PutEvaluations", ErrorRate: 1, ErrorCode: "ThrottlingException"}); err != nil {
		t.Fatal(err)
	}
	_, err = cs.PutEvaluations(ctx, &configservice.PutEvaluationsInput{ResultToken: aws.String(tok), Evaluations: []cstypes.Evaluation{{
		ComplianceResourceType: aws.String("AWS::EC2::Instance"), ComplianceResourceId: aws.String("i-1"),
		ComplianceType: cstypes.ComplianceTypeCompliant, OrderingTimestamp: aws.Time(time.Now()),
	}}})
	if code := simtest.APICode(err); code != "ThrottlingException" {
		t.Errorf("PutEvaluations under a fault: %v", err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint, o.HTTPClient, o.UsePathStyle, o.RetryMaxAttempts = aws.String(e.URL), awssim.NewHTTPClient(), true, 1
	})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("findings")}); err != nil {
		t.Fatalf("S3 bucket named findings: %v", err)
	}
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("findings")}); err != nil {
		t.Fatalf("HeadBucket findings: %v", err)
	}
}
