package daemon

import (
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

type customClient struct{}

func (customClient) Do(*http.Request) (*http.Response, error) { return nil, nil }

// TestWrapHTTPClient: the transport fix reaches the client LoadDefaultConfig
// builds (keeping its transport, which carries AWS_CA_BUNDLE's TLS settings),
// and a caller's own client is left alone.
func TestWrapHTTPClient(t *testing.T) {
	bc := awshttp.NewBuildableClient()
	got, ok := wrapHTTPClient(bc).(*http.Client)
	if !ok {
		t.Fatalf("BuildableClient not wrapped: %T", wrapHTTPClient(bc))
	}
	if _, plain := got.Transport.(*http.Transport); plain || got.Transport == nil {
		t.Fatalf("transport not wrapped: %T", got.Transport)
	}
	if _, ok := wrapHTTPClient(nil).(*http.Client); !ok {
		t.Fatal("nil client not replaced")
	}
	if _, ok := wrapHTTPClient(customClient{}).(customClient); !ok {
		t.Fatal("custom client replaced")
	}
}
