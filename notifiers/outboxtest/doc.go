// Package outboxtest is the contract test suite of the notifier's storage
// ports (notifiers.Store: OutboxStore, DeadLetterStore, ScheduleStore,
// SettingStore and LeaseStore): Run checks that a store keeps the
// promises those interfaces document — deliveries inserted once per
// subscription and dedup key, each channel's head in order, the outcome
// writes and the pacing, threads, redrives, dead letters, schedule runs
// recorded with their deliveries, settings set once, and a sender lease
// that one holder holds at a time and that fences every outcome write —
// so that every implementation (events/sqlite today, a PostgreSQL store
// later) is tested by the same code.
//
// It owns the contract's tests only. It must not test what one
// implementation adds beyond the interfaces (tables, migrations, files),
// and it must not be imported outside tests.
package outboxtest
