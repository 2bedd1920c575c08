package baselines

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/internal/config"
)

func TestBuildEveryKind(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, amiA+".cdx.json"), []byte(`{"bomFormat":"CycloneDX","specVersion":"1.4","version":1,"components":[{"type":"library","name":"curl","version":"8.5.0-1.amzn2023","purl":"pkg:rpm/amazon/curl@8.5.0-1.amzn2023?arch=x86_64&distro=amzn-2023"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`
baselines:
  - s3: {uri: "s3://golden-images/m/", tag: "driftd:manifest", cache_ttl: 1m}
  - name: params
    ssm_parameter: {name: "/golden/{ami_id}/manifest", timeout: 2s}
  - image_builder: {package_format: rpm}
  - dir: {path: ` + dir + `}
`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	srcs, err := Build(cfg.Baselines, e.clients(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range srcs {
		got = append(got, s.Name())
	}
	if strings.Join(got, ",") != "s3,params,image_builder,dir" {
		t.Errorf("names = %v", got)
	}
	if s, ok := srcs[0].(*S3Source); !ok || s.opts.CacheTTL.String() != "1m0s" || s.opts.Timeout.String() != "10s" || s.tag != "driftd:manifest" {
		t.Errorf("s3 source: %#v", srcs[0])
	}
	if s, ok := srcs[1].(*SSMSource); !ok || s.opts.Timeout.String() != "2s" || s.opts.CacheTTL.String() != "5m0s" {
		t.Errorf("ssm source: %#v", srcs[1])
	}
	if s, ok := srcs[2].(*ImageBuilderSource); !ok || s.tag != "Ec2ImageBuilderArn" || s.format != "rpm" {
		t.Errorf("image builder source: %#v", srcs[2])
	}
	// The dir source reads every format (here CycloneDX) via drift/manifest.
	chain := &collectors.Chain{Sources: srcs}
	m, r, err := chain.Resolve(testCtx(t), collectors.AMIInfo{ID: amiA})
	if err != nil || r.Source != "dir" || pkgsOf(m) != "curl=8.5.0-1.amzn2023" {
		t.Errorf("dir via chain: %v %+v", err, r)
	}
	if len(r.Tried) != 3 {
		t.Errorf("tried = %+v", r.Tried)
	}

	// A source whose client is missing is a build error naming it.
	_, err = Build(cfg.Baselines, Clients{S3: e.s3}, nil, nil, nil)
	if err == nil || err.Error() != "baselines[1] (params): no SSM client" {
		t.Errorf("missing client: %v", err)
	}
}
