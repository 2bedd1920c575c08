package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/outbound"
)

// Slack limits (Block Kit): a section's text ≤ 3000 characters, ≤ 50 blocks.
const (
	slackMaxText   = 3000
	slackMaxBlocks = 50
)

// SlackSink posts to a Slack incoming webhook. The URL is the secret.
type SlackSink struct {
	name   string
	url    string
	client *http.Client
	red    redactor
}

// NewSlackSink builds a Slack sink; the URL never appears in errors.
func NewSlackSink(name, webhookURL string, client *http.Client) *SlackSink {
	client = outbound.Client(client) // no redirects, no Referer
	return &SlackSink{name: name, url: webhookURL, client: client, red: newRedactor(webhookURL)}
}

func (s *SlackSink) Name() string { return s.name }
func (s *SlackSink) Type() string { return "slack" }

// Notify posts the message built by SlackMessage.
func (s *SlackSink) Notify(ctx context.Context, b *Batch) (bool, error) {
	body, err := MarshalSlack(SlackMessage(b))
	if err != nil {
		return false, &SinkError{Reason: ReasonEncode, msg: "encode slack message: " + err.Error()}
	}
	return postJSON(ctx, s.client, s.url, body, nil, s.red)
}

// SlackPayload is an incoming-webhook message: text is the notification
// fallback, blocks the rendering.
type SlackPayload struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a Block Kit block (header, section, context, divider).
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a text object.
type SlackText struct {
	Type string `json:"type"` // plain_text | mrkdwn
	Text string `json:"text"`
}

var eventEmoji = map[EventType]string{
	EventDriftDetected: ":warning:", EventDriftChanged: ":arrows_counterclockwise:", EventDriftResolved: ":white_check_mark:",
	EventBaselineMissing: ":grey_question:", EventScanFailed: ":x:",
	EventRemediationStarted: ":hammer_and_wrench:", EventRemediationSucceeded: ":white_check_mark:",
	EventRemediationFailed: ":x:", EventRemediationBlocked: ":no_entry:",
	EventBreakerOpened: ":rotating_light:", EventBreakerClosed: ":white_check_mark:",
	EventKillswitchEngaged: ":octagonal_sign:", EventKillswitchReleased: ":arrow_forward:",
}

// SlackMessage renders a batch readably: a header with the counts, then per
// ASG a section listing each event (instance, AMI, severity, summary and the
// top findings), and the truncated counts. Deterministic (golden-tested).
func SlackMessage(b *Batch) SlackPayload {
	counts := map[EventType]int{}
	for _, g := range b.Groups {
		for _, ev := range g.Events {
			counts[ev.Type]++
		}
	}
	var cparts []string
	for _, t := range EventTypes {
		if n := counts[t]; n > 0 {
			cparts = append(cparts, fmt.Sprintf("%d %s", n, t))
		}
	}
	title := fmt.Sprintf("driftd: %d event", b.EventCount)
	if b.EventCount != 1 {
		title += "s"
	}
	fallback := title
	if len(cparts) > 0 {
		fallback += " (" + strings.Join(cparts, ", ") + ")"
	}
	if b.TruncatedEvents > 0 {
		fallback += fmt.Sprintf(", %d not listed", b.TruncatedEvents)
	}
	msg := SlackPayload{Text: fallback}
	msg.Blocks = append(msg.Blocks, SlackBlock{Type: "header", Text: &SlackText{Type: "plain_text", Text: title}})
	if len(cparts) > 0 {
		msg.Blocks = append(msg.Blocks, SlackBlock{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: strings.Join(cparts, " · ")}}})
	}
	for _, g := range b.Groups {
		if len(msg.Blocks) >= slackMaxBlocks-2 {
			break
		}
		var sb strings.Builder
		if g.ASG == "" {
			sb.WriteString("*Fleet-wide*")
		} else {
			sb.WriteString("*ASG " + slackEscape(g.ASG) + "*")
		}
		fmt.Fprintf(&sb, " — %d event", g.EventCount)
		if g.EventCount != 1 {
			sb.WriteString("s")
		}
		sb.WriteString("\n")
		for _, ev := range g.Events {
			sb.WriteString(slackEventLine(ev))
		}
		if g.TruncatedEvents > 0 {
			fmt.Fprintf(&sb, "_…and %d more not listed_\n", g.TruncatedEvents)
		}
		msg.Blocks = append(msg.Blocks, SlackBlock{Type: "divider"},
			SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: clip(strings.TrimRight(sb.String(), "\n"), slackMaxText)}})
	}
	return msg
}

func slackEventLine(ev Event) string {
	var sb strings.Builder
	sb.WriteString(eventEmoji[ev.Type])
	sb.WriteString(" *" + string(ev.Type) + "*")
	if ev.Repeat {
		sb.WriteString(" (reminder)")
	}
	if ev.InstanceID != "" {
		sb.WriteString(" `" + slackEscape(ev.InstanceID) + "`")
	}
	if ev.AMI != "" {
		sb.WriteString(" on `" + slackEscape(ev.AMI) + "`")
	}
	if ev.Severity != 0 {
		sb.WriteString(" [" + ev.Severity.String() + "]")
	}
	if ev.Summary != "" {
		sb.WriteString(": " + slackEscape(ev.Summary))
	}
	sb.WriteString("\n")
	for _, f := range ev.Findings {
		sb.WriteString("    • " + slackEscape(f.String()) + "\n")
	}
	if ev.FindingsTruncated > 0 {
		fmt.Fprintf(&sb, "    • _…and %d more %s_\n", ev.FindingsTruncated, plural(ev.FindingsTruncated, "finding", "findings"))
	}
	return sb.String()
}

// MarshalSlack encodes a message without Go's HTML escaping (Slack's mrkdwn
// escapes are already applied).
func MarshalSlack(m SlackPayload) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// slackEscape escapes the three characters Slack's mrkdwn requires, and
// writes non-printable characters (inventory data may hold NUL, ESC or
// newlines) as escapes (drift.Printable).
func slackEscape(s string) string {
	return slackReplacer.Replace(drift.Printable(s))
}

var slackReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// clip shortens s to at most n runes, ending with an ellipsis when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
