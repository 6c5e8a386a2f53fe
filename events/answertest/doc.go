// Package answertest is the contract test suite of events.AnswerStore:
// Run checks that a store keeps a write's answer if and only if it keeps
// the write's events, replaces an answer under its key, dates answers,
// and purges the old ones, so that every implementation (events/sqlite
// today, a PostgreSQL store later) is tested by the same code.
//
// It owns the contract's tests only. It must not test what one
// implementation adds beyond the interface, and it must not be imported
// outside tests.
package answertest
