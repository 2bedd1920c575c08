// Package securityhub simulates the AWS Security Hub operations driftd uses
// (restJson1): BatchImportFindings (POST /findings/import),
// BatchUpdateFindings (PATCH /findings/batchupdate) and, for tests and
// conformance, GetFindings (POST /findings), per the Security Hub API
// reference (https://docs.aws.amazon.com/securityhub/1.0/APIReference/) and
// the finding providers' guide
// (https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html).
//
// Findings are kept as the JSON objects the caller sent (the AWS Security
// Finding Format), so GetFindings returns exactly the shape imported. What
// the service decides is modelled where the documentation says it:
//   - a batch holds 1..100 findings (InvalidInputException otherwise); each
//     finding is checked for the ASFF required attributes, the lengths of
//     Id, Title and Description, its 240 KB size, its AwsAccountId (the
//     caller's) and its ProductArn (the account's default product); a bad
//     finding is listed in FailedFindings and the others are imported;
//   - with the hub not enabled every finding fails with InvalidAccess;
//   - an import of an existing Id updates it, except Note,
//     UserDefinedFields, VerificationState and Workflow, which only
//     BatchUpdateFindings changes after creation; a new finding starts with
//     Workflow.Status NEW and RecordState ACTIVE unless given;
//   - RecordState ARCHIVED → ACTIVE resets a NOTIFIED or RESOLVED workflow
//     to NEW (https://docs.aws.amazon.com/securityhub/latest/userguide/findings-workflow-status.html).
package securityhub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// Limits of BatchImportFindings
// (https://docs.aws.amazon.com/securityhub/latest/partnerguide/guidelines-batchimportfindings.html
// and the ASFF attribute constraints).
const (
	MaxFindingsPerBatch = 100
	MaxFindingBytes     = 240 * 1024
	MaxBatchBytes       = 6 * 1024 * 1024
	MaxIDLength         = 512
	MaxTitleLength      = 256
	MaxDescription      = 1024
	MaxUpdatePerCall    = 100
	MaxGetResults       = 100
)

// Options configures the service.
type Options struct {
	Region    string // us-east-1
	AccountID string // 123456789012
	// Disabled simulates an account without Security Hub enabled.
	Disabled bool
	// Reject, when set, is asked for each finding of an import that passed
	// validation; a non-empty error code fails it (FailedFindings) with that
	// code, as Security Hub does for findings it cannot take at the moment.
	Reject func(id string) (code string)
	// Clock is used for the time of BatchUpdateFindings notes (time.Now).
	Clock func() time.Time
}

// Service is the simulated Security Hub. It implements wire.Handler.
type Service struct {
	opts Options

	mu       sync.Mutex
	findings map[string]map[string]any // by Id
	order    []string                  // Ids in creation order (GetFindings order)
	calls    map[string]int
	imports  map[string]int // accepted imports per Id
}

// New returns an empty service.
func New(opts Options) *Service {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Service{opts: opts, findings: map[string]map[string]any{}, calls: map[string]int{}, imports: map[string]int{}}
}

// ProductARN is the account's default product ARN (findings a customer
// account imports itself).
func (s *Service) ProductARN() string {
	return fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", s.opts.Region, s.opts.AccountID, s.opts.AccountID)
}

// Route returns the operation name of a Security Hub REST request ("" when
// the method and path are not one of the modelled operations).
func Route(method, path string) string { return wire.SecurityHubOp(method, path) }

// Finding returns a copy of a stored finding (nil when unknown).
func (s *Service) Finding(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.findings[id]
	if !ok {
		return nil
	}
	return clone(f)
}

// Imports returns how many imports of the finding Id were accepted.
func (s *Service) Imports(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.imports[id]
}

