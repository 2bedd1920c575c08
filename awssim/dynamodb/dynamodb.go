// Package dynamodb simulates the Amazon DynamoDB operations driftd uses
// (awsJson1_0, X-Amz-Target DynamoDB_20120810.<Operation>): CreateTable and
// DescribeTable (minimal), GetItem, PutItem, UpdateItem and DeleteItem with
// condition and update expressions, per the DynamoDB API reference
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/).
//
// Every item operation is atomic: a conditional write is evaluated and
// applied under one lock, so of N concurrent writers whose conditions
// exclude each other exactly one succeeds, as DynamoDB guarantees per item.
// An eventually consistent GetItem (ConsistentRead false) right after a
// write returns the item as it was before that write, once: code that needs
// read-after-write must ask for a strongly consistent read, as on AWS.
package dynamodb

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// TargetPrefix is the X-Amz-Target prefix of DynamoDB requests.
const TargetPrefix = "DynamoDB_20120810"

// Limits (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
const (
	MaxItemBytes    = 400 * 1024
	MaxHashKeyBytes = 2048
)

// Options configures the service.
type Options struct {
	Clock     func() time.Time // time.Now
	Region    string           // us-east-1
	AccountID string           // 123456789012
	// CreateDelay is how long a new table stays CREATING (item operations
	// on it fail with ResourceNotFoundException, as on AWS). 0: the table is
	// ACTIVE for every request after CreateTable.
	CreateDelay time.Duration
}

// Service is the simulated DynamoDB. It implements wire.Handler.
type Service struct {
	opts   Options
	mu     sync.Mutex
	tables map[string]*table
}

// New returns an empty service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	return &Service{opts: opts, tables: map[string]*table{}}
}

type keyAttr struct{ name, typ string }

type table struct {
	name, arn string
	created   time.Time
	activeAt  time.Time
	keys      []keyAttr // HASH, then RANGE
	billing   string
	rcu, wcu  int64
	items     map[string]*slot
}

// slot holds an item and, for one eventually consistent read after a
// write, the item as it was before.
type slot struct {
	cur       Item // nil: absent
	prev      Item
	prevValid bool
}

