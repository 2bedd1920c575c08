// Package wire holds the AWS wire-protocol plumbing shared by every simulated
// service: classifying an HTTP request into (protocol, service, operation),
// and rendering results and errors in each protocol's real shape, so the
// aws-sdk-go-v2 deserializers decode them exactly as they decode AWS's.
//
// Protocols: awsJson1_0/1_1 (SSM, EventBridge, SQS), ec2Query (EC2),
// awsQuery (Auto Scaling, SNS, STS), restJson1 (Image Builder), restXml (S3).
package wire

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Protocol is an AWS wire protocol.
type Protocol string

const (
	JSON10   Protocol = "awsJson1_0"
	JSON11   Protocol = "awsJson1_1"
	EC2Query Protocol = "ec2Query"
	AWSQuery Protocol = "awsQuery"
	RESTJSON Protocol = "restJson1"
	RESTXML  Protocol = "restXml"
)

// Service names used for dispatch.
const (
	SvcEC2          = "ec2"
	SvcAutoScaling  = "autoscaling"
	SvcSSM          = "ssm"
	SvcS3           = "s3"
	SvcSNS          = "sns"
	SvcSQS          = "sqs"
	SvcEvents       = "events"
	SvcSTS          = "sts"
	SvcImageBuilder = "imagebuilder"
	SvcDynamoDB     = "dynamodb"
	SvcSecurityHub  = "securityhub"
	SvcConfig       = "config"
)

// MaxBody bounds request bodies the simulator accepts (S3 PutObject included).
const MaxBody = 64 << 20

// Request is a classified AWS request.
type Request struct {
	Protocol Protocol
	Service  string
	Op       string     // operation name (Action, X-Amz-Target suffix, or REST route name)
	Form     url.Values // query protocols: the decoded form
	Body     []byte     // JSON protocols and REST bodies
	HTTP     *http.Request
	ID       string // request id echoed in responses
}

var targetPrefixes = map[string]struct {
	svc   string
	proto Protocol
}{
	"AmazonSSM":           {SvcSSM, JSON11},
	"AWSEvents":           {SvcEvents, JSON11},
	"AmazonSQS":           {SvcSQS, JSON10},
	"DynamoDB_20120810":   {SvcDynamoDB, JSON10},
	"StarlingDoveService": {SvcConfig, JSON11},
}

var queryVersions = map[string]struct {
	svc   string
	proto Protocol
}{
	"2016-11-15": {SvcEC2, EC2Query},
	"2011-01-01": {SvcAutoScaling, AWSQuery},
	"2010-03-31": {SvcSNS, AWSQuery},
	"2011-06-15": {SvcSTS, AWSQuery},
	"2012-11-05": {SvcSQS, AWSQuery},
}

// Parse classifies r. On failure it returns an *Error shaped for the protocol
// it could infer, so the caller can still answer in the right shape.
func Parse(r *http.Request) (*Request, *Error) {
	req := &Request{HTTP: r, ID: NewRequestID()}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return req, &Error{Status: 400, Code: "IncompleteBody", Message: "could not read request body"}
	}
	if len(body) > MaxBody {
		return req, &Error{Status: 413, Code: "RequestEntityTooLarge", Message: "request body too large"}
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, op, ok := strings.Cut(t, ".")
		m, known := targetPrefixes[prefix]
		req.Protocol, req.Service, req.Op, req.Body = JSON11, m.svc, op, body
		if known {
			req.Protocol = m.proto
		}
		if !ok || !known || op == "" {
			return req, &Error{Status: 400, Code: "UnknownOperationException", Message: fmt.Sprintf("unknown target %q", t)}
		}
		if len(body) > 0 && !json.Valid(body) {
			return req, &Error{Status: 400, Code: "SerializationException", Message: "request body is not valid JSON"}
		}
		return req, nil
	}
	ct := r.Header.Get("Content-Type")
	if r.Method == http.MethodPost && strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return req, &Error{Status: 400, Code: "MalformedQueryString", Message: "request body is not valid form encoding", Protocol: AWSQuery}
		}
		req.Form = form
		req.Op = form.Get("Action")
		m, known := queryVersions[form.Get("Version")]
		if !known {
			return req, &Error{Status: 400, Code: "InvalidAction", Message: fmt.Sprintf("unsupported Version %q", form.Get("Version")), Protocol: AWSQuery}
		}
		req.Protocol, req.Service = m.proto, m.svc
		if req.Op == "" {
			return req, &Error{Status: 400, Code: "MissingAction", Message: "Action is required"}
		}
		return req, nil
	}
	// REST protocols: Image Builder routes are single path segments named after
	// the operation; everything else is S3 path-style.
	req.Body = body
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/ListImagePackages"), strings.HasPrefix(p, "/GetImage"):
		req.Protocol, req.Service = RESTJSON, SvcImageBuilder
		req.Op = strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)[0], "/")
	case isSecurityHub(r):
		req.Protocol, req.Service, req.Op = RESTJSON, SvcSecurityHub, SecurityHubOp(r.Method, p)
	default:
		req.Protocol, req.Service = RESTXML, SvcS3
	}
	return req, nil
}

