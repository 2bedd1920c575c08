package alerting

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"golang.org/x/time/rate"

	"github.com/driftd/driftd/drift"
)

// SecurityHubAPI is the part of the Security Hub client the notifier uses
// (*securityhub.Client satisfies it).
type SecurityHubAPI interface {
	BatchImportFindings(ctx context.Context, params *securityhub.BatchImportFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
	BatchUpdateFindings(ctx context.Context, params *securityhub.BatchUpdateFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
}

// Security Hub limits
// (https://docs.aws.amazon.com/securityhub/latest/partnerguide/guidelines-batchimportfindings.html):
// ≤ 100 findings per BatchImportFindings call, 10 requests per second per
// account and Region with a burst of 30. BatchUpdateFindings takes ≤ 100
// finding identifiers per call. ASFF bounds Title (256 characters),
// Description (1024) and each ProductFields value (2048).
const (
	SecurityHubMaxFindings   = 100
	SecurityHubRate          = 10
	SecurityHubBurst         = 30
	SecurityHubSchemaVersion = "2018-10-08"
	SecurityHubGeneratorID   = "driftd/ami-baseline-drift"
	SecurityHubFindingType   = "Software and Configuration Checks/AWS Security Best Practices/AMI Baseline Drift"
	// SecurityHubImportAttempts bounds the imports of the findings Security
	// Hub failed with a retryable code (FailedFindings) within one delivery;
	// what still fails is retried by the sink's delivery policy.
	SecurityHubImportAttempts = 3
	maxTitle                  = 256
	maxDescription            = 1024
	maxProductField           = 2048
)

// SecurityHubOptions configure a Security Hub sink.
type SecurityHubOptions struct {
	Name      string
	AccountID string
	Region    string
	// ProductARN: "" = the account's default product.
	ProductARN string
	// Limiter paces the calls; nil = the process-wide limiter of the
	// account and Region (10 per second, burst 30), shared by every sink
	// and configuration generation.
	Limiter *rate.Limiter
	// Backoff paces the retries of failed findings within one delivery
	// (zero: 500ms doubling to 5s).
	Backoff Backoff
	Metrics *NotifyMetrics
}

// SecurityHubSink imports one finding per drifted instance into AWS
// Security Hub (BatchImportFindings, ASFF) on the drift lifecycle events:
// drift.detected and drift.changed create or update it (RecordState
// ACTIVE, Compliance FAILED; a repeat_interval re-announcement refreshes
// LastObservedAt), drift.resolved — the instance healed, was
// replaced or is gone — archives it (RecordState ARCHIVED, Compliance
// PASSED) and then sets its workflow to RESOLVED (BatchUpdateFindings: an
// import may not change the workflow of an existing finding). The finding
// Id is stable per instance, so every import updates the same finding.
//
// Each finding is accepted at most once per event: accepted findings are
// remembered per batch and never resent by a retry.
type SecurityHubSink struct {
	o       SecurityHubOptions
	api     SecurityHubAPI
	limiter *rate.Limiter
	progress
}

var (
	limitersMu sync.Mutex
	limiters   = map[string]*rate.Limiter{}
)

// SharedSecurityHubLimiter is the process-wide limiter of an account and
// Region: Security Hub's quota is per account and Region, whichever sink
// or configuration generation makes the call.
func SharedSecurityHubLimiter(account, region string) *rate.Limiter {
	limitersMu.Lock()
	defer limitersMu.Unlock()
	k := account + "/" + region
	if l := limiters[k]; l != nil {
		return l
	}
	l := rate.NewLimiter(SecurityHubRate, SecurityHubBurst)
	limiters[k] = l
	return l
}

// NewSecurityHubSink builds a Security Hub sink.
func NewSecurityHubSink(api SecurityHubAPI, o SecurityHubOptions) *SecurityHubSink {
	if o.ProductARN == "" {
		o.ProductARN = DefaultProductARN(o.Region, o.AccountID)
	}
	if o.Backoff.Initial == 0 && o.Backoff.Max == 0 {
		o.Backoff = Backoff{Initial: 500 * time.Millisecond, Max: 5 * time.Second}
	}
	if o.Metrics == nil {
		o.Metrics = NewNotifyMetrics(nil)
	}
	l := o.Limiter
	if l == nil {
		l = SharedSecurityHubLimiter(o.AccountID, o.Region)
	}
	for _, r := range []string{shImported, shFailed} {
		o.Metrics.SecurityHubFindings.WithLabelValues(o.Name, r)
	}
	return &SecurityHubSink{o: o, api: api, limiter: l}
}

// Metric result labels of driftd_securityhub_findings_total.
const (
	shImported = "imported"
	shFailed   = "failed"
)

func (s *SecurityHubSink) Name() string { return s.o.Name }
func (s *SecurityHubSink) Type() string { return "securityhub" }

// Partition returns the AWS partition of a Region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// DefaultProductARN is the product a customer account imports its own
// findings to.
func DefaultProductARN(region, account string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", Partition(region), region, account, account)
}

// FindingID is the stable Security Hub finding Id of an instance.
func (s *SecurityHubSink) FindingID(instanceID string) string {
	return "driftd/" + s.o.Region + "/" + s.o.AccountID + "/" + instanceID
}

// instanceEvents returns the drift lifecycle events of the batch, one per
// instance (the last one when a batch holds several).
func instanceEvents(b *Batch) []Event {
	idx := map[string]int{}
	var out []Event
	for _, ev := range b.Events() {
		switch ev.Type {
		case EventDriftDetected, EventDriftChanged, EventDriftResolved:
		default:
			continue
		}
		if ev.InstanceID == "" {
			continue
		}
		if i, ok := idx[ev.InstanceID]; ok {
			out[i] = ev
			continue
		}
		idx[ev.InstanceID] = len(out)
		out = append(out, ev)
	}
	return out
}

// severityLabel maps a drift severity to an ASFF label (driftd has no
// MEDIUM).
func severityLabel(s drift.Severity) shtypes.SeverityLabel {
	switch s {
	case drift.SeverityCritical:
		return shtypes.SeverityLabelCritical
	case drift.SeverityHigh:
		return shtypes.SeverityLabelHigh
	case drift.SeverityLow:
		return shtypes.SeverityLabelLow
	}
	return shtypes.SeverityLabelInformational
}

func asffTime(t time.Time) *string { return aws.String(t.UTC().Format(time.RFC3339Nano)) }

// Finding renders the ASFF finding of one lifecycle event.
func (s *SecurityHubSink) Finding(ev Event) shtypes.AwsSecurityFinding {
	part := Partition(s.o.Region)
	resolved := ev.Type == EventDriftResolved
	since := ev.Since
	if since.IsZero() || since.After(ev.Time) {
		since = ev.Time
	}
	sev := severityLabel(ev.Severity)
	title := fmt.Sprintf("EC2 instance %s drifted from the baseline of %s", ev.InstanceID, ev.AMI)
	record, compliance := shtypes.RecordStateActive, shtypes.ComplianceStatusFailed
	if resolved {
		title = fmt.Sprintf("EC2 instance %s: drift resolved (%s)", ev.InstanceID, ev.Reason)
		record, compliance, sev = shtypes.RecordStateArchived, shtypes.ComplianceStatusPassed, shtypes.SeverityLabelInformational
	}
	var desc strings.Builder
	desc.WriteString(ev.Summary)
	if ev.Summary == "" {
		desc.WriteString(title) // Description is required and may not be empty
	}
	var top []string
	for _, f := range ev.Findings {
		top = append(top, f.String())
	}
	if len(top) > 0 {
		desc.WriteString(". Top findings: " + strings.Join(top, "; "))
	}
	fields := map[string]string{
		"driftd/Event":    string(ev.Type),
		"driftd/AMI":      ev.AMI,
		"driftd/Severity": ev.Severity.String(),
		"driftd/Summary":  clip(ev.Summary, maxProductField),
	}
	if ev.ASG != "" {
		fields["driftd/ASG"] = ev.ASG
	}
	if !resolved {
		fields["driftd/FindingsTotal"] = strconv.Itoa(max(ev.FindingsTotal, len(ev.Findings)))
		if len(top) > 0 {
			fields["driftd/TopFindings"] = clip(strings.Join(top, "\n"), maxProductField)
		}
	} else if ev.Reason != "" {
		fields["driftd/Resolution"] = clip(ev.Reason, maxProductField)
	}
	res := shtypes.Resource{
		Type:      aws.String("AwsEc2Instance"),
		Id:        aws.String(fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", part, s.o.Region, s.o.AccountID, ev.InstanceID)),
		Partition: shtypes.Partition(part),
		Region:    aws.String(s.o.Region),
	}
	if ev.AMI != "" {
		res.Details = &shtypes.ResourceDetails{AwsEc2Instance: &shtypes.AwsEc2InstanceDetails{ImageId: aws.String(ev.AMI)}}
	}
	if ev.ASG != "" {
		res.Tags = map[string]string{"aws:autoscaling:groupName": ev.ASG}
	}
	types := []string{SecurityHubFindingType}
	return shtypes.AwsSecurityFinding{
		SchemaVersion:   aws.String(SecurityHubSchemaVersion),
		Id:              aws.String(s.FindingID(ev.InstanceID)),
		ProductArn:      aws.String(s.o.ProductARN),
		GeneratorId:     aws.String(SecurityHubGeneratorID),
		AwsAccountId:    aws.String(s.o.AccountID),
		Types:           types,
		CreatedAt:       asffTime(since),
		UpdatedAt:       asffTime(ev.Time),
		FirstObservedAt: asffTime(since),
		LastObservedAt:  asffTime(ev.Time),
		Severity:        &shtypes.Severity{Label: sev, Original: aws.String(ev.Severity.String())},
		FindingProviderFields: &shtypes.FindingProviderFields{
			Severity: &shtypes.FindingProviderSeverity{Label: sev, Original: aws.String(ev.Severity.String())},
			Types:    types,
		},
		Title:         aws.String(clip(title, maxTitle)),
		Description:   aws.String(clip(desc.String(), maxDescription)),
		ProductFields: fields,
		Resources:     []shtypes.Resource{res},
		Compliance:    &shtypes.Compliance{Status: compliance},
		RecordState:   record,
		// Taken for a new finding only; an existing finding keeps its
		// workflow (resolution goes through BatchUpdateFindings).
		Workflow: &shtypes.Workflow{Status: shtypes.WorkflowStatusNew},
	}
}

// retryableFindingCode reports whether Security Hub may accept a failed
// finding later (throttling, an internal error); InvalidInput and
// InvalidAccess (hub or integration not enabled) need an operator.
func retryableFindingCode(code string) (Reason, bool) {
	switch code {
	case "ThrottlingException", "LimitExceededException", "TooManyRequestsException", "Throttling":
		return ReasonThrottled, true
	case "InternalException", "InternalError", "InternalFailure", "ServiceUnavailable":
		return ReasonHTTP5xx, true
	}
	return ReasonHTTP4xx, false
}

func importKey(id string) string  { return "import\x00" + id }
func resolveKey(id string) string { return "resolve\x00" + id }

// Notify imports the findings of the batch's lifecycle events not yet
// accepted, in calls of ≤ 100 findings paced by the limiter; findings
// Security Hub fails with a retryable code are imported again, at most
// SecurityHubImportAttempts times in all; then the resolved ones' workflow
// is set to RESOLVED.
func (s *SecurityHubSink) Notify(ctx context.Context, b *Batch) (bool, error) {
	evs := instanceEvents(b)
	if len(evs) == 0 {
		return false, nil
	}
	var failed []*SinkError
	var pending []shtypes.AwsSecurityFinding
	for _, ev := range evs {
		if !s.isDone(b.ID, importKey(s.FindingID(ev.InstanceID))) {
			pending = append(pending, s.Finding(ev))
		}
	}
	for attempt := 0; len(pending) > 0 && attempt < SecurityHubImportAttempts; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, s.o.Backoff.Delay(attempt-1)); err != nil {
				break
			}
		}
		again, permanent, transient := s.importAll(ctx, b.ID, pending)
		pending = again
		failed = append(failed, permanent...)
		if len(again) > 0 && (attempt == SecurityHubImportAttempts-1 || ctx.Err() != nil) {
			failed = append(failed, transient...) // still failing: the delivery policy retries
		}
		if ctx.Err() != nil {
			break
		}
	}
	failed = append(failed, s.resolveWorkflows(ctx, b.ID, evs)...)
	return partialResult("securityhub", len(evs), failed)
}