// ServeHTTP serves the service alone (tests, a dedicated endpoint): the
// operation is found from the method and path (Route).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBatchBytes+1))
	req := &wire.Request{Protocol: wire.RESTJSON, Service: "securityhub", Op: Route(r.Method, r.URL.Path), Body: body, HTTP: r, ID: wire.NewRequestID()}
	if err != nil {
		wire.WriteError(w, req, invalidInput("could not read the request body"))
		return
	}
	s.ServeAWS(w, req)
}

// Calls returns how many requests of an operation were answered.
func (s *Service) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// ServeAWS implements wire.Handler. req.Op is the operation; when empty it
// is found from the method and path (Route).
func (s *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	req.Protocol = wire.RESTJSON
	if req.Op == "" && req.HTTP != nil {
		req.Op = Route(req.HTTP.Method, req.HTTP.URL.Path)
	}
	s.mu.Lock()
	s.calls[req.Op]++
	s.mu.Unlock()
	var (
		out any
		err *wire.Error
	)
	switch req.Op {
	case "BatchImportFindings":
		out, err = s.batchImport(req.Body)
	case "BatchUpdateFindings":
		out, err = s.batchUpdate(req.Body)
	case "GetFindings":
		out, err = s.getFindings(req.Body)
	default:
		err = wire.Errorf(404, "UnknownOperationException", "awssim does not model this Security Hub operation")
	}
	if err != nil {
		wire.WriteError(w, req, err)
		return
	}
	wire.WriteJSON(w, req, out)
}

func invalidInput(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "InvalidInputException", format, args...)
}

func (s *Service) notEnabled() *wire.Error {
	return wire.Errorf(401, "InvalidAccessException", "Account %s is not subscribed to AWS Security Hub", s.opts.AccountID)
}

type failedFinding struct {
	ID           string `json:"Id"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

type importOut struct {
	FailedCount    int             `json:"FailedCount"`
	SuccessCount   int             `json:"SuccessCount"`
	FailedFindings []failedFinding `json:"FailedFindings"`
}

func (s *Service) batchImport(body []byte) (any, *wire.Error) {
	if len(body) > MaxBatchBytes {
		return nil, invalidInput("the request is larger than %d bytes", MaxBatchBytes)
	}
	var in struct {
		Findings []json.RawMessage `json:"Findings"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, invalidInput("request body is not a valid BatchImportFindings request")
	}
	if len(in.Findings) == 0 || len(in.Findings) > MaxFindingsPerBatch {
		return nil, invalidInput("Findings must hold between 1 and %d findings, got %d", MaxFindingsPerBatch, len(in.Findings))
	}
	out := importOut{FailedFindings: []failedFinding{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, raw := range in.Findings {
		var f map[string]any
		if err := json.Unmarshal(raw, &f); err != nil {
			out.FailedFindings = append(out.FailedFindings, failedFinding{ErrorCode: "InvalidInput", ErrorMessage: "finding is not a JSON object"})
			continue
		}
		id, _ := f["Id"].(string)
		code, msg := s.check(f, len(raw))
		if code == "" && s.opts.Disabled {
			code, msg = "InvalidAccess", fmt.Sprintf("Account %s is not subscribed to AWS Security Hub", s.opts.AccountID)
		}
		if code == "" && s.opts.Reject != nil {
			if c := s.opts.Reject(id); c != "" {
				code, msg = c, "finding rejected"
			}
		}
		if code != "" {
			out.FailedFindings = append(out.FailedFindings, failedFinding{ID: id, ErrorCode: code, ErrorMessage: msg})
			continue
		}
		s.store(id, f)
		s.imports[id]++
		out.SuccessCount++
	}
	out.FailedCount = len(out.FailedFindings)
	return out, nil
}

// required are the ASFF attributes BatchImportFindings requires
// (Severity and Types may come in FindingProviderFields instead).
var required = []string{"AwsAccountId", "CreatedAt", "Description", "GeneratorId", "Id", "ProductArn", "Resources", "SchemaVersion", "Title", "UpdatedAt"}

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	severity  = map[string]bool{"INFORMATIONAL": true, "LOW": true, "MEDIUM": true, "HIGH": true, "CRITICAL": true}
	records   = map[string]bool{"ACTIVE": true, "ARCHIVED": true}
	workflows = map[string]bool{"NEW": true, "NOTIFIED": true, "RESOLVED": true, "SUPPRESSED": true}
	compl     = map[string]bool{"PASSED": true, "WARNING": true, "FAILED": true, "NOT_AVAILABLE": true}
)

