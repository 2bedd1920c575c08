// Package configservice simulates the AWS Config operation driftd uses:
// PutEvaluations (awsJson1_1, X-Amz-Target StarlingDoveService.PutEvaluations),
// per the AWS Config API reference
// (https://docs.aws.amazon.com/config/latest/APIReference/API_PutEvaluations.html
// and API_Evaluation.html).
//
// A result token identifies a custom rule and the invocation that asked for
// the evaluations; on AWS it comes with the Lambda event. The simulator
// issues tokens (IssueToken) and accepts only those, except in TestMode,
// where any non-empty token is accepted and nothing is recorded, as the
// reference documents. Where the reference is silent the harsher
// behaviour is modelled, following moto 5.2.1 (moto/config/models.py): an
// empty Evaluations list is an InvalidParameterValueException.
package configservice

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/driftd/driftd/awssim/wire"
)

// TargetPrefix is the X-Amz-Target prefix of AWS Config requests.
const TargetPrefix = "StarlingDoveService"

// Limits of PutEvaluations.
const (
	MaxEvaluations = 100
	MaxAnnotation  = 256
	MaxResourceID  = 768
	MaxTypeLength  = 256
)

// Evaluation is one recorded evaluation.
type Evaluation struct {
	ResourceType, ResourceID string
	ComplianceType           string
	Annotation               string
	OrderingTimestamp        time.Time
}

// Service is the simulated AWS Config. It implements wire.Handler.
type Service struct {
	mu     sync.Mutex
	tokens map[string]string                 // token → rule
	evals  map[string]map[string]*Evaluation // rule → "type/id" → latest
	calls  map[string]int
	seq    int
}

// New returns an empty service.
func New() *Service {
	return &Service{tokens: map[string]string{}, evals: map[string]map[string]*Evaluation{}, calls: map[string]int{}}
}

// IssueToken returns a result token for rule, as AWS Config hands one to
// the rule's Lambda function with each invocation.
func (s *Service) IssueToken(rule string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	tok := fmt.Sprintf("awssim-result-token-%d-%s", s.seq, rule)
	s.tokens[tok] = rule
	return tok
}

// Evaluations returns the latest evaluation of each resource for rule,
// sorted by resource id.
func (s *Service) Evaluations(rule string) []Evaluation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Evaluation, 0, len(s.evals[rule]))
	for _, e := range s.evals[rule] {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ResourceID < out[j].ResourceID })
	return out
}

// Calls returns how many requests of an operation were answered.
func (s *Service) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// ServeHTTP serves the service alone (tests, a dedicated endpoint).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req := &wire.Request{Protocol: wire.JSON11, Service: "config", Op: op, Body: body, HTTP: r, ID: wire.NewRequestID()}
	if prefix != TargetPrefix {
		req.Op = "-"
	}
	if err != nil {
		wire.WriteError(w, req, wire.Errorf(400, "SerializationException", "could not read the request body"))
		return
	}
	s.ServeAWS(w, req)
}

// ServeAWS implements wire.Handler.
func (s *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	req.Protocol = wire.JSON11
	s.mu.Lock()
	s.calls[req.Op]++
	s.mu.Unlock()
	switch req.Op {
	case "PutEvaluations":
		out, err := s.putEvaluations(req.Body)
		if err != nil {
			wire.WriteError(w, req, err)
			return
		}
		wire.WriteJSON(w, req, out)
	default:
		wire.WriteError(w, req, wire.Errorf(400, "UnknownOperationException", "awssim does not model AWS Config operation %s", req.Op))
	}
}

func invalidParameter(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "InvalidParameterValueException", format, args...)
}

func validation(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "ValidationException", format, args...)
}

type evaluationIn struct {
	ComplianceResourceType *string  `json:"ComplianceResourceType"`
	ComplianceResourceID   *string  `json:"ComplianceResourceId"`
	ComplianceType         *string  `json:"ComplianceType"`
	Annotation             *string  `json:"Annotation"`
	OrderingTimestamp      *float64 `json:"OrderingTimestamp"`
}

