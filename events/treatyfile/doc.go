// Package treatyfile reads and writes treaty definition files: the YAML
// documents that describe a treaty's identity, signature window and
// entry-into-force rule, parsed into an events.Definition.
//
// The schema is a public contract (see README, "Treaty definition files").
// Parse walks the YAML node tree itself, so that every problem it reports
// names the field path and the line: unknown and duplicate keys, missing
// required keys, wrong types, impossible dates, periods it cannot read,
// instruments that are not consents to be bound, participants it cannot
// resolve. It reports every problem it finds, not only the first, as
// Errors; each *Error wraps events.ErrInvalid. Participant names in a
// group or share are resolved to their canonical names through an
// *events.Directory. A share's weights may live in a CSV file named by
// weights_file, read from an fs.FS rooted at the YAML file's folder, so
// definitions embedded with the binary (package seed) parse like files on
// disk. Marshal writes a definition back in the same schema.
//
// Package treatyfile owns the file format only. It must not decide
// anything about a treaty's history, evaluate entry into force, or touch
// a store: it turns bytes into a validated events.Definition and back.
// It reads no files other than the ones it is given or pointed to, and no
// environment.
package treatyfile
