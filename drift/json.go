package drift

import (
	"encoding/json"
	"time"
)

// fileJSON is File's wire form: size is present exactly when HasSize is set.
type fileJSON struct {
	Path    string    `json:"path"`
	Size    *int64    `json:"size,omitempty"`
	ModTime time.Time `json:"mtime,omitzero"`
	SHA256  string    `json:"sha256,omitempty"`
	Mode    string    `json:"mode,omitempty"`
	Owner   string    `json:"owner,omitempty"`
}

// MarshalJSON writes "size" exactly when HasSize is set (a size of 0 is a
// real value) and mtime in RFC3339 UTC.
func (f File) MarshalJSON() ([]byte, error) {
	j := fileJSON{Path: f.Path, SHA256: f.SHA256, Mode: f.Mode, Owner: f.Owner}
	if f.HasSize {
		j.Size = &f.Size
	}
	if !f.ModTime.IsZero() {
		j.ModTime = f.ModTime.UTC()
	}
	return json.Marshal(j)
}

// UnmarshalJSON sets HasSize when "size" is present.
func (f *File) UnmarshalJSON(b []byte) error {
	var j fileJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = File{Path: j.Path, ModTime: j.ModTime, SHA256: j.SHA256, Mode: j.Mode, Owner: j.Owner}
	if j.Size != nil {
		f.Size, f.HasSize = *j.Size, true
	}
	return nil
}

// EncodeReport is the stable JSON encoding of a report: fields in struct
// order, empty fields omitted, slices sorted (as Compare returns them),
// times in RFC3339 UTC, severities as names, two-space indentation and a
// trailing newline. It is what golden files and the CLI print.
func EncodeReport(r Report) ([]byte, error) {
	if !r.OldestCapture.IsZero() {
		r.OldestCapture = r.OldestCapture.UTC().Truncate(time.Second)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
