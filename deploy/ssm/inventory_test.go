// Package ssm holds driftd's custom inventory collector (driftd-inventory.sh),
// the SSM Command document that runs it (generated from the script) and a
// State Manager association template. The tests run the script on this
// machine, validate its output against SSM's custom inventory limits and keep
// the document in step with the script.
package ssm

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "regenerate driftd-custom-inventory.yaml and the document in association.yaml from driftd-inventory.sh")

const (
	scriptFile      = "driftd-inventory.sh"
	documentFile    = "driftd-custom-inventory.yaml"
	associationFile = "association.yaml"
)

// ---- custom inventory format ---------------------------------------------

// Limits of SSM custom inventory (AWS Systems Manager User Guide, "Working with custom inventory"; aws/amazon-ssm-agent agent/plugins/inventory/gatherers/custom).
const (
	maxTypeNameLen   = 100
	maxAttributes    = 50
	maxAttrNameLen   = 64
	maxValueLen      = 4096
	maxEntries       = 10000
	maxTypeSizeBytes = 3072 * 1024
)

// customInventory is one custom inventory file.
type customInventory struct {
	SchemaVersion string
	TypeName      string
	Content       []map[string]string
}

// parseCustomInventory decodes and validates one custom inventory file,
// returning an error naming the entry and attribute at fault.
func parseCustomInventory(b []byte) (*customInventory, error) {
	if len(b) > maxTypeSizeBytes {
		return nil, fmt.Errorf("%d bytes, over the agent's %d-byte limit per type", len(b), maxTypeSizeBytes)
	}
	var raw struct {
		SchemaVersion *string
		TypeName      *string
		Content       json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if raw.SchemaVersion == nil || *raw.SchemaVersion != "1.0" {
		return nil, fmt.Errorf("SchemaVersion must be \"1.0\"")
	}
	if raw.TypeName == nil || !strings.HasPrefix(*raw.TypeName, "Custom:") || len(*raw.TypeName) > maxTypeNameLen || len(*raw.TypeName) == len("Custom:") {
		return nil, fmt.Errorf("TypeName %v must start with Custom: and be at most %d characters", raw.TypeName, maxTypeNameLen)
	}
	// Content: a list of entries whose values are all strings.
	var entries []map[string]any
	if err := json.Unmarshal(raw.Content, &entries); err != nil {
		return nil, fmt.Errorf("Content must be a list of objects: %w", err)
	}
	if len(entries) > maxEntries {
		return nil, fmt.Errorf("%d entries, over %d", len(entries), maxEntries)
	}
	inv := &customInventory{SchemaVersion: *raw.SchemaVersion, TypeName: *raw.TypeName}
	for i, e := range entries {
		if len(e) > maxAttributes {
			return nil, fmt.Errorf("Content[%d]: %d attributes, over %d", i, len(e), maxAttributes)
		}
		m := make(map[string]string, len(e))
		for k, v := range e {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("Content[%d].%s: value %v is not a string", i, k, v)
			}
			if k == "" || len(k) > maxAttrNameLen {
				return nil, fmt.Errorf("Content[%d]: attribute name %q empty or over %d characters", i, k, maxAttrNameLen)
			}
			if len(s) > maxValueLen {
				return nil, fmt.Errorf("Content[%d].%s: value of %d characters, over %d", i, k, len(s), maxValueLen)
			}
			m[k] = s
		}
		inv.Content = append(inv.Content, m)
	}
	return inv, nil
}

