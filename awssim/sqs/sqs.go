// Package sqs serves the simulated region's SQS (awsJson1_0 with the
// awsQueryCompatible error header): standard queues with visibility
// timeouts, long polling and batch deletes.
package sqs

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/driftd/driftd/awssim/wire"
)

// SQS speaks awsJson1_0 with the awsQueryCompatible trait, as the
// aws-sdk-go-v2 sqs client in go.mod does: errors carry the JSON shape name in
// __type and the legacy query code in the x-amzn-query-error header.

type sqsMessage struct {
	id           string
	body         string
	attrs        map[string]AttributeValue
	sent         time.Time
	visibleAt    time.Time
	receiveCount int
	firstReceive time.Time
	handle       string // current receipt handle ("" = never received)
}

type AttributeValue struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

type sqsQueue struct {
	name     string
	created  time.Time
	attrs    map[string]string
	msgs     []*sqsMessage
	wake     chan struct{} // closed and replaced when a message may have become receivable
	visTO    int
	waitSecs int
	delay    int
}

type Service struct {
	acct   wire.Account
	mu     sync.Mutex
	queues map[string]*sqsQueue
}

// New returns an SQS with no queues.
func New(acct wire.Account) *Service { return &Service{acct: acct, queues: map[string]*sqsQueue{}} }

// CreateQueue creates a standard queue with default attributes (no error if
// it exists) and returns its ARN.
func (sq *Service) CreateQueue(name string) string {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	if sq.queues[name] == nil {
		sq.queues[name] = sq.newQueue(name, nil)
	}
	return sq.arn(name)
}

// Messages returns the bodies of the messages currently in queue (in
// flight or not), oldest first.
func (sq *Service) Messages(queue string) []string {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	q := sq.queues[queue]
	if q == nil {
		return nil
	}
	out := make([]string, len(q.msgs))
	for i, m := range q.msgs {
		out[i] = m.body
	}
	return out
}

func (sq *Service) arn(name string) string {
	return "arn:aws:sqs:" + sq.acct.Region + ":" + sq.acct.AccountID + ":" + name
}

func (sq *Service) newQueue(name string, attrs map[string]string) *sqsQueue {
	q := &sqsQueue{name: name, created: sq.acct.Now(), attrs: map[string]string{}, wake: make(chan struct{}), visTO: 30}
	for k, v := range attrs {
		q.attrs[k] = v
	}
	q.visTO = atoiDefault(attrs["VisibilityTimeout"], 30)
	q.waitSecs = atoiDefault(attrs["ReceiveMessageWaitTimeSeconds"], 0)
	q.delay = atoiDefault(attrs["DelaySeconds"], 0)
	return q
}

func atoiDefault(s string, d int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return d
}

// Exists reports whether the queue exists.
func (sq *Service) Exists(name string) bool {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	return sq.queues[name] != nil
}

// Enqueue adds a message to a queue by name (dropped if the queue is gone,
// as S3 drops notifications to a deleted queue).
func (sq *Service) Enqueue(name, body string) {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	q := sq.queues[name]
	if q == nil {
		return
	}
	sq.addLocked(q, body, nil, q.delay)
}

// EnqueueWithAttributes is Enqueue with message attributes (SNS raw
// delivery).
func (sq *Service) EnqueueWithAttributes(name, body string, attrs map[string]AttributeValue) {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	q := sq.queues[name]
	if q == nil {
		return
	}
	if len(attrs) == 0 {
		attrs = nil
	}
	sq.addLocked(q, body, attrs, q.delay)
}

func (sq *Service) addLocked(q *sqsQueue, body string, attrs map[string]AttributeValue, delay int) *sqsMessage {
	now := sq.acct.Now()
	m := &sqsMessage{id: wire.NewUUID(), body: body, attrs: attrs, sent: now, visibleAt: now.Add(time.Duration(delay) * time.Second)}
	q.msgs = append(q.msgs, m)
	q.signal()
	return m
}

