// Package iam derives the AWS permissions driftd needs from its source code
// and checks the shipped IAM policies (driftd-readonly.json,
// driftd-remediation.json) against them.
//
// Convention (see the project brief): every AWS call goes through a narrow
// per-service interface named <Service>API (EC2API, SSMAPI, ...) whose
// methods are named exactly as the SDK client's. Each method therefore maps to
// one IAM action; Derive walks the repository's non-test Go files, finds those
// interfaces and returns the actions.
package iam

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// interfaceService maps the conventional interface names to IAM service prefixes.
var interfaceService = map[string]string{
	"EC2API":           "ec2",
	"SSMAPI":           "ssm",
	"AutoScalingAPI":   "autoscaling",
	"S3API":            "s3",
	"SNSAPI":           "sns",
	"EventBridgeAPI":   "events",
	"SQSAPI":           "sqs",
	"STSAPI":           "sts",
	"ImageBuilderAPI":  "imagebuilder",
	"SecurityHubAPI":   "securityhub",
	"ConfigServiceAPI": "config",
}

// sdkPackageService maps SDK package names (for embedded paginator client
// interfaces such as ec2.DescribeInstancesAPIClient) to IAM service prefixes.
var sdkPackageService = map[string]string{
	"ec2":           "ec2",
	"ssm":           "ssm",
	"autoscaling":   "autoscaling",
	"s3":            "s3",
	"sns":           "sns",
	"eventbridge":   "events",
	"sqs":           "sqs",
	"sts":           "sts",
	"imagebuilder":  "imagebuilder",
	"securityhub":   "securityhub",
	"configservice": "config",
}

// operationAction holds the SDK operations whose IAM action is not
// service:Operation.
var operationAction = map[string]string{
	"s3:ListObjectsV2":       "s3:ListBucket",
	"s3:ListObjects":         "s3:ListBucket",
	"s3:HeadObject":          "s3:GetObject",
	"s3:HeadBucket":          "s3:ListBucket",
	"s3:GetObjectAttributes": "s3:GetObject",
}

// Use is one place an action is needed.
type Use struct {
	Action    string // IAM action, e.g. "ec2:DescribeInstances"
	Interface string // e.g. "collectors.EC2API"
	Method    string // SDK operation name
	Pos       string // file:line relative to the root
}

// ActionFor returns the IAM action for an SDK operation of a service prefix.
func ActionFor(service, operation string) string {
	a := service + ":" + operation
	if m, ok := operationAction[a]; ok {
		return m
	}
	return a
}

// Derive parses every non-test Go file under root (skipping testdata, vendor
// and hidden directories, as the go tool does) and returns the uses of AWS
// operations found in the <Service>API interfaces, sorted by action.
func Derive(root string) ([]Use, error) {
	fset := token.NewFileSet()
	var uses []Use
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		uses = append(uses, usesInFile(fset, f, rel)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(uses, func(i, j int) bool {
		if uses[i].Action != uses[j].Action {
			return uses[i].Action < uses[j].Action
		}
		return uses[i].Pos < uses[j].Pos
	})
	return uses, nil
}

func usesInFile(fset *token.FileSet, f *ast.File, rel string) []Use {
	var out []Use
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			svc, ok := interfaceService[ts.Name.Name]
			if !ok {
				continue
			}
			it, ok := ts.Type.(*ast.InterfaceType)
			if !ok {
				continue
			}
			iface := f.Name.Name + "." + ts.Name.Name
			for _, m := range it.Methods.List {
				pos := fmt.Sprintf("%s:%d", filepath.ToSlash(rel), fset.Position(m.Pos()).Line)
				switch t := m.Type.(type) {
				case *ast.FuncType:
					for _, n := range m.Names {
						if !n.IsExported() {
							continue
						}
						out = append(out, Use{Action: ActionFor(svc, n.Name), Interface: iface, Method: n.Name, Pos: pos})
					}
				case *ast.SelectorExpr:
					// Embedded SDK paginator/waiter client interface, e.g.
					// ec2.DescribeInstancesAPIClient.
					pkg, _ := t.X.(*ast.Ident)
					if pkg == nil {
						continue
					}
					s, ok := sdkPackageService[pkg.Name]
					if !ok || !strings.HasSuffix(t.Sel.Name, "APIClient") {
						continue
					}
					op := strings.TrimSuffix(t.Sel.Name, "APIClient")
					out = append(out, Use{Action: ActionFor(s, op), Interface: iface, Method: op, Pos: pos})
				}
			}
		}
	}
	return out
}

