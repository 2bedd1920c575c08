package dynamodb

import (
	"encoding/json"
	"sort"
	"strings"
)

// Global secondary indexes and Query, as driftd's audit log lists them:
// CreateTable with GlobalSecondaryIndexes (projection ALL), DescribeTable
// showing them, and Query on an index by KeyConditionExpression
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html):
// the partition key by "=", optionally the sort key by =, <, <=, >, >=,
// BETWEEN or begins_with; ScanIndexForward, Limit, ExclusiveStartKey and
// LastEvaluatedKey. The index is sparse (an item lacking an index key
// attribute, or holding it with another type, is not in it). Not modelled
// (ValidationException saying so): Query on the base table, FilterExpression,
// ProjectionExpression, Select other than ALL_ATTRIBUTES, projections other
// than ALL, local secondary indexes. ConsistentRead on a global secondary
// index is refused as DynamoDB refuses it.

type gsi struct {
	name string
	keys []keyAttr // HASH, then RANGE
}

type gsiIn struct {
	IndexName  *string
	KeySchema  []struct{ AttributeName, KeyType string }
	Projection *struct {
		ProjectionType   string
		NonKeyAttributes []string
	}
	ProvisionedThroughput json.RawMessage
}

// parseIndexes checks GlobalSecondaryIndexes against the attribute
// definitions; used reports the attributes the indexes name.
func parseIndexes(raw json.RawMessage, defs map[string]string, used map[string]bool) ([]gsi, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var in []gsiIn
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &apiError{status: 400, code: "SerializationException", msg: "Start of structure or map found where not expected"}
	}
	if len(in) == 0 || len(in) > 20 {
		return nil, validation("1 validation error detected: Value at 'globalSecondaryIndexes' failed to satisfy constraint: Member must have length less than or equal to 20 and greater than or equal to 1")
	}
	var out []gsi
	seen := map[string]bool{}
	for _, g := range in {
		if g.IndexName == nil || len(*g.IndexName) < 3 || len(*g.IndexName) > 255 || !tableNameRE.MatchString(*g.IndexName) {
			return nil, validation("1 validation error detected: Value at 'globalSecondaryIndexes.member.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3 and match [a-zA-Z0-9_.-]+")
		}
		if seen[*g.IndexName] {
			return nil, validation("One or more parameter values were invalid: Duplicate index name: %s", *g.IndexName)
		}
		seen[*g.IndexName] = true
		if g.Projection == nil || g.Projection.ProjectionType != "ALL" {
			return nil, validation("awssim models global secondary indexes with Projection ALL only")
		}
		if len(g.KeySchema) == 0 || len(g.KeySchema) > 2 {
			return nil, validation("1 validation error detected: Value at 'globalSecondaryIndexes.member.keySchema' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1")
		}
		x := gsi{name: *g.IndexName}
		for i, k := range g.KeySchema {
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
			used[k.AttributeName] = true
			x.keys = append(x.keys, keyAttr{k.AttributeName, t})
		}
		out = append(out, x)
	}
	return out, nil
}

func (g gsi) describe(t *table) map[string]any {
	var ks []map[string]string
	for i, k := range g.keys {
		kt := "HASH"
		if i == 1 {
			kt = "RANGE"
		}
		ks = append(ks, map[string]string{"AttributeName": k.name, "KeyType": kt})
	}
	count, size := 0, 0
	for _, sl := range t.items {
		if sl.cur != nil && g.holds(sl.cur) {
			count++
			size += sl.cur.size()
		}
	}
	return map[string]any{"IndexName": g.name, "KeySchema": ks, "Projection": map[string]string{"ProjectionType": "ALL"},
		"IndexStatus": "ACTIVE", "ItemCount": count, "IndexSizeBytes": size, "IndexArn": t.arn + "/index/" + g.name}
}

// holds: the item has every index key attribute with its defined type.
func (g gsi) holds(it Item) bool {
	for _, k := range g.keys {
		if v, ok := it[k.name]; !ok || v.T != k.typ {
			return false
		}
	}
	return true
}

type queryIn struct {
	TableName                 *string
	IndexName                 *string
	KeyConditionExpression    *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]json.RawMessage
	ScanIndexForward          *bool
	Limit                     *int
	ExclusiveStartKey         map[string]json.RawMessage
	ConsistentRead            *bool
	Select                    string
	FilterExpression          *string
	ProjectionExpression      *string
	ReturnConsumedCapacity    string
	KeyConditions             json.RawMessage
	QueryFilter               json.RawMessage
	AttributesToGet           json.RawMessage
}

// keyCondition checks that src is "P = :v" or "P = :v AND <sort key
// condition>" with P the index's partition key and the sort key condition
// on its sort key.
func keyCondition(src string, ctx *exprCtx, g gsi) error {
	toks, err := lex(src)
	if err != nil {
		return ctx.errf("%v", err)
	}
	name := func(t token) string {
		switch t.kind {
		case tName:
			return ctx.names[t.text]
		case tIdent:
			return t.text
		}
		return ""
	}
	bad := func() error { return ctx.errf("Query key condition not supported") }
	if len(toks) < 4 || name(toks[0]) == "" || toks[1].kind != tOp || toks[1].text != "=" || toks[2].kind != tValue {
		return bad()
	}
	if name(toks[0]) != g.keys[0].name {
		return ctx.errf("Query condition missed key schema element: %s", g.keys[0].name)
	}
	rest := toks[3:]
	if rest[0].kind == tEOF {
		return nil
	}
	if rest[0].kind != tIdent || !strings.EqualFold(rest[0].text, "AND") || len(g.keys) < 2 {
		return bad()
	}
	rest = rest[1:]
	sortKey := g.keys[1].name
	switch {
	case len(rest) == 7 && rest[0].kind == tIdent && strings.EqualFold(rest[0].text, "begins_with"):
		if name(rest[2]) != sortKey {
			return ctx.errf("Query condition missed key schema element: %s", sortKey)
		}
	case len(rest) == 6 && rest[1].kind == tIdent && strings.EqualFold(rest[1].text, "BETWEEN"):
		if name(rest[0]) != sortKey {
			return ctx.errf("Query condition missed key schema element: %s", sortKey)
		}
	case len(rest) == 4 && rest[1].kind == tOp && rest[1].text != "<>" && rest[2].kind == tValue:
		if name(rest[0]) != sortKey {
			return ctx.errf("Query condition missed key schema element: %s", sortKey)
		}
	default:
		return bad()
	}
	return nil
}

