// Package offsettest is the contract test suite of pubsub.OffsetStore:
// Run checks that a store keeps the promises the interface documents —
// an offset created at 0 by the first claim, one holder per (topic,
// group) at a time, a claim that lapses after its Until or gives way to a
// holder whose process ended, commits and renewals only by the holder, an
// offset kept across releases — so that every implementation
// (events/sqlite today, a PostgreSQL store later) is tested by the same
// code.
//
// It owns the contract's tests only. It must not test what one
// implementation adds beyond the interface, and it must not be imported
// outside tests.
package offsettest
