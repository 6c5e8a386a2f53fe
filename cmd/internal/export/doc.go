// Package export owns the file formats treatywatch hands to other tools
// (spreadsheets, pandas, R): today the CSV writer every CSV export goes
// through, which neutralises cells a spreadsheet would run as formulas.
// It formats; it does not read the ledger or decide what is exported.
package export
