package sqlite_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/events/treatyfile"
	"github.com/treatywatch/treatywatch/seed"
)

// rawChainBreak recomputes the hash chain from the raw rows of the events
// table, with an encoding written here from the design's description
// rather than with events.CanonicalBytes, and returns the first position
// whose stored hash it does not reproduce (0 if none) and the number of
// rows.
func rawChainBreak(tb testing.TB, path string) (int64, int) {
	tb.Helper()
	db := MustOpenRaw(tb, path)
	rows, err := db.QueryContext(tb.Context(), `SELECT position, stream, version, type, schema_version,
		ifnull(valid_date, ''), recorded_at, ifnull(actor, ''), ifnull(reference, ''), ifnull(source, ''),
		ifnull(correlation_id, ''), ifnull(causation_id, ''), payload, hash FROM events ORDER BY position`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var (
		prev  []byte
		n     int
		first int64
	)
	field := func(b *bytes.Buffer, s string) {
		_ = binary.Write(b, binary.BigEndian, uint32(len(s)))
		b.WriteString(s)
	}
	for rows.Next() {
		var (
			pos, version, schema, recorded                     int64
			stream, typ, date, actor, ref, src, corr, caus, pl string
			hash                                               []byte
		)
		if err := rows.Scan(&pos, &stream, &version, &typ, &schema, &date, &recorded, &actor, &ref, &src, &corr, &caus, &pl, &hash); err != nil {
			tb.Fatal(err)
		}
		n++
		var b bytes.Buffer
		_ = binary.Write(&b, binary.BigEndian, uint64(pos))
		field(&b, stream)
		_ = binary.Write(&b, binary.BigEndian, uint64(version))
		field(&b, typ)
		_ = binary.Write(&b, binary.BigEndian, uint32(schema))
		field(&b, date)
		_ = binary.Write(&b, binary.BigEndian, uint64(recorded))
		for _, s := range []string{actor, ref, src, corr, caus} {
			field(&b, s)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(pl)); err != nil {
			tb.Fatalf("position %d: payload: %v", pos, err)
		}
		field(&b, compact.String())
		sum := sha256.Sum256(append(append([]byte(nil), prev...), b.Bytes()...))
		if !bytes.Equal(sum[:], hash) && first == 0 {
			first = pos
		}
		prev = hash
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return first, n
}

// ledgerOn opens a Ledger on the store at path whose today is today.
func ledgerOn(tb testing.TB, s *sqlite.Store, today time.Time) *events.Ledger {
	tb.Helper()
	l, err := events.NewLedger(s, events.LedgerConfig{Now: func() time.Time { return today }, Secrets: s})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// shippedDefinitions parses the seed's treaty definitions.
func shippedDefinitions(tb testing.TB) []events.Definition {
	tb.Helper()
	dir, err := events.NewDirectory()
	if err != nil {
		tb.Fatal(err)
	}
	names, err := seed.Treaties()
	if err != nil {
		tb.Fatal(err)
	}
	var defs []events.Definition
	for _, name := range names {
		def, err := treatyfile.ParseFS(seed.Files(), name, dir)
		if err != nil {
			tb.Fatal(err)
		}
		defs = append(defs, def)
	}
	return defs
}

// randomLedger applies n random commands of every kind to a new ledger at
// path and returns how many were accepted.
func randomLedger(t *testing.T, rng *rand.Rand, path string, n int) int {
	t.Helper()
	ctx := t.Context()
	s := MustOpen(t, path)
	today := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	l := ledgerOn(t, s, today)
	defs := shippedDefinitions(t)
	for _, def := range defs {
		if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "seed"}); err != nil {
			t.Fatalf("AddTreaty %s: %v", def.ID, err)
		}
	}
	participants := []string{"Viet Nam", "Austria", "Japan", "Brazil", "Kenya", "European Union", "Chile", "Norway", "Palau", "Türkiye"}
	actions := []events.Action{
		events.Signature, events.Signature, events.Signature, events.DefinitiveSignature, events.Ratification,
		events.Ratification, events.Acceptance, events.Approval, events.Accession, events.Succession,
		events.Declaration, events.Reservation, events.ReservationWithdrawn, events.Objection,
		events.TerritorialApplication, events.Denunciation, events.ProtocolProposed, events.IntentAnnounced,
		events.ParliamentaryApproval,
	}
	var (
		acts []struct {
			treaty string
			pos    int64
		}
		tokens   []string
		subs     []string
		accepted int
		newDefs  int
	)
	randomDate := func() string {
		return events.MustDate("2025-10-25").AddDays(rng.IntN(220)).String()
	}
	for i := range n {
		def := defs[rng.IntN(len(defs))]
		var err error
		switch k := rng.IntN(21); {
		case k < 10:
			in := events.RecordInput{
				Treaty: def.ID, Action: string(actions[rng.IntN(len(actions))]),
				Participant: participants[rng.IntN(len(participants))], Date: randomDate(),
				Subject: participants[rng.IntN(len(participants))], Note: fmt.Sprintf("note %d", i),
				Meta: events.Metadata{Actor: "officer", Reference: fmt.Sprintf("C.N.%d.2026.TREATIES", i)},
			}
			if rng.IntN(3) == 0 {
				in.Meta = events.Metadata{}
			}
			var e *events.Envelope
			if e, err = l.Record(ctx, in); err == nil {
				acts = append(acts, struct {
					treaty string
					pos    int64
				}{def.ID, e.Position})
			}
		case k == 10 && len(acts) > 0:
			a := acts[rng.IntN(len(acts))]
			_, err = l.Correct(ctx, events.CorrectInput{Treaty: a.treaty, Position: a.pos, Reason: "C.N. gives another date", Date: randomDate()})
		case k == 11 && len(acts) > 0:
			a := acts[rng.IntN(len(acts))]
			_, err = l.Retract(ctx, a.treaty, a.pos, "recorded in error", events.Metadata{})
		case k == 12:
			d := def
			if rng.IntN(2) == 0 {
				newDefs++
				d.ID = fmt.Sprintf("XXX-%d", newDefs)
			} else {
				d.Title += " (amended)"
			}
			d.Parent = ""
			_, err = l.AddTreaty(ctx, d, events.Metadata{Actor: "officer", Source: "test"})
		case k == 13:
			rows := []events.ImportRow{{Line: 2, Participant: fmt.Sprintf("Testland %d", i), Action: "accession", Date: randomDate()}}
			_, err = l.Import(ctx, "XVIII-16", rows, events.ImportOptions{AddParticipants: true})
		case k == 14:
			var tok events.Token
			if _, tok, err = l.CreateToken(ctx, fmt.Sprintf("officer %d", i), events.RoleOfficer, events.Metadata{}); err == nil {
				tokens = append(tokens, tok.ID)
			}
		case k == 15 && len(tokens) > 0:
			err = l.RevokeToken(ctx, tokens[rng.IntN(len(tokens))], events.Metadata{})
		case k == 16 || k == 17:
			var e *events.Envelope
			sub := events.Subscription{Sink: "console", Treaties: []string{def.ID}, On: []string{events.TopicAll}}
			if k == 17 {
				sub.On = []string{events.TopicDeposits}
				sub.Participant = participants[rng.IntN(len(participants))]
			}
			if e, err = l.Subscribe(ctx, sub, events.SinkSecret{}, events.Metadata{}); err == nil {
				subs = append(subs, strings.TrimPrefix(e.Stream, "subscription-"))
			}
		case k == 19:
			var e *events.Envelope
			sub := events.Subscription{Sink: events.SinkWebhook, Treaties: []string{def.ID}, On: []string{events.TopicDeposits}}
			secret := events.SinkSecret{URL: fmt.Sprintf("https://ngo.example/hooks/%d", i), Secret: fmt.Sprintf("hmac-%d", i)}
			if e, err = l.Subscribe(ctx, sub, secret, events.Metadata{}); err == nil {
				subs = append(subs, strings.TrimPrefix(e.Stream, "subscription-"))
			}
		case k == 18 && len(subs) > 0:
			_, err = l.Unsubscribe(ctx, subs[rng.IntN(len(subs))], events.Metadata{})
		default:
			continue
		}
		if err == nil {
			accepted++
		} else if !errors.Is(err, events.ErrRefused) && !errors.Is(err, events.ErrDuplicate) &&
			!errors.Is(err, events.ErrInvalid) && !errors.Is(err, events.ErrNotFound) {
			var ie *events.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("command %d: unexpected error %T: %v", i, err, err)
			}
		}
	}
	return accepted
}

