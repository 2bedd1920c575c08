package ha

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	simddb "github.com/driftd/driftd/awssim/dynamodb"
	"github.com/driftd/driftd/awssim/wire"
)

// auditSimTarget serves awssim's DynamoDB for one test when the suite's
// targets do not include awssim already.
func auditSimTarget() target {
	return target{name: "awssim", account: func(t *testing.T) (string, aws.Config) {
		svc := simddb.New(simddb.Options{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
			body, _ := io.ReadAll(r.Body)
			svc.ServeAWS(w, &wire.Request{Protocol: wire.JSON10, Service: "dynamodb", Op: op, Body: body, HTTP: r, ID: wire.NewRequestID()})
		}))
		t.Cleanup(srv.Close)
		return srv.URL, aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	}}
}

// newAuditTable creates driftd's table with the audit index.
func newAuditTable(t *testing.T, c *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("driftd-audit-%d-%d", time.Now().UnixNano()%1e9, tableSeq.Add(1))
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrAuditPart), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrAuditSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String(AuditIndex),
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(AttrAuditPart), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrAuditSK), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("waiting for table %s: %v", name, err)
	}
	return name
}

// TestDynamoStoreAuditList pages the audit log newest first through the
// audit index, on every target: expired entries skipped, Store items and
// the lease (not in the index) never listed, ties in one millisecond told
// apart by id.
func TestDynamoStoreAuditList(t *testing.T) {
	tgs := targets()
	if !slices.ContainsFunc(tgs, func(tg target) bool { return tg.name == "awssim" }) {
		tgs = append(tgs, auditSimTarget())
	}
	for _, tg := range tgs {
		t.Run(tg.name, func(t *testing.T) {
			url, cfg := tg.account(t)
			r := newReplica(url, cfg)
			table := newAuditTable(t, r.client)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Millisecond)
			s := NewDynamoStore(r.client, table, func() time.Time { return now })
			if _, err := s.Put(ctx, "approval/i-1", []byte(`{}`), Write{}); err != nil {
				t.Fatal(err)
			}
			base := now.Add(-time.Hour)
			for i := range 12 {
				e := AuditEntry{At: base.Add(time.Duration(i) * time.Second), ID: fmt.Sprintf("e%02d", i), Kind: "http", Data: []byte(`{"n":1}`)}
				if i == 11 {
					e.At = base.Add(10 * time.Second) // same millisecond as e10
				}
				if i == 5 {
					e.TTL = time.Second
				}
				if err := s.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			now = now.Add(3 * time.Second) // e05 expired, not yet deleted by TTL
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("paging does not end")
				}
				page, next, err := s.AuditList(ctx, cursor, 4)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > 4 {
					t.Fatalf("page of %d", len(page))
				}
				for _, e := range page {
					if e.Kind != "http" || string(e.Data) != `{"n":1}` {
						t.Errorf("entry %+v", e)
					}
					got = append(got, e.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			want := "[e11 e10 e09 e08 e07 e06 e04 e03 e02 e01 e00]"
			if fmt.Sprint(got) != want {
				t.Fatalf("listed %v, want %s", got, want)
			}
		})
	}
}
