package export_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
)

func TestCSVNeutralisesFormulas(t *testing.T) {
	rows := [][]string{
		{"participant", "note"},
		{"Côte d'Ivoire", `=HYPERLINK("http://evil.example","click")`},
		{"Türkiye", "+1+1"},
		{"Viet Nam", "-2+3"},
		{"Austria", "@SUM(A1:A2)"},
		{"Chile", "\t=1"},
		{"Norway", "\r=1"},
		{"Japan", "a=b, \"quoted\"\nsecond line"},
		{"", ""},
	}
	var buf bytes.Buffer
	w := export.NewCSV(&buf)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// A standard CSV reader reads it back, every formula-like cell
	// starting with an apostrophe and everything else unchanged.
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"participant", "note"},
		{"Côte d'Ivoire", `'=HYPERLINK("http://evil.example","click")`},
		{"Türkiye", "'+1+1"},
		{"Viet Nam", "'-2+3"},
		{"Austria", "'@SUM(A1:A2)"},
		{"Chile", "'\t=1"},
		{"Norway", "'\r=1"},
		{"Japan", "a=b, \"quoted\"\nsecond line"},
		{"", ""},
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d: %q, want %q", i, got[i], want[i])
		}
	}
}