// tamper changes one stored value of one row behind the store's back and
// reports the position Verify must name, or false when the chosen change
// was refused by the table's constraints or changed nothing.
func tamper(tb testing.TB, rng *rand.Rand, path string, rowCount int) (int64, string, bool) {
	tb.Helper()
	db := MustOpenRaw(tb, path)
	ctx := tb.Context()
	pos := int64(1 + rng.IntN(rowCount))
	cols := []string{"position", "stream", "version", "type", "schema_version", "valid_date", "recorded_at",
		"actor", "reference", "source", "correlation_id", "causation_id", "payload", "hash"}
	col := cols[rng.IntN(len(cols))]
	var set string
	switch col {
	case "position":
		set = "position + 1000000"
	case "version", "schema_version", "recorded_at":
		set = []string{col + " + 1", col + " - 1", "NULL", "'x'", "1.5"}[rng.IntN(5)]
	case "hash":
		set = []string{"zeroblob(32)", "NULL", "'x'", "substr(hash, 2)", "randomblob(32)"}[rng.IntN(5)]
	case "payload":
		set = []string{"payload || ' '", "replace(payload, '\"', '''')", "NULL", "42", "'{}'", "substr(payload, 1, length(payload) - 1)"}[rng.IntN(6)]
	case "valid_date":
		set = []string{"NULL", "'2026-01-01'", "''", "20260101", "'2026-1-1'", "date(ifnull(valid_date, '2026-01-01'), '+1 day')"}[rng.IntN(6)]
	default:
		set = []string{"NULL", "''", "ifnull(" + col + ", '') || 'x'", "7", "x'00'"}[rng.IntN(5)]
	}
	desc := fmt.Sprintf("SET %s = %s at position %d", col, set, pos)
	var before string
	if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT quote(%s) FROM events WHERE position = ?`, col), pos).Scan(&before); err != nil {
		tb.Fatalf("%s: %v", desc, err)
	}
	for _, stmt := range []string{dropUpdate, fmt.Sprintf(`UPDATE events SET %s = %s WHERE position = %d`, col, set, pos)} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			if stmt == dropUpdate {
				tb.Fatal(err)
			}
			return 0, desc, false // refused by NOT NULL, STRICT or UNIQUE
		}
	}
	if col == "position" {
		return pos, desc, true
	}
	var after string
	if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT quote(%s) FROM events WHERE position = ?`, col), pos).Scan(&after); err != nil {
		tb.Fatal(err)
	}
	return pos, desc, after != before
}

