package untc_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/cmd/internal/untc"
	"github.com/treatywatch/treatywatch/events"
)

// mustParse parses a fixture of testdata.
func mustParse(t *testing.T, name string) *untc.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	file, err := untc.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return file
}

// acts flattens a file into "Name|footnotes|action date[ undone]" lines.
func acts(f *untc.File) []string {
	var out []string
	for _, r := range f.Rows {
		for _, a := range r.Acts {
			s := r.Name + "|" + strings.Join(r.Footnotes, ",") + "|" + string(a.Action) + " " + a.Date.String()
			if a.Undone {
				s += " undone"
			}
			out = append(out, s)
		}
	}
	return out
}

func TestParseThreeColumnsEverySuffix(t *testing.T) {
	t.Parallel()
	f := mustParse(t, "three-columns.xml")
	want := []string{
		"Côte d'Ivoire||signature 2016-04-22",
		"Côte d'Ivoire||ratification 2016-10-25", // no mark in the consent column
		"European Union|7|signature 2016-04-22",  // the footnote marker is out of the name
		"European Union|7|approval 2016-10-05",   // AA
		"Japan||signature 2016-04-22",
		"Japan||acceptance 2016-11-08", // A
		"Montenegro||succession 2017-06-03",
		"Nicaragua||accession 2017-10-23",
		"São Tomé and Principe||signature 2016-04-22", // Latin-1 decoded
		"São Tomé and Principe||ratification 2016-11-02",
		"United States of America|9,10|signature 2016-04-22",
		"United States of America|9,10|acceptance 2021-01-20 undone", // [20 Jan 2021 A]
	}
	if got := acts(f); !reflect.DeepEqual(got, want) {
		t.Errorf("acts:\n got %q\nwant %q", got, want)
	}
	if f.Signatories != 5 || f.Parties != 6 || len(f.Warnings) != 0 {
		t.Errorf("counts %d/%d, warnings %q; want 5/6 and none", f.Signatories, f.Parties, f.Warnings)
	}
	if f.Title != "7. d Paris Agreement" {
		t.Errorf("title %q", f.Title)
	}
	roles := []untc.Role{untc.RoleParticipant, untc.RoleSignature, untc.RoleConsent}
	for i, c := range f.Columns {
		if c.Role != roles[i] {
			t.Errorf("column %d %q: role %s, want %s", i, c.Header, c.Role, roles[i])
		}
	}
	if f.Rows[0].Acts[0].Cell != "22 Apr 2016" {
		t.Errorf("cell text %q: want the tab folded into one space", f.Rows[0].Acts[0].Cell)
	}
}

func TestParseTwoColumnsNoSignature(t *testing.T) {
	t.Parallel()
	f := mustParse(t, "two-columns.xml")
	want := []string{
		"Côte d'Ivoire||ratification 2017-11-29",
		"Japan||acceptance 2018-12-18",
		"Rwanda||ratification 2017-05-23",
		"São Tomé and Principe|2|approval 2018-03-23",
	}
	if got := acts(f); !reflect.DeepEqual(got, want) {
		t.Errorf("acts:\n got %q\nwant %q", got, want)
	}
	if f.Signatories != -1 || f.Parties != 4 || len(f.Warnings) != 0 {
		t.Errorf("counts %d/%d, warnings %q; want -1 (none in the header)/4 and none", f.Signatories, f.Parties, f.Warnings)
	}
}

func TestParseProvisionalApplicationColumn(t *testing.T) {
	t.Parallel()
	f := mustParse(t, "provisional.xml")
	want := []string{
		"Iceland||signature 2013-06-03",
		"Iceland||ratification 2013-07-02",
		"Iceland||provisional-application 2013-07-02",
		"Spain||signature 2013-06-03",
		"Spain||ratification 2014-04-02",
		"Spain||provisional-application 2013-06-03",
		"Mexico||signature 2013-06-03",
	}
	if got := acts(f); !reflect.DeepEqual(got, want) {
		t.Errorf("acts:\n got %q\nwant %q", got, want)
	}
	if len(f.Columns) != 4 || f.Columns[3].Role != untc.RoleProvisional {
		t.Errorf("columns %+v", f.Columns)
	}
}

func TestParseWarnsWhenTheHeaderCountsDisagree(t *testing.T) {
	t.Parallel()
	f := mustParse(t, "counts-disagree.xml")
	want := []string{
		"the header says 4 signatories; the rows show 2 signatures",
		"the header says 3 parties; the rows show 2 consents to be bound",
	}
	if !reflect.DeepEqual(f.Warnings, want) {
		t.Errorf("warnings %q, want %q", f.Warnings, want)
	}
}

