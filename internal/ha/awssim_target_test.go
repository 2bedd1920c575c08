package ha

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/driftd/driftd/awssim"
)

// The suite also runs against awssim's DynamoDB (awssim/dynamodb, served on
// the simulated region's endpoint like the daemon uses it), each test in a
// simulator of its own.
func init() {
	extraTargets = append(extraTargets, target{name: "awssim", account: func(t *testing.T) (string, aws.Config) {
		sim := awssim.New(awssim.Options{})
		srv, err := sim.Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return "http://" + srv.Addr(), aws.Config{
			Region:      "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		}
	}})
}
