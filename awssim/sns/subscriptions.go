package sns

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/driftd/driftd/awssim/sqs"
	"github.com/driftd/driftd/awssim/wire"
)

// SNS subscriptions: protocol sqs only, with RawMessageDelivery and
// attribute filter policies (exact string/number values, prefix,
// anything-but, exists).

func (sn *Service) subscribe(f url.Values) ([]byte, *wire.Error) {
	arn := f.Get("TopicArn")
	proto := f.Get("Protocol")
	endpoint := f.Get("Endpoint")
	if proto != "sqs" {
		return nil, snsInvalid("Protocol: only the sqs protocol is simulated, got %q", proto)
	}
	parts := strings.Split(endpoint, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5] == "" {
		return nil, snsInvalid("SQS endpoint ARN")
	}
	if parts[3] != sn.acct.Region || parts[4] != sn.acct.AccountID {
		return nil, snsInvalid("SQS endpoint %s is not in this simulated region/account", endpoint)
	}
	sub := &snsSubscription{queue: parts[5]}
	for i := 1; ; i++ {
		k, ok := f[fmt.Sprintf("Attributes.entry.%d.key", i)]
		if !ok {
			break
		}
		v := f.Get(fmt.Sprintf("Attributes.entry.%d.value", i))
		switch k[0] {
		case "RawMessageDelivery":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, snsInvalid("RawMessageDelivery: must be true or false")
			}
			sub.raw = b
		case "FilterPolicy":
			fp, err := parseFilterPolicy(v)
			if err != nil {
				return nil, snsInvalid("FilterPolicy: %v", err)
			}
			sub.filter = fp
		case "FilterPolicyScope":
			if v != "MessageAttributes" {
				return nil, snsInvalid("FilterPolicyScope: only MessageAttributes is simulated")
			}
		default:
			return nil, snsInvalid("Attributes Reason: Unknown attribute %s", k[0])
		}
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	t := sn.topics[arn]
	if t == nil {
		return nil, wire.Errorf(404, "NotFound", "Topic does not exist")
	}
	sub.arn = arn + ":" + wire.NewUUID()
	t.subs = append(t.subs, sub)
	return []byte("<SubscriptionArn>" + wire.Esc(sub.arn) + "</SubscriptionArn>"), nil
}

func (sn *Service) unsubscribe(f url.Values) ([]byte, *wire.Error) {
	arn := f.Get("SubscriptionArn")
	sn.mu.Lock()
	defer sn.mu.Unlock()
	for _, t := range sn.topics {
		for i, s := range t.subs {
			if s.arn == arn {
				t.subs = append(t.subs[:i], t.subs[i+1:]...)
				return nil, nil
			}
		}
	}
	return nil, wire.Errorf(404, "NotFound", "Subscription does not exist")
}

type snsEnvelope struct {
	Type              string                       `json:"Type"`
	MessageID         string                       `json:"MessageId"`
	TopicArn          string                       `json:"TopicArn"`
	Subject           string                       `json:"Subject,omitempty"`
	Message           string                       `json:"Message"`
	Timestamp         string                       `json:"Timestamp"`
	SignatureVersion  string                       `json:"SignatureVersion"`
	Signature         string                       `json:"Signature"`
	SigningCertURL    string                       `json:"SigningCertURL"`
	UnsubscribeURL    string                       `json:"UnsubscribeURL"`
	MessageAttributes map[string]map[string]string `json:"MessageAttributes,omitempty"`
}

