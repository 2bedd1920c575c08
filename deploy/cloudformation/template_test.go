// Package cloudformation holds driftd's CloudFormation template. The test
// parses it with goformation and asserts the deployment's promises: IMDSv2
// only, no SSH, the metrics port open only to Prometheus, subnets from
// parameters, the IAM statements of deploy/iam, conditional VPC endpoints,
// log retention, and the systemd unit of deploy/systemd installed verbatim.
package cloudformation

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the generated parts of driftd.yaml (IAM statements, systemd unit) from deploy/iam and deploy/systemd")

const (
	templateFile    = "driftd.yaml"
	readonlyFile    = "../iam/driftd-readonly.json"
	remediationFile = "../iam/driftd-remediation.json"
	unitFile        = "../systemd/driftd.service"
)

// flowJSON renders compact JSON with a space after ':' and ',' (outside
// strings), as a YAML flow mapping.
func flowJSON(t *testing.T, raw []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	inStr, esc := false, false
	for _, c := range buf.String() {
		out.WriteRune(c)
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ':' || c == ','):
			out.WriteByte(' ')
		}
	}
	return out.String()
}

func statementLines(t *testing.T, path, indent string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Statement []json.RawMessage }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var lines []string
	for _, st := range p.Statement {
		lines = append(lines, indent+"- "+flowJSON(t, st))
	}
	return lines
}

// replaceBetween replaces the lines strictly between the line starting
// (after indentation) with begin and the next line equal to end.
func replaceBetween(t *testing.T, lines []string, begin, end string, body []string) []string {
	t.Helper()
	b := -1
	for i, l := range lines {
		if b < 0 && strings.HasPrefix(strings.TrimSpace(l), begin) {
			b = i
			continue
		}
		if b >= 0 && strings.TrimSpace(l) == end {
			return append(append(append([]string{}, lines[:b+1]...), body...), lines[i:]...)
		}
	}
	t.Fatalf("%s: no %q ... %q block", templateFile, begin, end)
	return nil
}

// generate returns the template with its generated parts refreshed.
func generate(t *testing.T, tpl []byte) []byte {
	lines := strings.Split(string(tpl), "\n")
	const stIndent = "          "
	lines = replaceBetween(t, lines, "# BEGIN statements from deploy/iam/driftd-readonly.json", "# END statements", statementLines(t, readonlyFile, stIndent))
	lines = replaceBetween(t, lines, "# BEGIN statements from deploy/iam/driftd-remediation.json", "# END statements", statementLines(t, remediationFile, stIndent))
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(unit), "${") {
		t.Fatalf("%s contains ${...}, which Fn::Sub would substitute in the user data", unitFile)
	}
	var body []string
	for _, l := range strings.Split(strings.TrimRight(string(unit), "\n"), "\n") {
		if l == "" {
			body = append(body, "")
		} else {
			body = append(body, "            "+l)
		}
	}
	lines = replaceBetween(t, lines, "cat > /etc/systemd/system/driftd.service <<'UNIT'", "UNIT", body)
	return []byte(strings.Join(lines, "\n"))
}

