// Package untc reads the UN Treaty Collection's status files (the MTDSG
// XML behind each treaty's "Status" page at treaties.un.org), compares
// what they list with what the ledger holds, records what the ledger
// lacks, and watches a status file on a schedule.
//
// Parse turns the bytes of a status file — declared ISO-8859-1, decoded
// here without a new dependency — into a File: the columns the header
// names, one Row per participant with its acts (date and kind, from the
// date cell's mark), the footnote numbers of each name, and the header's
// counts of signatories and parties, with a warning when they disagree
// with what was read. A file that is not a status file (an HTML
// maintenance page, another XML document) is an error that says so.
//
// Compare resolves the participants through the ledger's directory and
// sorts each act into missing (to record), unchanged, conflicting (the
// ledger has the act with another date or kind: a correction is an
// officer's decision, so it is reported, never written) and undone (a
// bracketed date in the file). Import records the missing acts through
// events.Ledger.Import — the one validation and recording path of every
// import — in one transaction, so an import is all or nothing, and a
// second import of the same file records nothing.
//
// Fetcher gets a status file over HTTP(S) with a timeout, a size limit
// and conditional requests; Watcher polls one on a cron schedule and
// imports each new version, logging (and going on after) a file it
// cannot read.
//
// Package untc lives under cmd/ because it is an adapter for an outside
// source, like the HTTP layer: it fetches over the network and runs a
// cron schedule, which package events must not do. It decides nothing
// itself — every act goes through the ledger — and reads no environment.
package untc