// Class is how an action is classified for the two policies.
type Class int

const (
	// Read actions belong in the read-only policy.
	Read Class = iota
	// Notify actions (SNS, EventBridge, SQS, Security Hub findings, AWS
	// Config evaluations) write only to driftd's own notification channels
	// and reports; report-only mode needs them, so they belong in
	// the read-only (report-only) policy.
	Notify
	// Mutate actions change the fleet and belong in the remediation policy.
	Mutate
)

func (c Class) String() string {
	return [...]string{"read", "notify", "mutate"}[c]
}

var notifyServices = map[string]bool{"sns": true, "events": true, "sqs": true}

// notifyActions are writes that reach only driftd's own reports in other
// services: its Security Hub findings and its AWS Config rule's
// evaluations. Report-only mode needs them, like SNS and EventBridge.
var notifyActions = map[string]bool{
	"securityhub:BatchImportFindings": true,
	"securityhub:BatchUpdateFindings": true,
	"config:PutEvaluations":           true,
}

var mutatingPrefixes = []string{
	"Attach", "Cancel", "Complete", "Create", "Delete", "Detach", "Enter", "Execute",
	"Exit", "Modify", "Put", "Reboot", "Record", "Remove", "Reset", "Resume",
	"Rollback", "Run", "Send", "Set", "Start", "Stop", "Suspend", "Terminate", "Update",
	"Publish", "Label", "Add", "Register", "Deregister", "Disable", "Enable", "Replace",
}

