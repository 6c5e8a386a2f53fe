package postgres

// The advisory locks the store takes (pg_advisory_xact_lock, one bigint
// key each, held to the end of the taking transaction). Every key in use
// is here, so that two never clash: add new ones below.
const (
	// lockAppend serialises appends to the event log: Append takes it
	// before it reads the head, so that positions are assigned, and
	// committed, one transaction after another.
	lockAppend int64 = 0x7477_0001 // "tw" 1
	// lockMigrate serialises migrations.
	lockMigrate int64 = 0x7477_0002
	// lockEnqueue serialises the writes of notify_deliveries (outbox.go),
	// so that delivery ids commit in id order and the inserts of two
	// instances never deadlock.
	lockEnqueue int64 = 0x7477_0010
)
