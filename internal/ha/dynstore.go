package ha

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Store item attributes (besides pk and expires_at).
const (
	attrValue   = "val"
	attrVersion = "ver"
	attrFence   = "fence"
	attrUpdated = "updated_ms"
	attrOld     = "old" // a tombstone's deleted value, for recognising a retried Delete

	attrAt   = "at_ms"
	attrID   = "id"
	attrKind = "kind"
	attrData = "data"
)

// DynamoStore is a Store in a DynamoDB table shared by the replicas (the
// layout is described at AttrPK). Reads are strongly consistent.
type DynamoStore struct {
	api   DynamoDB
	table string
	now   func() time.Time
}

// NewDynamoStore returns a Store in table. now is the clock for expiry
// (nil: time.Now).
func NewDynamoStore(api DynamoDB, table string, now func() time.Time) *DynamoStore {
	if now == nil {
		now = time.Now
	}
	return &DynamoStore{api: api, table: table, now: now}
}

// expr collects the placeholders of one request's expressions: DynamoDB
// rejects names or values that no expression uses.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
}

func newExpr() *expr {
	return &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

func (e *expr) n(attr string) string {
	for p, a := range e.names {
		if a == attr {
			return p
		}
	}
	p := "#n" + strconv.Itoa(len(e.names))
	e.names[p] = attr
	return p
}

func (e *expr) v(av types.AttributeValue) string {
	p := ":v" + strconv.Itoa(len(e.values))
	e.values[p] = av
	return p
}

// live is the condition "the item exists, is no tombstone, has not expired".
func (e *expr) live(nowS int64) string {
	ea := e.n(AttrExpiresAt)
	return fmt.Sprintf("attribute_exists(%s) AND (attribute_not_exists(%s) OR %s > %s)", e.n(attrValue), ea, ea, e.v(num(nowS)))
}

func (e *expr) conditions(w Write, nowS int64, put bool) string {
	var c []string
	switch {
	case w.IfAbsent:
		c = append(c, fmt.Sprintf("(attribute_not_exists(%s) OR %s <= %s)", e.n(attrValue), e.n(AttrExpiresAt), e.v(num(nowS))))
	case w.IfVersion > 0:
		c = append(c, "("+e.live(nowS)+")", fmt.Sprintf("%s = %s", e.n(attrVersion), e.v(num(w.IfVersion))))
	case !put:
		c = append(c, "("+e.live(nowS)+")")
	}
	if w.Fence > 0 {
		f := e.n(attrFence)
		c = append(c, fmt.Sprintf("(attribute_not_exists(%s) OR %s <= %s)", f, f, e.v(num(w.Fence))))
	}
	return strings.Join(c, " AND ")
}

func (e *expr) input() (map[string]string, map[string]types.AttributeValue) {
	var n map[string]string
	var v map[string]types.AttributeValue
	if len(e.names) > 0 {
		n = e.names
	}
	if len(e.values) > 0 {
		v = e.values
	}
	return n, v
}

// Put writes value under key.
func (s *DynamoStore) Put(ctx context.Context, k string, value []byte, w Write) (Item, error) {
	if err := errors.Join(checkKey(k), checkValue(k, value), checkWrite(k, w, true)); err != nil {
		return Item{}, err
	}
	now := s.now()
	e := newExpr()
	wid := newWriteID()
	set := []string{
		e.n(attrValue) + " = " + e.v(str(string(value))),
		e.n(attrUpdated) + " = " + e.v(num(now.UnixMilli())),
		e.n(attrWriteID) + " = " + e.v(str(wid)),
	}
	remove := " REMOVE " + e.n(attrOld)
	if w.TTL > 0 {
		set = append(set, e.n(AttrExpiresAt)+" = "+e.v(num(expiresAt(now, w.TTL))))
	} else {
		remove += ", " + e.n(AttrExpiresAt)
	}
	if w.Fence > 0 {
		set = append(set, e.n(attrFence)+" = "+e.v(num(w.Fence)))
	}
	update := "SET " + strings.Join(set, ", ") + " ADD " + e.n(attrVersion) + " " + e.v(num(1)) + remove
	cond := e.conditions(w, now.Unix(), true)
	in := &dynamodb.UpdateItemInput{
		TableName: tableName(s.table), Key: key(statePrefix + k),
		UpdateExpression: aws.String(update), ReturnValues: types.ReturnValueAllNew,
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	in.ExpressionAttributeNames, in.ExpressionAttributeValues = e.input()
	out, err := s.api.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return s.refused(ctx, k, w, wid, ErrConflict)
	}
	if err != nil {
		return Item{}, fmt.Errorf("ha: writing %s to table %s: %w", k, s.table, err)
	}
	return decodeItem(k, out.Attributes)
}

// Delete removes the live item under key and returns it, leaving a
// tombstone that keeps its version and fence for TombstoneTTL.
func (s *DynamoStore) Delete(ctx context.Context, k string, w Write) (Item, error) {
	if err := errors.Join(checkKey(k), checkWrite(k, w, false)); err != nil {
		return Item{}, err
	}
	now := s.now()
	e := newExpr()
	cond := e.conditions(w, now.Unix(), false)
	wid := newWriteID()
	set := []string{
		e.n(attrOld) + " = " + e.n(attrValue),
		e.n(attrUpdated) + " = " + e.v(num(now.UnixMilli())),
		e.n(AttrExpiresAt) + " = " + e.v(num(expiresAt(now, TombstoneTTL))),
		e.n(attrWriteID) + " = " + e.v(str(wid)),
	}
	if w.Fence > 0 {
		set = append(set, e.n(attrFence)+" = "+e.v(num(w.Fence)))
	}
	update := "REMOVE " + e.n(attrValue) + " SET " + strings.Join(set, ", ") + " ADD " + e.n(attrVersion) + " " + e.v(num(1))
	in := &dynamodb.UpdateItemInput{
		TableName: tableName(s.table), Key: key(statePrefix + k),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ReturnValues: types.ReturnValueAllOld,
	}
	in.ExpressionAttributeNames, in.ExpressionAttributeValues = e.input()
	out, err := s.api.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return s.refused(ctx, k, w, wid, ErrNotFound)
	}
	if err != nil {
		return Item{}, fmt.Errorf("ha: deleting %s in table %s: %w", k, s.table, err)
	}
	return decodeItem(k, out.Attributes)
}

