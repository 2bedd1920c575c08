// Package sns serves the simulated region's SNS (awsQuery): topics,
// Publish with message attributes, and subscriptions delivering to SQS
// queues (raw or enveloped, with filter policies).
package sns

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/driftd/driftd/awssim/sqs"
	"github.com/driftd/driftd/awssim/wire"
)

// Attribute is one SNS message attribute.
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// Message is a message published to a topic.
type Message struct {
	MessageID              string
	TopicArn               string
	Subject                string
	Message                string
	MessageStructure       string
	Attributes             map[string]Attribute
	MessageGroupID         string
	MessageDeduplicationID string
	Time                   time.Time
}

type snsTopic struct {
	arn      string
	fifo     bool
	messages []Message
	subs     []*snsSubscription
}

type snsSubscription struct {
	arn    string
	queue  string // SQS queue name
	raw    bool
	filter filterPolicy // nil = everything
}

type Service struct {
	acct   wire.Account
	queues *sqs.Service // subscription endpoints
	mu     sync.Mutex
	topics map[string]*snsTopic // by ARN
	seq    int64
}

// New returns an SNS with no topics that delivers to queues.
func New(acct wire.Account, queues *sqs.Service) *Service {
	return &Service{acct: acct, queues: queues, topics: map[string]*snsTopic{}}
}

// CreateTopic creates a topic (no error if it exists) and returns its ARN.
func (sn *Service) CreateTopic(name string) string {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return sn.createLocked(name)
}

func (sn *Service) createLocked(name string) string {
	arn := "arn:aws:sns:" + sn.acct.Region + ":" + sn.acct.AccountID + ":" + name
	if sn.topics[arn] == nil {
		sn.topics[arn] = &snsTopic{arn: arn, fifo: strings.HasSuffix(name, ".fifo")}
	}
	return arn
}

// Published returns the messages published to topicArn, oldest first.
func (sn *Service) Published(topicArn string) []Message {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	t := sn.topics[topicArn]
	if t == nil {
		return nil
	}
	return append([]Message(nil), t.messages...)
}

var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func snsInvalid(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "InvalidParameter", "Invalid parameter: "+format, args...)
}

func (sn *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	var (
		body []byte
		e    *wire.Error
	)
	switch req.Op {
	case "CreateTopic":
		body, e = sn.createTopic(req.Form)
	case "Publish":
		body, e = sn.publish(req.Form)
	case "Subscribe":
		body, e = sn.subscribe(req.Form)
	case "Unsubscribe":
		body, e = sn.unsubscribe(req.Form)
	default:
		e = wire.Errorf(400, "InvalidAction", "The action %s is not valid for this endpoint.", req.Op)
	}
	if e != nil {
		wire.WriteError(w, req, e)
		return
	}
	wire.WriteQuery(w, req, body)
}

func (sn *Service) createTopic(f url.Values) ([]byte, *wire.Error) {
	name := f.Get("Name")
	base := strings.TrimSuffix(name, ".fifo")
	if !topicNameRE.MatchString(base) || len(name) > 256 {
		return nil, snsInvalid("Topic Name")
	}
	if strings.HasSuffix(name, ".fifo") != hasFifoAttr(f) {
		return nil, snsInvalid("Fifo Topic names must end with .fifo and they must have the FifoTopic attribute set to true")
	}
	sn.mu.Lock()
	arn := sn.createLocked(name)
	sn.mu.Unlock()
	return []byte("<TopicArn>" + wire.Esc(arn) + "</TopicArn>"), nil
}

func hasFifoAttr(f url.Values) bool {
	for i := 1; ; i++ {
		k := f.Get(fmt.Sprintf("Attributes.entry.%d.key", i))
		if k == "" {
			return false
		}
		if k == "FifoTopic" {
			return f.Get(fmt.Sprintf("Attributes.entry.%d.value", i)) == "true"
		}
	}
}

