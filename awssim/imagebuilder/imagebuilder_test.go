package imagebuilder_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	ibtypes "github.com/aws/aws-sdk-go-v2/service/imagebuilder/types"

	"github.com/driftd/driftd/awssim"
	simib "github.com/driftd/driftd/awssim/imagebuilder"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestImageBuilder(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	var pkgs []simib.Package
	for i := 0; i < 60; i++ {
		pkgs = append(pkgs, simib.Package{Name: fmt.Sprintf("pkg-%02d", i), Version: fmt.Sprintf("1.%d-1.amzn2023", i)})
	}
	e.Sim.ImageBuilder().PutImage(simtest.ImageARN, "ami-0123456789abcdef0", pkgs)
	p := imagebuilder.NewListImagePackagesPaginator(e.IB, &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String(simtest.ImageARN), MaxResults: aws.Int32(25)})
	var got []simib.Package
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(cx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if aws.ToString(out.RequestId) == "" {
			t.Error("no requestId")
		}
		for _, ip := range out.ImagePackageList {
			got = append(got, simib.Package{Name: aws.ToString(ip.PackageName), Version: aws.ToString(ip.PackageVersion)})
		}
		if pages > 10 {
			t.Fatal("paginator did not stop")
		}
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(pkgs) {
		t.Errorf("%d pages, %d packages", pages, len(got))
	}
	img, err := e.IB.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(simtest.ImageARN)})
	if err != nil {
		t.Fatal(err)
	}
	if img.Image == nil || img.Image.OutputResources == nil || len(img.Image.OutputResources.Amis) != 1 ||
		aws.ToString(img.Image.OutputResources.Amis[0].Image) != "ami-0123456789abcdef0" || aws.ToString(img.Image.Arn) != simtest.ImageARN ||
		aws.ToString(img.Image.Version) != "1.2.3/4" || aws.ToString(img.Image.Name) != "al2023-base" {
		t.Errorf("GetImage = %+v", img.Image)
	}

	// GetImage does not model ResourceNotFoundException (generic API error);
	// ListImagePackages does.
	other := aws.String("arn:aws:imagebuilder:us-east-1:123456789012:image/other/1.0.0/1")
	_, err = e.IB.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: other})
	simtest.AssertAPIError(t, err, "ResourceNotFoundException", 404)
	_, err = e.IB.ListImagePackages(cx, &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: other})
	var rnf *ibtypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("unknown image: %v", err)
	}
	cases := []struct {
		name string
		in   *imagebuilder.ListImagePackagesInput
		code string
	}{
		{"maxResults 26", &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String(simtest.ImageARN), MaxResults: aws.Int32(26)}, "InvalidRequestException"},
		{"maxResults 0", &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String(simtest.ImageARN), MaxResults: aws.Int32(0)}, "InvalidRequestException"},
		{"not a build version arn", &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String("arn:aws:imagebuilder:us-east-1:123456789012:image/al2023-base/1.2.3")}, "InvalidRequestException"},
		{"bad token", &imagebuilder.ListImagePackagesInput{ImageBuildVersionArn: aws.String(simtest.ImageARN), NextToken: aws.String("bogus")}, "InvalidPaginationTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.IB.ListImagePackages(cx, tc.in)
			simtest.AssertAPIError(t, err, tc.code, 400)
		})
	}
	var ipt *ibtypes.InvalidPaginationTokenException
	_, err = e.IB.ListImagePackages(cx, cases[3].in)
	if !errors.As(err, &ipt) {
		t.Errorf("bad token error type %T", err)
	}

	// throttling surfaces as CallRateLimitExceededException ...
	e.Sim.ImageBuilder().Throttle(1)
	_, err = e.IB.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(simtest.ImageARN)})
	var thr *ibtypes.CallRateLimitExceededException
	if !errors.As(err, &thr) {
		t.Fatalf("throttled call: %v", err)
	}
	simtest.AssertStatus(t, err, 429)
	// ... which the standard retryer does not retry unless told to
	e.Sim.ImageBuilder().Throttle(2)
	retrying := imagebuilder.NewFromConfig(e.Cfg, func(o *imagebuilder.Options) {
		o.BaseEndpoint = aws.String(e.URL)
		o.RetryMaxAttempts = 4
		o.Retryer = retry.AddWithErrorCodes(retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 4
			so.MaxBackoff = 10 * time.Millisecond
		}), "CallRateLimitExceededException")
	})
	if _, err := retrying.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(simtest.ImageARN)}); err != nil {
		t.Errorf("GetImage with CallRateLimitExceededException retried: %v", err)
	}
	e.Sim.ImageBuilder().Throttle(1)
	plain := imagebuilder.NewFromConfig(e.Cfg, func(o *imagebuilder.Options) {
		o.BaseEndpoint = aws.String(e.URL)
		o.RetryMaxAttempts = 4
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = 4; so.MaxBackoff = 10 * time.Millisecond })
	})
	if _, err := plain.GetImage(cx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(simtest.ImageARN)}); !errors.As(err, &thr) {
		t.Errorf("standard retryer without the code: %v, want CallRateLimitExceededException (not retried)", err)
	}
}
