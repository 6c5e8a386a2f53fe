package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/events/treatyfile"
	"github.com/treatywatch/treatywatch/seed"
)

// generatorVersion names the shape of the generated ledgers in the names
// of the cached files: change it when the shape changes, so that a rerun
// builds them again instead of measuring stale ones.
const generatorVersion = 1

// hanoi is the treaty every measured command is about.
const hanoi = "XVIII-16"

// todayRFC3339 is "today" for the generated acts and for every measured
// command (TREATYWATCH_NOW), so that runs are repeatable whatever the date.
const todayRFC3339 = "2026-11-27T12:00:00Z"

func today() time.Time {
	t, _ := time.Parse(time.RFC3339, todayRFC3339)
	return t
}

// ledgerSpec is one ledger to measure: the Hanoi Convention alone
// (treaties == 0), or the Hanoi Convention after treaties synthetic
// treaties of perTreaty events each.
type ledgerSpec struct {
	name      string // "hanoi", "10k", "1m"
	treaties  int
	perTreaty int
}

func (s ledgerSpec) events() int { return s.treaties * s.perTreaty }

// file is the cached ledger's file name: the scale, the shape and the
// generator version, so that a different shape never reuses it.
func (s ledgerSpec) file() string {
	if s.treaties == 0 {
		return fmt.Sprintf("hanoi-v%d.db", generatorVersion)
	}
	return fmt.Sprintf("%s-%dx%d-v%d.db", s.name, s.treaties, s.perTreaty, generatorVersion)
}

// parseScale reads a size like 10k, 100k, 1m or 250000: the number of
// synthetic events, split evenly over the treaties.
func parseScale(s string, treaties int) (ledgerSpec, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	num, mult := name, 1
	switch {
	case strings.HasSuffix(name, "k"):
		num, mult = strings.TrimSuffix(name, "k"), 1_000
	case strings.HasSuffix(name, "m"):
		num, mult = strings.TrimSuffix(name, "m"), 1_000_000
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return ledgerSpec{}, fmt.Errorf("scale %q: want a size such as 10k, 100k, 1m or 250000", s)
	}
	total := n * mult
	if total%treaties != 0 || total/treaties < 2 {
		return ledgerSpec{}, fmt.Errorf("scale %q: %d events do not split into %d treaties of at least 2 events each", s, total, treaties)
	}
	return ledgerSpec{name: name, treaties: treaties, perTreaty: total / treaties}, nil
}

// ensureLedger returns the path of the cached ledger of spec, building it
// (and the Hanoi-only ledger it copies the Hanoi Convention from) when it
// is missing, and checking its hash chain with the binary's verify. A
// cached ledger is opened once by the store, so that migrations added
// since it was built are applied before it is copied and measured.
func ensureLedger(ctx context.Context, cache, bin string, spec ledgerSpec, progress io.Writer) (string, error) {
	path := filepath.Join(cache, spec.file())
	if _, err := os.Stat(path); err == nil {
		return path, migrate(ctx, path)
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return "", err
	}
	hanoiPath := ""
	if spec.treaties > 0 {
		var err error
		if hanoiPath, err = ensureLedger(ctx, cache, bin, ledgerSpec{name: "hanoi"}, progress); err != nil {
			return "", err
		}
	}
	tmp := path + ".building"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		_ = os.Remove(p)
	}
	fmt.Fprintf(progress, "building %s (%d synthetic events) ...\n", path, spec.events())
	t0 := time.Now()
	var err error
	if spec.treaties == 0 {
		err = buildHanoi(ctx, tmp)
	} else {
		err = buildScale(ctx, tmp, hanoiPath, spec)
	}
	if err != nil {
		return "", fmt.Errorf("build %s: %w", spec.file(), err)
	}
	if out, err := runQuiet(ctx, bin, "--db", tmp, "verify"); err != nil {
		return "", fmt.Errorf("verify the generated %s: %w\n%s", spec.file(), err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "built and verified %s in %s\n", path, time.Since(t0).Round(time.Millisecond))
	return path, nil
}

func openStore(ctx context.Context, path string) (*sqlite.Store, error) {
	return sqlite.Open(ctx, path, sqlite.Config{}, nil)
}

func migrate(ctx context.Context, path string) error {
	st, err := openStore(ctx, path)
	if err != nil {
		return err
	}
	return st.Close()
}

