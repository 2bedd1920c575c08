package alerting

import (
	"encoding/json"

	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"os"
	"strconv"

	"github.com/driftd/driftd/internal/config"
)

func writeFile(p, body string) error { return os.WriteFile(p, []byte(body), 0o600) }

func configEventTypes() []string { return config.AlertEventTypes }

func itoa(i int) string { return strconv.Itoa(i) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

type ebTarget = ebtypes.Target

func metricHasSink(m prometheus.Metric, sink string) bool {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return false
	}
	for _, l := range d.GetLabel() {
		if l.GetName() == "sink" && l.GetValue() == sink {
			return true
		}
	}
	return false
}
