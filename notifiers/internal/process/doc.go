// Package process tells whether the process that holds a lease in the
// ledger's database (the notifier's sender lease, a consumer group's
// claim on the log) has provably ended, so that a successor takes over at
// once instead of waiting for the lease to expire. It only reads the
// kernel's view of processes; it never signals, and where it cannot be
// sure (another machine, another PID namespace, not Linux) it says no.
package process