func (q *sqsQueue) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes implements SQS's MD5OfMessageAttributes digest.
func md5OfAttributes(attrs map[string]AttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	put := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		v := attrs[n]
		put([]byte(n))
		put([]byte(v.DataType))
		if strings.HasPrefix(v.DataType, "Binary") {
			h.Write([]byte{2})
			put(v.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(v.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ---------------------------------------------------------------------------
// wire

type sqsErr struct {
	*wire.Error
	query string // x-amzn-query-error code
}

func sqsError(status int, shape, query, format string, args ...any) *sqsErr {
	e := wire.Errorf(status, "com.amazonaws.sqs#"+shape, format, args...)
	return &sqsErr{Error: e, query: query}
}

func sqsInvalidParam(format string, args ...any) *sqsErr {
	return sqsError(400, "InvalidParameterValue", "InvalidParameterValue", format, args...)
}

func errNoQueue() *sqsErr {
	return sqsError(400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

func writeSQSError(w http.ResponseWriter, req *wire.Request, e *sqsErr) {
	fault := "Sender"
	if e.Status >= 500 {
		fault = "Receiver"
	}
	if e.query != "" {
		w.Header().Set("X-Amzn-Query-Error", e.query+";"+fault)
	}
	wire.WriteError(w, req, e.Error)
}

func (sq *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	if req.Protocol != wire.JSON10 {
		// Older SDKs speak awsQuery to SQS; answer in that shape.
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.UnsupportedOperation</Code><Message>the simulated SQS speaks the awsJson1_0 protocol only</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, req.ID)
		return
	}
	var (
		out any
		e   *sqsErr
	)
	if op, ok := sqsOps[req.Op]; ok {
		out, e = op(sq, req)
	} else {
		e = sqsError(400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "operation %s is not simulated", req.Op)
	}
	if e != nil {
		writeSQSError(w, req, e)
		return
	}
	wire.WriteJSON(w, req, out)
}

// sqsOps are the simulated operations.
var sqsOps = map[string]func(*Service, *wire.Request) (any, *sqsErr){
	"CreateQueue":             (*Service).createQueue,
	"GetQueueUrl":             (*Service).getQueueURL,
	"GetQueueAttributes":      (*Service).getQueueAttributes,
	"SendMessage":             (*Service).sendMessage,
	"ReceiveMessage":          (*Service).receiveMessage,
	"DeleteMessage":           (*Service).deleteMessage,
	"DeleteMessageBatch":      (*Service).deleteMessageBatch,
	"ChangeMessageVisibility": (*Service).changeVisibility,
}

func decodeSQS(req *wire.Request, v any) *sqsErr {
	if err := wire.DecodeJSON(req.Body, v); err != nil {
		return &sqsErr{Error: err}
	}
	return nil
}

var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

var sqsAttrRanges = map[string][2]int{
	"VisibilityTimeout":             {0, 43200},
	"ReceiveMessageWaitTimeSeconds": {0, 20},
	"DelaySeconds":                  {0, 900},
	"MessageRetentionPeriod":        {60, 1209600},
	"MaximumMessageSize":            {1024, 262144},
}

func (sq *Service) queueURL(req *wire.Request, name string) string {
	host := "localhost"
	scheme := "http"
	if req.HTTP != nil {
		host = req.HTTP.Host
		if req.HTTP.TLS != nil {
			scheme = "https"
		}
	}
	return scheme + "://" + host + "/" + sq.acct.AccountID + "/" + name
}

func (sq *Service) createQueue(req *wire.Request) (any, *sqsErr) {
	var in struct {
		QueueName  *string
		Attributes map[string]string
		Tags       map[string]string
	}
	if e := decodeSQS(req, &in); e != nil {
		return nil, e
	}
	if in.QueueName == nil || !queueNameRE.MatchString(*in.QueueName) {
		return nil, sqsInvalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	for k, v := range in.Attributes {
		rng, ok := sqsAttrRanges[k]
		switch {
		case k == "FifoQueue" || k == "ContentBasedDeduplication":
			return nil, sqsError(400, "InvalidAttributeValue", "InvalidAttributeValue", "FIFO queues are not simulated")
		case k == "Policy" || k == "RedrivePolicy" || k == "KmsMasterKeyId" || k == "SqsManagedSseEnabled" || k == "KmsDataKeyReusePeriodSeconds" || k == "RedriveAllowPolicy":
			continue // accepted, not enforced
		case !ok:
			return nil, sqsError(400, "InvalidAttributeName", "InvalidAttributeName", "Unknown Attribute %s.", k)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < rng[0] || n > rng[1] {
			return nil, sqsError(400, "InvalidAttributeValue", "InvalidAttributeValue", "Invalid value for the parameter %s.", k)
		}
	}
	sq.mu.Lock()
	defer sq.mu.Unlock()
	name := *in.QueueName
	if q := sq.queues[name]; q != nil {
		for k, v := range in.Attributes {
			if cur, ok := q.attrs[k]; ok && cur != v || !ok && v != "" {
				return nil, sqsError(400, "QueueNameExists", "QueueAlreadyExists", "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
	} else {
		sq.queues[name] = sq.newQueue(name, in.Attributes)
	}
	return map[string]string{"QueueUrl": sq.queueURL(req, name)}, nil
}

func (sq *Service) getQueueURL(req *wire.Request) (any, *sqsErr) {
	var in struct {
		QueueName              *string
		QueueOwnerAWSAccountId *string
	}
	if e := decodeSQS(req, &in); e != nil {
		return nil, e
	}
	if in.QueueName == nil || *in.QueueName == "" {
		return nil, sqsInvalidParam("Value for parameter QueueName is invalid. Reason: Must specify a queue name.")
	}
	if in.QueueOwnerAWSAccountId != nil && *in.QueueOwnerAWSAccountId != sq.acct.AccountID {
		return nil, errNoQueue()
	}
	if !sq.Exists(*in.QueueName) {
		return nil, errNoQueue()
	}
	return map[string]string{"QueueUrl": sq.queueURL(req, *in.QueueName)}, nil
}

// queueFromURL resolves a QueueUrl (…/<account>/<name>) to a queue; the
// caller holds sq.mu.
func (sq *Service) queueFromURLLocked(u *string) (*sqsQueue, *sqsErr) {
	if u == nil || *u == "" {
		return nil, sqsInvalidParam("Value for parameter QueueUrl is invalid. Reason: Must specify a queue URL.")
	}
	pu, err := url.Parse(*u)
	if err != nil {
		return nil, sqsError(400, "InvalidAddress", "InvalidAddress", "The address %s is not valid for this endpoint.", *u)
	}
	parts := strings.Split(strings.Trim(pu.Path, "/"), "/")
	if len(parts) != 2 || parts[0] != sq.acct.AccountID {
		return nil, errNoQueue()
	}
	q := sq.queues[parts[1]]
	if q == nil {
		return nil, errNoQueue()
	}
	return q, nil
}

func (sq *Service) getQueueAttributes(req *wire.Request) (any, *sqsErr) {
	var in struct {
		QueueUrl       *string
		AttributeNames []string
	}
	if e := decodeSQS(req, &in); e != nil {
		return nil, e
	}
	sq.mu.Lock()
	defer sq.mu.Unlock()
	q, e := sq.queueFromURLLocked(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	now := sq.acct.Now()
	visible, inflight, delayed := 0, 0, 0
	for _, m := range q.msgs {
		switch {
		case m.visibleAt.After(now) && m.receiveCount > 0:
			inflight++
		case m.visibleAt.After(now):
			delayed++
		default:
			visible++
		}
	}
	all := map[string]string{
		"QueueArn":                              sq.arn(q.name),
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"VisibilityTimeout":                     strconv.Itoa(q.visTO),
		"ReceiveMessageWaitTimeSeconds":         strconv.Itoa(q.waitSecs),
		"DelaySeconds":                          strconv.Itoa(q.delay),
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
	}
	out := map[string]string{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			out = all
			break
		}
		v, ok := all[n]
		if !ok {
			return nil, sqsError(400, "InvalidAttributeName", "InvalidAttributeName", "Unknown Attribute %s.", n)
		}
		out[n] = v
	}
	return map[string]any{"Attributes": out}, nil
}

func validMessageBody(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)) {
			return false
		}
	}
	return true
}

func (sq *Service) sendMessage(req *wire.Request) (any, *sqsErr) {
	var in struct {
		QueueUrl          *string
		MessageBody       *string
		DelaySeconds      *int
		MessageAttributes map[string]AttributeValue
		MessageGroupId    *string
	}
	if e := decodeSQS(req, &in); e != nil {
		return nil, e
	}
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, sqsError(400, "MissingParameter", "MissingParameter", "The request must contain the parameter MessageBody.")
	}
	if !validMessageBody(*in.MessageBody) {
		return nil, sqsError(400, "InvalidMessageContents", "InvalidMessageContents", "Invalid binary character in message body")
	}
	if len(*in.MessageBody) > 262144 {
		return nil, sqsInvalidParam("One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.")
	}
	if in.DelaySeconds != nil && (*in.DelaySeconds < 0 || *in.DelaySeconds > 900) {
		return nil, sqsInvalidParam("Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.", *in.DelaySeconds)
	}
	if len(in.MessageAttributes) > 10 {
		return nil, sqsInvalidParam("Number of message attributes [%d] exceeds the allowed maximum [10].", len(in.MessageAttributes))
	}
	for n, v := range in.MessageAttributes {
		base, _, _ := strings.Cut(v.DataType, ".")
		if base != "String" && base != "Number" && base != "Binary" {
			return nil, sqsInvalidParam("The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", n)
		}
		if base == "Binary" && v.BinaryValue == nil || base != "Binary" && v.StringValue == "" {
			return nil, sqsInvalidParam("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", n, v.DataType)
		}
	}
	sq.mu.Lock()
	defer sq.mu.Unlock()
	q, e := sq.queueFromURLLocked(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	delay := q.delay
	if in.DelaySeconds != nil {
		delay = *in.DelaySeconds
	}
	m := sq.addLocked(q, *in.MessageBody, in.MessageAttributes, delay)
	out := map[string]string{"MessageId": m.id, "MD5OfMessageBody": md5Hex(m.body)}
	if d := md5OfAttributes(m.attrs); d != "" {
		out["MD5OfMessageAttributes"] = d
	}
	return out, nil
}

func (sq *Service) newHandle(m *sqsMessage) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString([]byte(m.id + "|" + hex.EncodeToString(b[:])))
}

func parseHandle(h string) (id string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", false
	}
	id, _, ok = strings.Cut(string(b), "|")
	return id, ok && id != ""
}

func (sq *Service) receiveMessage(req *wire.Request) (any, *sqsErr) {
	var in struct {
		QueueUrl                    *string
		MaxNumberOfMessages         *int
		VisibilityTimeout           *int
		WaitTimeSeconds             *int
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
	}
	if e := decodeSQS(req, &in); e != nil {
		return nil, e
	}
	max := 1
	if in.MaxNumberOfMessages != nil {
		max = *in.MaxNumberOfMessages
		if max < 1 || max > 10 {
			return nil, sqsInvalidParam("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", max)
		}
	}
	if in.WaitTimeSeconds != nil && (*in.WaitTimeSeconds < 0 || *in.WaitTimeSeconds > 20) {
		return nil, sqsInvalidParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", *in.WaitTimeSeconds)
	}
	if in.VisibilityTimeout != nil && (*in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200) {
		return nil, sqsInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", *in.VisibilityTimeout)
	}
	sysAttrs := map[string]bool{}
	for _, n := range append(in.AttributeNames, in.MessageSystemAttributeNames...) {
		sysAttrs[n] = true
	}
	wantAttr := func(n string) bool {
		for _, a := range in.MessageAttributeNames {
			if a == "All" || a == ".*" || a == n || strings.HasSuffix(a, ".*") && strings.HasPrefix(n, strings.TrimSuffix(a, "*")) {
				return true
			}
		}
		return false
	}
	ctx := context.Background()
	if req.HTTP != nil {
		ctx = req.HTTP.Context()
	}
	sq.mu.Lock()
	q, e := sq.queueFromURLLocked(in.QueueUrl)
	if e != nil {
		sq.mu.Unlock()
		return nil, e
	}
	wait := q.waitSecs
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
	}
	vis := q.visTO
	if in.VisibilityTimeout != nil {
		vis = *in.VisibilityTimeout
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		now := sq.acct.Now()
		var got []*sqsMessage
		var nextVisible time.Time
		for _, m := range q.msgs {
			if !m.visibleAt.After(now) {
				if len(got) < max {
					got = append(got, m)
				}
			} else if nextVisible.IsZero() || m.visibleAt.Before(nextVisible) {
				nextVisible = m.visibleAt
			}
		}
		if len(got) > 0 || !time.Now().Before(deadline) {
			msgs := make([]map[string]any, 0, len(got))
			for _, m := range got {
				m.receiveCount++
				if m.firstReceive.IsZero() {
					m.firstReceive = now
				}
				m.visibleAt = now.Add(time.Duration(vis) * time.Second)
				m.handle = sq.newHandle(m)
				msgs = append(msgs, renderMessage(m, sysAttrs, wantAttr))
			}
			if vis == 0 && len(got) > 0 {
				q.signal()
			}
			sq.mu.Unlock()
			out := map[string]any{}
			if len(msgs) > 0 {
				out["Messages"] = msgs
			}
			return out, nil
		}
		wake := q.wake
		sq.mu.Unlock()
		d := time.Until(deadline)
		if !nextVisible.IsZero() {
			if nv := nextVisible.Sub(now); nv < d {
				d = nv
			}
		}
		t := time.NewTimer(d)
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, &sqsErr{Error: wire.Errorf(400, "RequestCanceled", "request canceled")}
		}
		t.Stop()
		sq.mu.Lock()
		if sq.queues[q.name] != q {
			sq.mu.Unlock()
			return nil, errNoQueue()
		}
	}
}

func renderMessage(m *sqsMessage, sysAttrs map[string]bool, wantAttr func(string) bool) map[string]any {
	out := map[string]any{
		"MessageId":     m.id,
		"ReceiptHandle": m.handle,
		"MD5OfBody":     md5Hex(m.body),
		"Body":          m.body,
	}
	all := map[string]string{
		"SenderId":                         "AIDADRIFTDSIMULATOR",
		"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
		"ApproximateReceiveCount":          strconv.Itoa(m.receiveCount),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceive.UnixMilli(), 10),
	}
	attrs := map[string]string{}
	for n := range sysAttrs {
		if n == "All" {
			attrs = all
			break
		}
		if v, ok := all[n]; ok {
			attrs[n] = v
		}
	}
	if len(attrs) > 0 {
		out["Attributes"] = attrs
	}
	sel := map[string]AttributeValue{}
	for n, v := range m.attrs {
		if wantAttr(n) {
			sel[n] = v
		}
	}
	if len(sel) > 0 {
		out["MessageAttributes"] = sel
		out["MD5OfMessageAttributes"] = md5OfAttributes(sel)
	}
	return out
}

// deleteLocked deletes the message a receipt handle names. A stale handle
// (the message was received again since) succeeds without deleting, as SQS
// documents for standard queues.
func (sq *Service) deleteLocked(q *sqsQueue, handle string) *sqsErr {
	id, ok := parseHandle(handle)
	if !ok {
		return sqsError(400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", handle)
	}
	for i, m := range q.msgs {
		if m.id == id {
			if m.handle == handle {
				q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			}
			return nil
		}
	}
	return nil
}

func (sq *Service) deleteMessage(req *wire.Request) (any, *sqsErr) {
	var in struct {
		QueueUrl      *string
		ReceiptHandle *string
	}
	if e := decodeSQS(req, &in); e != nil {
		return nil, e
	}
	sq.mu.Lock()
	defer sq.mu.Unlock()
	q, e := sq.queueFromURLLocked(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	if in.ReceiptHandle == nil {
		return nil, sqsError(400, "MissingParameter", "MissingParameter", "The request must contain the parameter ReceiptHandle.")
	}
	if e := sq.deleteLocked(q, *in.ReceiptHandle); e != nil {
		return nil, e
	}
	return struct{}{}, nil
}

var batchIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func (sq *Service) deleteMessageBatch(req *wire.Request) (any, *sqsErr) {
	var in struct {
		QueueUrl *string
		Entries  []struct {
			Id            string
			ReceiptHandle string
		}
	}
	if e := decodeSQS(req, &in); e != nil {
		return nil, e
	}
	sq.mu.Lock()
	defer sq.mu.Unlock()
	q, e := sq.queueFromURLLocked(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	if len(in.Entries) == 0 {
		return nil, sqsError(400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one DeleteMessageBatchRequestEntry in the request.")
	}
	if len(in.Entries) > 10 {
		return nil, sqsError(400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(in.Entries))
	}
	seen := map[string]bool{}
	for _, en := range in.Entries {
		if !batchIDRE.MatchString(en.Id) {
			return nil, sqsError(400, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[en.Id] {
			return nil, sqsError(400, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id %s repeated.", en.Id)
		}
		seen[en.Id] = true
	}
	type failed struct {
		Id          string
		Code        string
		Message     string
		SenderFault bool
	}
	succ := []map[string]string{}
	fail := []failed{}
	for _, en := range in.Entries {
		if e := sq.deleteLocked(q, en.ReceiptHandle); e != nil {
			fail = append(fail, failed{Id: en.Id, Code: "ReceiptHandleIsInvalid", Message: e.Message, SenderFault: true})
			continue
		}
		succ = append(succ, map[string]string{"Id": en.Id})
	}
	return map[string]any{"Successful": succ, "Failed": fail}, nil
}

func (sq *Service) changeVisibility(req *wire.Request) (any, *sqsErr) {
	var in struct {
		QueueUrl          *string
		ReceiptHandle     *string
		VisibilityTimeout *int
	}
	if e := decodeSQS(req, &in); e != nil {
		return nil, e
	}
	if in.VisibilityTimeout == nil || *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200 {
		return nil, sqsInvalidParam("Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.")
	}
	sq.mu.Lock()
	defer sq.mu.Unlock()
	q, e := sq.queueFromURLLocked(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	if in.ReceiptHandle == nil {
		return nil, sqsError(400, "MissingParameter", "MissingParameter", "The request must contain the parameter ReceiptHandle.")
	}
	id, ok := parseHandle(*in.ReceiptHandle)
	if !ok {
		return nil, sqsError(400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", *in.ReceiptHandle)
	}
	now := sq.acct.Now()
	for _, m := range q.msgs {
		if m.id == id && m.handle == *in.ReceiptHandle && m.visibleAt.After(now) {
			m.visibleAt = now.Add(time.Duration(*in.VisibilityTimeout) * time.Second)
			q.signal()
			return struct{}{}, nil
		}
	}
	return nil, sqsError(400, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "Message does not exist or is not available for visibility timeout change.")
}
