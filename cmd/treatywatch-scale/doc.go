// Command treatywatch-scale measures the built treatywatch binary as whole
// processes on ledgers of growing size, to show which costs grow with the
// work and which with the log.
//
// It builds, once, into a cache folder outside the repository (default
// $TMPDIR/treatywatch-scale): a ledger holding only the Hanoi Convention
// (its definition and 69 dated signatures from the shipped seed, plus
// seven hypothetical acts: ratifications, declarations, a reservation, an
// objection — 77 events), and for each size (10k, 100k, 1m) a ledger of
// 1,000 synthetic treaties sharing that many events, followed by the same
// Hanoi Convention. Every generated ledger is checked with the binary's
// verify before it is used; reruns reuse the cache.
//
// On a fresh copy of each ledger it then times, after warm-up runs, each
// of `status XVIII-16`, `status XVIII-16 --json`, `log --treaty XVIII-16`,
// `record declaration --treaty XVIII-16 ...` (a new act each run), and the
// whole-log `verify` and `replay`: wall time, user+sys CPU and peak
// resident memory of the finished process (getrusage of the child). For
// `serve` it measures the time from the process start to the first 200
// from /readyz on a never-served copy and on a restart (start, ready,
// SIGTERM, start again), the resident memory once ready (/proc VmRSS and
// VmHWM, and the Go heap in use from /metrics), and the time from SIGTERM
// to exit. It prints markdown tables of medians (with minimum and
// maximum) and each figure's ratio to the Hanoi-only ledger.
//
//	treatywatch-scale [--bin bin/treatywatch] [--scale 10k,100k,1m] [--runs 3] [--warmup 1]
//	    [--commands status,status-json,log,record,verify,replay,serve] [--cache DIR] [--json FILE]
package main
