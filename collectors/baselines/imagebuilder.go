package baselines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
)

// ImageBuilderPageSize is ListImagePackages' maximum page size.
const ImageBuilderPageSize = 25

// maxImageBuilderPages bounds one listing (manifest.MaxPackages / 25).
const maxImageBuilderPages = manifest.MaxPackages / ImageBuilderPageSize

// ImageBuilderSource lists the packages of the EC2 Image Builder image
// build version named by the AMI's Ec2ImageBuilderArn tag. Image Builder
// records only package names and versions (from SSM inventory taken at
// build time), so the manifest is NameVersionOnly: comparisons ignore
// architecture and release details it cannot know. A build version's
// package list never changes, so a manifest is kept for as long as the AMI
// carries the same ARN; failures are retried after the TTL.
//
// Throttling (429 CallRateLimitExceededException) is retried by the client
// when it is built with internal/awsclients.NewImageBuilder.
type ImageBuilderSource struct {
	base
	api    ImageBuilderAPI
	tag    string
	format drift.PackageFormat
}

// NewImageBuilderSource returns an Image Builder source; tag "" means
// Ec2ImageBuilderArn, format "" the generic version ordering.
func NewImageBuilderSource(name string, api ImageBuilderAPI, tag string, format drift.PackageFormat, opts Options) (*ImageBuilderSource, error) {
	if api == nil {
		return nil, fmt.Errorf("baseline source %s: no Image Builder client", name)
	}
	if tag == "" {
		tag = "Ec2ImageBuilderArn"
	}
	opts.defaults()
	return &ImageBuilderSource{base: base{name: name, opts: opts}, api: api, tag: tag, format: format}, nil
}

// Resolve implements collectors.BaselineSource.
func (s *ImageBuilderSource) Resolve(ctx context.Context, ami collectors.AMIInfo) (*drift.Manifest, collectors.Resolution, error) {
	arn := strings.TrimSpace(ami.Tags[s.tag])
	if arn == "" {
		return nil, collectors.Resolution{}, missing("AMI %s has no tag %s (not built by EC2 Image Builder?)", ami.ID, s.tag)
	}
	now := s.opts.Now()
	e := s.cache.get(ami.ID, now)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.valid && e.where == arn && (e.err == nil || e.fresh(now, s.opts.CacheTTL)) {
		return e.answer() // a build version's package list is immutable
	}
	ctx, cancel := s.timeoutCtx(ctx)
	defer cancel()
	s.resolve(ctx, e, ami, arn, now)
	return e.answer()
}

type ibPage struct {
	ImagePackageList []ibPackage `json:"imagePackageList"`
}

type ibPackage struct {
	PackageName    *string `json:"packageName"`
	PackageVersion *string `json:"packageVersion"`
}

func (s *ImageBuilderSource) resolve(ctx context.Context, e *entry, ami collectors.AMIInfo, arn string, now time.Time) {
	where := "imagebuilder:" + arn
	e.where = arn // errors are cached for the TTL too
	var pages []ibPage
	var token *string
	for page := 1; ; page++ {
		if page > maxImageBuilderPages {
			e.set(now, nil, collectors.Resolution{}, fmt.Errorf("%s: more than %d pages of packages", where, maxImageBuilderPages))
			return
		}
		out, err := s.api.ListImagePackages(ctx, &imagebuilder.ListImagePackagesInput{
			ImageBuildVersionArn: aws.String(arn), MaxResults: aws.Int32(ImageBuilderPageSize), NextToken: token,
		})
		if err != nil {
			werr := s.apiError(ctx, fmt.Sprintf("%s (ListImagePackages page %d)", where, page), err)
			if transient(err) && s.fallback(e, now, where, werr) {
				return
			}
			e.set(now, nil, collectors.Resolution{}, werr)
			return
		}
		pg := ibPage{ImagePackageList: make([]ibPackage, 0, len(out.ImagePackageList))}
		for _, p := range out.ImagePackageList {
			pg.ImagePackageList = append(pg.ImagePackageList, ibPackage{PackageName: p.PackageName, PackageVersion: p.PackageVersion})
		}
		pages = append(pages, pg)
		next := out.NextToken
		if next == nil || *next == "" {
			break
		}
		if token != nil && *next == *token {
			e.set(now, nil, collectors.Resolution{}, fmt.Errorf("%s: ListImagePackages page %d: nextToken did not advance", where, page))
			return
		}
		token = next
	}
	doc, err := json.Marshal(pages)
	if err != nil {
		e.set(now, nil, collectors.Resolution{}, fmt.Errorf("%s: %w", where, err))
		return
	}
	m, err := decode(where, doc, ami, manifest.Options{Format: manifest.FormatImageBuilder, PackageFormat: s.format})
	if err != nil {
		if !s.fallback(e, now, where, err) {
			e.set(now, nil, collectors.Resolution{}, err)
		}
		return
	}
	if m.Provenance == nil {
		m.Provenance = map[string]string{}
	}
	m.Provenance["image_build_version_arn"] = arn
	m.Provenance["content"] = "EC2 Image Builder ListImagePackages: package name and version only (no architecture, epoch or release)"
	sum := sha256.Sum256(doc)
	e.set(now, m, collectors.Resolution{Where: where, Version: arnVersion(arn) + "/" + hex.EncodeToString(sum[:6])}, nil)
}

// arnVersion returns the "<x.y.z>/<build>" tail of an image build version
// ARN, or the whole ARN.
func arnVersion(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 4 {
		return parts[len(parts)-2] + "/" + parts[len(parts)-1]
	}
	return arn
}
