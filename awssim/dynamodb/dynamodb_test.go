package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestConditionalWritesAreAtomic: of N concurrent conditional writers that
// exclude each other, exactly one succeeds, every round.
func TestConditionalWritesAreAtomic(t *testing.T) {
	c := simClient(t, Options{})
	table := newTable(t, c)
	ctx := context.Background()
	for round := range 5 {
		key := fmt.Sprintf("k%d", round)
		const racers = 16
		var wg sync.WaitGroup
		errs := make([]error, racers)
		start := make(chan struct{})
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = c.UpdateItem(ctx, &ddb.UpdateItemInput{
					TableName: aws.String(table), Key: pk(key),
					UpdateExpression:          aws.String("SET #h = :me ADD #t :one"),
					ConditionExpression:       aws.String("attribute_not_exists(#h)"),
					ExpressionAttributeNames:  names{"#h": "holder", "#t": "token"},
					ExpressionAttributeValues: vals{":me": s(fmt.Sprint(i)), ":one": n("1")},
				})
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			var ccf *types.ConditionalCheckFailedException
			switch {
			case err == nil:
				wins++
			case !errors.As(err, &ccf):
				t.Fatal(err)
			}
		}
		out, err := c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(table), Key: pk(key), ConsistentRead: aws.Bool(true)})
		if err != nil || wins != 1 || renderValue(out.Item["token"]) != "N:1" {
			t.Fatalf("round %d: %d winners, item %s (%v)", round, wins, render(out.Item), err)
		}
	}
}

// TestEventuallyConsistentReadMayBeStale: right after a write, a read
// without ConsistentRead sees the item as it was; a strongly consistent
// read always sees the write.
func TestEventuallyConsistentReadMayBeStale(t *testing.T) {
	c := simClient(t, Options{})
	table := newTable(t, c)
	ctx := context.Background()
	read := func(consistent bool) string {
		out, err := c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(table), Key: pk("a"), ConsistentRead: aws.Bool(consistent)})
		if err != nil {
			t.Fatal(err)
		}
		return render(out.Item)
	}
	for i, v := range []string{"1", "2"} {
		if _, err := c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{"pk": s("a"), "v": n(v)}}); err != nil {
			t.Fatal(err)
		}
		if got := read(true); got != "pk=S:a v=N:"+v {
			t.Fatalf("consistent read after write %d: %s", i, got)
		}
		want := "<none>"
		if i == 1 {
			want = "pk=S:a v=N:1"
		}
		if got := read(false); got != want {
			t.Fatalf("eventually consistent read right after write %d: %s, want the previous %s", i, got, want)
		}
		if got := read(false); got != "pk=S:a v=N:"+v {
			t.Fatalf("second eventually consistent read: %s", got)
		}
	}
}

func TestTableCreatingUntilDelay(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := simClient(t, Options{Clock: clock, CreateDelay: 5 * time.Second})
	ctx := context.Background()
	out, err := c.CreateTable(ctx, createInput("t-delay"))
	if err != nil || out.TableDescription.TableStatus != types.TableStatusCreating {
		t.Fatalf("CreateTable %v %v", out, err)
	}
	if _, err := c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("t-delay"), Key: pk("a")}); codeOf(err) != "ResourceNotFoundException" {
		t.Fatalf("item operation on a CREATING table: %v", err)
	}
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	d, err := c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String("t-delay")})
	if err != nil || d.Table.TableStatus != types.TableStatusActive || aws.ToString(d.Table.TableArn) != "arn:aws:dynamodb:us-east-1:123456789012:table/t-delay" ||
		d.Table.BillingModeSummary == nil || d.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("DescribeTable %+v %v", d, err)
	}
	if _, err := c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("t-delay"), Key: pk("a")}); err != nil {
		t.Fatal(err)
	}
}

