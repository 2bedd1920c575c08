// Package buildinfo reports driftd's version and build facts.
//
// A release build stamps them at link time (internal/release does):
//
//	-ldflags "-X github.com/driftd/driftd/internal/buildinfo.Version=v1.2.3
//	          -X github.com/driftd/driftd/internal/buildinfo.Revision=<commit>
//	          -X github.com/driftd/driftd/internal/buildinfo.Branch=main
//	          -X github.com/driftd/driftd/internal/buildinfo.BuildDate=2026-01-02T03:04:05Z
//	          -X github.com/driftd/driftd/internal/buildinfo.Modified=false"
//
// What was not stamped falls back to what the Go toolchain recorded in the
// binary (runtime/debug.ReadBuildInfo): the main module's version for
// `go install ...@v1.2.3`, and the vcs.revision, vcs.time and vcs.modified
// settings of a build from a git checkout with VCS stamping on.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped at link time with -ldflags -X (see the package comment). Empty
// means "not stamped".
var (
	Version   string
	Revision  string
	Branch    string
	BuildDate string // RFC 3339, UTC
	Modified  string // "true" or "false"
)

// Package is the import path of this package, the prefix of its -X flags.
const Package = "github.com/driftd/driftd/internal/buildinfo"

// DevVersion is the version of a binary nobody stamped.
const DevVersion = "dev"

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Branch    string `json:"branch,omitempty"`
	BuildDate string `json:"build_date,omitempty"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
}

// Get returns the build info of the running binary.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(stamp{Version, Revision, Branch, BuildDate, Modified}, bi)
}

// stamp is what -ldflags -X set.
type stamp struct{ version, revision, branch, buildDate, modified string }

// resolve combines the link-time stamp with the toolchain's build info:
// a stamped value always wins.
func resolve(s stamp, bi *debug.BuildInfo) Info {
	i := Info{
		Version: s.version, Revision: s.revision, Branch: s.branch, BuildDate: s.buildDate,
		Modified:  s.modified == "true",
		GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
	}
	if bi != nil {
		if bi.GoVersion != "" {
			i.GoVersion = bi.GoVersion
		}
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				if i.Revision == "" {
					i.Revision = kv.Value
				}
			case "vcs.time":
				if i.BuildDate == "" {
					i.BuildDate = kv.Value
				}
			case "vcs.modified":
				if s.modified == "" {
					i.Modified = kv.Value == "true"
				}
			}
		}
		if v := bi.Main.Version; i.Version == "" && v != "" && v != "(devel)" {
			i.Version = v
		}
	}
	if i.Version == "" {
		i.Version = DevVersion
	}
	return i
}

// Platform is GOOS/GOARCH.
func (i Info) Platform() string { return i.GOOS + "/" + i.GOARCH }

// String is the one line `driftd version` and `driftd --version` print:
//
//	driftd v1.2.3 (revision 0123abc…, branch main, built 2026-01-02T03:04:05Z, go1.26.8, linux/amd64)
func (i Info) String() string {
	var parts []string
	if i.Revision != "" {
		r := "revision " + i.Revision
		if i.Modified {
			r += "+modified"
		}
		parts = append(parts, r)
	}
	if i.Branch != "" {
		parts = append(parts, "branch "+i.Branch)
	}
	if i.BuildDate != "" {
		parts = append(parts, "built "+i.BuildDate)
	}
	parts = append(parts, i.GoVersion, i.Platform())
	return fmt.Sprintf("driftd %s (%s)", i.Version, strings.Join(parts, ", "))
}

// LabelNames are the labels of the driftd_build_info metric, in order.
func LabelNames() []string {
	return []string{"version", "revision", "branch", "goos", "goarch", "goversion"}
}

// Labels are the driftd_build_info labels of the running binary, keyed by
// LabelNames; a fact that is not known is an empty value.
func Labels() map[string]string { return Get().Labels() }

// Labels are i's driftd_build_info labels, keyed by LabelNames.
func (i Info) Labels() map[string]string {
	return map[string]string{
		"version":   i.Version,
		"revision":  i.Revision,
		"branch":    i.Branch,
		"goos":      i.GOOS,
		"goarch":    i.GOARCH,
		"goversion": i.GoVersion,
	}
}
