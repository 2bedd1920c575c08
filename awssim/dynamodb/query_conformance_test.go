package dynamodb

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftd/driftd/internal/testenv/motoenv"
)

// createIndexed is driftd's table with the audit index: a sparse global
// secondary index on (part, sk), projection ALL.
func createIndexed(t *testing.T, c *ddb.Client) string {
	t.Helper()
	name := fmt.Sprintf("query-%d-%d", time.Now().UnixNano()%1e9, tableSeq.Add(1))
	in := createInput(name)
	in.AttributeDefinitions = append(in.AttributeDefinitions,
		types.AttributeDefinition{AttributeName: aws.String("part"), AttributeType: types.ScalarAttributeTypeS},
		types.AttributeDefinition{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS})
	in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{{IndexName: aws.String("by-time"),
		KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("part"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange}},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}}
	ctx := context.Background()
	if _, err := c.CreateTable(ctx, in); err != nil {
		t.Fatal(err)
	}
	w := ddb.NewTableExistsWaiter(c, func(o *ddb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Table.GlobalSecondaryIndexes) != 1 || aws.ToString(d.Table.GlobalSecondaryIndexes[0].IndexName) != "by-time" || len(d.Table.AttributeDefinitions) != 3 {
		t.Fatalf("DescribeTable: indexes %+v, %d attribute definitions", d.Table.GlobalSecondaryIndexes, len(d.Table.AttributeDefinitions))
	}
	return name
}

type queryCase struct {
	name    string
	cond    string
	vals    vals
	forward bool
	limit   int32
	// pages walks LastEvaluatedKey to the end when true.
	pages bool
	want  string // pks in order, "|" between pages; or an error code
	index string
	cons  bool
	moto  string // moto's known different answer (docs/awssim.md)
}