func TestTemplateGeneratedPartsInSync(t *testing.T) {
	tpl, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	want := generate(t, tpl)
	if *update {
		if err := os.WriteFile(templateFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(tpl, want) {
		t.Fatalf("%s is out of date with deploy/iam or deploy/systemd: run go test ./deploy/cloudformation -update", templateFile)
	}
}

// Sentinel parameter values: seeing them in resolved properties proves the
// property comes from the parameter.
var sentinels = map[string]any{
	"VpcId":                     "vpc-0sentinel",
	"PrivateSubnetIds":          []any{"subnet-0sentinela", "subnet-0sentinelb"},
	"PrometheusSecurityGroupId": "sg-0prometheus",
	"MetricsPort":               9464,
	"PrivateRouteTableIds":      []any{"rtb-0sentinel"},
	"BinaryS3Uri":               "s3://artifacts-bucket/driftd/v1.2.3/driftd-linux-amd64",
	"BinarySha256":              strings.Repeat("ab", 32),
	"ConfigS3Uri":               "",
	"LogRetentionDays":          30,
	"MaxSize":                   "2", // CloudFormation passes Number parameters as strings
}

func parse(t *testing.T) *cloudformation.Template {
	t.Helper()
	tpl, err := goformation.OpenWithOptions(templateFile, &intrinsics.ProcessorOptions{ParameterOverrides: sentinels})
	if err != nil {
		t.Fatalf("goformation: %v", err)
	}
	return tpl
}

// rawTemplate returns the template as generic JSON with intrinsics unresolved.
func rawTemplate(t *testing.T) map[string]any {
	b, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	j, err := intrinsics.ProcessYAML(b, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLaunchTemplate(t *testing.T) {
	tpl := parse(t)
	lt, err := tpl.GetEC2LaunchTemplateWithName("LaunchTemplate")
	if err != nil {
		t.Fatal(err)
	}
	d := lt.LaunchTemplateData
	mo := d.MetadataOptions
	if mo == nil || mo.HttpTokens == nil || *mo.HttpTokens != "required" {
		t.Error("IMDSv2 not required: MetadataOptions.HttpTokens must be \"required\"")
	}
	if mo == nil || mo.HttpPutResponseHopLimit == nil || *mo.HttpPutResponseHopLimit != 1 {
		t.Error("MetadataOptions.HttpPutResponseHopLimit must be 1")
	}
	if mo != nil && mo.HttpEndpoint != nil && *mo.HttpEndpoint != "enabled" {
		t.Errorf("HttpEndpoint %q: the SDK needs IMDS for credentials", *mo.HttpEndpoint)
	}
	if d.KeyName != nil {
		t.Errorf("KeyName %q set: no SSH keys (use Session Manager)", *d.KeyName)
	}
	for _, ni := range d.NetworkInterfaces {
		if ni.AssociatePublicIpAddress != nil && *ni.AssociatePublicIpAddress {
			t.Error("a network interface associates a public IP")
		}
	}
	if d.IamInstanceProfile == nil {
		t.Error("no instance profile")
	}
	for _, bd := range d.BlockDeviceMappings {
		if bd.Ebs == nil || bd.Ebs.Encrypted == nil || !*bd.Ebs.Encrypted {
			t.Errorf("block device %v not encrypted", bd.DeviceName)
		}
	}

	// User data: installs the binary from the parameter's S3 URI, verifies
	// it, fetches the config, installs deploy/systemd/driftd.service verbatim.
	if d.UserData == nil {
		t.Fatal("no user data")
	}
	ud, err := base64.StdEncoding.DecodeString(*d.UserData)
	if err != nil {
		t.Fatalf("user data not base64: %v", err)
	}
	script := string(ud)
	for _, want := range []string{
		`aws s3 cp "s3://artifacts-bucket/driftd/v1.2.3/driftd-linux-amd64" /usr/local/bin/driftd.new`,
		`echo "` + strings.Repeat("ab", 32) + `  /usr/local/bin/driftd.new" | sha256sum -c -`,
		`aws ssm get-parameter --name "/driftd/config" --with-decryption`,
		"systemctl enable --now driftd",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("user data lacks %q", want)
		}
	}
	m := regexp.MustCompile(`(?s)cat > /etc/systemd/system/driftd.service <<'UNIT'\n(.*?)\nUNIT\n`).FindStringSubmatch(script)
	unit, _ := os.ReadFile(unitFile)
	if m == nil || m[1]+"\n" != string(unit) {
		t.Errorf("user data does not install %s verbatim", unitFile)
	}
	if strings.Contains(script, "${") {
		t.Errorf("user data has an unresolved ${...} after Fn::Sub")
	}
}

func TestAutoScalingGroup(t *testing.T) {
	tpl := parse(t)
	asg, err := tpl.GetAutoScalingAutoScalingGroupWithName("AutoScalingGroup")
	if err != nil {
		t.Fatal(err)
	}
	if asg.MinSize != "1" || asg.DesiredCapacity == nil || *asg.DesiredCapacity != "1" {
		t.Errorf("MinSize %q DesiredCapacity %v, want 1 and 1", asg.MinSize, asg.DesiredCapacity)
	}
	if asg.MaxSize != "2" {
		t.Errorf("MaxSize %q does not follow the MaxSize parameter (2)", asg.MaxSize)
	}
	if got := strings.Join(asg.VPCZoneIdentifier, ","); got != "subnet-0sentinela,subnet-0sentinelb" {
		t.Errorf("VPCZoneIdentifier %q does not come from PrivateSubnetIds", got)
	}
	if asg.LaunchTemplate == nil {
		t.Error("no launch template")
	}
	own := false
	for _, tag := range asg.Tags {
		if tag.Key == "driftd:remediation" && tag.Value == "off" {
			own = true
		}
	}
	if !own {
		t.Error("driftd's own group should carry driftd:remediation=off")
	}
	params := rawTemplate(t)["Parameters"].(map[string]any)
	ms := params["MaxSize"].(map[string]any)
	if fmt.Sprint(ms["Default"]) != "1" || fmt.Sprint(ms["AllowedValues"]) != "[1 2]" {
		t.Errorf("MaxSize parameter: default %v allowed %v, want 1 and [1 2]", ms["Default"], ms["AllowedValues"])
	}
}

func TestNoSSHAndMetricsPortFromPrometheusOnly(t *testing.T) {
	tpl := parse(t)
	sg, err := tpl.GetEC2SecurityGroupWithName("SecurityGroup")
	if err != nil {
		t.Fatal(err)
	}
	if len(sg.SecurityGroupIngress) != 1 {
		t.Fatalf("driftd security group has %d ingress rules, want exactly 1", len(sg.SecurityGroupIngress))
	}
	in := sg.SecurityGroupIngress[0]
	if in.IpProtocol != "tcp" || in.FromPort == nil || in.ToPort == nil || *in.FromPort != 9464 || *in.ToPort != 9464 {
		t.Errorf("ingress %s %v-%v, want tcp 9464-9464 (MetricsPort)", in.IpProtocol, in.FromPort, in.ToPort)
	}
	if in.SourceSecurityGroupId == nil || *in.SourceSecurityGroupId != "sg-0prometheus" || in.CidrIp != nil || in.CidrIpv6 != nil || in.SourcePrefixListId != nil {
		t.Errorf("ingress source must be the Prometheus security group only, got %+v", in)
	}
	if sg.VpcId == nil || *sg.VpcId != "vpc-0sentinel" {
		t.Errorf("VpcId %v does not come from the parameter", sg.VpcId)
	}
	// No rule anywhere admits port 22, and no standalone ingress resources.
	for name, r := range tpl.Resources {
		if r.AWSCloudFormationType() == "AWS::EC2::SecurityGroupIngress" {
			t.Errorf("%s: standalone ingress rule; keep ingress in the groups where the test sees it", name)
		}
	}
	for name, g := range tpl.GetAllEC2SecurityGroupResources() {
		for _, r := range g.SecurityGroupIngress {
			from, to := 0, 65535
			if r.FromPort != nil {
				from = *r.FromPort
			}
			if r.ToPort != nil {
				to = *r.ToPort
			}
			if r.IpProtocol == "-1" || (from <= 22 && 22 <= to) {
				t.Errorf("%s admits port 22 (or all ports): %+v", name, r)
			}
			if r.CidrIp != nil && *r.CidrIp == "0.0.0.0/0" {
				t.Errorf("%s admits the world: %+v", name, r)
			}
		}
	}
	// The parameter feeding the ingress rule is a security group id.
	params := rawTemplate(t)["Parameters"].(map[string]any)
	if typ := params["PrometheusSecurityGroupId"].(map[string]any)["Type"]; typ != "AWS::EC2::SecurityGroup::Id" {
		t.Errorf("PrometheusSecurityGroupId type %v", typ)
	}
	if typ := params["PrivateSubnetIds"].(map[string]any)["Type"]; typ != "List<AWS::EC2::Subnet::Id>" {
		t.Errorf("PrivateSubnetIds type %v", typ)
	}
}

func canonical(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	_ = json.Unmarshal(b, &x)
	b, _ = json.Marshal(x)
	return string(b)
}

func policyStatements(t *testing.T, path string) any {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Statement any }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p.Statement
}

func TestPoliciesEqualDeployIAM(t *testing.T) {
	tpl := parse(t)
	for _, tc := range []struct {
		resource, file, condition string
	}{
		{"ReadOnlyPolicy", readonlyFile, ""},
		{"RemediationPolicy", remediationFile, "RemediationEnabled"},
	} {
		p, err := tpl.GetIAMPolicyWithName(tc.resource)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := p.PolicyDocument.(map[string]any)
		if canonical(t, doc["Statement"]) != canonical(t, policyStatements(t, tc.file)) {
			t.Errorf("%s statements differ from %s: run go test ./deploy/cloudformation -update", tc.resource, tc.file)
		}
		if p.AWSCloudFormationCondition != tc.condition {
			t.Errorf("%s condition %q, want %q", tc.resource, p.AWSCloudFormationCondition, tc.condition)
		}
	}
	// Nothing else grants driftd's fleet-facing actions.
	boot, err := tpl.GetIAMPolicyWithName("BootstrapPolicy")
	if err != nil {
		t.Fatal(err)
	}
	var allowed []string
	for _, st := range boot.PolicyDocument.(map[string]any)["Statement"].([]any) {
		switch a := st.(map[string]any)["Action"].(type) {
		case string:
			allowed = append(allowed, a)
		case []any:
			for _, x := range a {
				allowed = append(allowed, x.(string))
			}
		}
	}
	sort.Strings(allowed)
	if got := strings.Join(allowed, " "); got != "logs:CreateLogStream logs:DescribeLogStreams logs:PutLogEvents s3:GetObject ssm:GetParameter" {
		t.Errorf("BootstrapPolicy actions: %s", got)
	}
	role, err := tpl.GetIAMRoleWithName("Role")
	if err != nil {
		t.Fatal(err)
	}
	if len(role.Policies) != 0 {
		t.Error("inline role policies bypass the checked policy resources")
	}
	for _, arn := range role.ManagedPolicyArns {
		if !strings.HasSuffix(arn, ":iam::aws:policy/AmazonSSMManagedInstanceCore") {
			t.Errorf("unexpected managed policy %s", arn)
		}
	}
}

func TestVpcEndpointsConditional(t *testing.T) {
	tpl := parse(t)
	eps := tpl.GetAllEC2VPCEndpointResources()
	services := map[string]string{}
	for name, ep := range eps {
		if name == "DynamoDBGatewayEndpoint" {
			// The HA table's endpoint: only with endpoints and HA both on.
			if ep.AWSCloudFormationCondition != "HAEndpoint" || ep.VpcEndpointType == nil || *ep.VpcEndpointType != "Gateway" {
				t.Errorf("%s: condition %q type %v, want HAEndpoint and Gateway", name, ep.AWSCloudFormationCondition, ep.VpcEndpointType)
			}
			continue
		}
		if ep.AWSCloudFormationCondition != "CreateEndpoints" {
			t.Errorf("%s: condition %q, want CreateEndpoints", name, ep.AWSCloudFormationCondition)
		}
		svc := ep.ServiceName[strings.LastIndex(ep.ServiceName, ".")+1:]
		typ := "Interface"
		if ep.VpcEndpointType != nil {
			typ = *ep.VpcEndpointType
		}
		services[svc] = typ
		if typ == "Interface" {
			if ep.PrivateDnsEnabled == nil || !*ep.PrivateDnsEnabled {
				t.Errorf("%s: PrivateDnsEnabled must be true so the SDK's default endpoints resolve to it", name)
			}
			if strings.Join(ep.SubnetIds, ",") != "subnet-0sentinela,subnet-0sentinelb" {
				t.Errorf("%s: subnets %v not from PrivateSubnetIds", name, ep.SubnetIds)
			}
		}
	}
	for _, s := range []string{"ssm", "ec2", "autoscaling", "sts", "logs", "sns", "events"} {
		if services[s] != "Interface" {
			t.Errorf("no interface endpoint for %s", s)
		}
	}
	if services["s3"] != "Gateway" {
		t.Error("no S3 gateway endpoint")
	}
	esg, err := tpl.GetEC2SecurityGroupWithName("EndpointSecurityGroup")
	if err != nil {
		t.Fatal(err)
	}
	if esg.AWSCloudFormationCondition != "CreateEndpoints" {
		t.Error("EndpointSecurityGroup not conditional")
	}
	raw := rawTemplate(t)
	cond := canonical(t, raw["Conditions"].(map[string]any)["CreateEndpoints"])
	if cond != `{"Fn::Equals":[{"Ref":"CreateVpcEndpoints"},"true"]}` {
		t.Errorf("CreateEndpoints = %s", cond)
	}
	def := raw["Parameters"].(map[string]any)["CreateVpcEndpoints"].(map[string]any)["Default"]
	if def != "false" {
		t.Errorf("CreateVpcEndpoints default %v, want false (endpoints cost money; NAT VPCs do not need them)", def)
	}
}

func TestLogRetention(t *testing.T) {
	tpl := parse(t)
	lg, err := tpl.GetLogsLogGroupWithName("LogGroup")
	if err != nil {
		t.Fatal(err)
	}
	if lg.RetentionInDays == nil || *lg.RetentionInDays != 30 {
		t.Errorf("RetentionInDays %v, want the LogRetentionDays parameter (30)", lg.RetentionInDays)
	}
}

// TestParametersAndOutputsDocumented checks docs/deploy.md names every
// parameter and output.
func TestParametersAndOutputsDocumented(t *testing.T) {
	raw := rawTemplate(t)
	doc, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"Parameters", "Outputs"} {
		for name := range raw[section].(map[string]any) {
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/deploy.md does not document %s `%s`", strings.TrimSuffix(section, "s"), name)
			}
		}
	}
}

