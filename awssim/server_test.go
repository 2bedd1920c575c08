package awssim_test

import (
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestServerCloseIsPrompt: Close does not wait for connections that never
// sent a request (http.Server.Shutdown would count them idle only after
// five seconds) nor for idle keep-alive connections.
func TestServerCloseIsPrompt(t *testing.T) {
	sim := awssim.New(awssim.Options{})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := sts.NewFromConfig(simtest.SDKConfig(t, simtest.Ctx(t)), func(o *sts.Options) {
		o.BaseEndpoint, o.HTTPClient = aws.String(srv.URL), awssim.NewHTTPClient()
	})
	if _, err := c.GetCallerIdentity(simtest.Ctx(t), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err) // leaves an idle keep-alive connection
	}
	fresh, err := net.Dial("tcp", srv.Addr()) // and one that never sends a request
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	time.Sleep(50 * time.Millisecond) // let the server accept it
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("Server.Close took %v", took)
	if took > time.Second {
		t.Errorf("Server.Close took %v, want well under a second", took)
	}
}