func TestParseCustomInventoryRejects(t *testing.T) {
	long := strings.Repeat("x", 4097)
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf(`"a%d":"v"`, i)
	}
	tests := []struct{ name, doc, want string }{
		{"ok", `{"SchemaVersion":"1.0","TypeName":"Custom:X","Content":[{"A":"b"}]}`, ""},
		{"type prefix", `{"SchemaVersion":"1.0","TypeName":"custom:X","Content":[]}`, "TypeName"},
		{"schema", `{"SchemaVersion":"2.0","TypeName":"Custom:X","Content":[]}`, "SchemaVersion"},
		{"number value", `{"SchemaVersion":"1.0","TypeName":"Custom:X","Content":[{"Size":3}]}`, "Content[0].Size: value 3 is not a string"},
		{"long value", `{"SchemaVersion":"1.0","TypeName":"Custom:X","Content":[{"A":"` + long + `"}]}`, "Content[0].A: value of 4097 characters"},
		{"long name", `{"SchemaVersion":"1.0","TypeName":"Custom:X","Content":[{"` + strings.Repeat("n", 65) + `":"v"}]}`, "over 64 characters"},
		{"too many attributes", `{"SchemaVersion":"1.0","TypeName":"Custom:X","Content":[{` + strings.Join(many, ",") + `}]}`, "51 attributes"},
		{"object content", `{"SchemaVersion":"1.0","TypeName":"Custom:X","Content":{"A":"b"}}`, "Content must be a list"},
		{"unknown key", `{"SchemaVersion":"1.0","TypeName":"Custom:X","Content":[],"Extra":1}`, "unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCustomInventory([]byte(tc.doc))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// ---- running the script -------------------------------------------------

type runOpts struct {
	files, sysctls string
	env            []string
	path           string // PATH override (fake systemctl)
}

// runScript runs the collector under POSIX sh (dash where present) into a
// fresh directory and returns the parsed types by TypeName.
func runScript(t *testing.T, script string, o runOpts) (map[string]*customInventory, string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "custom")
	shell := "sh"
	if p, err := exec.LookPath("dash"); err == nil {
		shell = p
	}
	cmd := exec.Command(shell, script)
	env := []string{"DRIFTD_INVENTORY_DIR=" + out, "HOME=" + t.TempDir()}
	if o.path != "" {
		env = append(env, "PATH="+o.path)
	} else {
		env = append(env, "PATH="+os.Getenv("PATH"))
	}
	if o.files != "" {
		env = append(env, "DRIFTD_INVENTORY_FILES="+o.files)
	}
	if o.sysctls != "" {
		env = append(env, "DRIFTD_INVENTORY_SYSCTLS="+o.sysctls)
	}
	cmd.Env = append(env, o.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", shell, script, err, stderr.String())
	}
	types := map[string]*customInventory{}
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
			continue
		}
		if !strings.HasSuffix(e.Name(), ".json") {
			t.Errorf("%s: the agent reads only *.json files", e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		inv, err := parseCustomInventory(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", e.Name(), err, b)
		}
		if want := strings.Replace(inv.TypeName, ":", "_", 1) + ".json"; e.Name() != want {
			t.Errorf("%s holds %s, want file name %s", e.Name(), inv.TypeName, want)
		}
		types[inv.TypeName] = inv
	}
	return types, out, stderr.String()
}

// fixtureFiles creates files with awkward names and known content.
func fixtureFiles(t *testing.T) (dir string, files map[string]string) {
	dir = t.TempDir()
	files = map[string]string{
		"sshd_config":         "PermitRootLogin no\nPasswordAuthentication no\n",
		"with space.service":  "[Unit]\nDescription=x\n",
		`quote"and\back.conf`: "x\n",
		"tab\tname.conf":      "y\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir.service"), 0o755); err != nil { // directories are skipped
		t.Fatal(err)
	}
	return dir, files
}