// deliver sends m to the subscriptions whose filter policy matches.
func (sn *Service) deliver(subs []*snsSubscription, m Message) {
	for _, s := range subs {
		if s.filter != nil && !s.filter.matches(m.Attributes) {
			continue
		}
		if s.raw {
			attrs := map[string]sqs.AttributeValue{}
			for n, a := range m.Attributes {
				attrs[n] = sqs.AttributeValue{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
			}
			sn.queues.EnqueueWithAttributes(s.queue, m.Message, attrs)
			continue
		}
		env := snsEnvelope{
			Type: "Notification", MessageID: m.MessageID, TopicArn: m.TopicArn, Subject: m.Subject, Message: m.Message,
			Timestamp:        wire.XMLTime(m.Time),
			SignatureVersion: "1",
			Signature:        base64.StdEncoding.EncodeToString([]byte("driftd-awssim does not sign notifications")),
			SigningCertURL:   "https://sns." + sn.acct.Region + ".amazonaws.com/SimpleNotificationService-driftd-awssim.pem",
			UnsubscribeURL:   "https://sns." + sn.acct.Region + ".amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(s.arn),
		}
		if len(m.Attributes) > 0 {
			env.MessageAttributes = map[string]map[string]string{}
			for n, a := range m.Attributes {
				v := a.StringValue
				if strings.HasPrefix(a.DataType, "Binary") {
					v = base64.StdEncoding.EncodeToString(a.BinaryValue)
				}
				env.MessageAttributes[n] = map[string]string{"Type": a.DataType, "Value": v}
			}
		}
		body, _ := json.Marshal(env)
		sn.queues.EnqueueWithAttributes(s.queue, string(body), nil)
	}
}

// filterPolicy maps an attribute name to the conditions of which one must
// hold.
type filterPolicy map[string][]filterCond

type filterCond struct {
	str        *string
	num        *float64
	prefix     *string
	anythingBt []string
	exists     *bool
}

func parseFilterPolicy(s string) (filterPolicy, error) {
	var raw map[string][]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("must be a JSON object of attribute name to array of conditions: %v", err)
	}
	fp := filterPolicy{}
	for name, conds := range raw {
		if len(conds) == 0 {
			return nil, fmt.Errorf("attribute %s has no conditions", name)
		}
		for _, c := range conds {
			var fc filterCond
			switch v := c.(type) {
			case string:
				fc.str = &v
			case float64:
				fc.num = &v
			case map[string]any:
				if len(v) != 1 {
					return nil, fmt.Errorf("attribute %s: one operator per condition", name)
				}
				for op, arg := range v {
					switch op {
					case "prefix":
						p, ok := arg.(string)
						if !ok {
							return nil, fmt.Errorf("attribute %s: prefix needs a string", name)
						}
						fc.prefix = &p
					case "exists":
						b, ok := arg.(bool)
						if !ok {
							return nil, fmt.Errorf("attribute %s: exists needs a boolean", name)
						}
						fc.exists = &b
					case "anything-but":
						switch a := arg.(type) {
						case string:
							fc.anythingBt = []string{a}
						case []any:
							for _, x := range a {
								xs, ok := x.(string)
								if !ok {
									return nil, fmt.Errorf("attribute %s: anything-but supports strings only here", name)
								}
								fc.anythingBt = append(fc.anythingBt, xs)
							}
						default:
							return nil, fmt.Errorf("attribute %s: anything-but needs strings", name)
						}
					default:
						return nil, fmt.Errorf("attribute %s: operator %q is not simulated", name, op)
					}
				}
			default:
				return nil, fmt.Errorf("attribute %s: unsupported condition %v", name, c)
			}
			fp[name] = append(fp[name], fc)
		}
	}
	return fp, nil
}

func (fp filterPolicy) matches(attrs map[string]Attribute) bool {
	for name, conds := range fp {
		a, present := attrs[name]
		ok := false
		for _, c := range conds {
			switch {
			case c.exists != nil:
				ok = *c.exists == present
			case !present:
				ok = false
			case c.str != nil:
				ok = !strings.HasPrefix(a.DataType, "Number") && a.StringValue == *c.str
			case c.num != nil:
				f, err := strconv.ParseFloat(a.StringValue, 64)
				ok = strings.HasPrefix(a.DataType, "Number") && err == nil && f == *c.num
			case c.prefix != nil:
				ok = strings.HasPrefix(a.StringValue, *c.prefix)
			case c.anythingBt != nil:
				ok = true
				for _, x := range c.anythingBt {
					if a.StringValue == x {
						ok = false
					}
				}
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