// Classify returns the class of an IAM action.
func Classify(action string) Class {
	svc, op, _ := strings.Cut(action, ":")
	if notifyServices[svc] || notifyActions[action] {
		return Notify
	}
	for _, p := range mutatingPrefixes {
		if strings.HasPrefix(op, p) {
			return Mutate
		}
	}
	return Read
}

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement. Action and Resource accept a string
// or a list; they are normalised to lists.
type Statement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Action    StringList                `json:"Action"`
	Resource  StringList                `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// StringList is a JSON string or list of strings.
type StringList []string

// UnmarshalJSON accepts "x" or ["x", ...].
func (s *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// LoadPolicy reads and strictly decodes a policy file.
func LoadPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePolicy(b, path)
}

// ParsePolicy decodes a policy document; name is used in errors.
func ParsePolicy(b []byte, name string) (*Policy, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if p.Version != "2012-10-17" {
		return nil, fmt.Errorf("%s: Version %q, want \"2012-10-17\"", name, p.Version)
	}
	for i, st := range p.Statement {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, fmt.Errorf("%s: Statement[%d] (%s): Effect %q", name, i, st.Sid, st.Effect)
		}
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			return nil, fmt.Errorf("%s: Statement[%d] (%s): Action and Resource are required", name, i, st.Sid)
		}
	}
	return &p, nil
}

// Actions returns the set of actions allowed by the policy.
func (p *Policy) Actions() map[string]bool {
	out := map[string]bool{}
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			out[a] = true
		}
	}
	return out
}

// Diff compares the actions the code uses with those granted. missing are
// used but not granted; extra are granted but never used. Both sorted.
func Diff(uses []Use, granted map[string]bool) (missing, extra []string) {
	used := map[string]bool{}
	for _, u := range uses {
		used[u.Action] = true
	}
	for a := range used {
		if !granted[a] {
			missing = append(missing, a)
		}
	}
	for a := range granted {
		if !used[a] {
			extra = append(extra, a)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

// RemediationConditionKey is the condition that scopes Auto Scaling writes to
// groups that opted in with the driftd:remediation tag.
const RemediationConditionKey = "autoscaling:ResourceTag/driftd:remediation"

// PublisherPackages are the Go packages whose AWS calls belong to the
// baseline publisher (the image pipeline's role, driftd-baseline-publisher.json),
// never to the daemon's policies: publishing writes the manifests the daemon
// only reads.
var PublisherPackages = map[string]bool{"publish": true}

// Policies are the shipped policies.
type Policies struct {
	ReadOnly, Remediation, Publisher *Policy
}

// Policy file names, used in messages.
const (
	ReadOnlyFile    = "driftd-readonly.json"
	RemediationFile = "driftd-remediation.json"
	PublisherFile   = "driftd-baseline-publisher.json"
)

// Check compares the uses with the policies and returns every problem, one
// line each, naming the exact action to add or remove and where it is used:
//   - an action used by the code but granted by none of the policies;
//   - an action granted but never used;
//   - a wildcard action;
//   - a mutating action in the read-only policy, or a read/notify action in the
//     remediation policy;
//   - a publisher action (used only from PublisherPackages) in a daemon policy;
//   - an Auto Scaling write not conditioned on the driftd:remediation tag.
func Check(uses []Use, p Policies) []string {
	var problems []string
	if p.Publisher == nil {
		p.Publisher = &Policy{}
	}
	ro, rem, pub := p.ReadOnly.Actions(), p.Remediation.Actions(), p.Publisher.Actions()
	union := map[string]bool{}
	for _, m := range []map[string]bool{ro, rem, pub} {
		for a := range m {
			union[a] = true
		}
	}
	where := map[string][]string{}
	daemon := map[string]bool{} // used by a daemon (non-publisher) package
	for _, u := range uses {
		where[u.Action] = append(where[u.Action], u.Interface+"."+u.Method+" ("+u.Pos+")")
		pkg, _, _ := strings.Cut(u.Interface, ".")
		if !PublisherPackages[pkg] {
			daemon[u.Action] = true
		}
	}
	target := func(a string) string {
		switch {
		case !daemon[a]:
			return PublisherFile
		case Classify(a) == Mutate:
			return RemediationFile
		default:
			return ReadOnlyFile
		}
	}
	missing, extra := Diff(uses, union)
	for _, a := range missing {
		problems = append(problems, fmt.Sprintf("missing: %q used by %s; add it to %s", a, strings.Join(where[a], ", "), target(a)))
	}
	for _, a := range extra {
		problems = append(problems, fmt.Sprintf("extra: %q is granted but no <Service>API interface method calls it; remove it", a))
	}
	for _, name := range sortedKeys(union) {
		if strings.ContainsAny(name, "*?") {
			problems = append(problems, fmt.Sprintf("wildcard action %q: list the operations explicitly", name))
		}
	}
	for _, a := range sortedKeys(ro) {
		if Classify(a) == Mutate {
			problems = append(problems, fmt.Sprintf("misplaced: mutating %q is in %s; move it to %s", a, ReadOnlyFile, target(a)))
		} else if len(where[a]) > 0 && !daemon[a] {
			problems = append(problems, fmt.Sprintf("misplaced: %q is used only by the baseline publisher; move it to %s", a, PublisherFile))
		}
	}
	for _, a := range sortedKeys(rem) {
		if c := Classify(a); c != Mutate {
			problems = append(problems, fmt.Sprintf("misplaced: %s action %q is in %s; move it to %s", c, a, RemediationFile, ReadOnlyFile))
		} else if len(where[a]) > 0 && !daemon[a] {
			problems = append(problems, fmt.Sprintf("misplaced: %q is used only by the baseline publisher; move it to %s", a, PublisherFile))
		}
	}
	for _, a := range sortedKeys(pub) {
		if daemon[a] {
			problems = append(problems, fmt.Sprintf("misplaced: %q is used by the daemon; move it from %s to %s", a, PublisherFile, target(a)))
		}
	}
	for _, st := range p.Remediation.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			if !strings.HasPrefix(a, "autoscaling:") {
				continue
			}
			found := false
			for _, kv := range st.Condition {
				if _, ok := kv[RemediationConditionKey]; ok {
					found = true
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("unconditioned: %q (statement %s) must be conditioned on %s", a, st.Sid, RemediationConditionKey))
			}
		}
	}
	return problems
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