func (s *Service) putEvaluations(body []byte) (any, *wire.Error) {
	var in struct {
		Evaluations []evaluationIn `json:"Evaluations"`
		ResultToken *string        `json:"ResultToken"`
		TestMode    bool           `json:"TestMode"`
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, wire.Errorf(400, "SerializationException", "request body is not a valid PutEvaluations request")
	}
	if in.ResultToken == nil {
		return nil, validation("1 validation error detected: Value null at 'resultToken' failed to satisfy constraint: Member must not be null")
	}
	if len(in.Evaluations) > MaxEvaluations {
		return nil, validation("1 validation error detected: Value at 'evaluations' failed to satisfy constraint: Member must have length less than or equal to %d", MaxEvaluations)
	}
	if len(in.Evaluations) == 0 {
		return nil, invalidParameter("The Evaluations object in your request cannot be null.Add the required parameters and try again.")
	}
	recs := make([]Evaluation, 0, len(in.Evaluations))
	for i, e := range in.Evaluations {
		ev, err := checkEvaluation(i, e)
		if err != nil {
			return nil, err
		}
		recs = append(recs, ev)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rule, known := s.tokens[*in.ResultToken]
	if in.TestMode {
		if *in.ResultToken == "" {
			return nil, wire.Errorf(400, "InvalidResultTokenException", "The resultToken provided is invalid")
		}
		return map[string]any{"FailedEvaluations": []any{}}, nil
	}
	if !known {
		return nil, wire.Errorf(400, "InvalidResultTokenException", "The resultToken provided is invalid")
	}
	if s.evals[rule] == nil {
		s.evals[rule] = map[string]*Evaluation{}
	}
	for i := range recs {
		e := recs[i]
		key := e.ResourceType + "/" + e.ResourceID
		if old := s.evals[rule][key]; old != nil && e.OrderingTimestamp.Before(old.OrderingTimestamp) {
			continue // an older evaluation never replaces a newer one
		}
		s.evals[rule][key] = &e
	}
	return map[string]any{"FailedEvaluations": []any{}}, nil
}

var complianceTypes = map[string]bool{"COMPLIANT": true, "NON_COMPLIANT": true, "NOT_APPLICABLE": true}

func checkEvaluation(i int, e evaluationIn) (Evaluation, *wire.Error) {
	null := func(field string) *wire.Error {
		return validation("1 validation error detected: Value null at 'evaluations.%d.member.%s' failed to satisfy constraint: Member must not be null", i+1, field)
	}
	switch {
	case e.ComplianceResourceType == nil:
		return Evaluation{}, null("complianceResourceType")
	case e.ComplianceResourceID == nil:
		return Evaluation{}, null("complianceResourceId")
	case e.ComplianceType == nil:
		return Evaluation{}, null("complianceType")
	case e.OrderingTimestamp == nil:
		return Evaluation{}, null("orderingTimestamp")
	}
	if n := len(*e.ComplianceResourceType); n < 1 || n > MaxTypeLength {
		return Evaluation{}, validation("Value at 'evaluations.%d.member.complianceResourceType' failed to satisfy constraint: Member must have length between 1 and %d", i+1, MaxTypeLength)
	}
	if n := len(*e.ComplianceResourceID); n < 1 || n > MaxResourceID {
		return Evaluation{}, validation("Value at 'evaluations.%d.member.complianceResourceId' failed to satisfy constraint: Member must have length between 1 and %d", i+1, MaxResourceID)
	}
	if !complianceTypes[*e.ComplianceType] {
		// INSUFFICIENT_DATA is a compliance type of rules, not of evaluations.
		return Evaluation{}, invalidParameter("The ComplianceType %q is not valid for an evaluation: use COMPLIANT, NON_COMPLIANT or NOT_APPLICABLE", *e.ComplianceType)
	}
	ev := Evaluation{ResourceType: *e.ComplianceResourceType, ResourceID: *e.ComplianceResourceID, ComplianceType: *e.ComplianceType}
	if e.Annotation != nil {
		if n := utf8.RuneCountInString(*e.Annotation); n < 1 || n > MaxAnnotation {
			return Evaluation{}, validation("Value at 'evaluations.%d.member.annotation' failed to satisfy constraint: Member must have length between 1 and %d", i+1, MaxAnnotation)
		}
		ev.Annotation = *e.Annotation
	}
	ts := *e.OrderingTimestamp
	if math.IsNaN(ts) || math.IsInf(ts, 0) || ts < 0 {
		return Evaluation{}, validation("Value at 'evaluations.%d.member.orderingTimestamp' is not a timestamp", i+1)
	}
	sec, frac := math.Modf(ts)
	ev.OrderingTimestamp = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return ev, nil
}
