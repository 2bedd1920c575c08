package ha

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The audit index: a global secondary index of the table on
// (AttrAuditPart, AttrAuditSK), projection ALL, that only audit entries
// populate (a sparse index). Append writes both attributes; AuditList
// queries the index newest first.
const (
	AuditIndex    = "audit-by-time"
	AttrAuditPart = "audit_part" // always auditPartition
	AttrAuditSK   = "audit_sk"   // auditKey(at, id): time order

	auditPartition = "audit"
)

// DynamoQuerier is the Query call AuditList needs besides DynamoDB;
// *dynamodb.Client has it. IAM: dynamodb:Query on the table's index
// (arn:…:table/NAME/index/audit-by-time).
type DynamoQuerier interface {
	Query(ctx context.Context, params *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// auditIndexAttrs are the index attributes Append adds to an entry.
func auditIndexAttrs(at time.Time, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrAuditPart: str(auditPartition), AttrAuditSK: str(auditKey(at, id))}
}

// AuditList lists the table's audit entries newest first through the
// audit index (see AuditLister). Index reads are eventually consistent: an
// entry appended a moment ago may be missing from the first page. Entries
// past their TTL that DynamoDB has not deleted yet are skipped.
func (s *DynamoStore) AuditList(ctx context.Context, before string, limit int) ([]AuditEntry, string, error) {
	if err := checkListArgs(before, limit); err != nil {
		return nil, "", err
	}
	q, ok := s.api.(DynamoQuerier)
	if !ok {
		return nil, "", errors.New("ha: the DynamoDB client cannot Query: no audit listing")
	}
	in := &dynamodb.QueryInput{
		TableName: tableName(s.table), IndexName: aws.String(AuditIndex),
		KeyConditionExpression:    aws.String("#p = :p"),
		ExpressionAttributeNames:  map[string]string{"#p": AttrAuditPart},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(auditPartition)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit + 1)), // one more tells whether a next page exists
	}
	if before != "" {
		in.KeyConditionExpression = aws.String("#p = :p AND #s < :c")
		in.ExpressionAttributeNames["#s"] = AttrAuditSK
		in.ExpressionAttributeValues[":c"] = str(before)
	}
	nowS := s.now().Unix()
	var out []AuditEntry
	var keys []string
	more := false
	for {
		page, err := q.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("ha: listing the audit log of table %s: %w", s.table, err)
		}
		for _, raw := range page.Items {
			a, sk, err := decodeAuditItem(raw)
			if err != nil {
				return nil, "", err
			}
			if !a.Expires.IsZero() && nowS >= a.Expires.Unix() {
				continue
			}
			if len(out) == limit {
				more = true
				break
			}
			out, keys = append(out, a), append(keys, sk)
		}
		if more || page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	if !more || len(keys) == 0 {
		return out, "", nil
	}
	return out, keys[len(keys)-1], nil
}

func decodeAuditItem(raw map[string]types.AttributeValue) (AuditEntry, string, error) {
	var a AuditEntry
	ms, _, e1 := getN(raw, attrAt)
	a.At = time.UnixMilli(ms).UTC()
	id, _, e2 := getS(raw, attrID)
	holder, _, e3 := getS(raw, attrHolder)
	kind, _, e4 := getS(raw, attrKind)
	fence, _, e5 := getN(raw, attrFence)
	data, ok, e6 := getS(raw, attrData)
	if ok {
		a.Data = []byte(data)
	}
	sec, ok, e7 := getN(raw, AttrExpiresAt)
	if ok {
		a.Expires = time.Unix(sec, 0).UTC()
	}
	sk, _, e8 := getS(raw, AttrAuditSK)
	a.ID, a.Holder, a.Kind, a.Fence = id, holder, kind, fence
	if err := errors.Join(e1, e2, e3, e4, e5, e6, e7, e8); err != nil || sk == "" {
		return AuditEntry{}, "", fmt.Errorf("ha: audit entry %s in the audit index: malformed (%v)", sk, err)
	}
	return a, sk, nil
}