// TestTemplateIsPlainYAML guards against tabs and duplicate keys, which
// CloudFormation rejects but goformation tolerates.
func TestTemplateIsPlainYAML(t *testing.T) {
	b, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\t")) {
		t.Error("template contains a tab")
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	var walk func(*yaml.Node, string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind == yaml.MappingNode {
			seen := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if seen[k] {
					t.Errorf("duplicate key %s.%s (line %d)", path, k, n.Content[i].Line)
				}
				seen[k] = true
				walk(n.Content[i+1], path+"."+k)
			}
			return
		}
		for _, c := range n.Content {
			walk(c, path)
		}
	}
	walk(&n, "")
	if len(b) > 51200 {
		t.Errorf("template is %d bytes; CloudFormation's TemplateBody limit is 51,200", len(b))
	}
}

// TestHATableAndPolicy: with EnableHA the stack creates the lease table
// (string key pk, TTL on expires_at) and a policy granting exactly the
// actions of deploy/iam/driftd-ha.json on that table only; MaxSize 2
// without HA is refused by a rule.
func TestHATableAndPolicy(t *testing.T) {
	tpl := parse(t)
	tbl, err := tpl.GetDynamoDBTableWithName("HATable")
	if err != nil {
		t.Fatal(err)
	}
	if tbl.AWSCloudFormationCondition != "HAEnabled" || len(tbl.KeySchema) != 1 || tbl.KeySchema[0].AttributeName != "pk" ||
		tbl.TimeToLiveSpecification == nil || tbl.TimeToLiveSpecification.AttributeName == nil || *tbl.TimeToLiveSpecification.AttributeName != "expires_at" {
		t.Errorf("HATable: condition %q keys %+v ttl %+v", tbl.AWSCloudFormationCondition, tbl.KeySchema, tbl.TimeToLiveSpecification)
	}
	raw := rawTemplate(t)
	pol := raw["Resources"].(map[string]any)["HAPolicy"].(map[string]any)
	if pol["Condition"] != "HAEnabled" {
		t.Errorf("HAPolicy condition %v", pol["Condition"])
	}
	sts := pol["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)
	want := policyStatements(t, "../iam/driftd-ha.json").([]any)
	if len(sts) != 2 || len(want) != 2 {
		t.Fatalf("HAPolicy has %d statements, deploy/iam/driftd-ha.json %d; want 2 each (table, audit index)", len(sts), len(want))
	}
	resources := []string{`{"Fn::GetAtt":"HATable.Arn"}`, `{"Fn::Sub":"${HATable.Arn}/index/audit-by-time"}`}
	for i := range sts {
		got, exp := sts[i].(map[string]any), want[i].(map[string]any)
		if canonical(t, got["Action"]) != canonical(t, exp["Action"]) || got["Effect"] != "Allow" || got["Sid"] != exp["Sid"] {
			t.Errorf("HAPolicy statement %v differs from deploy/iam/driftd-ha.json %v", got, exp)
		}
		if canonical(t, got["Resource"]) != resources[i] {
			t.Errorf("HAPolicy statement %d resource %s, want %s", i, canonical(t, got["Resource"]), resources[i])
		}
	}
	if len(tbl.GlobalSecondaryIndexes) != 1 || tbl.GlobalSecondaryIndexes[0].IndexName != "audit-by-time" || len(tbl.GlobalSecondaryIndexes[0].KeySchema) != 2 ||
		tbl.GlobalSecondaryIndexes[0].KeySchema[0].AttributeName != "audit_part" || tbl.GlobalSecondaryIndexes[0].KeySchema[1].AttributeName != "audit_sk" {
		t.Errorf("HATable indexes %+v, want audit-by-time on (audit_part, audit_sk)", tbl.GlobalSecondaryIndexes)
	}
	rule := canonical(t, raw["Rules"].(map[string]any)["TwoReplicasNeedTheLease"])
	if !strings.Contains(rule, `"RuleCondition":{"Fn::Equals":[{"Ref":"MaxSize"},"2"]}`) || !strings.Contains(rule, `{"Fn::Equals":[{"Ref":"EnableHA"},"true"]}`) {
		t.Errorf("rule TwoReplicasNeedTheLease = %s", rule)
	}
}
