// Package imagebuilder serves the simulated region's EC2 Image Builder
// (restJson1): GetImage and ListImagePackages for registered images.
package imagebuilder

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// Package is one package of an Image Builder image (ListImagePackages).
type Package struct {
	Name    string
	Version string
}

type ibImage struct {
	arn      string
	amiID    string
	packages []Package
	created  time.Time
}

type Service struct {
	acct     wire.Account
	mu       sync.Mutex
	images   map[string]*ibImage
	throttle faultCounter
}

// New returns an Image Builder with no images.
func New(acct wire.Account) *Service {
	return &Service{acct: acct, images: map[string]*ibImage{}}
}

// PutImage registers (or replaces) an Image Builder image build version
// whose output AMI is amiID and whose package list is packages.
func (ib *Service) PutImage(arn, amiID string, packages []Package) {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	ib.images[arn] = &ibImage{arn: arn, amiID: amiID, packages: append([]Package(nil), packages...), created: ib.acct.Now()}
}

// Throttle makes the next n Image Builder calls answer 429
// CallRateLimitExceededException.
func (ib *Service) Throttle(n int) { ib.throttle.set(n) }

var imageBuildVersionARN = regexp.MustCompile(`^arn:aws[^:]*:imagebuilder:[^:]+:(?:[0-9]{12}|aws):image/([a-z0-9-_]+)/([0-9]+\.[0-9]+\.[0-9]+)/([0-9]+)$`)

func (ib *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	if ib.throttle.take() {
		wire.WriteError(w, req, wire.Errorf(429, "CallRateLimitExceededException", "Rate exceeded"))
		return
	}
	var (
		out any
		e   *wire.Error
	)
	switch {
	case req.Op == "ListImagePackages" && req.HTTP.Method == http.MethodPost && strings.TrimSuffix(req.HTTP.URL.Path, "/") == "/ListImagePackages":
		out, e = ib.listImagePackages(req)
	case req.Op == "GetImage" && req.HTTP.Method == http.MethodGet && strings.TrimSuffix(req.HTTP.URL.Path, "/") == "/GetImage":
		out, e = ib.getImage(req)
	default:
		e = wire.Errorf(404, "UnknownOperationException", "no Image Builder operation at %s %s", req.HTTP.Method, req.HTTP.URL.Path)
	}
	if e != nil {
		wire.WriteError(w, req, e)
		return
	}
	wire.WriteJSON(w, req, out)
}

func ibInvalid(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "InvalidRequestException", format, args...)
}

func (ib *Service) lookup(arn string) (*ibImage, *wire.Error) {
	if arn == "" {
		return nil, ibInvalid("imageBuildVersionArn is required")
	}
	if !imageBuildVersionARN.MatchString(arn) {
		return nil, ibInvalid("The value supplied for parameter 'imageBuildVersionArn' is not valid: %q is not an image build version ARN", arn)
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	img := ib.images[arn]
	if img == nil {
		return nil, wire.Errorf(404, "ResourceNotFoundException", "The resource '%s' does not exist.", arn)
	}
	return img, nil
}

func ibToken(arn string, off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(off) + "|" + arn))
}

func (ib *Service) listImagePackages(req *wire.Request) (any, *wire.Error) {
	var in struct {
		ImageBuildVersionArn *string `json:"imageBuildVersionArn"`
		MaxResults           *int    `json:"maxResults"`
		NextToken            *string `json:"nextToken"`
	}
	if e := wire.DecodeJSON(req.Body, &in); e != nil {
		return nil, ibInvalid("%s", e.Message)
	}
	max := 25
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 25 {
			return nil, ibInvalid("The value supplied for parameter 'maxResults' is not valid. It must be between 1 and 25.")
		}
		max = *in.MaxResults
	}
	img, e := ib.lookup(wire.Value(in.ImageBuildVersionArn))
	if e != nil {
		return nil, e
	}
	off := 0
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		n, arn, ok := strings.Cut(string(b), "|")
		o, aerr := strconv.Atoi(n)
		if err != nil || !ok || aerr != nil || arn != img.arn || o < 0 || o > len(img.packages) {
			return nil, wire.Errorf(400, "InvalidPaginationTokenException", "The pagination token provided is not valid.")
		}
		off = o
	}
	end := min(off+max, len(img.packages))
	list := make([]map[string]string, 0, end-off)
	for _, p := range img.packages[off:end] {
		list = append(list, map[string]string{"packageName": p.Name, "packageVersion": p.Version})
	}
	out := map[string]any{"requestId": req.ID, "imagePackageList": list}
	if end < len(img.packages) {
		out["nextToken"] = ibToken(img.arn, end)
	}
	return out, nil
}

func (ib *Service) getImage(req *wire.Request) (any, *wire.Error) {
	arn := req.HTTP.URL.Query().Get("imageBuildVersionArn")
	img, e := ib.lookup(arn)
	if e != nil {
		return nil, e
	}
	m := imageBuildVersionARN.FindStringSubmatch(arn)
	o := ib.acct
	available := map[string]string{"status": "AVAILABLE"}
	return map[string]any{
		"requestId": req.ID,
		"image": map[string]any{
			"arn":                          arn,
			"name":                         m[1],
			"version":                      m[2] + "/" + m[3],
			"type":                         "AMI",
			"platform":                     "Linux",
			"osVersion":                    "Amazon Linux 2023",
			"enhancedImageMetadataEnabled": true,
			"state":                        available,
			"dateCreated":                  img.created.UTC().Format("2006-01-02T15:04:05.000Z"),
			"buildType":                    "USER_INITIATED",
			"imageSource":                  "CUSTOM",
			"outputResources": map[string]any{
				"amis": []map[string]any{{
					"region":      o.Region,
					"image":       img.amiID,
					"name":        m[1] + " " + img.created.UTC().Format("2006-01-02T15-04-05.000Z"),
					"description": "Image Builder output for " + m[1],
					"accountId":   o.AccountID,
					"state":       available,
				}},
			},
		},
	}, nil
}

// faultCounter is a "fail the next n" hook.
type faultCounter struct {
	mu sync.Mutex
	n  int
}

func (f *faultCounter) set(n int) {
	f.mu.Lock()
	f.n = n
	f.mu.Unlock()
}

func (f *faultCounter) take() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		f.n--
		return true
	}
	return false
}