// importAll imports findings in chunks; it returns the findings to try
// again (retryable failures, failed calls), the failures of findings that
// will not be tried again and the others.
func (s *SecurityHubSink) importAll(ctx context.Context, batchID string, fs []shtypes.AwsSecurityFinding) (again []shtypes.AwsSecurityFinding, permanent, failed []*SinkError) {
	red := newRedactor()
	for start := 0; start < len(fs); start += SecurityHubMaxFindings {
		chunk := fs[start:min(start+SecurityHubMaxFindings, len(fs))]
		if err := s.limiter.Wait(ctx); err != nil {
			again = append(again, fs[start:]...)
			failed = append(failed, red.wrap("securityhub BatchImportFindings", err))
			break
		}
		out, err := s.api.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: chunk})
		if err != nil {
			se := red.wrap("securityhub BatchImportFindings", err)
			if !se.Reason.Retryable() {
				// A rejected request (access denied, invalid input) is not
				// worth repeating now; the delivery policy decides.
				return nil, append(permanent, se), failed
			}
			failed = append(failed, se)
			again = append(again, chunk...)
			if ctx.Err() != nil {
				again = append(again, fs[start+len(chunk):]...)
				break
			}
			continue
		}
		bad := map[string]shtypes.ImportFindingsError{}
		for _, f := range out.FailedFindings {
			bad[aws.ToString(f.Id)] = f
		}
		for _, f := range chunk {
			id := aws.ToString(f.Id)
			fe, isBad := bad[id]
			if !isBad {
				s.markDone(batchID, importKey(id))
				s.o.Metrics.SecurityHubFindings.WithLabelValues(s.o.Name, shImported).Inc()
				continue
			}
			s.o.Metrics.SecurityHubFindings.WithLabelValues(s.o.Name, shFailed).Inc()
			code := aws.ToString(fe.ErrorCode)
			reason, retry := retryableFindingCode(code)
			se := &SinkError{Reason: reason, msg: fmt.Sprintf("securityhub finding %s rejected: %s: %s", id, code, aws.ToString(fe.ErrorMessage))}
			if retry {
				again = append(again, f)
				failed = append(failed, se)
			} else {
				permanent = append(permanent, se)
				// It will never be accepted as it is: stop resending it.
				s.markDone(batchID, importKey(id))
				s.markDone(batchID, resolveKey(id))
			}
		}
	}
	return again, permanent, failed
}

