package postgres

// LockAppend is the append lock's key, for tests that hold it.
const LockAppend = lockAppend
