package securityhub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sh "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/smithy-go"

	"github.com/driftd/driftd/awssim/wire"
)

// simClient serves svc over HTTP and returns an SDK client for it.
func simClient(t *testing.T, svc *Service) *sh.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0)
		if r.Body != nil {
			buf := make([]byte, 1<<16)
			for {
				n, err := r.Body.Read(buf)
				body = append(body, buf[:n]...)
				if err != nil {
					break
				}
			}
		}
		req := &wire.Request{Protocol: wire.RESTJSON, Service: "securityhub", Op: Route(r.Method, r.URL.Path), Body: body, HTTP: r, ID: wire.NewRequestID()}
		svc.ServeAWS(w, req)
	}))
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	return sh.NewFromConfig(cfg, func(o *sh.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func finding(svc *Service, id string) types.AwsSecurityFinding {
	return types.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"),
		Id:            aws.String(id),
		ProductArn:    aws.String(svc.ProductARN()),
		GeneratorId:   aws.String("driftd"),
		AwsAccountId:  aws.String("123456789012"),
		Types:         []string{"Software and Configuration Checks/Configuration Drift"},
		CreatedAt:     aws.String("2026-01-02T03:04:05Z"),
		UpdatedAt:     aws.String("2026-01-02T03:04:05Z"),
		Severity:      &types.Severity{Label: types.SeverityLabelHigh},
		Title:         aws.String("drift"),
		Description:   aws.String("drifted instance"),
		Resources:     []types.Resource{{Type: aws.String("AwsEc2Instance"), Id: aws.String("arn:aws:ec2:us-east-1:123456789012:instance/" + id)}},
	}
}

func TestImportUpdateAndGet(t *testing.T) {
	ctx := context.Background()
	svc := New(Options{})
	c := simClient(t, svc)
	out, err := c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{finding(svc, "i-1"), finding(svc, "i-2")}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.SuccessCount) != 2 || aws.ToInt32(out.FailedCount) != 0 {
		t.Fatalf("import: %+v", out)
	}
	// An update archives i-1 and tries to set its workflow: the workflow stays.
	f := finding(svc, "i-1")
	f.RecordState = types.RecordStateArchived
	f.Workflow = &types.Workflow{Status: types.WorkflowStatusSuppressed}
	if _, err := c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{f}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetFindings(ctx, &sh.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{Id: []types.StringFilter{{Value: aws.String("i-1"), Comparison: types.StringFilterComparisonEquals}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Findings) != 1 || got.Findings[0].RecordState != types.RecordStateArchived || got.Findings[0].Workflow.Status != types.WorkflowStatusNew {
		t.Fatalf("after archive: %+v", got.Findings)
	}
	// BatchUpdateFindings resolves the workflow.
	up, err := c.BatchUpdateFindings(ctx, &sh.BatchUpdateFindingsInput{
		FindingIdentifiers: []types.AwsSecurityFindingIdentifier{{Id: aws.String("i-1"), ProductArn: aws.String(svc.ProductARN())}, {Id: aws.String("i-9"), ProductArn: aws.String(svc.ProductARN())}},
		Workflow:           &types.WorkflowUpdate{Status: types.WorkflowStatusResolved},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.ProcessedFindings) != 1 || len(up.UnprocessedFindings) != 1 || aws.ToString(up.UnprocessedFindings[0].FindingIdentifier.Id) != "i-9" {
		t.Fatalf("batch update: %+v", up)
	}
	if st := nested(svc.Finding("i-1"), "Workflow", "Status"); st != "RESOLVED" {
		t.Fatalf("workflow after BatchUpdateFindings = %q", st)
	}
	// Reactivating resets RESOLVED to NEW.
	f.RecordState = types.RecordStateActive
	if _, err := c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{f}}); err != nil {
		t.Fatal(err)
	}
	if st := nested(svc.Finding("i-1"), "Workflow", "Status"); st != "NEW" {
		t.Fatalf("workflow after reactivation = %q", st)
	}
	// Filters: archived none now, active both.
	act, err := c.GetFindings(ctx, &sh.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{RecordState: []types.StringFilter{{Value: aws.String("ACTIVE"), Comparison: types.StringFilterComparisonEquals}}}})
	if err != nil || len(act.Findings) != 2 {
		t.Fatalf("active findings: %v %v", act, err)
	}
}

