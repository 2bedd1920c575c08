package securityhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"path"
	"regexp"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sh "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
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

// shape renders a finding as Security Hub returns it: the attributes
// driftd sets, with their values, as canonical JSON.
func shape(t *testing.T, f types.AwsSecurityFinding) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"Id": f.Id, "ProductArn": f.ProductArn, "GeneratorId": f.GeneratorId, "AwsAccountId": f.AwsAccountId,
		"Types": f.Types, "CreatedAt": f.CreatedAt, "UpdatedAt": f.UpdatedAt, "Severity": f.Severity.Label,
		"Title": f.Title, "Description": f.Description, "ProductFields": f.ProductFields, "RecordState": f.RecordState,
		"Compliance": f.Compliance.Status, "Workflow": f.Workflow.Status, "Resource": []any{f.Resources[0].Type, f.Resources[0].Id, f.Resources[0].Details.AwsEc2Instance.ImageId},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// conformanceSteps runs the calls driftd makes (and GetFindings, which
// tests use) and returns what was observed, one line per step.
func conformanceSteps(t *testing.T, c *sh.Client, account, region string) []string {
	ctx := context.Background()
	product := fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", region, account, account)
	mk := func(id, state string, sev types.SeverityLabel, compliance types.ComplianceStatus) types.AwsSecurityFinding {
		return types.AwsSecurityFinding{
			SchemaVersion: aws.String("2018-10-08"), Id: aws.String(id), ProductArn: aws.String(product),
			GeneratorId: aws.String("driftd/ami-baseline-drift"), AwsAccountId: aws.String(account),
			Types:     []string{"Software and Configuration Checks/AWS Security Best Practices/AMI Baseline Drift"},
			CreatedAt: aws.String("2026-11-25T12:00:00Z"), UpdatedAt: aws.String("2026-11-25T13:00:00Z"),
			Severity: &types.Severity{Label: sev}, Title: aws.String("drift " + id), Description: aws.String("drifted"),
			ProductFields: map[string]string{"driftd/AMI": "ami-1", "driftd/ASG": "web"},
			Resources: []types.Resource{{Type: aws.String("AwsEc2Instance"), Id: aws.String("arn:aws:ec2:" + region + ":" + account + ":instance/" + path.Base(id)),
				Details: &types.ResourceDetails{AwsEc2Instance: &types.AwsEc2InstanceDetails{ImageId: aws.String("ami-1")}}}},
			RecordState: types.RecordState(state), Compliance: &types.Compliance{Status: compliance},
			Workflow: &types.Workflow{Status: types.WorkflowStatusNew},
		}
	}
	var out []string
	var batch []types.AwsSecurityFinding
	for i := range 3 {
		batch = append(batch, mk(fmt.Sprintf("driftd/%s/%s/i-%d", region, account, i), "ACTIVE", types.SeverityLabelHigh, types.ComplianceStatusFailed))
	}
	imp, err := c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: batch})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	out = append(out, fmt.Sprintf("import 3: success %d failed %d", aws.ToInt32(imp.SuccessCount), aws.ToInt32(imp.FailedCount)))
	// Heal i-0: the same Id again, archived and passed.
	healed := mk(*batch[0].Id, "ARCHIVED", types.SeverityLabelInformational, types.ComplianceStatusPassed)
	healed.UpdatedAt = aws.String("2026-11-25T14:00:00Z")
	imp, err = c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{healed}})
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	out = append(out, fmt.Sprintf("re-import 1: success %d failed %d", aws.ToInt32(imp.SuccessCount), aws.ToInt32(imp.FailedCount)))
	got, err := c.GetFindings(ctx, &sh.GetFindingsInput{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	sort.Slice(got.Findings, func(i, j int) bool { return aws.ToString(got.Findings[i].Id) < aws.ToString(got.Findings[j].Id) })
	out = append(out, fmt.Sprintf("get: %d findings", len(got.Findings)))
	for _, f := range got.Findings {
		out = append(out, shape(t, f))
	}
	// Paging: one finding per page.
	pages := 0
	p := sh.NewGetFindingsPaginator(c, &sh.GetFindingsInput{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		if len(pg.Findings) > 0 {
			pages++
		}
	}
	out = append(out, fmt.Sprintf("pages of 1: %d", pages))
	_, err = c.GetFindings(ctx, &sh.GetFindingsInput{MaxResults: aws.Int32(101)})
	out = append(out, "get MaxResults 101: "+codeOf(err))
	return out
}

func TestConformanceWithMoto(t *testing.T) {
	const region = "us-east-1"
	var sim, moto []string
	t.Run("awssim", func(t *testing.T) {
		svc := New(Options{Region: region, AccountID: "123456789012"})
		srv := httptest.NewServer(svc)
		t.Cleanup(srv.Close)
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "secret", "")))
		if err != nil {
			t.Fatal(err)
		}
		sim = conformanceSteps(t, sh.NewFromConfig(cfg, func(o *sh.Options) { o.BaseEndpoint = aws.String(srv.URL); o.RetryMaxAttempts = 1 }), "123456789012", region)
	})
	t.Run("moto", func(t *testing.T) {
		u := motoenv.URL(t)
		cfg, account := motoenv.Account(t, context.Background(), u, region)
		moto = conformanceSteps(t, sh.NewFromConfig(cfg, func(o *sh.Options) { o.BaseEndpoint = aws.String(u); o.RetryMaxAttempts = 1 }), account, region)
	})
	if len(moto) == 0 || len(sim) == 0 {
		t.Skip("SKIPPED: one side did not run; conformance not compared")
	}
	// The account differs (moto: a fresh one); compare with it masked.
	if len(sim) != len(moto) {
		t.Fatalf("awssim %d steps, moto %d", len(sim), len(moto))
	}
	for i := range sim {
		if mask(sim[i]) != mask(moto[i]) {
			t.Errorf("step %d differs:\n awssim: %s\n   moto: %s", i, sim[i], moto[i])
		}
	}
	for _, s := range sim {
		t.Log(s)
	}
}

var digits12 = regexp.MustCompile(`\b\d{12}\b`)

func mask(s string) string { return digits12.ReplaceAllString(s, "ACCOUNT") }