// refused handles a failed condition. When the item carries this call's
// write id, the write did happen and this failure is the SDK's retry of it
// after a lost answer: the write's result is returned (for a Delete, the
// deleted value kept in the tombstone). Otherwise it names why: ErrFenced
// when a larger token wrote the item, ErrNotFound when there is no live
// item to delete, else ErrConflict.
func (s *DynamoStore) refused(ctx context.Context, k string, w Write, wid string, dflt error) (Item, error) {
	raw, err := s.raw(ctx, statePrefix+k)
	if err != nil {
		return Item{}, fmt.Errorf("%w (key %s; reading it back: %v)", dflt, k, err)
	}
	it, derr := decodeItem(k, raw)
	if own, _, _ := getS(raw, attrWriteID); derr == nil && own == wid {
		if dflt == ErrNotFound { // our Delete: return what it deleted
			old, _, _ := getS(raw, attrOld)
			it.Value, it.Version = []byte(old), it.Version-1
		}
		return it, nil
	}
	if w.Fence > 0 && derr == nil && it.Fence > w.Fence {
		return Item{}, fmt.Errorf("%w (key %s: fence %d, ours %d)", ErrFenced, k, it.Fence, w.Fence)
	}
	live := raw != nil && derr == nil && it.Value != nil && (it.Expires.IsZero() || s.now().Unix() < it.Expires.Unix())
	if !live && dflt == ErrNotFound {
		return Item{}, fmt.Errorf("%w: %s", ErrNotFound, k)
	}
	return Item{}, fmt.Errorf("%w (key %s, version %d)", ErrConflict, k, it.Version)
}