// apiError is a DynamoDB error response.
type apiError struct {
	status int
	code   string
	msg    string
	item   Item // ConditionalCheckFailedException with ReturnValuesOnConditionCheckFailure ALL_OLD
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// Error type namespaces as DynamoDB sends them: the service's own errors
// under com.amazonaws.dynamodb.v20120810 (Programming.Errors.html), request
// validation under com.amazon.coral.validate, protocol errors under
// com.amazon.coral.service.
func (e *apiError) typ() string {
	switch e.code {
	case "ValidationException":
		return "com.amazon.coral.validate#" + e.code
	case "SerializationException", "UnknownOperationException":
		return "com.amazon.coral.service#" + e.code
	}
	return "com.amazonaws.dynamodb.v20120810#" + e.code
}

func validation(format string, a ...any) *apiError {
	return &apiError{status: 400, code: "ValidationException", msg: fmt.Sprintf(format, a...)}
}

func notFound(msg string) *apiError {
	return &apiError{status: 400, code: "ResourceNotFoundException", msg: msg}
}

// ServeAWS implements wire.Handler.
func (s *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	out, err := s.dispatch(req.Op, req.Body)
	if err != nil {
		ae, ok := err.(*apiError)
		if !ok {
			ae = &apiError{status: 500, code: "InternalServerError", msg: err.Error()}
		}
		body := map[string]any{"__type": ae.typ(), "message": ae.msg}
		if ae.item != nil {
			body["Item"] = ae.item
		}
		write(w, req, ae.status, body)
		return
	}
	write(w, req, 200, out)
}

// write renders a response with the CRC32 header DynamoDB sends and the
// SDK verifies (X-Amz-Crc32, decimal CRC-32 IEEE of the body).
func write(w http.ResponseWriter, req *wire.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"encoding response"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", req.ID)
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Service) dispatch(op string, body []byte) (any, error) {
	if len(body) == 0 {
		body = []byte("{}")
	}
	decode := func(v any) error {
		if err := json.Unmarshal(body, v); err != nil {
			return &apiError{status: 400, code: "SerializationException", msg: "Start of structure or map found where not expected"}
		}
		return nil
	}
	switch op {
	case "CreateTable":
		var in createTableIn
		if err := decode(&in); err != nil {
			return nil, err
		}
		return s.createTable(in)
	case "DescribeTable":
		var in struct{ TableName *string }
		if err := decode(&in); err != nil {
			return nil, err
		}
		return s.describeTable(in.TableName)
	case "GetItem":
		var in getItemIn
		if err := decode(&in); err != nil {
			return nil, err
		}
		return s.getItem(in)
	case "PutItem", "UpdateItem", "DeleteItem":
		var in writeIn
		if err := decode(&in); err != nil {
			return nil, err
		}
		return s.writeItem(op, in)
	}
	return nil, &apiError{status: 400, code: "UnknownOperationException", msg: "awssim does not model DynamoDB operation " + op}
}

var tableNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

func checkTableName(name *string) error {
	if name == nil {
		return validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	n := *name
	switch {
	case len(n) < 3:
		return validation("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3", n)
	case len(n) > 255:
		return validation("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length less than or equal to 255", n)
	case !tableNameRE.MatchString(n):
		return validation("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", n)
	}
	return nil
}

type createTableIn struct {
	TableName             *string
	AttributeDefinitions  []struct{ AttributeName, AttributeType string }
	KeySchema             []struct{ AttributeName, KeyType string }
	BillingMode           string
	ProvisionedThroughput *struct {
		ReadCapacityUnits, WriteCapacityUnits *int64
	}
	GlobalSecondaryIndexes json.RawMessage
	LocalSecondaryIndexes  json.RawMessage
	StreamSpecification    json.RawMessage
}

func (s *Service) createTable(in createTableIn) (any, error) {
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	if len(in.GlobalSecondaryIndexes) > 0 || len(in.LocalSecondaryIndexes) > 0 || len(in.StreamSpecification) > 0 {
		return nil, validation("awssim does not model secondary indexes or streams")
	}
	if len(in.KeySchema) == 0 || len(in.KeySchema) > 2 {
		return nil, validation("1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1")
	}
	defs := map[string]string{}
	for _, d := range in.AttributeDefinitions {
		if d.AttributeType != "S" && d.AttributeType != "N" && d.AttributeType != "B" {
			return nil, validation("1 validation error detected: Value '%s' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType)
		}
		defs[d.AttributeName] = d.AttributeType
	}
	var keys []keyAttr
	for i, k := range in.KeySchema {
		want := "HASH"
		if i == 1 {
			want = "RANGE"
		}
		if k.KeyType != want {
			return nil, validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
		}
		t, ok := defs[k.AttributeName]
		if !ok {
			return nil, validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]", k.AttributeName, strings.Join(sortedKeys(defs), ", "))
		}
		keys = append(keys, keyAttr{k.AttributeName, t})
	}
	if len(defs) != len(keys) {
		return nil, validation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	t := &table{name: *in.TableName, keys: keys, items: map[string]*slot{}, billing: in.BillingMode}
	switch in.BillingMode {
	case "PAY_PER_REQUEST":
		if in.ProvisionedThroughput != nil {
			return nil, validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	case "", "PROVISIONED":
		t.billing = "PROVISIONED"
		pt := in.ProvisionedThroughput
		if pt == nil || pt.ReadCapacityUnits == nil || pt.WriteCapacityUnits == nil {
			return nil, validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		if *pt.ReadCapacityUnits < 1 || *pt.WriteCapacityUnits < 1 {
			return nil, validation("1 validation error detected: Value at 'provisionedThroughput' failed to satisfy constraint: Member must have value greater than or equal to 1")
		}
		t.rcu, t.wcu = *pt.ReadCapacityUnits, *pt.WriteCapacityUnits
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", in.BillingMode)
	}
	now := s.opts.Clock()
	t.created, t.activeAt = now, now.Add(s.opts.CreateDelay)
	t.arn = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", s.opts.Region, s.opts.AccountID, t.name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[t.name]; ok {
		return nil, &apiError{status: 400, code: "ResourceInUseException", msg: "Table already exists: " + t.name}
	}
	s.tables[t.name] = t
	d := s.describe(t, now)
	d["TableStatus"] = "CREATING" // as AWS answers CreateTable
	return map[string]any{"TableDescription": d}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Service) describe(t *table, now time.Time) map[string]any {
	var ks, defs []map[string]string
	for i, k := range t.keys {
		kt := "HASH"
		if i == 1 {
			kt = "RANGE"
		}
		ks = append(ks, map[string]string{"AttributeName": k.name, "KeyType": kt})
		defs = append(defs, map[string]string{"AttributeName": k.name, "AttributeType": k.typ})
	}
	status := "ACTIVE"
	if now.Before(t.activeAt) {
		status = "CREATING"
	}
	size := 0
	count := 0
	for _, sl := range t.items {
		if sl.cur != nil {
			count++
			size += sl.cur.size()
		}
	}
	d := map[string]any{
		"TableName": t.name, "TableArn": t.arn, "TableStatus": status, "KeySchema": ks, "AttributeDefinitions": defs,
		"CreationDateTime": wire.EpochSeconds(t.created), "ItemCount": count, "TableSizeBytes": size,
		"ProvisionedThroughput": map[string]any{"ReadCapacityUnits": t.rcu, "WriteCapacityUnits": t.wcu, "NumberOfDecreasesToday": 0},
		"TableId":               fmt.Sprintf("%08x-0000-4000-8000-%012x", crc32.ChecksumIEEE([]byte(t.arn)), t.created.UnixNano()&0xffffffffffff),
	}
	if t.billing == "PAY_PER_REQUEST" {
		d["BillingModeSummary"] = map[string]any{"BillingMode": "PAY_PER_REQUEST"}
	}
	return d
}

func (s *Service) describeTable(name *string) (any, error) {
	if err := checkTableName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[*name]
	if !ok {
		return nil, notFound("Requested resource not found: Table: " + *name + " not found")
	}
	return map[string]any{"Table": s.describe(t, s.opts.Clock())}, nil
}

// table returns an ACTIVE table (s.mu held).
func (s *Service) table(name *string) (*table, error) {
	if err := checkTableName(name); err != nil {
		return nil, err
	}
	t, ok := s.tables[*name]
	if !ok || s.opts.Clock().Before(t.activeAt) {
		return nil, notFound("Requested resource not found")
	}
	return t, nil
}

// keyOf validates a Key map (exactly the key attributes) and returns the
// item's storage key.
func (t *table) keyOf(raw map[string]json.RawMessage) (string, Item, error) {
	if len(raw) != len(t.keys) {
		return "", nil, validation("The provided key element does not match the schema")
	}
	it, err := decodeItem(raw)
	if err != nil {
		return "", nil, validation("%v", err)
	}
	k, err := t.storageKey(it, true)
	return k, it, err
}

// storageKey checks the key attributes of it. fromKey: it is a Key map
// (schema mismatch wording) rather than an item.
func (t *table) storageKey(it Item, fromKey bool) (string, error) {
	var b strings.Builder
	for i, k := range t.keys {
		v, ok := it[k.name]
		switch {
		case !ok && fromKey:
			return "", validation("The provided key element does not match the schema")
		case !ok:
			return "", validation("One or more parameter values were invalid: Missing the key %s in the item", k.name)
		case v.T != k.typ && fromKey:
			return "", validation("The provided key element does not match the schema")
		case v.T != k.typ:
			return "", validation("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", k.name, k.typ, v.T)
		case v.S == "" && k.typ == "S":
			return "", validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", k.name)
		case v.S == "" && k.typ == "B":
			return "", validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: %s", k.name)
		case i == 0 && len(v.S) > MaxHashKeyBytes:
			return "", validation("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
		}
		if i > 0 {
			b.WriteByte(0)
		}
		s := v.S
		if v.T == "N" {
			s = numRat(s).RatString()
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

type getItemIn struct {
	TableName                *string
	Key                      map[string]json.RawMessage
	ConsistentRead           *bool
	ProjectionExpression     *string
	AttributesToGet          json.RawMessage
	ExpressionAttributeNames map[string]string
	ReturnConsumedCapacity   string
}

func (s *Service) getItem(in getItemIn) (any, error) {
	if in.ProjectionExpression != nil || len(in.AttributesToGet) > 0 || in.ExpressionAttributeNames != nil {
		return nil, validation("awssim does not model ProjectionExpression, AttributesToGet or ExpressionAttributeNames on GetItem")
	}
	if err := checkConsumed(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	k, _, err := t.keyOf(in.Key)
	if err != nil {
		return nil, err
	}
	sl := t.items[k]
	if sl == nil {
		return map[string]any{}, nil
	}
	it := sl.cur
	if (in.ConsistentRead == nil || !*in.ConsistentRead) && sl.prevValid {
		it, sl.prevValid = sl.prev, false
	}
	if it == nil {
		return map[string]any{}, nil
	}
	return map[string]any{"Item": it}, nil
}

func checkConsumed(v string) error {
	switch v {
	case "", "NONE", "TOTAL", "INDEXES":
		return nil
	}
	return validation("1 validation error detected: Value '%s' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]", v)
}

type writeIn struct {
	TableName                           *string
	Item                                map[string]json.RawMessage // PutItem
	Key                                 map[string]json.RawMessage // UpdateItem, DeleteItem
	ConditionExpression                 *string
	UpdateExpression                    *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]json.RawMessage
	ReturnValues                        string
	ReturnValuesOnConditionCheckFailure string
	ReturnConsumedCapacity              string
	ReturnItemCollectionMetrics         string
	Expected                            json.RawMessage
	ConditionalOperator                 json.RawMessage
	AttributeUpdates                    json.RawMessage
}

func (s *Service) writeItem(op string, in writeIn) (any, error) {
	if len(in.Expected) > 0 || len(in.ConditionalOperator) > 0 || len(in.AttributeUpdates) > 0 {
		return nil, validation("awssim does not model the legacy parameters Expected, ConditionalOperator and AttributeUpdates; use expressions")
	}
	if err := checkConsumed(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	allowed := map[string][]string{
		"PutItem":    {"NONE", "ALL_OLD"},
		"DeleteItem": {"NONE", "ALL_OLD"},
		"UpdateItem": {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"},
	}[op]
	if in.ReturnValues != "" && !contains(allowed, in.ReturnValues) {
		return nil, validation("Return values set to invalid value")
	}
	switch in.ReturnValuesOnConditionCheckFailure {
	case "", "NONE", "ALL_OLD":
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", in.ReturnValuesOnConditionCheckFailure)
	}
	if op == "PutItem" && in.UpdateExpression != nil {
		return nil, validation("awssim: PutItem takes no UpdateExpression")
	}
	ctx, err := newExprCtx(in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.ConditionExpression != nil || in.UpdateExpression != nil)
	if err != nil {
		return nil, err
	}
	var upd *update
	if in.UpdateExpression != nil {
		if op != "UpdateItem" {
			return nil, validation("awssim: %s takes no UpdateExpression", op)
		}
		ctx.kind = "UpdateExpression"
		if upd, err = parseUpdate(*in.UpdateExpression, ctx); err != nil {
			return nil, validation("%v", err)
		}
	}
	var cnd cond
	if in.ConditionExpression != nil {
		ctx.kind = "ConditionExpression"
		if cnd, err = parseCondition(*in.ConditionExpression, ctx); err != nil {
			return nil, validation("%v", err)
		}
	}
	if err := ctx.checkUnused(); err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	var k string
	var newItem Item
	switch op {
	case "PutItem":
		if in.Item == nil {
			return nil, validation("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
		}
		if newItem, err = decodeItem(in.Item); err != nil {
			return nil, validation("%v", err)
		}
		if k, err = t.storageKey(newItem, false); err != nil {
			return nil, err
		}
		if newItem.size() > MaxItemBytes {
			return nil, validation("Item size has exceeded the maximum allowed size")
		}
	default:
		if in.Key == nil {
			return nil, validation("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
		}
		var keyItem Item
		if k, keyItem, err = t.keyOf(in.Key); err != nil {
			return nil, err
		}
		if upd != nil {
			for _, a := range upd.actions {
				for _, ka := range t.keys {
					if a.path == ka.name {
						return nil, validation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", ka.name)
					}
				}
			}
		}
		newItem = keyItem
	}
	sl := t.items[k]
	var old Item
	if sl != nil {
		old = sl.cur
	}
	condItem := old
	if condItem == nil {
		condItem = Item{}
	}
	if cnd != nil && !cnd(condItem) {
		e := &apiError{status: 400, code: "ConditionalCheckFailedException", msg: "The conditional request failed"}
		if in.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && old != nil {
			e.item = old
		}
		return nil, e
	}
	switch op {
	case "DeleteItem":
		newItem = nil
	case "UpdateItem":
		base := old
		if base == nil {
			base = newItem // the key attributes
		}
		if upd != nil {
			if newItem, err = upd.apply(base); err != nil {
				return nil, validation("%v", err)
			}
		} else {
			newItem = base.clone()
		}
		if newItem.size() > MaxItemBytes {
			return nil, validation("Item size to update has exceeded the maximum allowed size")
		}
	}
	if sl == nil {
		sl = &slot{}
		t.items[k] = sl
	}
	sl.prev, sl.prevValid, sl.cur = old, true, newItem
	return returnValues(in.ReturnValues, upd, old, newItem), nil
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

func returnValues(rv string, upd *update, old, cur Item) map[string]any {
	var attrs Item
	switch rv {
	case "ALL_OLD":
		attrs = old
	case "ALL_NEW":
		attrs = cur
	case "UPDATED_OLD", "UPDATED_NEW":
		src := old
		if rv == "UPDATED_NEW" {
			src = cur
		}
		attrs = Item{}
		if upd != nil {
			for _, a := range upd.actions {
				if v, ok := src[a.path]; ok {
					attrs[a.path] = v
				}
			}
		}
	}
	if len(attrs) == 0 {
		return map[string]any{}
	}
	return map[string]any{"Attributes": attrs}
}

func newExprCtx(names map[string]string, rawValues map[string]json.RawMessage, haveExpr bool) (*exprCtx, error) {
	if names != nil && len(names) == 0 {
		return nil, validation("ExpressionAttributeNames must not be empty")
	}
	if rawValues != nil && len(rawValues) == 0 {
		return nil, validation("ExpressionAttributeValues must not be empty")
	}
	if !haveExpr && names != nil {
		return nil, validation("ExpressionAttributeNames can only be specified when using expressions")
	}
	if !haveExpr && rawValues != nil {
		return nil, validation("ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null")
	}
	ctx := &exprCtx{names: names, values: map[string]Value{}, usedNames: map[string]bool{}, usedVals: map[string]bool{}}
	for k, r := range rawValues {
		v, err := decodeValue(r)
		if err != nil {
			return nil, validation("ExpressionAttributeValues contains invalid value: %v for key %s", err, k)
		}
		ctx.values[k] = v
	}
	return ctx, nil
}

func (c *exprCtx) checkUnused() error {
	var names, vals []string
	for k := range c.names {
		if !c.usedNames[k] {
			names = append(names, k)
		}
	}
	for k := range c.values {
		if !c.usedVals[k] {
			vals = append(vals, k)
		}
	}
	sort.Strings(names)
	sort.Strings(vals)
	if len(names) > 0 {
		return validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(names, ", "))
	}
	if len(vals) > 0 {
		return validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(vals, ", "))
	}
	return nil
}
