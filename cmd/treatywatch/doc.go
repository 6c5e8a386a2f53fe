// Command treatywatch is the treaty ledger's command line: treaty officers
// record acts with it, analysts replay and query the log, and operators
// run the service.
//
// It is the composition root: flags and environment variables are read
// here and nowhere else; the commands call the same application functions
// (events.Ledger, projections) as the HTTP API, and contain no domain logic.
// It also chooses the storage backend (backend.go: an SQLite file, or
// PostgreSQL for a postgres:// URL) and wires it into every port.
// See README.md for every command with an example, and the exit codes.
package main