// resolveWorkflows sets the workflow of the archived findings of resolved
// events to RESOLVED, once their import was accepted.
func (s *SecurityHubSink) resolveWorkflows(ctx context.Context, batchID string, evs []Event) []*SinkError {
	var ids []shtypes.AwsSecurityFindingIdentifier
	for _, ev := range evs {
		id := s.FindingID(ev.InstanceID)
		if ev.Type != EventDriftResolved || !s.isDone(batchID, importKey(id)) || s.isDone(batchID, resolveKey(id)) {
			continue
		}
		ids = append(ids, shtypes.AwsSecurityFindingIdentifier{Id: aws.String(id), ProductArn: aws.String(s.o.ProductARN)})
	}
	var failed []*SinkError
	red := newRedactor()
	for start := 0; start < len(ids); start += SecurityHubMaxFindings {
		chunk := ids[start:min(start+SecurityHubMaxFindings, len(ids))]
		if err := s.limiter.Wait(ctx); err != nil {
			return append(failed, red.wrap("securityhub BatchUpdateFindings", err))
		}
		out, err := s.api.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
			FindingIdentifiers: chunk,
			Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusResolved},
			Note:               &shtypes.NoteUpdate{Text: aws.String("driftd: the instance is back in sync with its baseline, exempt, or gone"), UpdatedBy: aws.String("driftd")},
		})
		if err != nil {
			failed = append(failed, red.wrap("securityhub BatchUpdateFindings", err))
			if ctx.Err() != nil {
				return failed
			}
			continue
		}
		for _, p := range out.ProcessedFindings {
			s.markDone(batchID, resolveKey(aws.ToString(p.Id)))
		}
		for _, u := range out.UnprocessedFindings {
			code := aws.ToString(u.ErrorCode)
			reason, retry := retryableFindingCode(code)
			if !retry {
				s.markDone(batchID, resolveKey(aws.ToString(u.FindingIdentifier.Id)))
			}
			failed = append(failed, &SinkError{Reason: reason, msg: fmt.Sprintf("securityhub workflow of %s not resolved: %s: %s", aws.ToString(u.FindingIdentifier.Id), code, aws.ToString(u.ErrorMessage))})
		}
	}
	return failed
}
