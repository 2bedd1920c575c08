package awssim

import (
	"io"
	"net/http"
	"time"
)

// NewHTTPClient returns an HTTP client for SDK clients that talk to the
// simulator in tests and benchmarks.
//
// It works around a race between smithy-go's request body wrapper and
// net/http: after writing a request body, the transport checks for trailing
// bytes with io.Copy, which uses the wrapper's WriteTo; when the response has
// already arrived and the SDK has closed the request body, that WriteTo
// returns io.EOF as an error, the transport tears the connection down, and a
// response body still being read fails with "use of closed network
// connection" — the retryer then repeats the call. Against a fast local
// endpoint this happens on a sizeable share of EC2 calls and inflates API-call
// counts. Hiding WriteTo from the transport avoids it (PlainBodyTransport).
func NewHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 64, 64
	return &http.Client{Transport: PlainBodyTransport(tr), Timeout: 60 * time.Second}
}

// PlainBodyTransport wraps rt so request bodies reach it without their
// WriteTo method (see NewHTTPClient for why). The simulator keeps its own
// copy of this adjustment so that it depends on no package of the daemon.
func PlainBodyTransport(rt http.RoundTripper) http.RoundTripper { return plainBodyTransport{rt} }

type plainBodyTransport struct{ rt http.RoundTripper }

type plainBody struct{ io.ReadCloser }

func (t plainBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r2 := r.Clone(r.Context())
		r2.Body = plainBody{r.Body}
		return t.rt.RoundTrip(r2)
	}
	return t.rt.RoundTrip(r)
}
