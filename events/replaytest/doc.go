// Package replaytest is the contract test suite of
// events.SeenRequestStore: Run checks that a store accepts a request
// once, refuses it again until it expires, forgets it after, and accepts
// one of many concurrent copies, so that every implementation
// (events/sqlite today, a PostgreSQL store later) is tested by the same
// code.
//
// It owns the contract's tests only. It must not test what one
// implementation adds beyond the interface, and it must not be imported
// outside tests.
package replaytest
