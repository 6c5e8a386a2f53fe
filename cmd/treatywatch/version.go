package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/treatywatch/treatywatch/events/sqlite"
)

// version is this binary's version: its module version when built from a
// tagged module, else the commit it was built from (with "+dirty" for
// uncommitted changes), else "devel".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return "devel-" + rev + dirty
}

// printVersion prints `treatywatch VERSION (schema version N, GOVERSION)`:
// N is the highest database schema version this binary understands (its
// last migration); it refuses a ledger with a newer one.
func (m *Main) printVersion() error {
	schema, err := sqlite.SchemaVersion()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(m.stdout, "treatywatch %s (schema version %d, %s)\n", version(), schema, runtime.Version())
	return err
}
