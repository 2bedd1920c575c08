package datasync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

const okObject = `{"Name":"bash","Version":"5.2","resourceId":"i-0123456789abcdef0","captureTime":"2026-05-01T10:00:00Z","schemaVersion":"1.1"}
{"Name":"curl","Version":"8.5","resourceId":"i-0123456789abcdef0","captureTime":"2026-05-01T10:00:00Z","schemaVersion":"1.1"}
`

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		size     int64
		want     string // error substring; "" = ok
		entries  int
	}{
		{"ok", okObject, -1, "", 2},
		{"ok with size", okObject, int64(len(okObject)), "", 2},
		{"no trailing newline", strings.TrimSuffix(okObject, "\n"), -1, "", 2},
		{"short body", okObject, int64(len(okObject)) + 10, "truncated: read", 0},
		{"cut mid-line", okObject[:len(okObject)-20], -1, "line 2: object truncated", 0},
		{"empty", "", -1, "object is empty", 0},
		{"other instance", strings.Replace(okObject, "i-0123456789abcdef0", "i-0aaaaaaaaaaaaaaaa", 1), -1, `line 1: resourceId "i-0aaaaaaaaaaaaaaaa"`, 0},
		{"capture differs", strings.Replace(okObject, "10:00:00Z\",\"schemaVersion\":\"1.1\"}\n{", "10:00:00Z\",\"schemaVersion\":\"1.1\"}\n{\"x\":\"1\",", 1), -1, "", 2},
		{"capture changes", okObject[:len(okObject)/2+40] + strings.Replace(okObject[len(okObject)/2+40:], "10:00:00Z", "11:00:00Z", 1), -1, "differs from the first line", 0},
		{"bad capture", strings.ReplaceAll(okObject, "2026-05-01T10:00:00Z", "yesterday"), -1, "bad CaptureTime", 0},
		{"number", `{"Name":1,"resourceId":"i-0123456789abcdef0","captureTime":"2026-05-01T10:00:00Z"}`, -1, "attribute value is a number, not a string", 0},
		{"array", `["x"]`, -1, "line 1", 0},
		{"null", "null\n", -1, "not a JSON object", 0},
		{"garbage", "{\"a\":\"b\"}}}", -1, "line", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Decode("k/i.json", "i-0123456789abcdef0", iotest.HalfReader(strings.NewReader(tc.in)), tc.size)
			if tc.want == "" {
				if err != nil || len(d.Entries) != tc.entries {
					t.Fatalf("got %v, %v", d, err)
				}
				for _, e := range d.Entries {
					if _, ok := e["resourceId"]; ok {
						t.Fatal("metadata attribute kept in an entry")
					}
				}
				if d.CaptureTime.IsZero() || d.SchemaVersion != "1.1" {
					t.Fatalf("capture %v schema %q", d.CaptureTime, d.SchemaVersion)
				}
				return
			}
			var de *DecodeError
			if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "k/i.json") {
				t.Fatalf("got %v, want an error naming the key containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeReadError(t *testing.T) {
	_, err := Decode("k", "i-0123456789abcdef0", io.MultiReader(strings.NewReader(okObject[:30]), iotest.ErrReader(io.ErrUnexpectedEOF)), -1)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v", err)
	}
}

// FuzzDecode: any input either decodes into entries that all came from
// complete lines of the instance, or fails with a DecodeError; never a panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(okObject))
	f.Add([]byte(okObject[:50]))
	f.Add([]byte(`{"resourceId":"i-0123456789abcdef0","captureTime":"2026-05-01T10:00:00Z"}`))
	f.Add([]byte("{}\n{}"))
	f.Add([]byte(`{"a":"\u0000","resourceId":"i-0123456789abcdef0","captureTime":"2026-05-01T10:00:00Z"}` + "\n" + `{"a":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode("k", "i-0123456789abcdef0", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Key != "k" {
				t.Fatalf("error %v is not a DecodeError naming the key", err)
			}
			return
		}
		if len(d.Entries) == 0 || d.CaptureTime.IsZero() || d.Bytes != int64(len(data)) {
			t.Fatalf("decoded %+v from %q", d, data)
		}
		for _, e := range d.Entries {
			if _, ok := e["resourceId"]; ok {
				t.Fatal("metadata kept")
			}
		}
	})
}

// FuzzFastObject: whatever the specialised scanner accepts, encoding/json
// decodes to the same map.
func FuzzFastObject(f *testing.F) {
	f.Add([]byte(`{"Name":"bash","Version":"5.2"}`))
	f.Add([]byte(` { "a" : "b" , "a":"c" } `))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"a":"\u00e9"}`))
	f.Add([]byte(`{"a":"b",}`))
	f.Add([]byte(`{"a":"b"}{"c":"d"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := parseFlat(data, func(b []byte) string { return string(b) })
		if !ok {
			return
		}
		var want map[string]string
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast %v, encoding/json %v", data, got, want)
		}
	})
}

func TestLongLine(t *testing.T) {
	long := `{"Name":"` + strings.Repeat("x", 200<<10) + `","resourceId":"i-0123456789abcdef0","captureTime":"2026-05-01T10:00:00Z"}` + "\n" + okObject
	d, err := Decode("k", "i-0123456789abcdef0", strings.NewReader(long), -1)
	if err != nil || len(d.Entries) != 3 || len(d.Entries[0]["Name"]) != 200<<10 {
		t.Fatalf("%v", err)
	}
	huge := `{"Name":"` + strings.Repeat("x", MaxLineBytes+10) + `"}`
	if _, err := Decode("k", "i-0123456789abcdef0", strings.NewReader(huge), -1); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("%v", err)
	}
}

func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&buf, `{"ApplicationType":"System Environment/Base","Architecture":"x86_64","InstalledTime":"2026-05-01T09:00:00Z","Name":"pkg-%04d","PackageId":"pkg-%04d-1.2.3-1.amzn2023.src.rpm","Publisher":"Amazon Linux","Release":"1.amzn2023","Summary":"pkg-%04d package","Version":"1.2.3","resourceId":"i-0123456789abcdef0","captureTime":"2026-05-01T10:00:00Z","schemaVersion":"1.1"}`+"\n", i, i, i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("k", "i-0123456789abcdef0", bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEncodingJSON is the same object through json.Decoder into
// maps, for comparison with the specialised scanner.
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	var buf bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&buf, `{"ApplicationType":"System Environment/Base","Architecture":"x86_64","InstalledTime":"2026-05-01T09:00:00Z","Name":"pkg-%04d","PackageId":"pkg-%04d-1.2.3-1.amzn2023.src.rpm","Publisher":"Amazon Linux","Release":"1.amzn2023","Summary":"pkg-%04d package","Version":"1.2.3","resourceId":"i-0123456789abcdef0","captureTime":"2026-05-01T10:00:00Z","schemaVersion":"1.1"}`+"\n", i, i, i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var m map[string]string
			if err := dec.Decode(&m); err != nil {
				if err == io.EOF {
					break
				}
				b.Fatal(err)
			}
		}
	}
}
