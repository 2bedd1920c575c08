package alerting

import (
	"os"

	"github.com/driftd/driftd/internal/config"
)

func writeFile(p, body string) error { return os.WriteFile(p, []byte(body), 0o600) }

func configEventTypes() []string { return config.AlertEventTypes }