func sha256Hex(t *testing.T, path string) string {
	out, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

var rfc3339Z = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func TestScriptFileDigestAndSysctl(t *testing.T) {
	dir, files := fixtureFiles(t)
	types, _, stderr := runScript(t, scriptFile, runOpts{
		files:   filepath.Join(dir, "sshd_config") + " " + filepath.Join(dir, "*.service") + " " + filepath.Join(dir, "*.conf") + " /nonexistent/file",
		sysctls: "kernel.ostype no.such.key",
	})
	fd := types["Custom:FileDigest"]
	if fd == nil {
		t.Fatalf("no Custom:FileDigest written; stderr:\n%s", stderr)
	}
	got := map[string]map[string]string{}
	for _, e := range fd.Content {
		got[e["Path"]] = e
	}
	if len(got) != len(files) {
		t.Errorf("FileDigest has %d entries, want %d: %v", len(got), len(files), fd.Content)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		e, ok := got[p]
		if !ok {
			t.Errorf("no entry for %q", p)
			continue
		}
		want := map[string]string{"Path": p, "SHA256": sha256Hex(t, p), "Size": fmt.Sprint(len(content)), "Mode": "0640"}
		for k, v := range want {
			if e[k] != v {
				t.Errorf("%q: %s = %q, want %q", name, k, e[k], v)
			}
		}
		if !rfc3339Z.MatchString(e["ModificationTime"]) {
			t.Errorf("%q: ModificationTime %q is not RFC3339 UTC", name, e["ModificationTime"])
		}
		if !strings.Contains(e["Owner"], ":") {
			t.Errorf("%q: Owner %q, want user:group", name, e["Owner"])
		}
		keys := make([]string, 0, len(e))
		for k := range e {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != "Mode,ModificationTime,Owner,Path,SHA256,Size" {
			t.Errorf("%q: attributes %v", name, keys)
		}
	}

	sc := types["Custom:Sysctl"]
	if sc == nil {
		t.Fatal("no Custom:Sysctl written")
	}
	if len(sc.Content) != 1 || sc.Content[0]["Name"] != "kernel.ostype" || sc.Content[0]["Value"] != "Linux" {
		t.Errorf("Sysctl = %v, want only kernel.ostype=Linux (unknown keys skipped)", sc.Content)
	}
}

func TestScriptRejectsBadSysctlKey(t *testing.T) {
	types, _, stderr := runScript(t, scriptFile, runOpts{files: "/nonexistent", sysctls: "kernel.ostype ../../etc/passwd"})
	if n := len(types["Custom:Sysctl"].Content); n != 1 {
		t.Errorf("Sysctl has %d entries, want 1", n)
	}
	if !strings.Contains(stderr, "bad sysctl key '../../etc/passwd'") {
		t.Errorf("no warning for the bad key; stderr:\n%s", stderr)
	}
	if fd := types["Custom:FileDigest"]; fd == nil || len(fd.Content) != 0 {
		t.Errorf("FileDigest for no existing file = %v, want an empty list", fd)
	}
}

func TestScriptMaxFiles(t *testing.T) {
	dir, _ := fixtureFiles(t)
	types, _, stderr := runScript(t, scriptFile, runOpts{files: filepath.Join(dir, "*"), sysctls: "kernel.ostype", env: []string{"DRIFTD_INVENTORY_MAX_FILES=2"}})
	if n := len(types["Custom:FileDigest"].Content); n != 2 {
		t.Errorf("FileDigest has %d entries, want 2 (capped)", n)
	}
	if !strings.Contains(stderr, "more than 2 files") {
		t.Errorf("no warning about the cap; stderr:\n%s", stderr)
	}
}

// systemdRunning mirrors the script's check (sd_booted).
func systemdRunning() bool {
	if _, err := exec.LookPath("systemctl"); err != nil {
		return false
	}
	st, err := os.Stat("/run/systemd/system")
	return err == nil && st.IsDir()
}

// TestScriptSystemdOnThisMachine runs the script as it is on this machine:
// with a running systemd it must report units; without one (CI containers)
// it must omit the type, not fail and not report an empty list.
func TestScriptSystemdOnThisMachine(t *testing.T) {
	types, out, stderr := runScript(t, scriptFile, runOpts{files: "/nonexistent", sysctls: "kernel.ostype"})
	su, ok := types["Custom:SystemdUnit"]
	if systemdRunning() {
		if !ok || len(su.Content) == 0 {
			t.Fatalf("systemd is running but Custom:SystemdUnit is missing or empty; stderr:\n%s", stderr)
		}
		for _, e := range su.Content {
			if e["Name"] == "" || e["ActiveState"] == "" {
				t.Errorf("unit entry without Name/ActiveState: %v", e)
			}
		}
		return
	}
	t.Logf("systemd not running here: checking Custom:SystemdUnit is omitted")
	if ok {
		t.Fatalf("systemd is not running but Custom:SystemdUnit was written: %v", su)
	}
	if _, err := os.Stat(filepath.Join(out, "Custom_SystemdUnit.json")); !os.IsNotExist(err) {
		t.Errorf("Custom_SystemdUnit.json exists: %v", err)
	}
	if !strings.Contains(stderr, "Custom:SystemdUnit omitted") {
		t.Errorf("no warning that the type was omitted; stderr:\n%s", stderr)
	}
}

// fakeSystemctl answers list-unit-files, list-units and show like systemd 252.
const fakeSystemctl = `#!/bin/sh
case "$1" in
list-unit-files)
  printf 'sshd.service                 enabled enabled\n'
  printf 'chronyd.service              enabled enabled\n'
  printf 'getty@.service               enabled enabled\n'
  printf 'fstrim.timer                 enabled enabled\n' ;;
list-units)
  printf 'sshd.service       loaded active running OpenSSH server daemon\n'
  printf 'amazon-ssm-agent.service loaded active running amazon-ssm-agent\n' ;;
show)
  shift
  skip=0
  for a in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$a" in -p) skip=1; continue ;; -*) continue ;; esac
    case "$a" in
    sshd.service) st=${FAKE_SSHD_STATE:-active} sub=running ufs=enabled ;;
    chronyd.service) st=inactive sub=dead ufs=enabled ;;
    fstrim.timer) st=active sub=waiting ufs=enabled ;;
    amazon-ssm-agent.service) st=active sub=running ufs=disabled ;;
    *) st=inactive sub=dead ufs=bad ;;
    esac
    printf 'Id=%s\nActiveState=%s\nSubState=%s\nUnitFileState=%s\n\n' "$a" "$st" "$sub" "$ufs"
  done ;;
*) exit 1 ;;
esac
`

// TestScriptSystemdUnits exercises the unit collection with a fake
// systemctl, so the parsing is tested on machines without systemd.
func TestScriptSystemdUnits(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	types, _, stderr := runScript(t, scriptFile, runOpts{
		files: "/nonexistent", sysctls: "kernel.ostype",
		path: bin + ":" + os.Getenv("PATH"),
		env:  []string{"DRIFTD_INVENTORY_ASSUME_SYSTEMD=1"},
	})
	su := types["Custom:SystemdUnit"]
	if su == nil {
		t.Fatalf("no Custom:SystemdUnit; stderr:\n%s", stderr)
	}
	var got []string
	for _, e := range su.Content {
		got = append(got, fmt.Sprintf("%s %s/%s %s", e["Name"], e["ActiveState"], e["SubState"], e["UnitFileState"]))
	}
	want := []string{
		"amazon-ssm-agent.service active/running disabled",
		"chronyd.service inactive/dead enabled",
		"fstrim.timer active/waiting enabled",
		"sshd.service active/running enabled",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("units:\n%s\nwant (templates like getty@.service skipped):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestScriptUnitsNone(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	types, _, _ := runScript(t, scriptFile, runOpts{files: "/nonexistent", sysctls: "kernel.ostype",
		path: bin + ":" + os.Getenv("PATH"), env: []string{"DRIFTD_INVENTORY_ASSUME_SYSTEMD=1", "DRIFTD_INVENTORY_UNITS=none"}})
	if _, ok := types["Custom:SystemdUnit"]; ok {
		t.Error("DRIFTD_INVENTORY_UNITS=none still wrote Custom:SystemdUnit")
	}
}

func TestScriptNeedsInstanceIDWithoutDir(t *testing.T) {
	cmd := exec.Command("sh", scriptFile)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AWS_SSM_INSTANCE_ID=not-an-id"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "instance id unknown") {
		t.Errorf("want exit with 'instance id unknown', got err=%v out=%s", err, out)
	}
}

// ---- the SSM document, generated from the script ----------------------------

type docParam struct {
	Type           string   `yaml:"type"`
	Description    string   `yaml:"description"`
	Default        string   `yaml:"default"`
	AllowedPattern string   `yaml:"allowedPattern,omitempty"`
	AllowedValues  []string `yaml:"allowedValues,omitempty"`
}

type docStep struct {
	Action       string              `yaml:"action"`
	Name         string              `yaml:"name"`
	Precondition map[string][]string `yaml:"precondition"`
	Inputs       struct {
		TimeoutSeconds string   `yaml:"timeoutSeconds"`
		RunCommand     []string `yaml:"runCommand"`
	} `yaml:"inputs"`
}

type document struct {
	SchemaVersion string              `yaml:"schemaVersion"`
	Description   string              `yaml:"description"`
	Parameters    map[string]docParam `yaml:"parameters"`
	MainSteps     []docStep           `yaml:"mainSteps"`
}

const docHeader = "# Generated from driftd-inventory.sh by `go test ./deploy/ssm -update`; do not edit.\n" +
	"# Create it with:\n" +
	"#   aws ssm create-document --name driftd-custom-inventory --document-type Command \\\n" +
	"#     --document-format YAML --content file://deploy/ssm/driftd-custom-inventory.yaml\n"

// buildDocument renders the SSM Command document around the script.
func buildDocument(script string) document {
	d := document{
		SchemaVersion: "2.2",
		Description:   "driftd custom inventory: writes Custom:FileDigest, Custom:SystemdUnit, Custom:Sysctl and Custom:RunningState for the SSM agent's next inventory run.",
		Parameters: map[string]docParam{
			"files": {
				Type:           "String",
				Description:    "Files or globs to digest (space separated).",
				Default:        "/etc/ssh/sshd_config /etc/sudoers /etc/sudoers.d/* /etc/systemd/system/*.service",
				AllowedPattern: `^[A-Za-z0-9_./*?@+-]+( [A-Za-z0-9_./*?@+-]+)*$`,
			},
			"sysctls": {
				Type:           "String",
				Description:    "sysctl keys to record (space separated).",
				Default:        "kernel.randomize_va_space net.ipv4.ip_forward net.ipv4.conf.all.accept_redirects net.ipv4.conf.all.send_redirects net.ipv4.tcp_syncookies fs.suid_dumpable",
				AllowedPattern: `^[A-Za-z0-9_.-]+( [A-Za-z0-9_.-]+)*$`,
			},
			"units": {
				Type:          "String",
				Description:   "Which systemd units to record.",
				Default:       "enabled-or-active",
				AllowedValues: []string{"enabled-or-active", "none"},
			},
		},
	}
	step := docStep{Action: "aws:runShellScript", Name: "collectDriftdInventory",
		Precondition: map[string][]string{"StringEquals": {"platformType", "Linux"}}}
	step.Inputs.TimeoutSeconds = "300"
	step.Inputs.RunCommand = append([]string{
		"export DRIFTD_INVENTORY_FILES='{{ files }}'",
		"export DRIFTD_INVENTORY_SYSCTLS='{{ sysctls }}'",
		"export DRIFTD_INVENTORY_UNITS='{{ units }}'",
	}, strings.Split(strings.TrimRight(script, "\n"), "\n")...)
	d.MainSteps = []docStep{step}
	return d
}

func renderDocument(t *testing.T) []byte {
	script, err := os.ReadFile(scriptFile)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(docHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(buildDocument(string(script))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDocumentMatchesScript keeps the document's runCommand equal to the
// script: the script is the single source of truth.
func TestDocumentMatchesScript(t *testing.T) {
	want := renderDocument(t)
	if *update {
		if err := os.WriteFile(documentFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(documentFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with %s: run go test ./deploy/ssm -update", documentFile, scriptFile)
	}
	var d document
	dec := yaml.NewDecoder(bytes.NewReader(got))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.SchemaVersion != "2.2" || len(d.MainSteps) != 1 || d.MainSteps[0].Action != "aws:runShellScript" {
		t.Errorf("document shape: schemaVersion %q, steps %d", d.SchemaVersion, len(d.MainSteps))
	}
	// Parameter defaults equal the script's own defaults, and satisfy their
	// allowed patterns (which keep shell metacharacters out).
	script, _ := os.ReadFile(scriptFile)
	for name, env := range map[string]string{"files": "DRIFTD_INVENTORY_FILES", "sysctls": "DRIFTD_INVENTORY_SYSCTLS", "units": "DRIFTD_INVENTORY_UNITS"} {
		p := d.Parameters[name]
		if !strings.Contains(string(script), "${"+env+":-"+p.Default+"}") {
			t.Errorf("parameter %s default %q differs from the script's default for %s", name, p.Default, env)
		}
		if p.AllowedPattern != "" {
			re := regexp.MustCompile(p.AllowedPattern)
			if !re.MatchString(p.Default) {
				t.Errorf("parameter %s default does not match its allowedPattern", name)
			}
			for _, evil := range []string{"/etc/x'; rm -rf /", "$(id)", "a`id`", "a;b", "a\nb"} {
				if re.MatchString(evil) {
					t.Errorf("parameter %s allowedPattern admits %q", name, evil)
				}
			}
		}
	}
}

// TestDocumentRuns renders the document's runCommand as the agent would
// (parameters substituted, lines joined into a script) and runs it.
func TestDocumentRuns(t *testing.T) {
	b, err := os.ReadFile(documentFile)
	if err != nil {
		t.Fatal(err)
	}
	var d document
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	dir, _ := fixtureFiles(t)
	params := map[string]string{"files": filepath.Join(dir, "*.service"), "sysctls": "kernel.ostype", "units": "none"}
	script := strings.Join(d.MainSteps[0].Inputs.RunCommand, "\n") + "\n"
	for k, v := range params {
		script = strings.ReplaceAll(script, "{{ "+k+" }}", v)
	}
	path := filepath.Join(t.TempDir(), "_script.sh")
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	types, _, _ := runScript(t, path, runOpts{})
	fd := types["Custom:FileDigest"]
	if fd == nil || len(fd.Content) != 1 || fd.Content[0]["Path"] != filepath.Join(dir, "with space.service") {
		t.Errorf("FileDigest via the document = %v, want the one .service file", fd)
	}
	if sc := types["Custom:Sysctl"]; sc == nil || len(sc.Content) != 1 {
		t.Errorf("Sysctl via the document = %v", sc)
	}
}
