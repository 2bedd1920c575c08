package publish

import (
	"context"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/collectors/baselines"
	"github.com/driftd/driftd/internal/awsclients"
)

func TestSeedDemo(t *testing.T) {
	sim := awssim.New(awssim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(srv.URL),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	c := awsclients.New(cfg)
	clients := baselines.Clients{S3: c.S3, SSM: c.SSM, ImageBuilder: c.ImageBuilder}
	s3c, ssmc := c.S3, c.SSM

	docs := map[string][]byte{}
	var amis []string
	for i, n := range []int{5, 150, 180, 200} { // three too large for a standard parameter: at least one parameter is a pointer
		ami, err := sim.AddAMI(awssim.AMISpec{Name: "demo-" + string(rune('a'+i)), Generate: &awssim.GenerateSpec{Count: n, Seed: uint64(i + 1), Format: "rpm"}})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := sim.Manifest(ami)
		if err != nil {
			t.Fatal(err)
		}
		docs[ami] = doc
		amis = append(amis, ami)
	}
	sim.S3().CreateBucket("driftd-demo")
	seed, err := SeedDemo(ctx, s3c, ssmc, "driftd-demo", docs)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted AMIs alternate S3 / parameter; a parameter document above the
	// standard tier goes to S3 behind an s3:// pointer.
	sorted := append([]string(nil), amis...)
	sort.Strings(sorted)
	pointers := 0
	for i, a := range sorted {
		if i%2 == 1 && len(docs[a]) > StandardParameterLimit {
			pointers++
		}
	}
	if pointers == 0 || len(seed.Objects) != 2+pointers || len(seed.Parameters) != 2 {
		t.Errorf("seeded objects %v, parameters %v", seed.Objects, seed.Parameters)
	}
	if want := "baselines:\n  - name: golden-s3\n    s3:\n      uri: s3://driftd-demo/manifests/\n  - name: golden-params\n    ssm_parameter:\n      name: /driftd-demo/{ami_id}/manifest\n"; seed.YAML() != want {
		t.Errorf("YAML:\n%s\nwant:\n%s", seed.YAML(), want)
	}
	srcs, err := baselines.Build(seed.Baselines, clients, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	chain := &collectors.Chain{Sources: srcs}
	answered := map[string]int{}
	for _, ami := range amis {
		m, r, err := chain.Resolve(ctx, collectors.AMIInfo{ID: ami})
		if err != nil {
			t.Fatalf("%s: %v", ami, err)
		}
		if m.AMI != ami || len(m.Packages) == 0 {
			t.Errorf("%s: manifest for %s with %d packages", ami, m.AMI, len(m.Packages))
		}
		answered[r.Source]++
		if r.Source == "golden-params" && strings.Contains(r.Where, "->") {
			answered["pointer"]++
		}
	}
	if answered["golden-s3"] != 2 || answered["golden-params"] != 2 || answered["pointer"] != pointers {
		t.Errorf("answers by source: %v", answered)
	}
}

func TestToS3AndParameterErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := ToS3(ctx, nil, "s3://bucket/dir/", nil); err == nil || !strings.Contains(err.Error(), "names no object") {
		t.Errorf("prefix: %v", err)
	}
	if _, err := ToS3(ctx, nil, "https://x", nil); err == nil {
		t.Error("not an s3 URI accepted")
	}
	if _, err := ToParameter(ctx, nil, "/x", strings.Repeat("a", 9000)); err == nil || !strings.Contains(err.Error(), "upload it to S3") {
		t.Errorf("too large: %v", err)
	}
}