// check validates one finding; it returns an error code and message.
func (s *Service) check(f map[string]any, size int) (string, string) {
	bad := func(format string, args ...any) (string, string) { return "InvalidInput", fmt.Sprintf(format, args...) }
	if size > MaxFindingBytes {
		return bad("finding is larger than %d bytes", MaxFindingBytes)
	}
	for _, k := range required {
		v, ok := f[k]
		if !ok || v == nil || v == "" {
			return bad("Finding does not adhere to Amazon Finding Format. missing required key %s", k)
		}
	}
	str := func(k string) string { v, _ := f[k].(string); return v }
	if f["SchemaVersion"] != "2018-10-08" {
		return bad("Invalid SchemaVersion %v", f["SchemaVersion"])
	}
	if n := len(str("Id")); n > MaxIDLength {
		return bad("Id is longer than %d characters", MaxIDLength)
	}
	if n := len([]rune(str("Title"))); n > MaxTitleLength {
		return bad("Title is longer than %d characters", MaxTitleLength)
	}
	if n := len([]rune(str("Description"))); n > MaxDescription {
		return bad("Description is longer than %d characters", MaxDescription)
	}
	if acct := str("AwsAccountId"); !accountRE.MatchString(acct) || acct != s.opts.AccountID {
		return "InvalidAccess", fmt.Sprintf("AwsAccountId %q is not the calling account", acct)
	}
	if p := str("ProductArn"); p != s.ProductARN() {
		return "InvalidInput", fmt.Sprintf("ProductArn %q is not a product this account may import to", p)
	}
	for _, k := range []string{"CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"} {
		if v, ok := f[k]; ok {
			if _, err := time.Parse(time.RFC3339, fmt.Sprint(v)); err != nil {
				return bad("%s %v is not an ISO 8601 timestamp", k, v)
			}
		}
	}
	res, ok := f["Resources"].([]any)
	if !ok || len(res) == 0 || len(res) > 32 {
		return bad("Resources must hold between 1 and 32 resources")
	}
	for i, r := range res {
		m, _ := r.(map[string]any)
		if m["Type"] == nil || m["Id"] == nil || m["Type"] == "" || m["Id"] == "" {
			return bad("Resources[%d] needs Type and Id", i)
		}
	}
	fpf, _ := f["FindingProviderFields"].(map[string]any)
	if label := nested(f, "Severity", "Label"); label != "" || f["Severity"] != nil {
		if !severity[label] {
			return bad("Severity.Label %q is not one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL", label)
		}
	} else if !severity[nested(fpf, "Severity", "Label")] {
		return bad("Finding does not adhere to Amazon Finding Format. missing required key Severity")
	}
	types, _ := f["Types"].([]any)
	if len(types) == 0 {
		types, _ = fpf["Types"].([]any)
	}
	if len(types) == 0 || len(types) > 50 {
		return bad("Types must hold between 1 and 50 entries")
	}
	for _, t := range types {
		if parts := strings.Split(fmt.Sprint(t), "/"); len(parts) > 3 || parts[0] == "" {
			return bad("Type %q is not namespace/category/classifier", t)
		}
	}
	if v, ok := f["RecordState"]; ok && !records[fmt.Sprint(v)] {
		return bad("RecordState %v is not ACTIVE or ARCHIVED", v)
	}
	if v := nested(f, "Workflow", "Status"); v != "" && !workflows[v] {
		return bad("Workflow.Status %q is not valid", v)
	}
	if v := nested(f, "Compliance", "Status"); v != "" && !compl[v] {
		return bad("Compliance.Status %q is not valid", v)
	}
	if pf, ok := f["ProductFields"].(map[string]any); ok {
		if len(pf) > 50 {
			return bad("ProductFields holds more than 50 entries")
		}
		for k, v := range pf {
			if len(k) > 128 || len(fmt.Sprint(v)) > 2048 {
				return bad("ProductFields entry %q is too long", k)
			}
		}
	}
	return "", ""
}

