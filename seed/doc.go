// Package seed ships treatywatch's seed data inside the binary — the
// definitions of a few real treaties (treaties/*.yaml, with the CSV files
// they name), their real histories as read from public sources (the
// signatures of the UN Convention against Cybercrime in
// hanoi-convention.csv; UNCAC, BBNJ, the ATT with its declarations of
// provisional application, the TPNW and the Paris Agreement in
// histories/*.csv, every row with its source), and a README that says
// where every fact came from, how current each history is and what is not
// verified — and loads it into a ledger (Load).
//
// Load is the one way the seed enters a ledger, used by the `seed` and
// `serve` commands and by tests: it registers only the shipped treaties the
// ledger lacks, never amends a definition the ledger holds, and imports
// into the treaties the seed registered (now or in an earlier run) the
// history rows the ledger has never recorded. Tests that need a real
// treaty take its shipped definition (Definition) rather than a copy.
//
// Package seed must not decide or validate anything itself: package
// events/treatyfile parses the definitions, and the events.Ledger checks
// and records them as it does any user's input. It reads no flag or
// environment variable and keeps no state; the files are read-only and
// the same in every process.
package seed
