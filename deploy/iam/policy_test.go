package iam

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// repoRoot returns the module root (the directory holding go.mod).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func mustLoad(t *testing.T, path string) *Policy {
	t.Helper()
	p, err := LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShippedPoliciesMatchCode is the contract: the union of the shipped
// policies grants exactly the operations the <Service>API interfaces can call,
// mutating ones only in the remediation policy. On failure it prints the exact
// actions to add or remove.
func TestShippedPoliciesMatchCode(t *testing.T) {
	root := repoRoot(t)
	uses, err := Derive(root)
	if err != nil {
		t.Fatal(err)
	}
	pols := Policies{ReadOnly: mustLoad(t, ReadOnlyFile), Remediation: mustLoad(t, RemediationFile), Publisher: mustLoad(t, PublisherFile)}
	var ifaces = map[string]bool{}
	for _, u := range uses {
		ifaces[u.Interface] = true
	}
	t.Logf("derived %d operations from %d interfaces", len(uses), len(ifaces))
	for _, u := range uses {
		t.Logf("  %-50s %-8s %s.%s (%s)", u.Action, Classify(u.Action), u.Interface, u.Method, u.Pos)
	}
	if problems := Check(uses, pols); len(problems) > 0 {
		t.Errorf("IAM policies do not match the code (%d problems):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
}

func TestDeriveFixture(t *testing.T) {
	uses, err := Derive("testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range uses {
		got = append(got, u.Action+" "+u.Interface+"."+u.Method)
	}
	want := []string{
		"autoscaling:DescribeAutoScalingGroups remediation.AutoScalingAPI.DescribeAutoScalingGroups",
		"autoscaling:SetInstanceHealth remediation.AutoScalingAPI.SetInstanceHealth",
		"ec2:DescribeInstances collectors.EC2API.DescribeInstances",
		"events:PutEvents remediation.EventBridgeAPI.PutEvents",
		"s3:GetObject collectors.S3API.GetObject",
		"s3:GetObject collectors.S3API.HeadObject",
		"s3:ListBucket collectors.S3API.ListObjectsV2",
		"s3:PutObject publish.S3API.PutObject",
		"ssm:DescribeInstanceInformation collectors.SSMAPI.DescribeInstanceInformation",
		"ssm:ListInventoryEntries collectors.SSMAPI.ListInventoryEntries",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Derive(fixture):\n got %q\nwant %q", got, want)
	}
	if uses[0].Pos != "remediation/asg.go:10" {
		t.Errorf("position = %q, want remediation/asg.go:10", uses[0].Pos)
	}
}

// TestCheckFixture proves the check fails, naming the action, for each kind
// of mismatch between code and policy.
func TestCheckFixture(t *testing.T) {
	uses, err := Derive("testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	load := func() (*Policy, *Policy) {
		return mustLoad(t, "testdata/fixture-readonly.json"), mustLoad(t, "testdata/fixture-remediation.json")
	}
	ro, rem := load()
	if problems := Check(uses, Policies{ReadOnly: ro, Remediation: rem, Publisher: mustLoad(t, "testdata/fixture-publisher.json")}); len(problems) != 0 {
		t.Fatalf("fixture policies should match the fixture code, got:\n%s", strings.Join(problems, "\n"))
	}

	tests := []struct {
		name      string
		mutate    func(ro, rem *Policy)
		mutatePub func(ro, pub *Policy)
		want      []string
	}{
		{
			name:   "publisher write missing goes to the publisher policy",
			mutate: func(ro, rem *Policy) {},
			mutatePub: func(ro, pub *Policy) {
				pub.Statement[0].Action = remove(pub.Statement[0].Action, "s3:PutObject")
			},
			want: []string{`missing: "s3:PutObject" used by publish.S3API.PutObject (publish/publish.go:11); add it to driftd-baseline-publisher.json`},
		},
		{
			name:   "publisher write granted to the daemon",
			mutate: func(ro, rem *Policy) {},
			mutatePub: func(ro, pub *Policy) {
				pub.Statement[0].Action = remove(pub.Statement[0].Action, "s3:PutObject")
				ro.Statement[0].Action = append(ro.Statement[0].Action, "s3:PutObject")
			},
			want: []string{`misplaced: mutating "s3:PutObject" is in driftd-readonly.json; move it to driftd-baseline-publisher.json`},
		},
		{
			name: "daemon read granted only to the publisher",
			mutate: func(ro, rem *Policy) {
				ro.Statement[0].Action = remove(ro.Statement[0].Action, "ec2:DescribeInstances")
			},
			mutatePub: func(ro, pub *Policy) {
				pub.Statement[0].Action = append(pub.Statement[0].Action, "ec2:DescribeInstances")
			},
			want: []string{`misplaced: "ec2:DescribeInstances" is used by the daemon; move it from driftd-baseline-publisher.json to driftd-readonly.json`},
		},
		{
			name: "interface method missing from policies",
			mutate: func(ro, rem *Policy) {
				ro.Statement[0].Action = remove(ro.Statement[0].Action, "ec2:DescribeInstances")
			},
			want: []string{`missing: "ec2:DescribeInstances" used by collectors.EC2API.DescribeInstances (collectors/aws.go:12); add it to driftd-readonly.json`},
		},
		{
			name: "mutating method missing goes to remediation",
			mutate: func(ro, rem *Policy) {
				rem.Statement[0].Action = remove(rem.Statement[0].Action, "autoscaling:SetInstanceHealth")
			},
			want: []string{`missing: "autoscaling:SetInstanceHealth" used by remediation.AutoScalingAPI.SetInstanceHealth (remediation/asg.go:11); add it to driftd-remediation.json`},
		},
		{
			name: "granted but never called",
			mutate: func(ro, rem *Policy) {
				ro.Statement[0].Action = append(ro.Statement[0].Action, "ec2:DescribeImages")
			},
			want: []string{`extra: "ec2:DescribeImages" is granted but no <Service>API interface method calls it; remove it`},
		},
		{
			name: "mutating action in read-only policy",
			mutate: func(ro, rem *Policy) {
				rem.Statement[0].Action = nil
				ro.Statement[0].Action = append(ro.Statement[0].Action, "autoscaling:SetInstanceHealth")
			},
			want: []string{`misplaced: mutating "autoscaling:SetInstanceHealth" is in driftd-readonly.json; move it to driftd-remediation.json`},
		},
		{
			name: "read action in remediation policy",
			mutate: func(ro, rem *Policy) {
				ro.Statement[0].Action = remove(ro.Statement[0].Action, "ec2:DescribeInstances")
				rem.Statement = append(rem.Statement, Statement{Sid: "X", Effect: "Allow", Action: StringList{"ec2:DescribeInstances"}, Resource: StringList{"*"}})
			},
			want: []string{`misplaced: read action "ec2:DescribeInstances" is in driftd-remediation.json; move it to driftd-readonly.json`},
		},
		{
			name: "auto scaling write without tag condition",
			mutate: func(ro, rem *Policy) {
				rem.Statement[0].Condition = nil
			},
			want: []string{`unconditioned: "autoscaling:SetInstanceHealth" (statement Replace) must be conditioned on autoscaling:ResourceTag/driftd:remediation`},
		},
		{
			name: "deny statements need no tag condition",
			mutate: func(ro, rem *Policy) {
				rem.Statement = append(rem.Statement, Statement{Sid: "Deny", Effect: "Deny", Action: StringList{"autoscaling:SetInstanceHealth"}, Resource: StringList{"*"}})
			},
			want: nil,
		},
		{
			name: "wildcard action",
			mutate: func(ro, rem *Policy) {
				ro.Statement[0].Action = append(remove(ro.Statement[0].Action, "ec2:DescribeInstances"), "ec2:Describe*")
			},
			want: []string{
				`missing: "ec2:DescribeInstances" used by collectors.EC2API.DescribeInstances (collectors/aws.go:12); add it to driftd-readonly.json`,
				`extra: "ec2:Describe*" is granted but no <Service>API interface method calls it; remove it`,
				`wildcard action "ec2:Describe*": list the operations explicitly`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ro, rem := load()
			pub := mustLoad(t, "testdata/fixture-publisher.json")
			tc.mutate(ro, rem)
			if tc.mutatePub != nil {
				tc.mutatePub(ro, pub)
			}
			got := Check(uses, Policies{ReadOnly: ro, Remediation: rem, Publisher: pub})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Check:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func remove(list StringList, s string) StringList {
	var out StringList
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func TestClassify(t *testing.T) {
	tests := map[string]Class{
		"ec2:DescribeInstances":          Read,
		"ssm:GetInventory":               Read,
		"ssm:ListInventoryEntries":       Read,
		"s3:GetObject":                   Read,
		"s3:ListBucket":                  Read,
		"sts:GetCallerIdentity":          Read,
		"imagebuilder:ListImagePackages": Read,
		"sns:Publish":                    Notify,
		"events:PutEvents":               Notify,
		"sqs:ReceiveMessage":             Notify,
		"ec2:CreateTags":                 Mutate,
		"ec2:DeleteTags":                 Mutate,
		"autoscaling:SetInstanceHealth":  Mutate,
		"autoscaling:TerminateInstanceInAutoScalingGroup": Mutate,
		"autoscaling:StartInstanceRefresh":                Mutate,
		"autoscaling:CompleteLifecycleAction":             Mutate,
	}
	for a, want := range tests {
		if got := Classify(a); got != want {
			t.Errorf("Classify(%q) = %s, want %s", a, got, want)
		}
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"bad version", `{"Version":"2008-10-17","Statement":[]}`, `p.json: Version "2008-10-17", want "2012-10-17"`},
		{"unknown field", `{"Version":"2012-10-17","Statment":[]}`, `p.json: json: unknown field "Statment"`},
		{"bad effect", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"allow","Action":"x:Y","Resource":"*"}]}`, `p.json: Statement[0] (A): Effect "allow"`},
		{"no resource", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"x:Y"}]}`, `p.json: Statement[0] (A): Action and Resource are required`},
		{"action not string", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":3,"Resource":"*"}]}`, `p.json: want a string or a list of strings: json: cannot unmarshal number into Go value of type []string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.doc), "p.json")
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, p := range []string{"driftd-readonly.json", "driftd-remediation.json", "testdata/fixture-readonly.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Action":[1]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b, "fuzz.json")
		if err != nil {
			return
		}
		// A parsed policy round-trips through JSON to the same actions.
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParsePolicy(out, "again.json")
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(p.Actions(), q.Actions()) {
			t.Fatalf("actions changed on round trip")
		}
	})
}

// TestFindingsPublishingIsScoped: driftd's writes to Security Hub and AWS
// Config are report-only (notify) actions in the read-only policy, each
// scoped as narrowly as the service allows: imports only to a default
// (own-account) product, workflow updates only to RESOLVED.
func TestFindingsPublishingIsScoped(t *testing.T) {
	ro := mustLoad(t, ReadOnlyFile)
	rem := mustLoad(t, RemediationFile)
	for _, a := range []string{"securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings", "config:PutEvaluations"} {
		if Classify(a) != Notify {
			t.Errorf("%s classified %s, want notify", a, Classify(a))
		}
		if !ro.Actions()[a] || rem.Actions()[a] {
			t.Errorf("%s: want it in %s only", a, ReadOnlyFile)
		}
	}
	for _, st := range ro.Statement {
		for _, a := range st.Action {
			switch a {
			case "securityhub:BatchImportFindings":
				if len(st.Resource) != 1 || st.Resource[0] != "arn:aws:securityhub:*:*:product/*/default" {
					t.Errorf("BatchImportFindings resource %v: want the default products only", st.Resource)
				}
			case "securityhub:BatchUpdateFindings":
				if st.Condition["StringEquals"]["securityhub:ASFFSyntaxPath/Workflow.Status"] != "RESOLVED" {
					t.Errorf("BatchUpdateFindings condition %v: want Workflow.Status RESOLVED only", st.Condition)
				}
			}
		}
	}
}
