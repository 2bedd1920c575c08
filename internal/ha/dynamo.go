package ha

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB is the part of the DynamoDB API this package calls;
// *dynamodb.Client satisfies it. IAM: dynamodb:GetItem, dynamodb:PutItem
// and dynamodb:UpdateItem on the table.
type DynamoDB interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Table layout. The table has one key, the string partition key "pk"; no
// sort key, no index. Item kinds are told apart by the key's prefix:
//
//	lease#<name>               the leader lease (see Lease)
//	state#<key>                a Store item
//	audit#<time>#<id>          an audit entry (append-only)
//
// Store items and audit entries may carry AttrExpiresAt (epoch seconds),
// the attribute to enable as the table's TTL attribute; the lease item
// never does, so TTL can never delete it (its fencing token must only grow).
const (
	AttrPK        = "pk"
	AttrExpiresAt = "expires_at"

	leasePrefix = "lease#"
	statePrefix = "state#"
	auditPrefix = "audit#"
)

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(pk)}
}

// getS returns a string attribute ("" when absent); a present attribute of
// another type is an error naming it.
func getS(item map[string]types.AttributeValue, name string) (string, bool, error) {
	v, ok := item[name]
	if !ok {
		return "", false, nil
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		return "", false, fmt.Errorf("attribute %s: want a string (S), got %T", name, v)
	}
	return s.Value, true, nil
}

// getN returns an integer number attribute (0 when absent).
func getN(item map[string]types.AttributeValue, name string) (int64, bool, error) {
	v, ok := item[name]
	if !ok {
		return 0, false, nil
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, false, fmt.Errorf("attribute %s: want a number (N), got %T", name, v)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("attribute %s: %q is not an integer", name, n.Value)
	}
	return i, true, nil
}

// conditionFailed reports whether err is DynamoDB's
// ConditionalCheckFailedException.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func tableName(t string) *string { return aws.String(t) }
