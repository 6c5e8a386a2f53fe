// Package export owns the file formats treatywatch hands to other tools
// (spreadsheets, pandas, R, feed readers): the CSV writer every CSV export
// goes through, which neutralises cells a spreadsheet would run as
// formulas, and the participant table and event log exports the command
// line prints and the dashboard downloads, byte for byte the same. It
// formats; it does not read the ledger or decide what is exported.
package export
