// Package pgtest gives tests a PostgreSQL server and a fresh database per
// test: an empty one (NewDatabase), or one that holds treatywatch's schema
// (NewMigratedDatabase), copied with CREATE DATABASE … TEMPLATE from a
// database the test binary migrated once with events/postgres.Open, a few
// of them created ahead while the tests run.
//
// The server is the one at $TREATYWATCH_TEST_POSTGRES when that is set (a
// URL, e.g. postgres://postgres@127.0.0.1:5432/postgres, of a role that may
// CREATE DATABASE). Otherwise pgtest starts a throwaway cluster from
// Debian's PostgreSQL server binaries (pg_config --bindir, or the newest
// /usr/lib/postgresql/NN/bin): initdb in a temporary folder, trust
// authentication, listening on 127.0.0.1 only, on a free port, with fsync
// off, run as the unprivileged user postgres when the test runs as root
// (initdb refuses root). Its output goes to a log file in that folder,
// never to the test's pipes. When the binaries are absent and the test
// runs as root (or with passwordless sudo) with apt-get, pgtest installs
// the postgresql package; when none of that works the test fails with a
// message saying exactly what is missing. It never skips.
//
// One cluster serves a whole test binary: it starts on the first call to
// NewDatabase and stops when Main's (or Run's) tests are done. Use it as
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// or, in a TestMain that does more, code := pgtest.Run(m) for m.Run().
//
// and, in each test, url := pgtest.NewMigratedDatabase(t) (or
// pgtest.NewDatabase(t) to test the migrations themselves).
package pgtest
