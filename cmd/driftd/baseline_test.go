package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	sims3 "github.com/driftd/driftd/awssim/s3"
	"github.com/driftd/driftd/collectors/baselines/publish"
	"github.com/driftd/driftd/internal/config"
)

var updateBaselineGolden = flag.Bool("update-baseline", false, "rewrite cmd/driftd/testdata/baseline_diff*.golden")

// baselineSim starts a simulated region with S3 and points the SDK's
// standard environment at it.
func baselineSim(t *testing.T) (*awssim.Sim, *sims3.Service, string) {
	t.Helper()
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL", "http://"+srv.Addr())
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return sim, sim.S3(), dir
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *updateBaselineGolden {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/driftd -run TestBaselineDiff -update-baseline)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestBaselineDiffGolden(t *testing.T) {
	a, b := "testdata/baseline_a.yaml", "testdata/baseline_b.yaml"
	for _, tt := range []struct {
		output, golden string
	}{{"text", "baseline_diff.golden"}, {"json", "baseline_diff.json.golden"}} {
		var out bytes.Buffer
		err := (&baselineDiffCmd{A: a, B: b, Output: tt.output, out: &out}).Run(&Globals{})
		if exitCode(err) != 1 {
			t.Errorf("%s: exit %d (%v), want 1", tt.output, exitCode(err), err)
		}
		golden(t, tt.golden, out.Bytes())
	}
}

func TestBaselineDiffExitCodes(t *testing.T) {
	dir := t.TempDir()
	trunc := filepath.Join(dir, "trunc.json")
	os.WriteFile(trunc, []byte(`{"schema_version":1,"ami_id":"ami-0aaaaaaaaaaaaaaa1","packages":[{"name":"bash"`), 0o644)
	// An older normalization version of the same content is equal.
	data, _ := os.ReadFile("testdata/baseline_a.yaml")
	old := filepath.Join(dir, "old.yaml")
	os.WriteFile(old, []byte(strings.Replace(string(data), "package_format: rpm", "package_format: rpm\nnormalization_version: 0", 1)), 0o644)
	tests := []struct {
		name, a, b string
		code       int
		out        string
	}{
		{"equal", "testdata/baseline_a.yaml", "testdata/baseline_a.yaml", 0, "equal: no differences"},
		{"older normalization equal", "testdata/baseline_a.yaml", old, 0, "equal: no differences"},
		{"different", "testdata/baseline_a.yaml", "testdata/baseline_b.yaml", 1, "1 added, 1 removed, 4 changed"},
		{"missing file", "testdata/baseline_a.yaml", filepath.Join(dir, "none.yaml"), 2, ""},
		{"truncated", trunc, "testdata/baseline_a.yaml", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := (&baselineDiffCmd{A: tt.a, B: tt.b, Output: "text", out: &out}).Run(&Globals{})
			if exitCode(err) != tt.code {
				t.Fatalf("exit %d (%v), want %d\n%s", exitCode(err), err, tt.code, out.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("output:\n%s\nwant %q", out.String(), tt.out)
			}
			if tt.name == "truncated" && !strings.Contains(err.Error(), trunc+": invalid JSON") {
				t.Errorf("error %v must name the file", err)
			}
		})
	}
}

// TestBaselineCaptureShowDiff is the bake workflow: capture a canary to S3
// and a parameter pointer, show what the daemon would resolve, and diff the
// new baseline against the old one.
func TestBaselineCaptureShowDiff(t *testing.T) {
	sim, svc, dir := baselineSim(t)
	svc.CreateBucket("golden-images")
	ami, err := sim.AddAMI(awssim.AMISpec{Name: "web-base-2026-05", PlatformName: "Amazon Linux", PlatformVersion: "2023",
		Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2.15", Release: "1.amzn2023", Arch: "x86_64"},
			{Name: "curl", Version: "8.5.0", Release: "1.amzn2023", Arch: "x86_64"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sim.AddInstances(ami, "t3.micro", 1, map[string]string{"Name": "canary"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "driftd.yaml")
	os.WriteFile(cfg, []byte(`baselines:
  - name: golden-s3
    s3: {uri: "s3://golden-images/manifests/"}
  - name: golden-params
    ssm_parameter: {name: "/golden/{ami_id}/manifest"}
`), 0o644)

	var out, errOut bytes.Buffer
	capture := &baselineCaptureCmd{Instance: ids[0], Config: cfg, Out: "s3://golden-images/releases/web-42.yaml",
		Parameter: "/golden/{ami_id}/manifest", out: &out, errOut: &errOut}
	if err := capture.Run(&Globals{}); err != nil {
		t.Fatalf("capture: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "captured "+ami+" from "+ids[0]+": 2 packages") ||
		!strings.Contains(errOut.String(), "published ssm:/golden/"+ami+"/manifest version 1") {
		t.Errorf("capture messages:\n%s", errOut.String())
	}

	out.Reset()
	show := &baselineShowCmd{AMI: ami, Config: cfg, Lines: 6, out: &out}
	if err := show.Run(&Globals{}); err != nil {
		t.Fatalf("show: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"AMI:       " + ami + " (web-base-2026-05)",
		"Source:    golden-params",
		"Where:     ssm:/golden/" + ami + "/manifest -> s3://golden-images/releases/web-42.yaml",
		"Version:   v1/",
		"Packages:  2",
		"captured_from: " + ids[0],
		"  - golden-s3: no manifest: no s3://golden-images/manifests/" + ami,
		"Manifest (first 6 of ",
		"  ami_id: " + ami,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show output lacks %q:\n%s", want, out.String())
		}
	}

	// Unknown AMI: every source and why, exit 1.
	out.Reset()
	show = &baselineShowCmd{AMI: "ami-0ccccccccccccccc3", Config: cfg, out: &out}
	if err := show.Run(&Globals{}); exitCode(err) != 1 {
		t.Errorf("show unknown AMI: exit %d", exitCode(err))
	}
	for _, want := range []string{"Baseline:  none", "golden-s3 [missing]: no manifest:", "golden-params [missing]: no manifest: ssm:/golden/ami-0ccccccccccccccc3/manifest: ParameterNotFound"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show output lacks %q:\n%s", want, out.String())
		}
	}

	// JSON output, for scripts.
	out.Reset()
	show = &baselineShowCmd{AMI: ami, Config: cfg, Output: "json", out: &out}
	if err := show.Run(&Globals{}); err != nil {
		t.Fatalf("show json: %v", err)
	}
	var js BaselineShow
	if err := json.Unmarshal(out.Bytes(), &js); err != nil {
		t.Fatalf("show json: %v\n%s", err, out.String())
	}
	if !js.Found || js.Source != "golden-params" || js.Packages != 2 || len(js.Tried) != 1 || !js.Tried[0].Missing || js.Provenance["captured_from"] != ids[0] {
		t.Errorf("show json: %+v", js)
	}

	// Diff the captured baseline (in S3) against a file: the only change
	// is an upgrade.
	newer := filepath.Join(dir, "newer.yaml")
	doc, _ := svc.Object("golden-images", "releases/web-42.yaml")
	os.WriteFile(newer, bytes.Replace(doc, []byte("version: 5.2.15"), []byte("version: 5.2.26"), 1), 0o644)
	out.Reset()
	err = (&baselineDiffCmd{A: "s3://golden-images/releases/web-42.yaml", B: newer, Output: "text", out: &out}).Run(&Globals{})
	if exitCode(err) != 1 || !strings.Contains(out.String(), "0 added, 0 removed, 1 changed (1 upgrades, 0 downgrades)") ||
		!strings.Contains(out.String(), "bash.x86_64  5.2.15-1.amzn2023 -> 5.2.26-1.amzn2023 (upgrade)") {
		t.Errorf("diff: exit %d\n%s", exitCode(err), out.String())
	}
}

// TestScanWithRemoteBaselines runs the daemon's scan over baselines seeded
// in S3 and Parameter Store (publish.SeedDemo): every instance is judged
// against the right source; a truncated manifest makes its AMI no_baseline,
// never drifted.
func TestScanWithRemoteBaselines(t *testing.T) {
	sim, svc, dir := baselineSim(t)
	svc.CreateBucket("golden-images")
	docs := map[string][]byte{}
	var amis []string
	for i := range 3 {
		ami, err := sim.AddAMI(awssim.AMISpec{Name: "web-" + string(rune('a'+i)), Generate: &awssim.GenerateSpec{Count: 20, Seed: uint64(i + 1), Format: "rpm"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.AddInstances(ami, "t3.micro", 2, nil, time.Hour); err != nil {
			t.Fatal(err)
		}
		doc, _ := sim.Manifest(ami)
		docs[ami] = doc
		amis = append(amis, ami)
	}
	ctx := context.Background()
	clients, err := baselineClients(ctx, config.AWS{})
	if err != nil {
		t.Fatal(err)
	}
	seed, err := publish.SeedDemo(ctx, clients.S3, clients.SSM, "golden-images", docs)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "driftd.yaml")
	os.WriteFile(cfg, append([]byte(seed.YAML()), []byte("selection: {include_standalone: true}\nschedule: {timeout: 20s}\naws: {max_backoff: 10ms}\n")...), 0o644)

	scan := func(wantCode int) ScanReport {
		var out bytes.Buffer
		err := (&scanCmd{Config: cfg, Output: "json", out: &out}).Run(&Globals{})
		if exitCode(err) != wantCode {
			t.Fatalf("scan: exit %d (%v)\n%s", exitCode(err), err, out.String())
		}
		var rep ScanReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := scan(0)
	if rep.Summary["in_sync"] != 6 {
		t.Fatalf("summary %v\n%+v", rep.Summary, rep.Instances)
	}
	// Truncate the S3 manifest of the first AMI (sorted: it is in S3).
	sort.Strings(amis)
	key := "manifests/" + amis[0] + ".json"
	if _, ok := svc.Object("golden-images", key); !ok {
		t.Fatalf("%s not seeded to S3: %v", amis[0], seed.Objects)
	}
	svc.PutObject("golden-images", key, docs[amis[0]][:len(docs[amis[0]])/2])
	rep = scan(3) // not all instances checked, none drifted
	if rep.Summary["no_baseline"] != 2 || rep.Summary["in_sync"] != 4 || rep.Summary["drifted"] != 0 {
		t.Fatalf("summary after truncation %v", rep.Summary)
	}
	for _, in := range rep.Instances {
		if in.AMI == amis[0] && (len(in.Reasons) != 1 || !strings.Contains(in.Reasons[0], "s3://golden-images/"+key) || !strings.Contains(in.Reasons[0], "invalid JSON")) {
			t.Errorf("%s reasons: %v", in.InstanceID, in.Reasons)
		}
	}
}
