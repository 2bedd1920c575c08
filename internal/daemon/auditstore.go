package daemon

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/durable"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/internal/webauth"
)

// auditStore keeps the HTTP API's audit log and lists it.
type auditStore interface {
	webauth.AuditStore
	ha.AuditLister
}

// openAuditStore opens the durable store of the HTTP API's audit log where
// the decisions live: the HA table when ha.dynamodb_table is set (every
// replica writes and lists the same log), else a FileStore next to the
// state file (<state.file>.audit, bounded to ha.DefaultMaxAudit records),
// else nil. where names it for the logs; recovery is non-nil when a
// damaged audit file was replaced by its backup or by nothing.
func openAuditStore(cfg *config.Config, ddb *dynamodb.Client, now func() time.Time) (st auditStore, where string, recovery *durable.Recovery) {
	switch {
	case cfg.HA.Enabled():
		return ha.NewDynamoStore(ddb, cfg.HA.DynamoDBTable, now), "dynamodb table " + cfg.HA.DynamoDBTable, nil
	case cfg.State.File != "":
		fs := ha.OpenFileStore(cfg.State.File+".audit", ha.FileStoreOptions{Now: now})
		return fs, fs.Path(), fs.Recovery()
	}
	return nil, "", nil
}
