// Package export owns the file formats treatywatch hands to other tools
// (spreadsheets, pandas, R, feed readers, another treatywatch): the CSV
// writer every CSV export goes through, which neutralises cells a
// spreadsheet would run as formulas; the participant table and event log
// exports the command line prints, the API streams and the dashboard
// downloads, byte for byte the same; and the log archive (LogArchive)
// with its reader (ReadArchive), which `import-log` imports. It formats
// and parses, and copies the log from the reader its caller passes
// (Copy); it does not open the ledger, decide who may export, or write to
// it (Store.Import does).
package export