// SecurityHubOp names the Security Hub operation of a REST request ("" when
// the method and path are not one the simulator models).
func SecurityHubOp(method, path string) string {
	switch {
	case method == http.MethodPost && path == "/findings/import":
		return "BatchImportFindings"
	case method == http.MethodPatch && path == "/findings/batchupdate":
		return "BatchUpdateFindings"
	case method == http.MethodPost && path == "/findings":
		return "GetFindings"
	}
	return ""
}

// isSecurityHub reports whether a REST request is Security Hub's: a
// /findings path signed for securityhub, or sent as JSON (an S3 request to
// a bucket named "findings" is signed for s3 and carries no JSON body).
func isSecurityHub(r *http.Request) bool {
	p := r.URL.Path
	if p != "/findings" && !strings.HasPrefix(p, "/findings/") {
		return false
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		return strings.Contains(auth, "/securityhub/aws4_request")
	}
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

// Error is an AWS API error; Write renders it in the request's protocol.
type Error struct {
	Status  int
	Code    string
	Message string
	// Protocol overrides the protocol used to render (for parse failures).
	Protocol Protocol
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message) }

// Errorf builds an Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common errors.
func Validation(format string, args ...any) *Error {
	return Errorf(400, "ValidationError", format, args...)
}

// NewRequestID returns a random request id.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// DecodeJSON decodes a JSON request body into v (an empty body is {}); a
// body that does not decode is a SerializationException.
func DecodeJSON(body []byte, v any) *Error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(400, "SerializationException", "cannot decode request body: %v", err)
	}
	return nil
}

