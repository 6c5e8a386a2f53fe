package untc_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/cmd/internal/untc"
	"github.com/treatywatch/treatywatch/events"
)

const paris = "XXVII-7-d"

func changes(cs []untc.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Participant+" "+string(c.Action)+" "+c.Date.String())
	}
	return out
}

func TestImportRecordsWhatTheLedgerLacksOnceWithTheFileAsSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := MustLedger(t, parisYAML)
	f := mustParse(t, "three-columns.xml")
	src := "https://treaties.un.org/doc/Publication/MTDSG/Volume%20II/Chapter%20XXVII/XXVII-7-d.en.xml"
	res, err := untc.Import(ctx, l.Ledger, paris, f, untc.Options{Source: src, Meta: events.Metadata{Actor: "untc"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recorded != 11 || res.Unchanged != 0 || len(res.Conflicts) != 0 {
		t.Fatalf("recorded %d, unchanged %d, conflicts %+v; want 11, 0, none", res.Recorded, res.Unchanged, res.Conflicts)
	}
	if got := changes(res.Undone); !reflect.DeepEqual(got, []string{"United States of America acceptance 2021-01-20"}) {
		t.Errorf("undone %q", got)
	}
	for _, c := range res.Missing {
		if c.Position == 0 {
			t.Errorf("%+v: no position", c)
		}
	}
	// Signatures first on a day, as the ledger orders an import; the
	// file's spelling São Tomé is stored under the canonical name.
	want := []string{
		"Côte d'Ivoire signature 2016-04-22 " + src,
		"European Union signature 2016-04-22 " + src,
		"Japan signature 2016-04-22 " + src,
		"Sao Tome and Principe signature 2016-04-22 " + src,
		"United States of America signature 2016-04-22 " + src,
		"European Union approval 2016-10-05 " + src,
		"Côte d'Ivoire ratification 2016-10-25 " + src,
		"Sao Tome and Principe ratification 2016-11-02 " + src,
		"Japan acceptance 2016-11-08 " + src,
		"Montenegro succession 2017-06-03 " + src,
		"Nicaragua accession 2017-10-23 " + src,
	}
	if got := l.acts(t, paris); !reflect.DeepEqual(got, want) {
		t.Errorf("stream:\n got %q\nwant %q", got, want)
	}
	head := l.head(t)
	again, err := untc.Import(ctx, l.Ledger, paris, f, untc.Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if again.Recorded != 0 || again.Unchanged != 11 || len(again.Missing) != 0 || l.head(t) != head {
		t.Errorf("second import: recorded %d, unchanged %d, missing %d, head %d→%d; want nothing new", again.Recorded, again.Unchanged, len(again.Missing), head, l.head(t))
	}
}

func TestImportDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	head := l.head(t)
	res, err := untc.Import(context.Background(), l.Ledger, paris, mustParse(t, "three-columns.xml"), untc.Options{Source: "XXVII-7-d.en.xml", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || res.Recorded != 0 || len(res.Missing) != 11 || l.head(t) != head {
		t.Errorf("dry run: recorded %d, missing %d, head %d→%d", res.Recorded, len(res.Missing), head, l.head(t))
	}
	for _, c := range res.Missing {
		if c.Position != 0 {
			t.Errorf("%+v has a position in a dry run", c)
		}
	}
	if res.Missing[0].Name != "" || res.Missing[len(res.Missing)-2].Name != "São Tomé and Principe" {
		t.Errorf("names in the file: %+v", res.Missing)
	}
}

func TestImportReportsConflictsAndNeverOverwrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := MustLedger(t, parisYAML)
	l.record(t, paris, "signature", "Japan", "2016-04-22")
	japan := l.record(t, paris, "ratification", "Japan", "2016-11-09") // the file says acceptance of 8 Nov
	l.record(t, paris, "signature", "United States of America", "2016-04-22")
	usa := l.record(t, paris, "acceptance", "USA", "2021-01-20") // the file shows it bracketed
	l.record(t, paris, "signature", "Nicaragua", "2016-04-22")   // not in the file: left alone
	wrong := l.record(t, paris, "accession", "Nicaragua", "2017-10-23")
	if _, err := l.Retract(ctx, paris, wrong.Position, "recorded in error", events.Metadata{Actor: "officer"}); err != nil {
		t.Fatal(err)
	}
	res, err := untc.Import(ctx, l.Ledger, paris, mustParse(t, "three-columns.xml"), untc.Options{Source: "XXVII-7-d.en.xml"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range res.Conflicts {
		got = append(got, c.Participant+" "+string(c.Action)+" "+c.Date.String()+": "+c.Reason)
	}
	want := []string{
		"Japan acceptance 2016-11-08: the file shows acceptance of 2016-11-08; the ledger holds ratification of 2016-11-09 at position " + itoa(japan.Position) +
			" (correct it with `treatywatch correct " + itoa(japan.Position) + "` if the file is right)",
		"Nicaragua accession 2017-10-23: the file shows accession of 2017-10-23, which the ledger recorded and then retracted or corrected; not recorded again",
		"United States of America acceptance 2021-01-20: the file shows the acceptance of 2021-01-20 as undone ([20 Jan 2021 A]); the ledger holds it at position " + itoa(usa.Position),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("conflicts:\n got %q\nwant %q", got, want)
	}
	if res.Unchanged != 2 || res.Recorded != 7 { // unchanged: the signatures of Japan and the USA
		t.Errorf("unchanged %d, recorded %d; want 2, 7", res.Unchanged, res.Recorded)
	}
	for _, a := range l.acts(t, paris) {
		if strings.HasPrefix(a, "Japan acceptance") {
			t.Errorf("the conflicting act was written: %s", a)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestImportIsAllOrNothing(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	head := l.head(t)
	// France ratifies without having signed, and the Agreement requires a
	// signature: the ledger refuses that row, so nothing is written.
	data := file(`<Entry>Participant</Entry><Entry>Signature</Entry><Entry>Ratification, Acceptance(A)</Entry>`,
		`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry>8 Nov 2016 A</Entry></Row>`,
		`<Row><Entry>France</Entry><Entry/><Entry>5 Oct 2016</Entry></Row>`)
	f, err := untc.ParseBytes([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	_, err = untc.Import(context.Background(), l.Ledger, paris, f, untc.Options{Source: "x.xml"})
	var ie *events.ImportError
	if !errors.As(err, &ie) || !errors.Is(err, events.ErrInvalid) || len(ie.Rows) != 1 || ie.Rows[0].Line != 2 ||
		!strings.Contains(ie.Rows[0].Msg, "France has not signed XXVII-7-d") {
		t.Fatalf("err %v; want an ImportError naming line 2 and France's missing signature", err)
	}
	if l.head(t) != head {
		t.Errorf("head %d→%d: a refused import wrote something", head, l.head(t))
	}
}

func TestImportRefusesUnknownParticipantsNamingTheLine(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	head := l.head(t)
	data := file(`<Entry>Participant</Entry><Entry>Signature</Entry>`,
		`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry></Row>`,
		`<Row><Entry>Japn<superscript>4</superscript></Entry><Entry>22 Apr 2016</Entry></Row>`)
	f, err := untc.ParseBytes([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	_, err = untc.Import(context.Background(), l.Ledger, paris, f, untc.Options{Source: "x.xml"})
	if err == nil || !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), `line 2: unknown participant "Japn"; closest known names: Japan`) {
		t.Fatalf("err %v", err)
	}
	if l.head(t) != head {
		t.Errorf("head %d→%d", head, l.head(t))
	}
}

func TestImportTwoColumnsWithoutSignatures(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, kigaliYAML)
	res, err := untc.Import(context.Background(), l.Ledger, "XXVII-2-f", mustParse(t, "two-columns.xml"), untc.Options{Source: "XXVII-2-f.en.xml"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Rwanda ratification 2017-05-23", "Côte d'Ivoire ratification 2017-11-29", "Sao Tome and Principe approval 2018-03-23", "Japan acceptance 2018-12-18"}
	if got := changes(res.Missing); res.Recorded != 4 || !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %d: %q\nwant %q", res.Recorded, got, want)
	}
}

func TestImportProvisionalApplication(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, attYAML)
	res, err := untc.Import(context.Background(), l.Ledger, "XXVI-8", mustParse(t, "provisional.xml"), untc.Options{Source: "XXVI-8.en.xml"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recorded != 7 {
		t.Fatalf("recorded %d, want 7: %+v", res.Recorded, res)
	}
	var pa []string
	for _, a := range l.acts(t, "XXVI-8") {
		if strings.Contains(a, "provisional-application") {
			pa = append(pa, a)
		}
	}
	want := []string{"Spain provisional-application 2013-06-03 XXVI-8.en.xml", "Iceland provisional-application 2013-07-02 XXVI-8.en.xml"}
	if !reflect.DeepEqual(pa, want) {
		t.Errorf("provisional applications %q, want %q", pa, want)
	}
}

func TestImportNeedsASource(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	_, err := untc.Import(context.Background(), l.Ledger, paris, mustParse(t, "three-columns.xml"), untc.Options{})
	if !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), "needs a source") {
		t.Errorf("err %v", err)
	}
}