func runQueries(t *testing.T, c *ddb.Client, isMoto bool) {
	t.Helper()
	ctx := context.Background()
	table := createIndexed(t, c)
	for i, sk := range []string{"2026-01-03", "2026-01-01", "2026-01-05", "2026-01-02", "2026-01-04"} {
		item := map[string]types.AttributeValue{"pk": s(fmt.Sprintf("audit#%d", i)), "part": s("audit"), "sk": s(sk)}
		if _, err := c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	// Not in the index: no sk; in another partition. (An item whose sk is
	// a number is left out of the index by DynamoDB, but moto answers the
	// Query with a 500 page then: awssim's own test covers it.)
	for _, item := range []map[string]types.AttributeValue{
		{"pk": s("state#x"), "part": s("audit")},
		{"pk": s("state#z"), "part": s("other"), "sk": s("2026-01-09")},
	} {
		if _, err := c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	p := vals{":p": s("audit")}
	with := func(extra vals) vals {
		m := vals{":p": s("audit")}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, q := range []queryCase{
		{name: "forward", cond: "#part = :p", vals: p, forward: true, want: "1 3 0 4 2"},
		{name: "newest first", cond: "#part = :p", vals: p, want: "2 4 0 3 1"},
		{name: "pages of two", cond: "#part = :p", vals: p, limit: 2, pages: true, want: "2 4|0 3|1"},
		{name: "older than a cursor", cond: "#part = :p AND #sk < :c", vals: with(vals{":c": s("2026-01-04")}), want: "0 3 1"},
		{name: "begins_with", cond: "#part = :p AND begins_with(#sk, :c)", vals: with(vals{":c": s("2026-01-0")}), limit: 10, want: "2 4 0 3 1"},
		{name: "between", cond: "#part = :p AND #sk BETWEEN :a AND :b", vals: with(vals{":a": s("2026-01-02"), ":b": s("2026-01-04")}), forward: true, want: "3 0 4"},
		{name: "other partition", cond: "#part = :p", vals: vals{":p": s("other")}, want: "z"},
		{name: "consistent read on an index", cond: "#part = :p", vals: p, cons: true, want: "ValidationException"},
		// AWS: ValidationException "The table does not have the specified index".
		{name: "no such index", cond: "#part = :p", vals: p, index: "nope", want: "ValidationException", moto: "ResourceNotFoundException"},
		{name: "sort key only", cond: "#sk = :p", vals: p, want: "ValidationException"},
	} {
		t.Run(q.name, func(t *testing.T) {
			if isMoto && q.moto != "" {
				q.want = q.moto
			}
			index := "by-time"
			if q.index != "" {
				index = q.index
			}
			nm := names{"#part": "part"}
			if strings.Contains(q.cond, "#sk") {
				nm["#sk"] = "sk"
			}
			if !strings.Contains(q.cond, "#part") {
				delete(nm, "#part")
			}
			in := &ddb.QueryInput{TableName: aws.String(table), IndexName: aws.String(index), KeyConditionExpression: aws.String(q.cond),
				ExpressionAttributeNames: nm, ExpressionAttributeValues: q.vals, ScanIndexForward: aws.Bool(q.forward)}
			if q.limit > 0 {
				in.Limit = aws.Int32(q.limit)
			}
			if q.cons {
				in.ConsistentRead = aws.Bool(true)
			}
			var pages []string
			for {
				out, err := c.Query(ctx, in)
				if err != nil {
					if got := codeOf(err); got != q.want {
						t.Fatalf("Query: %s (%v), want %s", got, err, q.want)
					}
					return
				}
				var ids []string
				for _, it := range out.Items {
					id := it["pk"].(*types.AttributeValueMemberS).Value
					ids = append(ids, id[strings.LastIndexAny(id, "#")+1:])
				}
				if len(ids) > 0 {
					pages = append(pages, strings.Join(ids, " "))
				}
				if !q.pages || out.LastEvaluatedKey == nil {
					break
				}
				in.ExclusiveStartKey = out.LastEvaluatedKey
			}
			if got := strings.Join(pages, "|"); got != q.want {
				t.Errorf("got %q, want %q", got, q.want)
			}
		})
	}
}

// TestQueryConformanceWithMoto runs the same index queries against
// awssim and moto.
func TestQueryConformanceWithMoto(t *testing.T) {
	t.Run("awssim", func(t *testing.T) {
		runQueries(t, simClient(t, Options{}), false)
	})
	t.Run("moto", func(t *testing.T) {
		if testing.Short() {
			t.Skip("SKIPPED in -short mode: needs moto")
		}
		u := motoenv.URL(t)
		cfg, _ := motoenv.Account(t, context.Background(), u, "us-east-1")
		runQueries(t, ddb.NewFromConfig(cfg, func(o *ddb.Options) { o.BaseEndpoint = aws.String(u); o.RetryMaxAttempts = 1 }), true)
	})
}

// An item whose index sort key has another type than the index defines is
// not in the index (DynamoDB's sparse indexes); moto cannot answer this
// case (docs/awssim-services.md), so awssim is checked alone.
func TestSparseIndexSkipsWrongType(t *testing.T) {
	c := simClient(t, Options{})
	ctx := context.Background()
	table := createIndexed(t, c)
	for _, item := range []map[string]types.AttributeValue{
		{"pk": s("in"), "part": s("audit"), "sk": s("1")},
		{"pk": s("number"), "part": s("audit"), "sk": n("2")},
		{"pk": s("no-sk"), "part": s("audit")},
	} {
		if _, err := c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.Query(ctx, &ddb.QueryInput{TableName: aws.String(table), IndexName: aws.String("by-time"),
		KeyConditionExpression: aws.String("part = :p"), ExpressionAttributeValues: vals{":p": s("audit")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 || render(out.Items[0]) != "part=S:audit pk=S:in sk=S:1" || out.LastEvaluatedKey != nil {
		t.Fatalf("index holds %d items, LEK %v", len(out.Items), out.LastEvaluatedKey)
	}
	d, err := c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt64(d.Table.GlobalSecondaryIndexes[0].ItemCount); n != 1 {
		t.Errorf("index ItemCount %d, want 1", n)
	}
}