// Value returns *p, or the zero value for nil: an optional member of a
// decoded request.
func Value[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// WriteError renders e in the protocol of req.
func WriteError(w http.ResponseWriter, req *Request, e *Error) {
	proto := req.Protocol
	if e.Protocol != "" {
		proto = e.Protocol
	}
	status := e.Status
	if status == 0 {
		status = 400
	}
	switch proto {
	case JSON10, JSON11:
		w.Header().Set("Content-Type", "application/x-amz-json-"+map[Protocol]string{JSON10: "1.0", JSON11: "1.1"}[proto])
		w.Header().Set("X-Amzn-Requestid", req.ID)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
	case EC2Query:
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
			esc(e.Code), esc(e.Message), req.ID)
	case RESTJSON:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", e.Code)
		w.Header().Set("X-Amzn-Requestid", req.ID)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": e.Message})
	case RESTXML:
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("X-Amz-Request-Id", req.ID)
		w.WriteHeader(status)
		if req.HTTP != nil && req.HTTP.Method == http.MethodHead {
			return // HEAD responses carry no body
		}
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`,
			esc(e.Code), esc(e.Message), req.ID)
	default: // awsQuery
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		ns := queryNamespace(req.Service)
		w.Header().Set("Content-Type", "text/xml")
		// awsQuery services send the request id in a header too, where the
		// SDK reads it for its error messages.
		w.Header().Set("X-Amzn-Requestid", req.ID)
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			ns, typ, esc(e.Code), esc(e.Message), req.ID)
	}
}

func queryNamespace(svc string) string {
	switch svc {
	case SvcSNS:
		return "http://sns.amazonaws.com/doc/2010-03-31/"
	case SvcSTS:
		return "https://sts.amazonaws.com/doc/2011-06-15/"
	case SvcEC2:
		return "http://ec2.amazonaws.com/doc/2016-11-15/"
	default:
		return "http://autoscaling.amazonaws.com/doc/2011-01-01/"
	}
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// WriteJSON writes a successful awsJson/restJson response.
func WriteJSON(w http.ResponseWriter, req *Request, v any) {
	ct := "application/x-amz-json-1.1"
	switch req.Protocol {
	case JSON10:
		ct = "application/x-amz-json-1.0"
	case RESTJSON:
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Amzn-Requestid", req.ID)
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, req, Errorf(500, "InternalServerError", "encoding response: %v", err))
		return
	}
	_, _ = w.Write(b)
}

// WriteRawJSON writes a successful awsJson response whose body is already
// rendered, with its exact Content-Length.
func WriteRawJSON(w http.ResponseWriter, req *Request, body []byte) {
	ct := "application/x-amz-json-1.1"
	if req.Protocol == JSON10 {
		ct = "application/x-amz-json-1.0"
	}
	writeBody(w, ct, req.ID, "", body, "")
}

// AppendJSONString appends s to b as a JSON string, as encoding/json
// renders it (HTML-safe escaping).
func AppendJSONString(b []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			simple = false
			break
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// WriteEC2 writes an ec2Query success response: <OpResponse xmlns=...> with
// requestId followed by body (already-rendered XML members, lower-camel names).
func WriteEC2(w http.ResponseWriter, req *Request, body []byte) {
	head := `<?xml version="1.0" encoding="UTF-8"?>` + "\n<" + req.Op + `Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>` + req.ID + "</requestId>"
	tail := "</" + req.Op + "Response>"
	writeBody(w, "text/xml;charset=UTF-8", req.ID, head, body, tail)
}

// writeBody writes a complete response with an exact Content-Length.
func writeBody(w http.ResponseWriter, contentType, requestID, head string, body []byte, tail string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(head)+len(body)+len(tail)))
	if head == "" && tail == "" {
		_, _ = w.Write(body)
		return
	}
	buf := make([]byte, 0, len(head)+len(body)+len(tail))
	buf = append(append(append(buf, head...), body...), tail...)
	_, _ = w.Write(buf)
}

// WriteQuery writes an awsQuery success response with the required
// <OpResult> wrapper around result (already-rendered members). A nil result
// renders an operation without output (just ResponseMetadata).
func WriteQuery(w http.ResponseWriter, req *Request, result []byte) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s">`, req.Op, queryNamespace(req.Service))
	if result != nil {
		fmt.Fprintf(w, `<%sResult>`, req.Op)
		_, _ = w.Write(result)
		fmt.Fprintf(w, `</%sResult>`, req.Op)
	}
	fmt.Fprintf(w, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, req.ID, req.Op)
}

// XMLTime renders a timestamp for XML protocols.
func XMLTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// EpochSeconds renders a timestamp for JSON protocols (epoch seconds as a number).
func EpochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// CaptureTime renders SSM's inventory CaptureTime (YYYY-MM-DDThh:mm:ssZ).
func CaptureTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Esc escapes s for XML text.
func Esc(s string) string { return esc(s) }

// Handler serves one classified request of a service. The simulator's router
// parses each HTTP request once (Parse) and hands it to the service's Handler.
type Handler interface {
	ServeAWS(w http.ResponseWriter, req *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w http.ResponseWriter, req *Request)

// ServeAWS implements Handler.
func (f HandlerFunc) ServeAWS(w http.ResponseWriter, req *Request) { f(w, req) }

// Ops maps a service's operation names to the functions that answer them
// with the operation's output.
type Ops[Out any] map[string]func(*Request) (Out, *Error)

// Serve answers req: its operation's output written by write, the
// operation's error, or unknown's error for an operation the service does
// not have.
func (ops Ops[Out]) Serve(w http.ResponseWriter, req *Request, write func(http.ResponseWriter, *Request, Out), unknown func(*Request) *Error) {
	op, ok := ops[req.Op]
	if !ok {
		WriteError(w, req, unknown(req))
		return
	}
	out, err := op(req)
	if err != nil {
		WriteError(w, req, err)
		return
	}
	write(w, req, out)
}

// Account is the simulated account and region a service answers for
// (ARNs, owners, event records), with the clock it stamps times from.
type Account struct {
	Clock     func() time.Time
	Region    string
	AccountID string
}

// Now is the account's current time.
func (a Account) Now() time.Time { return a.Clock() }