func (s *DynamoStore) raw(ctx context.Context, pk string) (map[string]types.AttributeValue, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: tableName(s.table), Key: key(pk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// Get returns the live item under key, or ErrNotFound.
func (s *DynamoStore) Get(ctx context.Context, k string) (Item, error) {
	if err := checkKey(k); err != nil {
		return Item{}, err
	}
	raw, err := s.raw(ctx, statePrefix+k)
	if err != nil {
		return Item{}, fmt.Errorf("ha: reading %s from table %s: %w", k, s.table, err)
	}
	if raw == nil {
		return Item{}, fmt.Errorf("%w: %s", ErrNotFound, k)
	}
	it, err := decodeItem(k, raw)
	if err != nil {
		return Item{}, err
	}
	if it.Value == nil || (!it.Expires.IsZero() && s.now().Unix() >= it.Expires.Unix()) {
		return Item{}, fmt.Errorf("%w: %s", ErrNotFound, k)
	}
	return it, nil
}

func decodeItem(k string, raw map[string]types.AttributeValue) (Item, error) {
	it := Item{Key: k}
	v, ok, e1 := getS(raw, attrValue)
	if ok {
		it.Value = []byte(v)
	}
	var e2, e3, e4, e5 error
	it.Version, _, e2 = getN(raw, attrVersion)
	it.Fence, _, e3 = getN(raw, attrFence)
	ms, ok, e4 := getN(raw, attrUpdated)
	if ok {
		it.Updated = time.UnixMilli(ms).UTC()
	}
	sec, ok, e5 := getN(raw, AttrExpiresAt)
	if ok {
		it.Expires = time.Unix(sec, 0).UTC()
	}
	if err := errors.Join(e1, e2, e3, e4, e5); err != nil {
		return Item{}, fmt.Errorf("ha: item %s: %w", k, err)
	}
	return it, nil
}

// Append writes an audit entry once (attribute_not_exists on the key).
func (s *DynamoStore) Append(ctx context.Context, a AuditEntry) error {
	if err := checkAudit(a); err != nil {
		return err
	}
	pk := auditPrefix + auditKey(a.At, a.ID)
	wid := newWriteID()
	item := map[string]types.AttributeValue{
		AttrPK: str(pk), attrAt: num(a.At.UnixMilli()), attrID: str(a.ID), attrFence: num(a.Fence), attrWriteID: str(wid),
	}
	if a.Holder != "" {
		item[attrHolder] = str(a.Holder)
	}
	if a.Kind != "" {
		item[attrKind] = str(a.Kind)
	}
	if len(a.Data) > 0 {
		item[attrData] = str(string(a.Data))
	}
	if a.TTL > 0 {
		item[AttrExpiresAt] = num(expiresAt(s.now(), a.TTL))
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: tableName(s.table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	if conditionFailed(err) {
		if raw, rerr := s.raw(ctx, pk); rerr == nil {
			if own, _, _ := getS(raw, attrWriteID); own == wid {
				return nil // our own write, retried by the SDK after a lost answer
			}
		}
		return fmt.Errorf("%w: %s", ErrExists, pk)
	}
	if err != nil {
		return fmt.Errorf("ha: appending audit entry %s to table %s: %w", a.ID, s.table, err)
	}
	return nil
}

// Audit returns one audit entry (ErrNotFound when absent or expired).
func (s *DynamoStore) Audit(ctx context.Context, at time.Time, id string) (AuditEntry, error) {
	pk := auditPrefix + auditKey(at, id)
	raw, err := s.raw(ctx, pk)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("ha: reading audit entry %s from table %s: %w", id, s.table, err)
	}
	if raw == nil {
		return AuditEntry{}, fmt.Errorf("%w: %s", ErrNotFound, pk)
	}
	var a AuditEntry
	ms, _, e1 := getN(raw, attrAt)
	a.At = time.UnixMilli(ms).UTC()
	var e2, e3, e4, e5, e6 error
	a.ID, _, e2 = getS(raw, attrID)
	a.Holder, _, e3 = getS(raw, attrHolder)
	a.Kind, _, e4 = getS(raw, attrKind)
	a.Fence, _, e5 = getN(raw, attrFence)
	data, ok, e6 := getS(raw, attrData)
	if ok {
		a.Data = []byte(data)
	}
	sec, ok, e7 := getN(raw, AttrExpiresAt)
	if ok {
		a.Expires = time.Unix(sec, 0).UTC()
	}
	if err := errors.Join(e1, e2, e3, e4, e5, e6, e7); err != nil {
		return AuditEntry{}, fmt.Errorf("ha: audit entry %s: %w", pk, err)
	}
	if !a.Expires.IsZero() && s.now().Unix() >= a.Expires.Unix() {
		return AuditEntry{}, fmt.Errorf("%w: %s (expired)", ErrNotFound, pk)
	}
	return a, nil
}