func TestCreateTableValidation(t *testing.T) {
	c := simClient(t, Options{})
	ctx := context.Background()
	cases := map[string]func(*ddb.CreateTableInput){
		"short name":    func(in *ddb.CreateTableInput) { in.TableName = aws.String("ab") },
		"bad name":      func(in *ddb.CreateTableInput) { in.TableName = aws.String("a b c") },
		"undefined key": func(in *ddb.CreateTableInput) { in.KeySchema[0].AttributeName = aws.String("id") },
		"extra definition": func(in *ddb.CreateTableInput) {
			in.AttributeDefinitions = append(in.AttributeDefinitions, in.AttributeDefinitions[0])
			in.AttributeDefinitions[1].AttributeName = aws.String("x")
		},
		"provisioned, no units": func(in *ddb.CreateTableInput) { in.BillingMode = types.BillingModeProvisioned },
		"range first":           func(in *ddb.CreateTableInput) { in.KeySchema[0].KeyType = types.KeyTypeRange },
		"index": func(in *ddb.CreateTableInput) {
			in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{{IndexName: aws.String("i"), KeySchema: in.KeySchema, Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}}
		},
	}
	for name, mod := range cases {
		in := createInput("t-" + strings.ReplaceAll(name, " ", "-"))
		mod(in)
		if _, err := c.CreateTable(ctx, in); codeOf(err) != "ValidationException" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCanonicalNumber(t *testing.T) {
	cases := map[string]string{
		"0": "0", "-0": "0", "00.000": "0", "01.50": "1.5", "1e3": "1000", "1.5E-3": "0.0015", "-12.3400": "-12.34",
		"+7": "7", ".5": "0.5", "5.": "5", "123456789012345678901234567890123456780": "123456789012345678901234567890123456780",
		"1E+125": "1" + strings.Repeat("0", 125), "1E-130": "0." + strings.Repeat("0", 129) + "1",
		"": "error", "abc": "error", "1e": "error", "1.2.3": "error", "--1": "error", ".": "error",
		"1E126": "error", "1E-131": "error", "1234567890123456789012345678901234567891": "error",
	}
	for in, want := range cases {
		got, err := canonicalNumber(in)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("canonicalNumber(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}

// FuzzCanonicalNumber: a canonical number is a fixed point, and keeps the
// numeric value.
func FuzzCanonicalNumber(f *testing.F) {
	for _, s := range []string{"1", "01.50", "-1e-3", "1E125", "0.000", "9" + strings.Repeat("9", 37)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := canonicalNumber(in)
		if err != nil {
			return
		}
		c2, err := canonicalNumber(c)
		if err != nil || c2 != c {
			t.Fatalf("%q -> %q -> %q (%v)", in, c, c2, err)
		}
		a, ok1 := new(big.Rat).SetString(strings.TrimSpace(in))
		b, ok2 := new(big.Rat).SetString(c)
		if ok1 && (!ok2 || a.Cmp(b) != 0) {
			t.Fatalf("%q -> %q changes the value", in, c)
		}
	})
}

// FuzzExpressions: the expression parsers never panic on outside input, and
// evaluating what they accept never panics either.
func FuzzExpressions(f *testing.F) {
	for _, s := range []string{
		"attribute_not_exists(#pk) OR #e < :cut", "#h = :me AND #t = :tok", "NOT (#a <> :v) AND size(#a) >= :v",
		"#a BETWEEN :v AND :w", "#a IN (:v, :w)", "begins_with(#a, :v) OR contains(#a, :v)", "SET #a = :v, #b = #a + :w REMOVE #c ADD #d :w",
		"SET #a = if_not_exists(#a, :v) DELETE #s :ss", "((", "#a.b = :v", "SET #a[0] = :v",
	} {
		f.Add(s)
	}
	item := Item{"a": {T: "N", S: "1"}, "b": {T: "S", S: "x"}, "s": {T: "SS", Set: []string{"x"}}}
	f.Fuzz(func(t *testing.T, src string) {
		mk := func() *exprCtx {
			return &exprCtx{
				names:     map[string]string{"#a": "a", "#b": "b", "#c": "c", "#d": "d", "#e": "e", "#h": "h", "#pk": "pk", "#s": "s", "#t": "t"},
				values:    map[string]Value{":v": {T: "N", S: "1"}, ":w": {T: "N", S: "2"}, ":me": {T: "S", S: "x"}, ":cut": {T: "N", S: "3"}, ":tok": {T: "N", S: "1"}, ":ss": {T: "SS", Set: []string{"x"}}},
				usedNames: map[string]bool{}, usedVals: map[string]bool{}, kind: "ConditionExpression",
			}
		}
		if c, err := parseCondition(src, mk()); err == nil {
			c(item)
			c(Item{})
		}
		if u, err := parseUpdate(src, mk()); err == nil {
			_, _ = u.apply(item)
			_, _ = u.apply(Item{})
		}
	})
}

// FuzzDecodeValue: attribute values from the wire decode or fail cleanly,
// and what decodes re-encodes to a value that decodes equal.
func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{`{"S":"x"}`, `{"N":"01.5"}`, `{"B":"AAE="}`, `{"SS":["a","b"]}`, `{"NS":["1","01"]}`, `{"M":{"a":{"L":[{"NULL":true},{"BOOL":false}]}}}`, `{}`, `{"S":"a","N":"1"}`, `{"NULL":false}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := decodeValue(json.RawMessage(in))
		if err != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s decoded but does not encode: %v", in, err)
		}
		v2, err := decodeValue(b)
		if err != nil || !equal(v, v2) {
			t.Fatalf("%s -> %s -> %+v (%v)", in, b, v2, err)
		}
	})
}