// parseSNSAttributes decodes MessageAttributes.entry.N.{Name,Value.DataType,
// Value.StringValue,Value.BinaryValue}.
func parseSNSAttributes(f url.Values) (map[string]Attribute, *wire.Error) {
	idx := map[int]bool{}
	for k := range f {
		rest, ok := strings.CutPrefix(k, "MessageAttributes.entry.")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(n)
		if err != nil || i < 1 {
			return nil, snsInvalid("MessageAttributes: malformed entry key %q", k)
		}
		idx[i] = true
	}
	if len(idx) == 0 {
		return nil, nil
	}
	if len(idx) > 10 {
		return nil, snsInvalid("MessageAttributes: the number of message attributes [%d] exceeds the maximum allowed [10]", len(idx))
	}
	order := make([]int, 0, len(idx))
	for i := range idx {
		order = append(order, i)
	}
	sort.Ints(order)
	out := map[string]Attribute{}
	for _, i := range order {
		p := fmt.Sprintf("MessageAttributes.entry.%d.", i)
		name := f.Get(p + "Name")
		dt := f.Get(p + "Value.DataType")
		if name == "" {
			return nil, snsInvalid("MessageAttributes: entry %d has no Name", i)
		}
		if len(name) > 256 || strings.HasPrefix(strings.ToLower(name), "aws.") || strings.HasPrefix(strings.ToLower(name), "amazon.") {
			return nil, snsInvalid("Message attribute name '%s' is invalid", name)
		}
		if _, dup := out[name]; dup {
			return nil, snsInvalid("Message attribute name '%s' is repeated", name)
		}
		if dt == "" {
			return nil, snsInvalid("The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		base, _, _ := strings.Cut(dt, ".")
		a := Attribute{DataType: dt}
		switch base {
		case "String", "Number":
			sv, ok := f[p+"Value.StringValue"]
			if !ok || sv[0] == "" {
				return nil, snsInvalid("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, dt)
			}
			a.StringValue = sv[0]
			if base == "Number" {
				if _, err := strconv.ParseFloat(sv[0], 64); err != nil {
					return nil, snsInvalid("Could not cast message attribute '%s' value to number.", name)
				}
			}
			if dt == "String.Array" && !(strings.HasPrefix(sv[0], "[") && strings.HasSuffix(sv[0], "]")) {
				return nil, snsInvalid("The message attribute '%s' with type 'String.Array' has to be a valid JSON array.", name)
			}
		case "Binary":
			bv, ok := f[p+"Value.BinaryValue"]
			if !ok || bv[0] == "" {
				return nil, snsInvalid("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, dt)
			}
			b, err := base64.StdEncoding.DecodeString(bv[0])
			if err != nil {
				return nil, snsInvalid("The message attribute '%s' binary value is not valid base64.", name)
			}
			a.BinaryValue = b
		default:
			return nil, snsInvalid("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		}
		out[name] = a
	}
	return out, nil
}

func (sn *Service) publish(f url.Values) ([]byte, *wire.Error) {
	arn := f.Get("TopicArn")
	if arn == "" {
		arn = f.Get("TargetArn")
	}
	if f.Get("PhoneNumber") != "" {
		return nil, snsInvalid("PhoneNumber: SMS is not simulated")
	}
	if arn == "" {
		return nil, snsInvalid("TopicArn or TargetArn Reason: no value for required parameter")
	}
	msg, ok := f["Message"]
	if !ok || msg[0] == "" {
		return nil, snsInvalid("Empty message")
	}
	if len(msg[0]) > 262144 {
		return nil, snsInvalid("Message too long")
	}
	subject := f.Get("Subject")
	if _, has := f["Subject"]; has {
		if subject == "" || len(subject) > 100 {
			return nil, snsInvalid("Subject")
		}
		for _, r := range subject {
			if r > unicode.MaxASCII || r < 0x20 {
				return nil, snsInvalid("Subject")
			}
		}
	}
	structure := f.Get("MessageStructure")
	if structure != "" && structure != "json" {
		return nil, snsInvalid("MessageStructure")
	}
	attrs, e := parseSNSAttributes(f)
	if e != nil {
		return nil, e
	}
	if !strings.HasPrefix(arn, "arn:aws:sns:") || strings.Count(arn, ":") != 5 {
		return nil, snsInvalid("TopicArn")
	}
	m := Message{
		MessageID: wire.NewUUID(), TopicArn: arn, Subject: subject, Message: msg[0], MessageStructure: structure,
		Attributes: attrs, MessageGroupID: f.Get("MessageGroupId"), MessageDeduplicationID: f.Get("MessageDeduplicationId"), Time: sn.acct.Now(),
	}
	out, subs, e := sn.record(m)
	if e != nil {
		return nil, e
	}
	sn.deliver(subs, m)
	return out, nil
}

// record validates m against its topic and captures it; it returns the
// response members and the subscriptions to deliver to.
func (sn *Service) record(m Message) ([]byte, []*snsSubscription, *wire.Error) {
	arn := m.TopicArn
	sn.mu.Lock()
	defer sn.mu.Unlock()
	t := sn.topics[arn]
	if t == nil {
		return nil, nil, wire.Errorf(404, "NotFound", "Topic does not exist")
	}
	group, dedup := m.MessageGroupID, m.MessageDeduplicationID
	if t.fifo && group == "" {
		return nil, nil, snsInvalid("The MessageGroupId parameter is required for FIFO topics")
	}
	if t.fifo && dedup == "" {
		return nil, nil, snsInvalid("The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	}
	if !t.fifo && dedup != "" {
		return nil, nil, snsInvalid("The request includes MessageDeduplicationId parameter that is not valid for this topic type")
	}
	t.messages = append(t.messages, m)
	subs := append([]*snsSubscription(nil), t.subs...)
	out := "<MessageId>" + m.MessageID + "</MessageId>"
	if t.fifo {
		sn.seq++
		out += fmt.Sprintf("<SequenceNumber>%020d</SequenceNumber>", sn.seq)
	}
	return []byte(out), subs, nil
}
