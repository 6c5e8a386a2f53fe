package postgres

import (
	"errors"
	"fmt"
)

// ErrSchemaTooNew is returned (wrapped in a *SchemaTooNewError) by Open when
// the database was written by a newer treatywatch, whose schema this binary
// does not know.
var ErrSchemaTooNew = errors.New("database schema is newer than this treatywatch understands")

// SchemaTooNewError says which schema version the database has and the
// highest this binary knows. It wraps ErrSchemaTooNew.
type SchemaTooNewError struct {
	// Database names the database (host, port and name; never a password).
	Database string
	// Version is the database's schema version.
	Version int
	// Max is the highest migration number this binary knows.
	Max int
}

// Error says both versions and what to do.
func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("%s: database schema version %d is newer than this treatywatch understands (max %d): upgrade treatywatch", e.Database, e.Version, e.Max)
}

// Unwrap returns ErrSchemaTooNew.
func (e *SchemaTooNewError) Unwrap() error { return ErrSchemaTooNew }
