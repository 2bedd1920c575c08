package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/durable"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/remediation"
)

// newDecisionStore is where the daemon keeps the decisions that must
// survive restarts and failover: the HA table when ha.dynamodb_table is
// set, else a file next to state.file, else (no state file) nothing — nil,
// and the engines keep their decisions in memory. recovery is non-nil when
// a damaged decisions file was replaced by its backup or by nothing.
func newDecisionStore(cfg *config.Config, ddb *dynamodb.Client) (st ha.Store, recovery *durable.Recovery) {
	switch {
	case cfg.HA.Enabled():
		return ha.NewDynamoStore(ddb, cfg.HA.DynamoDBTable, nil), nil
	case cfg.State.DecisionsFile() != "":
		fs := ha.OpenFileStore(cfg.State.DecisionsFile(), ha.FileStoreOptions{})
		return fs, fs.Recovery()
	}
	return nil, nil
}

// remediationStateKey is the Store key of the remediation engine's State.
const remediationStateKey = "remediation"

// maxUpdateAttempts bounds the read-modify-write retries of one update
// (each retry means another writer changed the state in between).
const maxUpdateAttempts = 8

// remediationState is remediation.StateStore over an ha.Store: the State is
// one JSON item, written with optimistic concurrency (IfVersion/IfAbsent)
// and, for the leader's own decisions, under its fencing token, so a
// replica that lost the lease can never overwrite what the new leader
// decided.
type remediationState struct {
	store ha.Store
	guard ha.Guarder
}

var _ remediation.StateStore = remediationState{}

func (s remediationState) read(ctx context.Context) (remediation.State, int64, error) {
	it, err := s.store.Get(ctx, remediationStateKey)
	if errors.Is(err, ha.ErrNotFound) {
		return remediation.State{}, 0, nil
	}
	if err != nil {
		return remediation.State{}, 0, err
	}
	var st remediation.State
	if err := json.Unmarshal(it.Value, &st); err != nil {
		return remediation.State{}, 0, fmt.Errorf("decoding the stored remediation state (version %d): %w", it.Version, err)
	}
	return st, it.Version, nil
}

// Load implements remediation.StateStore.
func (s remediationState) Load(ctx context.Context) (remediation.State, error) {
	st, _, err := s.read(ctx)
	return st, err
}

// Update implements remediation.StateStore.
func (s remediationState) Update(ctx context.Context, fenced bool, fn func(*remediation.State) error) (remediation.State, error) {
	for range maxUpdateAttempts {
		var w ha.Write
		if fenced {
			tok, err := s.guard.Fence(ctx)
			if err != nil {
				return remediation.State{}, fmt.Errorf("%w: %w", remediation.ErrStandby, err)
			}
			w.Fence = tok
		}
		st, ver, err := s.read(ctx)
		if err != nil {
			return remediation.State{}, err
		}
		if err := fn(&st); err != nil {
			return remediation.State{}, err
		}
		b, err := json.Marshal(st)
		if err != nil {
			return remediation.State{}, err
		}
		if ver == 0 {
			w.IfAbsent = true
		} else {
			w.IfVersion = ver
		}
		_, err = s.store.Put(ctx, remediationStateKey, b, w)
		switch {
		case errors.Is(err, ha.ErrConflict):
			continue // changed in between: read it again
		case errors.Is(err, ha.ErrFenced):
			return remediation.State{}, fmt.Errorf("%w: %w", remediation.ErrStandby, err)
		case err != nil:
			return remediation.State{}, err
		}
		return st, nil
	}
	return remediation.State{}, fmt.Errorf("the remediation state changed %d times while it was being updated; try again", maxUpdateAttempts)
}

// Decisions reads the decisions the running daemon keeps (approvals,
// breaker resets, in-flight replacements) from the HA table or the
// decisions file next to state.file, without writing or locking anything;
// ok is false when neither is configured.
func (d *Daemon) Decisions(ctx context.Context) (st remediation.State, ok bool, err error) {
	cfg := d.Config()
	var ddb *dynamodb.Client
	if cfg.HA.Enabled() {
		ddb = d.rt.Load().clients.DynamoDB
	}
	store, _ := newDecisionStore(cfg, ddb)
	if store == nil {
		return remediation.State{}, false, nil
	}
	st, err = remediationState{store: store}.Load(ctx)
	return st, err == nil, err
}
