package seed

import (
	"embed"
	"io/fs"
	"path"
	"slices"
)

// Paths of the shipped files inside Files().
const (
	// TreatiesDir holds one treaty definition per .yaml file, and the CSV
	// files their shares name in weights_file.
	TreatiesDir = "treaties"
	// HanoiCSV lists acts concerning the UN Convention against Cybercrime
	// (UNTC XVIII-16), one per row: participant,action,date,source.
	HanoiCSV = "hanoi-convention.csv"
	// README says where every shipped fact came from.
	README = "README.md"
)

// files is immutable, so this package-level value is not shared state.
//
//go:embed README.md hanoi-convention.csv treaties/*.yaml treaties/*.csv
var files embed.FS

// Files returns the shipped seed files as a read-only file system. It is
// safe for concurrent use.
func Files() fs.FS { return files }

// Treaties returns the paths inside Files() of the shipped treaty
// definitions, sorted. Parse each with treatyfile.ParseFS(Files(), name,
// directory), which also finds the weights files they name.
func Treaties() ([]string, error) {
	names, err := fs.Glob(files, path.Join(TreatiesDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}
