package awssim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	"github.com/driftd/driftd/awssim/wire"
)

// TestDynamoDBRouted: the simulator routes DynamoDB (X-Amz-Target
// DynamoDB_20120810.*) like its other services: the SDK reaches
// awssim/dynamodb, calls are logged, and faults apply.
func TestDynamoDBRouted(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, nil)
	c := dynamodb.NewFromConfig(simtest.SDKConfig(t, e.Ctx), func(o *dynamodb.Options) {
		o.BaseEndpoint, o.HTTPClient, o.RetryMaxAttempts = aws.String(e.URL), awssim.NewHTTPClient(), 1
	})
	ctx := simtest.Ctx(t)
	if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("leases"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "driftd"}}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: key,
		ConditionExpression: aws.String("attribute_not_exists(id)")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || got.Item == nil {
		t.Fatalf("GetItem: %+v, %v", got, err)
	}
	if n := e.Sim.CallCount(wire.SvcDynamoDB, "PutItem"); n != 1 {
		t.Errorf("call log counts %d PutItem calls, want 1", n)
	}
	if _, err := e.Sim.AddFault(awssim.Fault{Service: wire.SvcDynamoDB, Operation: "GetItem", ErrorRate: 1, ErrorCode: "ProvisionedThroughputExceededException"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: key})
	if code := simtest.APICode(err); code != "ProvisionedThroughputExceededException" {
		t.Errorf("GetItem under a fault: %v (code %q)", err, code)
	}
}
