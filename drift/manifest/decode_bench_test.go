package manifest

import "testing"

func BenchmarkDecodeCycloneDX(b *testing.B) {
	data := readFixture(b, "debian12-trivy.cdx.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("x.cdx.json", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNativeYAML(b *testing.B) {
	data := readFixture(b, "ami-0abc1234def567890.yaml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("x.yaml", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
