package alerting

import (
	"encoding/json"
	"os"
	"strconv"

	"github.com/driftd/driftd/internal/config"
)

func writeFile(p, body string) error { return os.WriteFile(p, []byte(body), 0o600) }

func configEventTypes() []string { return config.AlertEventTypes }

func itoa(i int) string { return strconv.Itoa(i) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
