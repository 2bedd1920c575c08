// Package sdkhttp holds the one HTTP transport adjustment driftd makes for
// aws-sdk-go-v2 clients (the daemon's and the simulator's test clients alike).
//
// After a request body is written, net/http probes for trailing bytes with
// io.Copy, which uses the smithy body wrapper's WriteTo. If the response has
// already arrived and the SDK has closed the request body, WriteTo returns
// io.EOF as an error, the transport tears the connection down, and the
// response body still being read fails with "use of closed network
// connection": the retryer then repeats the call. On fast endpoints this hits
// a sizeable share of calls and inflates API-call counts. Hiding WriteTo from
// the transport avoids it.
package sdkhttp

import (
	"io"
	"net/http"
)

// Transport wraps rt so request bodies reach it without their WriteTo method.
func Transport(rt http.RoundTripper) http.RoundTripper { return plainBodyTransport{rt} }

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