func TestParseRefusesAnHTMLMaintenancePage(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "maintenance.html"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = untc.ParseBytes(b)
	var nf *untc.NotStatusFileError
	if !errors.As(err, &nf) || !errors.Is(err, events.ErrInvalid) {
		t.Fatalf("err %v (%T); want a *NotStatusFileError wrapping ErrInvalid", err, err)
	}
	want := `not a UNTC status file: got HTML (title "United Nations Treaty Collection - Site under maintenance")`
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q\nwant it to start %q", err, want)
	}
}

// file is a status file with one header row and the given body rows.
func file(header string, rows ...string) string {
	return `<?xml version="1.0" encoding="ISO-8859-1"?><Treaty><Participants><Table><TGroup><Thead><Row>` + header +
		`</Row></Thead><Tbody><Rows>` + strings.Join(rows, "\n") + `</Rows></Tbody></TGroup></Table></Participants></Treaty>`
}

const twoCols = `<Entry>Participant</Entry><Entry>Signature</Entry><Entry>Ratification, Accession(a)</Entry>`

func TestParseRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "  \n", "not a UNTC status file: got an empty file"},
		{"not XML", "Service Unavailable", "not a UNTC status file: got text that is not XML"},
		{"an HTML root without doctype", `<html><head><title>x</title></head></html>`, `not a UNTC status file: got HTML (title "x")`},
		{"another XML document", `<?xml version="1.0"?><rss><channel/></rss>`, "not a UNTC status file: got an XML document whose root element is <rss>, not <Treaty>"},
		{"no participants", `<Treaty><Header/></Treaty>`, "not a UNTC status file: got a <Treaty> document without <Participants>"},
		{"unknown month", file(twoCols, `<Row><Entry>Japan</Entry><Entry>22 Apx 2016</Entry><Entry/></Row>`), `line 1: column "Signature": "22 Apx 2016": unknown month "Apx"`},
		{"impossible date", file(twoCols, "\n"+`<Row><Entry>Japan</Entry><Entry>30 Feb 2016</Entry><Entry/></Row>`), `line 2: column "Signature": "30 Feb 2016": invalid date "2016-02-30": February 2016 has 29 days`},
		{"unknown mark", file(twoCols, `<Row><Entry>Japan</Entry><Entry/><Entry>1 Mar 2017 c</Entry></Row>`), `column "Ratification, Accession(a)": "1 Mar 2017 c": unknown mark "c" (this column knows A, AA, a, d, s)`},
		{"not a date", file(twoCols, `<Row><Entry>Japan</Entry><Entry>signed</Entry><Entry/></Row>`), `"signed" is not a date such as "22 Apr 2016" with an optional mark`},
		{"one bracket", file(twoCols, `<Row><Entry>Japan</Entry><Entry>[22 Apr 2016</Entry><Entry/></Row>`), `"[22 Apr 2016" is not a date`},
		{"too few entries", file(twoCols, `<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry></Row>`), "the row has 2 entries; the header has 3 columns"},
		{"no name", file(twoCols, `<Row><Entry><superscript>3</superscript></Entry><Entry>22 Apr 2016</Entry><Entry/></Row>`), "a row without a participant name"},
		{"no participant column", file(`<Entry>Signature</Entry>`), "the header has no Participant column"},
		{"no act column", file(`<Entry>Participant</Entry><Entry>Notification under article 22</Entry>`), "the header has no column of signatures"},
		{"malformed", `<?xml version="1.0" encoding="ISO-8859-1"?><Treaty><Participants><Table>`, "malformed XML"},
		{"unknown encoding", `<?xml version="1.0" encoding="KOI8-R"?><Treaty/>`, `unsupported encoding "KOI8-R"`},
		{"a count that is not one", `<Treaty><Header><Status><Parties>many</Parties></Status></Header><Participants/></Treaty>`, `Status/Parties is "many", not a count`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := untc.ParseBytes([]byte(tc.data))
			if err == nil || !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v\nwant ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

func TestParseIgnoresAnUnknownColumnWithAWarning(t *testing.T) {
	t.Parallel()
	data := file(twoCols+`<Entry>Declaration under article 30</Entry>`,
		`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry>8 Nov 2016</Entry><Entry>8 Nov 2016</Entry></Row>`)
	f, err := untc.ParseBytes([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := acts(f); !reflect.DeepEqual(got, []string{"Japan||signature 2016-04-22", "Japan||ratification 2016-11-08"}) {
		t.Errorf("acts %q", got)
	}
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], `column 4 "Declaration under article 30" is not imported`) {
		t.Errorf("warnings %q", f.Warnings)
	}
}

func TestParseReadsUTF8MislabelledAsLatin1(t *testing.T) {
	t.Parallel()
	data := file(twoCols, `<Row><Entry>Côte d'Ivoire</Entry><Entry>22 Apr 2016</Entry><Entry/></Row>`) // UTF-8 bytes
	f, err := untc.ParseBytes([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if f.Rows[0].Name != "Côte d'Ivoire" || len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "its bytes are UTF-8") {
		t.Errorf("name %q, warnings %q", f.Rows[0].Name, f.Warnings)
	}
}
