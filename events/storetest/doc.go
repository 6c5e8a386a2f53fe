// Package storetest is the contract test suite of events.Store: Run checks
// that a Store keeps the promises its interface documents, so that every
// implementation (events/sqlite today, a PostgreSQL store later) is tested
// by the same code.
//
// It owns the contract's tests only. It must not test what one
// implementation adds beyond the interface (migrations, triggers,
// files), and it must not be imported outside tests.
package storetest
