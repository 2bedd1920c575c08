package s3

import "testing"

func FuzzDecodeAWSChunked(f *testing.F) {
	f.Add([]byte("5;chunk-signature=abc\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("0\r\n"))
	f.Add([]byte("ffffffffffffffff\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decodeAWSChunked(b)
		if err == nil && len(out) > len(b) {
			t.Fatalf("decoded %d bytes from %d", len(out), len(b))
		}
	})
}

func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-9", int64(100))
	f.Add("bytes=-5", int64(3))
	f.Add("bytes=50-", int64(10))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		start, length, ok, sat := parseRange(h, size)
		if ok && sat && (start < 0 || length <= 0 || start+length > size) {
			t.Fatalf("parseRange(%q, %d) = %d+%d outside the object", h, size, start, length)
		}
	})
}
