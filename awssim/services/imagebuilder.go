package services

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

// ImagePackage is one package of an Image Builder image (ListImagePackages).
type ImagePackage struct {
	Name    string
	Version string
}

type ibImage struct {
	arn      string
	amiID    string
	packages []ImagePackage
	created  time.Time
}

type imageBuilderService struct {
	svc      *Services
	mu       sync.Mutex
	images   map[string]*ibImage
	throttle faultCounter
}

func newImageBuilder(s *Services) *imageBuilderService {
	return &imageBuilderService{svc: s, images: map[string]*ibImage{}}
}

// PutImage registers (or replaces) an Image Builder image build version
// whose output AMI is amiID and whose package list is packages.
func (s *Services) PutImage(arn, amiID string, packages []ImagePackage) {
	s.ib.mu.Lock()
	defer s.ib.mu.Unlock()
	s.ib.images[arn] = &ibImage{arn: arn, amiID: amiID, packages: append([]ImagePackage(nil), packages...), created: s.now()}
}

// ThrottleImageBuilder makes the next n Image Builder calls answer 429
// CallRateLimitExceededException.
func (s *Services) ThrottleImageBuilder(n int) { s.ib.throttle.set(n) }

var imageBuildVersionARN = regexp.MustCompile(`^arn:aws[^:]*:imagebuilder:[^:]+:(?:[0-9]{12}|aws):image/([a-z0-9-_]+)/([0-9]+\.[0-9]+\.[0-9]+)/([0-9]+)$`)

func (ib *imageBuilderService) serve(w http.ResponseWriter, req *wire.Request) {
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

func (ib *imageBuilderService) lookup(arn string) (*ibImage, *wire.Error) {
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

func (ib *imageBuilderService) listImagePackages(req *wire.Request) (any, *wire.Error) {
	var in struct {
		ImageBuildVersionArn *string `json:"imageBuildVersionArn"`
		MaxResults           *int    `json:"maxResults"`
		NextToken            *string `json:"nextToken"`
	}
	if e := decodeJSON(req.Body, &in); e != nil {
		return nil, ibInvalid("%s", e.Message)
	}
	max := 25
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 25 {
			return nil, ibInvalid("The value supplied for parameter 'maxResults' is not valid. It must be between 1 and 25.")
		}
		max = *in.MaxResults
	}
	img, e := ib.lookup(deref(in.ImageBuildVersionArn))
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

func (ib *imageBuilderService) getImage(req *wire.Request) (any, *wire.Error) {
	arn := req.HTTP.URL.Query().Get("imageBuildVersionArn")
	img, e := ib.lookup(arn)
	if e != nil {
		return nil, e
	}
	m := imageBuildVersionARN.FindStringSubmatch(arn)
	o := ib.svc.opts
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
