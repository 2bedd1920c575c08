package baselines

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// Build opens the configured sources, in order, for a collectors.Chain.
// Every kind is covered (dir included), so a reload can rebuild the whole
// chain from a new configuration with one call and swap it atomically.
// Sources cache per AMI; a rebuilt chain starts with empty caches. rec
// counts errors absorbed by keeping a previous good manifest (nil: none);
// now is the clock (nil: time.Now).
func Build(cfg config.Baselines, clients Clients, logger *zap.Logger, rec collectors.BaselineErrorRecorder, now func() time.Time) ([]collectors.BaselineSource, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	out := make([]collectors.BaselineSource, 0, len(cfg))
	for i, b := range cfg {
		name := b.Name
		if name == "" {
			name = b.Kind()
		}
		opts := func(f config.BaselineFetch) Options {
			return Options{CacheTTL: f.CacheTTL, Timeout: f.Timeout, Logger: logger.With(zap.String("baseline_source", name)), Recorder: rec, Now: now}
		}
		var (
			src collectors.BaselineSource
			err error
		)
		switch b.Kind() {
		case config.BaselineKindDir:
			src, err = collectors.NewDirSource(name, b.Dir.Path, b.Dir.Index, nil) // drift/manifest, AMI-aware
		case config.BaselineKindS3:
			if clients.S3 == nil {
				return nil, fmt.Errorf("baselines[%d] (%s): no S3 client", i, name)
			}
			src, err = NewS3Source(name, clients.S3, b.S3.URI, b.S3.Tag, opts(b.S3.BaselineFetch))
		case config.BaselineKindSSMParameter:
			if clients.SSM == nil {
				return nil, fmt.Errorf("baselines[%d] (%s): no SSM client", i, name)
			}
			src, err = NewSSMSource(name, clients.SSM, clients.S3, b.SSMParameter.Name, b.SSMParameter.WithDecryption, opts(b.SSMParameter.BaselineFetch))
		case config.BaselineKindImageBuilder:
			if clients.ImageBuilder == nil {
				return nil, fmt.Errorf("baselines[%d] (%s): no Image Builder client", i, name)
			}
			src, err = NewImageBuilderSource(name, clients.ImageBuilder, b.ImageBuilder.Tag, drift.PackageFormat(b.ImageBuilder.PackageFormat), opts(b.ImageBuilder.BaselineFetch))
		default:
			return nil, fmt.Errorf("baselines[%d]: exactly one source kind must be set", i)
		}
		if err != nil {
			return nil, fmt.Errorf("baselines[%d]: %w", i, err)
		}
		out = append(out, src)
	}
	return out, nil
}