// buildHanoi writes the Hanoi Convention as the shipped seed records it —
// its definition and its 69 dated signatures — plus hypothetical acts of
// the other kinds (none is deposited yet): three ratifications, two
// declarations, a reservation and an objection. Everything goes through
// the Ledger, so every act passes the checks a user's would.
func buildHanoi(ctx context.Context, path string) error {
	st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := events.NewLedger(st, events.LedgerConfig{Now: today})
	if err != nil {
		return err
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		return err
	}
	files := seed.Files()
	def, err := treatyfile.ParseFS(files, seed.TreatiesDir+"/xviii-16-hanoi.yaml", dir)
	if err != nil {
		return err
	}
	if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "seed", Source: "seed/treaties"}); err != nil {
		return err
	}
	f, err := files.Open(seed.HanoiCSV)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := events.ParseImportCSV(f)
	if err != nil {
		return err
	}
	if _, err := l.Import(ctx, hanoi, rows, events.ImportOptions{Meta: events.Metadata{Actor: "seed"}}); err != nil {
		return err
	}
	// Hypothetical acts by the first signatories.
	a, b, c := rows[0].Participant, rows[1].Participant, rows[2].Participant
	for _, in := range []events.RecordInput{
		{Action: "ratification", Participant: a, Date: "2026-03-02"},
		{Action: "declaration", Participant: a, Date: "2026-03-02", Note: "hypothetical: article 2"},
		{Action: "ratification", Participant: b, Date: "2026-04-01"},
		{Action: "reservation", Participant: b, Date: "2026-04-01", Note: "hypothetical: article 63(2)"},
		{Action: "ratification", Participant: c, Date: "2026-05-04"},
		{Action: "declaration", Participant: c, Date: "2026-05-04", Note: "hypothetical: article 40"},
		{Action: "objection", Participant: c, Subject: b, Date: "2026-06-01", Note: "hypothetical: to the reservation"},
	} {
		in.Treaty = hanoi
		in.Meta = events.Metadata{Actor: "treatywatch-scale"}
		if _, err := l.Record(ctx, in); err != nil {
			return fmt.Errorf("record %s by %s: %w", in.Action, in.Participant, err)
		}
	}
	return nil
}

// buildScale writes spec's synthetic treaties through the store's Append,
// about 10,000 events per transaction, then the events of the Hanoi-only
// ledger at hanoiPath (so that the Hanoi Convention is the newest treaty,
// at the end of the log).
//
// Each synthetic treaty has the shape of the ledger of the projections
// benchmarks (projections/bench_test.go): a registration, then acts by
// the reference participants in rounds — signatures, then ratifications,
// then declarations, reservations, objections and territorial
// applications — a few days apart.
func buildScale(ctx context.Context, path, hanoiPath string, spec ledgerSpec) error {
	st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := events.NewRegistry()
	dir, err := events.NewDirectory()
	if err != nil {
		return err
	}
	parts := dir.All()
	start := events.MustDate("2000-01-01")
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // G404: a reproducible synthetic ledger, not a secret
	meta := events.Metadata{Actor: "bench"}
	var batch []events.StreamAppend
	inBatch := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := st.Append(ctx, batch...)
		batch, inBatch = nil, 0
		return err
	}
	for t := range spec.treaties {
		def := events.Definition{
			ID: fmt.Sprintf("BENCH-%04d", t), Title: fmt.Sprintf("Synthetic Convention %d", t), ShortTitle: fmt.Sprintf("Synthetic %d", t),
			Adopted: start, RequiresSignature: true,
			EntryIntoForce: events.Rule{Instruments: 60 + rng.IntN(60), Counts: []events.Action{events.Ratification, events.Acceptance, events.Approval, events.Accession},
				Delay: events.Period{N: 90, Unit: events.Days}, LaterParties: &events.Period{N: 30, Unit: events.Days}},
			Withdrawal: events.Withdrawal{TakesEffect: events.Period{N: 1, Unit: events.Years}},
		}
		recs := make([]events.Record, 0, spec.perTreaty)
		r, err := reg.NewRecord(&events.TreatyRegistered{Definition: def}, events.Date{}, meta)
		if err != nil {
			return err
		}
		recs = append(recs, r)
		day := 0
		for i := 1; i < spec.perTreaty; i++ {
			p := parts[i%len(parts)]
			var a events.Action
			switch round := i / len(parts); round {
			case 0:
				a = events.Signature
			case 1:
				a = events.Ratification
			default:
				a = []events.Action{events.Declaration, events.Reservation, events.Objection, events.TerritorialApplication}[rng.IntN(4)]
			}
			day += rng.IntN(3)
			act := events.Act{Action: a, Participant: p.Name, ISO3: p.ISO3, Date: start.AddDays(day)}
			r, err := reg.NewRecord(&act, act.Date, events.Metadata{Actor: "bench", Reference: fmt.Sprintf("C.N.%d.2000.TREATIES-%d", i, t)})
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		batch = append(batch, events.StreamAppend{Stream: events.TreatyStream(def.ID), Records: recs})
		if inBatch += len(recs); inBatch >= 10_000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return copyEvents(ctx, hanoiPath, st)
}

// copyEvents appends every event of the ledger at from to st, in order,
// as new records (st computes their positions, versions and hashes).
func copyEvents(ctx context.Context, from string, st *sqlite.Store) error {
	src, err := sqlite.Open(ctx, from, sqlite.Config{}, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	versions := map[string]int64{}
	var parts []events.StreamAppend
	var after int64
	for {
		page, err := src.ReadAll(ctx, after, 1000)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			after = e.Position
			rec := events.Record{Type: e.Type, SchemaVersion: e.SchemaVersion, ValidDate: e.ValidDate, Meta: e.Meta, Payload: append([]byte(nil), e.Payload...)}
			if n := len(parts); n > 0 && parts[n-1].Stream == e.Stream {
				parts[n-1].Records = append(parts[n-1].Records, rec)
				continue
			}
			if n := len(parts); n > 0 {
				versions[parts[n-1].Stream] += int64(len(parts[n-1].Records))
			}
			parts = append(parts, events.StreamAppend{Stream: e.Stream, ExpectedVersion: versions[e.Stream], Records: []events.Record{rec}})
		}
	}
	if len(parts) == 0 {
		return errors.New("the Hanoi-only ledger is empty")
	}
	_, err = st.Append(ctx, parts...)
	return err
}
