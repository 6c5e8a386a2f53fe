// Package seed ships treatywatch's seed data inside the binary: the
// definitions of a few real treaties (treaties/*.yaml, with the CSV files
// they name), the signatures of the UN Convention against Cybercrime as
// read from public sources (hanoi-convention.csv), and a README that says
// where every fact came from and what is not verified.
//
// Package seed owns those files and nothing else. It must not parse,
// validate or record them: package events/treatyfile parses the
// definitions, and the application layer decides whether and how to load
// them into a ledger. The files are read-only and the same in every
// process.
package seed
