package main

import (
	"fmt"

	"github.com/alecthomas/kong"
)

// flagRename gives a flag the name Prometheus components use for it
// (--config.file, --web.listen-address); the name it had stays as an alias,
// so existing scripts and units keep working.
type flagRename struct {
	command string // full command path ("demo", "baseline capture"); "" = every command with the flag
	from    string
	to      string
}

// flagRenames are applied to every subcommand's flags after the command
// tree is built, so a subcommand's file declares its flags once, under
// their short historical names.
var flagRenames = []flagRename{
	{"", "config", "config.file"},
	{"demo", "listen", "web.listen-address"},
}

// conventionalFlags renames the flags of flagRenames in the built model.
func conventionalFlags() kong.Option {
	return kong.PostBuild(func(k *kong.Kong) error {
		return renameFlags(k.Model.Node, flagRenames)
	})
}

func renameFlags(n *kong.Node, renames []flagRename) error {
	for _, f := range n.Flags {
		for _, r := range renames {
			if f.Name != r.from || (r.command != "" && r.command != n.Path()) {
				continue
			}
			for _, other := range n.Flags {
				if other.Name == r.to {
					return fmt.Errorf("command %q: cannot rename --%s to --%s: the name is taken", n.Path(), r.from, r.to)
				}
			}
			f.Name = r.to
			f.Aliases = append(f.Aliases, r.from)
			break
		}
	}
	for _, c := range n.Children {
		if err := renameFlags(c, renames); err != nil {
			return err
		}
	}
	return nil
}