func (s *Service) query(in queryIn) (any, error) {
	switch {
	case in.IndexName == nil:
		return nil, validation("awssim models Query on global secondary indexes only (IndexName is required here)")
	case in.FilterExpression != nil || in.ProjectionExpression != nil || len(in.KeyConditions) > 0 || len(in.QueryFilter) > 0 || len(in.AttributesToGet) > 0:
		return nil, validation("awssim does not model FilterExpression, ProjectionExpression or the legacy Query parameters")
	case in.Select != "" && in.Select != "ALL_ATTRIBUTES":
		return nil, validation("awssim models Select ALL_ATTRIBUTES only")
	case in.KeyConditionExpression == nil:
		return nil, validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	case in.Limit != nil && *in.Limit < 1:
		return nil, validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Limit)
	case in.ConsistentRead != nil && *in.ConsistentRead:
		return nil, validation("Consistent reads are not supported on global secondary indexes")
	}
	if err := checkConsumed(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	ctx, err := newExprCtx(in.ExpressionAttributeNames, in.ExpressionAttributeValues, true)
	if err != nil {
		return nil, err
	}
	ctx.kind = "KeyConditionExpression"
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	var g *gsi
	for i := range t.indexes {
		if t.indexes[i].name == *in.IndexName {
			g = &t.indexes[i]
		}
	}
	if g == nil {
		return nil, validation("The table does not have the specified index: %s", *in.IndexName)
	}
	if err := keyCondition(*in.KeyConditionExpression, ctx, *g); err != nil {
		return nil, validation("%v", err)
	}
	match, err := parseCondition(*in.KeyConditionExpression, ctx)
	if err != nil {
		return nil, validation("%v", err)
	}
	if err := ctx.checkUnused(); err != nil {
		return nil, err
	}
	type hit struct {
		key string
		it  Item
	}
	var hits []hit
	for k, sl := range t.items {
		// Index reads are eventually consistent: awssim answers the
		// current items (no index lag is modelled).
		if sl.cur != nil && g.holds(sl.cur) && match(sl.cur) {
			hits = append(hits, hit{k, sl.cur})
		}
	}
	less := func(a, b hit) bool {
		if len(g.keys) > 1 {
			if c, _ := compare(a.it[g.keys[1].name], b.it[g.keys[1].name]); c != 0 {
				return c < 0
			}
		}
		return a.key < b.key
	}
	sort.Slice(hits, func(i, j int) bool { return less(hits[i], hits[j]) })
	if in.ScanIndexForward != nil && !*in.ScanIndexForward {
		for i, j := 0, len(hits)-1; i < j; i, j = i+1, j-1 {
			hits[i], hits[j] = hits[j], hits[i]
		}
	}
	start := 0
	if in.ExclusiveStartKey != nil {
		want := len(t.keys)
		for _, k := range g.keys {
			if !t.isKey(k.name) {
				want++
			}
		}
		if len(in.ExclusiveStartKey) != want {
			return nil, validation("The provided starting key is invalid: The provided key element does not match the schema")
		}
		esk, err := decodeItem(in.ExclusiveStartKey)
		if err != nil {
			return nil, validation("The provided starting key is invalid: %v", err)
		}
		k, err := t.storageKey(esk, true)
		if err != nil || !g.holds(esk) {
			return nil, validation("The provided starting key is invalid: The provided key element does not match the schema")
		}
		pos := hit{k, esk}
		start = sort.Search(len(hits), func(i int) bool {
			if in.ScanIndexForward != nil && !*in.ScanIndexForward {
				return less(hits[i], pos)
			}
			return less(pos, hits[i])
		})
	}
	hits = hits[start:]
	out := map[string]any{}
	limit := len(hits)
	if in.Limit != nil && *in.Limit < limit {
		limit = *in.Limit
	}
	items := make([]Item, 0, limit)
	size := 0
	for _, h := range hits[:limit] {
		if size += h.it.size(); size > 1<<20 && len(items) > 0 {
			break // 1 MB of data read per page
		}
		items = append(items, h.it)
	}
	if len(items) < len(hits) || (in.Limit != nil && len(items) == *in.Limit) {
		last := items[len(items)-1]
		lek := Item{}
		for _, k := range t.keys {
			lek[k.name] = last[k.name]
		}
		for _, k := range g.keys {
			lek[k.name] = last[k.name]
		}
		out["LastEvaluatedKey"] = lek
	}
	out["Items"], out["Count"], out["ScannedCount"] = items, len(items), len(items)
	return out, nil
}

func (t *table) isKey(name string) bool {
	for _, k := range t.keys {
		if k.name == name {
			return true
		}
	}
	return false
}

func containsDef(defs []map[string]string, name string) bool {
	for _, d := range defs {
		if d["AttributeName"] == name {
			return true
		}
	}
	return false
}
