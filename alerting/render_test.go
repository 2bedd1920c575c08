package alerting

import (
	"strings"
	"testing"
	"unicode"

	"github.com/driftd/driftd/drift"
)

// TestControlCharactersRenderEscaped: inventory data holding NUL, ESC or
// newlines is escaped in every human rendering (Slack blocks, Alertmanager
// descriptions) and cannot break a line or a layout.
func TestControlCharactersRenderEscaped(t *testing.T) {
	f := drift.Finding{Category: drift.CategoryPackage, Type: drift.TypeApplication, Name: "evil\x00pkg\x1b[2J", Arch: "x86_64",
		Change: drift.ChangeAdded, Observed: "1\n2<b>", Severity: drift.SeverityLow}
	if got, want := f.String(), `package evil\x00pkg\x1b[2J.x86_64 added: 1\n2<b> (low)`; got != want {
		t.Errorf("Finding.String = %q, want %q", got, want)
	}
	ev := Event{Type: EventDriftDetected, Time: t0, ASG: "web\x1b", AMI: "ami-1", InstanceID: "i-1\u202e", Severity: drift.SeverityLow,
		Summary: "1 finding", Findings: []drift.Finding{f}, FindingsTotal: 1}
	b := BuildBatch("b1", t0, []Event{ev}, Limits{})
	msg := SlackMessage(b)
	var all []string
	for _, bl := range msg.Blocks {
		if bl.Text != nil {
			all = append(all, bl.Text.Text)
		}
		for _, e := range bl.Elements {
			all = append(all, e.Text)
		}
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{`evil\x00pkg\x1b[2J`, `1\n2&lt;b&gt;`, `*ASG web\x1b*`, "`i-1\\u202e`"} {
		if !strings.Contains(text, want) {
			t.Errorf("slack text lacks %q:\n%s", want, text)
		}
	}
	for _, s := range all {
		for _, line := range strings.Split(s, "\n") { // newlines are the layout's own
			if i := strings.IndexFunc(line, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }); i >= 0 {
				t.Errorf("slack text keeps a non-printable character: %q", line)
			}
		}
	}
	am := NewAlertmanagerSink("am", []string{"http://127.0.0.1:1"}, nil, 0, "", 10, nil)
	alerts := am.Alerts(&Batch{Active: []Event{ev}})
	if len(alerts) != 1 || alerts[0].Annotations["description"] != `package evil\x00pkg\x1b[2J.x86_64 added: 1\n2<b> (low)` {
		t.Errorf("alertmanager alerts: %+v", alerts)
	}
}
