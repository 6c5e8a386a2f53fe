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
	// HistoriesDir holds the real histories of the other shipped
	// treaties, one or more CSV files per treaty (Histories).
	HistoriesDir = "histories"
)

// HistoryFile is one shipped CSV file of acts concerning one treaty:
// participant,action,date,source, every row with its source.
type HistoryFile struct {
	// Treaty is the treaty's id.
	Treaty string
	// Path is the file's path inside Files().
	Path string
}

// Histories returns the shipped history files in the order Load imports
// them: each treaty's acts, and the ATT's declarations of provisional
// application after its signatures and instruments, which they follow.
func Histories() []HistoryFile {
	return []HistoryFile{
		{Treaty: HanoiID, Path: HanoiCSV},
		{Treaty: "XVIII-14", Path: path.Join(HistoriesDir, "xviii-14-uncac.csv")},
		{Treaty: "XXI-10", Path: path.Join(HistoriesDir, "xxi-10-bbnj.csv")},
		{Treaty: "XXVI-8", Path: path.Join(HistoriesDir, "xxvi-8-att.csv")},
		{Treaty: "XXVI-8", Path: path.Join(HistoriesDir, "xxvi-8-att-provisional-application.csv")},
		{Treaty: "XXVI-9", Path: path.Join(HistoriesDir, "xxvi-9-tpnw.csv")},
		{Treaty: "XXVII-7-d", Path: path.Join(HistoriesDir, "xxvii-7-d-paris.csv")},
	}
}

// files is immutable, so this package-level value is not shared state.
//
//go:embed README.md hanoi-convention.csv treaties/*.yaml treaties/*.csv histories/*.csv
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
