package daemon

import (
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/ha"
)

// openAuditStore opens the durable store of the HTTP API's audit log: a
// FileStore next to the state file (<state.file>.audit), bounded to
// ha.DefaultMaxAudit records. nil without a state file.
func openAuditStore(cfg *config.Config, now func() time.Time) *ha.FileStore {
	if cfg.State.File == "" {
		return nil
	}
	return ha.OpenFileStore(cfg.State.File+".audit", ha.FileStoreOptions{Now: now})
}