func TestImportRejectsBadFindings(t *testing.T) {
	ctx := context.Background()
	svc := New(Options{Reject: func(id string) string {
		if id == "throttled" {
			return "ThrottlingException"
		}
		return ""
	}})
	c := simClient(t, svc)
	mk := func(id string, edit func(*types.AwsSecurityFinding)) types.AwsSecurityFinding {
		f := finding(svc, id)
		edit(&f)
		return f
	}
	long := make([]byte, MaxTitleLength+1)
	for i := range long {
		long[i] = 'x'
	}
	cases := map[string]types.AwsSecurityFinding{
		"bad-account": mk("bad-account", func(f *types.AwsSecurityFinding) { f.AwsAccountId = aws.String("999999999999") }),
		"bad-product": mk("bad-product", func(f *types.AwsSecurityFinding) {
			f.ProductArn = aws.String("arn:aws:securityhub:us-east-1::product/x/y")
		}),
		"long-title":    mk("long-title", func(f *types.AwsSecurityFinding) { f.Title = aws.String(string(long)) }),
		"bad-schema":    mk("bad-schema", func(f *types.AwsSecurityFinding) { f.SchemaVersion = aws.String("2020-01-01") }),
		"no-severity":   mk("no-severity", func(f *types.AwsSecurityFinding) { f.Severity = nil }),
		"bad-timestamp": mk("bad-timestamp", func(f *types.AwsSecurityFinding) { f.UpdatedAt = aws.String("yesterday") }),
		"throttled":     finding(svc, "throttled"),
	}
	var in []types.AwsSecurityFinding
	for _, f := range cases {
		in = append(in, f)
	}
	in = append(in, finding(svc, "good"))
	out, err := c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: in})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.SuccessCount) != 1 || int(aws.ToInt32(out.FailedCount)) != len(cases) {
		t.Fatalf("success %d failed %d: %+v", aws.ToInt32(out.SuccessCount), aws.ToInt32(out.FailedCount), out.FailedFindings)
	}
	for _, ff := range out.FailedFindings {
		if _, ok := cases[aws.ToString(ff.Id)]; !ok || aws.ToString(ff.ErrorCode) == "" {
			t.Errorf("unexpected failed finding %+v", ff)
		}
	}
	// Batch size limits are request errors.
	var many []types.AwsSecurityFinding
	for i := 0; i <= MaxFindingsPerBatch; i++ {
		many = append(many, finding(svc, fmt.Sprintf("f-%d", i)))
	}
	for _, batch := range [][]types.AwsSecurityFinding{many, {}} {
		_, err = c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: batch})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "InvalidInputException" {
			t.Errorf("batch of %d: err = %v, want InvalidInputException", len(batch), err)
		}
	}
}

func TestDisabledHub(t *testing.T) {
	ctx := context.Background()
	svc := New(Options{Disabled: true})
	c := simClient(t, svc)
	out, err := c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{finding(svc, "i-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedCount) != 1 || aws.ToString(out.FailedFindings[0].ErrorCode) != "InvalidAccess" {
		t.Fatalf("disabled hub import: %+v", out.FailedFindings)
	}
	_, err = c.GetFindings(ctx, &sh.GetFindingsInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidAccessException" {
		t.Fatalf("GetFindings on a disabled hub: %v", err)
	}
}

func TestGetFindingsPages(t *testing.T) {
	ctx := context.Background()
	svc := New(Options{})
	c := simClient(t, svc)
	var in []types.AwsSecurityFinding
	for i := range 25 {
		in = append(in, finding(svc, fmt.Sprintf("i-%02d", i)))
	}
	if _, err := c.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: in}); err != nil {
		t.Fatal(err)
	}
	p := sh.NewGetFindingsPaginator(c, &sh.GetFindingsInput{MaxResults: aws.Int32(10)})
	n, pages := 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Findings)
		pages++
	}
	if n != 25 || pages != 3 {
		t.Fatalf("%d findings in %d pages, want 25 in 3", n, pages)
	}
}