func nested(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

// customerFields are the attributes an import does not change after
// creation (BatchUpdateFindings does).
var customerFields = []string{"Note", "UserDefinedFields", "VerificationState", "Workflow"}

func (s *Service) store(id string, f map[string]any) {
	old, exists := s.findings[id]
	if !exists {
		if f["RecordState"] == nil {
			f["RecordState"] = "ACTIVE"
		}
		if nested(f, "Workflow", "Status") == "" {
			f["Workflow"] = map[string]any{"Status": "NEW"}
		}
		s.findings[id] = f
		s.order = append(s.order, id)
		return
	}
	wasArchived := old["RecordState"] == "ARCHIVED"
	for _, k := range customerFields {
		if v, ok := old[k]; ok {
			f[k] = v
		} else {
			delete(f, k)
		}
	}
	if f["RecordState"] == nil {
		f["RecordState"] = old["RecordState"]
	}
	if wasArchived && f["RecordState"] == "ACTIVE" {
		if st := nested(f, "Workflow", "Status"); st == "NOTIFIED" || st == "RESOLVED" {
			f["Workflow"] = map[string]any{"Status": "NEW"}
		}
	}
	s.findings[id] = f
}

type identifier struct {
	ID         string `json:"Id"`
	ProductArn string `json:"ProductArn"`
}

type unprocessed struct {
	FindingIdentifier identifier `json:"FindingIdentifier"`
	ErrorCode         string     `json:"ErrorCode"`
	ErrorMessage      string     `json:"ErrorMessage"`
}

func (s *Service) batchUpdate(body []byte) (any, *wire.Error) {
	var in struct {
		FindingIdentifiers []identifier `json:"FindingIdentifiers"`
		Note               *struct {
			Text      string `json:"Text"`
			UpdatedBy string `json:"UpdatedBy"`
		} `json:"Note"`
		Workflow *struct {
			Status string `json:"Status"`
		} `json:"Workflow"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, invalidInput("request body is not a valid BatchUpdateFindings request")
	}
	if s.opts.Disabled {
		return nil, s.notEnabled()
	}
	if len(in.FindingIdentifiers) == 0 || len(in.FindingIdentifiers) > MaxUpdatePerCall {
		return nil, invalidInput("FindingIdentifiers must hold between 1 and %d identifiers", MaxUpdatePerCall)
	}
	if in.Note != nil && (in.Note.Text == "" || in.Note.UpdatedBy == "" || len(in.Note.Text) > 512 || len(in.Note.UpdatedBy) > 512) {
		return nil, invalidInput("Note needs Text and UpdatedBy of 1..512 characters")
	}
	if in.Workflow != nil && !workflows[in.Workflow.Status] {
		return nil, invalidInput("Workflow.Status %q is not valid", in.Workflow.Status)
	}
	out := struct {
		ProcessedFindings   []identifier  `json:"ProcessedFindings"`
		UnprocessedFindings []unprocessed `json:"UnprocessedFindings"`
	}{ProcessedFindings: []identifier{}, UnprocessedFindings: []unprocessed{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fi := range in.FindingIdentifiers {
		f, ok := s.findings[fi.ID]
		if !ok || f["ProductArn"] != fi.ProductArn {
			out.UnprocessedFindings = append(out.UnprocessedFindings, unprocessed{FindingIdentifier: fi, ErrorCode: "FindingNotFound", ErrorMessage: "Finding Not Found"})
			continue
		}
		if in.Workflow != nil {
			f["Workflow"] = map[string]any{"Status": in.Workflow.Status}
		}
		if in.Note != nil {
			f["Note"] = map[string]any{"Text": in.Note.Text, "UpdatedBy": in.Note.UpdatedBy, "UpdatedAt": s.opts.Clock().UTC().Format(time.RFC3339)}
		}
		out.ProcessedFindings = append(out.ProcessedFindings, fi)
	}
	return out, nil
}

type stringFilter struct {
	Value      string `json:"Value"`
	Comparison string `json:"Comparison"`
}

func (s *Service) getFindings(body []byte) (any, *wire.Error) {
	var in struct {
		Filters    map[string][]stringFilter `json:"Filters"`
		MaxResults *int                      `json:"MaxResults"`
		NextToken  string                    `json:"NextToken"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, invalidInput("request body is not a valid GetFindings request (only string filters are modelled)")
		}
	}
	if s.opts.Disabled {
		return nil, s.notEnabled()
	}
	limit := MaxGetResults
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > MaxGetResults {
			return nil, invalidInput("MaxResults must be a number between 1 and %d", MaxGetResults)
		}
		limit = *in.MaxResults
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, invalidInput("NextToken %q is not valid", in.NextToken)
		}
		start = n
	}
	fields := make([]string, 0, len(in.Filters))
	for k := range in.Filters {
		if filterField(k) == nil {
			return nil, invalidInput("filter %s is not modelled by awssim", k)
		}
		fields = append(fields, k)
	}
	sort.Strings(fields)
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []map[string]any
	for _, id := range s.order {
		f := s.findings[id]
		if matches(f, in.Filters, fields) {
			match = append(match, f)
		}
	}
	out := struct {
		Findings  []map[string]any `json:"Findings"`
		NextToken string           `json:"NextToken,omitempty"`
	}{Findings: []map[string]any{}}
	if start < len(match) {
		end := min(start+limit, len(match))
		for _, f := range match[start:end] {
			out.Findings = append(out.Findings, clone(f))
		}
		if end < len(match) {
			out.NextToken = strconv.Itoa(end)
		}
	}
	return out, nil
}

