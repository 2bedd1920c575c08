package config

import (
	"testing"
	"testing/fstest"
)

func TestDecisionsFile(t *testing.T) {
	for _, tt := range []struct{ state, want string }{
		{"", ""},
		{"/var/lib/driftd/state.json", "/var/lib/driftd/state.json.decisions.json"},
	} {
		if got := (State{File: tt.state}).DecisionsFile(); got != tt.want {
			t.Errorf("DecisionsFile(%q) = %q, want %q", tt.state, got, tt.want)
		}
	}
}

func TestCheckDecisionsFileIsDirectory(t *testing.T) {
	files := fstest.MapFS{"b/x": {Data: nil}, "s.json.decisions.json/x": {Data: nil}}
	c := Default()
	c.Baselines = Baselines{{Dir: &DirBaseline{Path: "/b"}}}
	c.State.File = "/s.json"
	checkErrs(t, c.Check(fakeEnv(files, nil)), []string{"state.file: the decisions file /s.json.decisions.json is a directory"})
	// With HA the decisions live in DynamoDB: the file is not used.
	c.HA = HA{DynamoDBTable: "driftd-ha"}
	checkErrs(t, c.Check(fakeEnv(files, nil)), nil)
}
