package ha

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/driftd/driftd/awssim"
)

// The suite also runs against awssim's DynamoDB (awssim/dynamodb, routed by
// the simulator like its other services), a simulator of the test's own.
func init() {
	extraTargets = append(extraTargets, target{name: "awssim", account: func(t *testing.T) (string, aws.Config) {
		srv, err := awssim.New(awssim.Options{}).Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")))
		if err != nil {
			t.Fatal(err)
		}
		return srv.URL, cfg
	}})
}