// filterField returns the value getter of a modelled string filter.
func filterField(name string) func(map[string]any) string {
	switch name {
	case "Id", "ProductArn", "GeneratorId", "AwsAccountId", "RecordState", "Title":
		return func(f map[string]any) string { v, _ := f[name].(string); return v }
	case "WorkflowStatus":
		return func(f map[string]any) string { return nested(f, "Workflow", "Status") }
	case "ComplianceStatus":
		return func(f map[string]any) string { return nested(f, "Compliance", "Status") }
	case "SeverityLabel":
		return func(f map[string]any) string { return nested(f, "Severity", "Label") }
	case "ResourceId":
		return func(f map[string]any) string {
			res, _ := f["Resources"].([]any)
			if len(res) == 0 {
				return ""
			}
			m, _ := res[0].(map[string]any)
			v, _ := m["Id"].(string)
			return v
		}
	}
	return nil
}

// matches applies string filters: values of one field are ORed (EQUALS,
// PREFIX) or ANDed (NOT_EQUALS), fields are ANDed, as Security Hub does.
func matches(f map[string]any, filters map[string][]stringFilter, fields []string) bool {
	for _, k := range fields {
		v := filterField(k)(f)
		hit, positive := false, false
		for _, c := range filters[k] {
			switch c.Comparison {
			case "NOT_EQUALS":
				if v == c.Value {
					return false
				}
			case "PREFIX":
				positive = true
				hit = hit || strings.HasPrefix(v, c.Value)
			default: // EQUALS
				positive = true
				hit = hit || v == c.Value
			}
		}
		if positive && !hit {
			return false
		}
	}
	return true
}