// copyDB copies the database at from to a new file at to.
func copyDB(tb testing.TB, from, to string) {
	tb.Helper()
	db := MustOpenRaw(tb, from)
	if _, err := db.ExecContext(tb.Context(), `VACUUM INTO ?`, to); err != nil {
		tb.Fatal(err)
	}
}

// TestVerify_RandomLedgersAndTampering is the property: a ledger built by
// any sequence of commands of every kind verifies intact (and an
// independent recomputation of the chain agrees), and one changed value
// of one row is named at exactly that row's position.
func TestVerify_RandomLedgersAndTampering(t *testing.T) {
	const ledgers, tampers = 4, 25
	for i := range ledgers {
		seed := uint64(time.Now().UnixNano())
		t.Run(fmt.Sprintf("ledger %d seed %d", i, seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			dir := t.TempDir()
			path := filepath.Join(dir, "ledger.db")
			accepted := randomLedger(t, rng, path, 300)
			if accepted < 50 {
				t.Fatalf("only %d of 300 random commands accepted; the property needs a richer log", accepted)
			}
			s := MustOpen(t, path)
			rep, err := s.VerifyReport(t.Context(), nil)
			if err != nil || len(rep.Breaks) > 0 {
				t.Fatalf("untampered ledger: %v %+v", err, rep.Breaks)
			}
			first, n := rawChainBreak(t, path)
			if first != 0 || int64(n) != rep.Head || rep.Events != int64(n) {
				t.Fatalf("independent recomputation: first break %d over %d rows; Verify read %d, head %d", first, n, rep.Events, rep.Head)
			}
			done := 0
			for j := 0; done < tampers; j++ {
				if j > 20*tampers {
					t.Fatalf("only %d of %d tamperings took effect", done, tampers)
				}
				copyPath := filepath.Join(dir, fmt.Sprintf("tampered-%d.db", j))
				copyDB(t, path, copyPath)
				want, desc, ok := tamper(t, rng, copyPath, n)
				if !ok {
					continue
				}
				done++
				st := MustOpen(t, copyPath)
				rep, err := st.VerifyReport(t.Context(), &sqlite.KeptHead{Position: rep.Head, Hash: rep.Hash})
				if err != nil {
					t.Fatalf("%s: VerifyReport: %v", desc, err)
				}
				if len(rep.Breaks) == 0 {
					t.Fatalf("%s: Verify found nothing", desc)
				}
				if got := rep.Breaks[0].Position; got != want {
					t.Fatalf("%s: first break at %d (%s), want %d", desc, got, rep.Breaks[0].Reason, want)
				}
				if len(rep.Breaks) > 1 && rep.Breaks[1].Position != int64(n)+1 {
					// One changed row is one break; moving the row away
					// also leaves the kept head missing at the end.
					if !strings.HasPrefix(desc, "SET position") {
						t.Errorf("%s: %d breaks, want 1: %+v", desc, len(rep.Breaks), rep.Breaks)
					}
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestVerify_ReaderDoesNotCarryADateOver is the defect of a reader that
// reused one envelope: an event without a valid date after one with a
// date kept the earlier date, so Verify reported a broken chain on every
// ledger with a token or a subscription after an act.
func TestVerify_ReaderDoesNotCarryADateOver(t *testing.T) {
	ctx := t.Context()
	path := TempPath(t)
	s := MustOpen(t, path)
	l := ledgerOn(t, s, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	for _, def := range shippedDefinitions(t) {
		if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: "signature", Participant: "Viet Nam", Date: "2025-10-25"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.CreateToken(ctx, "J. Officer", events.RoleOfficer, events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Subscribe(ctx, events.Subscription{Sink: "console", Treaties: []string{"XVIII-16"}, On: []string{events.TopicAll}}, events.SinkSecret{}, events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	page, err := s.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page {
		if e.Type == events.TypeTokenCreated && !e.ValidDate.IsZero() {
			t.Errorf("position %d (%s) read with valid date %s, stored NULL", e.Position, e.Type, e.ValidDate)
		}
	}
}

// TestVerify_KeptHead finds a truncated tail only with a head kept from an
// earlier verification, and a rewritten one at the kept position.
func TestVerify_KeptHead(t *testing.T) {
	path := TempPath(t)
	s := MustOpen(t, path)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 6)})
	rep, err := s.VerifyReport(t.Context(), nil)
	if err != nil || len(rep.Breaks) != 0 || rep.Head != 6 {
		t.Fatalf("VerifyReport = %+v, %v", rep, err)
	}
	kept := sqlite.KeptHead{Position: rep.Head, Hash: rep.Hash}
	db := MustOpenRaw(t, path)
	if _, err := db.ExecContext(t.Context(), dropDelete+`; DELETE FROM events WHERE position > 4`); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(t.Context()); err != nil {
		t.Fatalf("a truncated log is a valid shorter chain without a kept head, got %v", err)
	}
	rep, err = s.VerifyReport(t.Context(), &kept)
	if err != nil || len(rep.Breaks) != 1 || rep.Breaks[0].Position != 5 {
		t.Fatalf("with the kept head: %+v, %v; want one break at 5", rep.Breaks, err)
	}
	wrong := sqlite.KeptHead{Position: 3, Hash: bytes.Repeat([]byte{1}, 32)}
	rep, err = s.VerifyReport(t.Context(), &wrong)
	if err != nil || len(rep.Breaks) != 1 || rep.Breaks[0].Position != 3 {
		t.Fatalf("with another hash kept at 3: %+v, %v; want one break at 3", rep.Breaks, err)
	}
}
