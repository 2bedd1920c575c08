// Package ssm serves the simulated region's Systems Manager API
// (awsJson1_1): the inventory of the fleet's managed nodes
// (DescribeInstanceInformation, ListInventoryEntries, GetInventory,
// GetInventorySchema, PutInventory) and Parameter Store.
package ssm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

// Service is the SSM handler over a fleet, with its Parameter Store.
type Service struct {
	f      *fleet.Fleet
	tok    *wire.Tokens
	params *paramStore
	ops    wire.Ops[any] // answers: the output shape, rendered as JSON
}

// New returns the SSM service of f with an empty Parameter Store.
func New(f *fleet.Fleet) *Service {
	s := &Service{f: f, tok: wire.NewTokens(), params: newParamStore()}
	s.ops = wire.Ops[any]{
		"DescribeInstanceInformation": s.describeInstanceInformation,
		"GetInventory":                s.getInventory,
		"GetInventorySchema":          s.getInventorySchema,
		"PutInventory":                s.putInventory,
		"GetParameter":                s.getParameter,
		"GetParameters":               s.getParameters,
		"PutParameter":                s.putParameter,
		"DeleteParameter":             s.deleteParameter,
		"GetParametersByPath":         s.getParametersByPath,
	}
	return s
}

// ServeAWS implements wire.Handler.
func (s *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	if req.Op == "ListInventoryEntries" { // hot path: pre-rendered pages
		body, err := s.listInventoryEntries(req)
		if err != nil {
			wire.WriteError(w, req, err)
			return
		}
		wire.WriteRawJSON(w, req, body)
		return
	}
	s.ops.Serve(w, req, func(w http.ResponseWriter, req *wire.Request, out any) { wire.WriteJSON(w, req, out) },
		func(req *wire.Request) *wire.Error {
			return wire.Errorf(400, "UnknownOperationException", "Unknown operation %s", req.Op)
		})
}

func (s *Service) options() fleet.Options { return s.f.Options() }

var (
	ssmInstanceIDRE = regexp.MustCompile(`(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)`)
	typeNameRE      = regexp.MustCompile(`^(AWS|Custom):.*$`)
	captureTimeRE   = regexp.MustCompile(`^(20)\d\d-(0[1-9]|1[012])-([12]\d|3[01]|0[1-9])T(2[0-3]|[01]\d)(:[0-5]\d){2}Z$`)
)

// decode unmarshals a JSON request body; type mismatches are the protocol's
// SerializationException, as on AWS.
func decode(req *wire.Request, v any) *wire.Error {
	if len(req.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(req.Body, v); err != nil {
		msg := "Start of structure or map found where not expected."
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			msg = fmt.Sprintf("Unexpected value type for field %s: expected %s", te.Field, te.Type)
		}
		return wire.Errorf(400, "SerializationException", "%s", msg)
	}
	return nil
}

func validationErr(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "ValidationException", "1 validation error detected: "+format, args...)
}

// maxResults validates an optional MaxResults in lo..hi, returning def when absent.
func maxResults(v *int, field string, lo, hi, def int) (int, *wire.Error) {
	if v == nil {
		return def, nil
	}
	if *v < lo {
		return 0, validationErr("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", *v, field, lo)
	}
	if *v > hi {
		return 0, validationErr("Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *v, field, hi)
	}
	return *v, nil
}

// cursor resumes a paginated call: no token starts at the beginning; a
// token must have been issued for the same query (scope), else
// InvalidNextToken.
func (s *Service) cursor(scope string, token *string) (wire.Cursor, *wire.Error) {
	c, ok := s.tok.Resume(scope, wire.Value(token))
	if !ok {
		return c, wire.Errorf(400, "InvalidNextToken", "The specified token isn't valid.")
	}
	return c, nil
}

// withNextToken adds a listing's NextToken to its output ("": the last
// page, no member).
func withNextToken(out map[string]any, next string) map[string]any {
	if next != "" {
		out["NextToken"] = next
	}
	return out
}
