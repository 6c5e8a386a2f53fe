package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treatywatch/treatywatch/events/postgres"
)

// EnvURL is the environment variable naming an existing server to use
// instead of a throwaway cluster.
const EnvURL = "TREATYWATCH_TEST_POSTGRES"

// server is the server of this test binary, started once.
type server struct {
	once sync.Once
	err  error
	// admin is the URL of a role that may create databases, on its
	// maintenance database.
	admin *url.URL
	// cluster is the throwaway cluster, nil when EnvURL names the server.
	cluster *cluster

	// admins are connections to the admin URL, for creating and dropping
	// the tests' databases.
	admins *pgxpool.Pool
	poolMu sync.Mutex
	// migrated is the template of NewMigratedDatabase, made once.
	migrated struct {
		once sync.Once
		name string
		err  error
	}
	// spares are copies of it made ahead (spares.go).
	spares spares
}

// srv is the one server of the test binary: a test binary is one
// process, and TestMain must stop what the tests started.
var srv server //nolint:gochecknoglobals // one cluster per test binary, stopped by Main

// Main runs the tests of m, stops the cluster they started, if any, and
// exits with their status. Call it from TestMain.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests of m, stops the cluster they started, if any, and
// returns their status (1 if the cluster would not stop): Main, for a
// TestMain that does more before it exits.
func Run(m *testing.M) int {
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// stop drops the migrated template on a server of EnvURL, closes the
// admin connections, and stops the throwaway cluster if one was started.
func stop() error {
	var errs []error
	if srv.admin != nil {
		srv.spares.stop(srv.admin)
	}
	if srv.cluster == nil && srv.migrated.name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		name := pgx.Identifier{srv.migrated.name}.Sanitize()
		if err := exec1(ctx, srv.admin, `ALTER DATABASE `+name+` WITH IS_TEMPLATE false`); err != nil {
			errs = append(errs, fmt.Errorf("drop the template database %s: %w", srv.migrated.name, err))
		} else if err := exec1(ctx, srv.admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			errs = append(errs, fmt.Errorf("drop the template database %s: %w", srv.migrated.name, err))
		}
	}
	if srv.admins != nil {
		srv.admins.Close()
	}
	if srv.cluster != nil {
		errs = append(errs, srv.cluster.stop())
	}
	return errors.Join(errs...)
}

// NewDatabase creates a new, empty database (UTF8, collation C) on the
// test binary's server, starting the server first if needed, and returns
// the URL to connect to it as a superuser (or as the role of
// $TREATYWATCH_TEST_POSTGRES). The database is dropped when the test ends.
// It fails the test, saying what is missing, when no server can be had.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, adminURL(tb), "template0", sanitize(tb.Name()))
}

// NewMigratedDatabase is NewDatabase for a database that already holds
// treatywatch's schema, as events/postgres.Open leaves a new database: it
// is created with CREATE DATABASE … TEMPLATE from a database that the
// test binary migrated once, with Open itself, on its first call. The
// copy is the template's, file for file (tables, triggers, functions, the
// schema version): opening it applies nothing. Tests of the migrations
// themselves use NewDatabase.
func NewMigratedDatabase(tb testing.TB) string {
	tb.Helper()
	admin := adminURL(tb)
	srv.migrated.once.Do(func() { srv.migrated.name, srv.migrated.err = migratedTemplate(admin) })
	if srv.migrated.err != nil {
		tb.Fatalf("pgtest: the migrated template database: %v", srv.migrated.err)
	}
	srv.spares.run(admin, srv.migrated.name)
	name, err := srv.spares.take(tb, admin, sanitize(tb.Name()))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return cleanedUp(tb, admin, name)
}

// migratedTemplate creates a database, migrates it with events/postgres'
// Open, and makes it a template nobody connects to (CREATE DATABASE …
// TEMPLATE refuses a template with other sessions). It returns its name.
func migratedTemplate(admin *url.URL) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := uniqueName("template")
	if err := createDatabase(ctx, admin, name, "template0"); err != nil {
		return "", err
	}
	u := *admin
	u.Path = "/" + name
	s, err := postgres.Open(ctx, u.String(), postgres.Config{}, nil)
	if err != nil {
		return "", fmt.Errorf("migrate %s: %w", name, err)
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	if err := exec1(ctx, admin, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`); err != nil {
		return "", fmt.Errorf("make %s a template: %w", name, err)
	}
	return name, nil
}

// uniqueName is a database name made of what and random digits.
func uniqueName(what string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "tw_" + what + "_" + hex.EncodeToString(b[:])
}

// newDatabase creates a database from template, named after the test, and
// drops it when the test ends.
func newDatabase(tb testing.TB, admin *url.URL, template, what string) string {
	tb.Helper()
	name := uniqueName(what)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := createDatabase(ctx, admin, name, template); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return cleanedUp(tb, admin, name)
}

// cleanedUp drops the database name when the test ends, and returns its
// URL.
func cleanedUp(tb testing.TB, admin *url.URL, name string) string {
	tb.Helper()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := exec1(ctx, admin, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u := *admin
	u.Path = "/" + name
	return u.String()
}

// createDatabase creates the database name as a copy of template.
func createDatabase(ctx context.Context, admin *url.URL, name, template string) error {
	// FILE_COPY (PostgreSQL 15 and later) copies the template's files
	// rather than writing them through the WAL: several times faster with
	// fsync off. An older server is asked without it.
	create := `CREATE DATABASE ` + pgx.Identifier{name}.Sanitize() + ` TEMPLATE ` + pgx.Identifier{template}.Sanitize() + ` ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`
	if err := exec1(ctx, admin, create+` STRATEGY FILE_COPY`); err != nil {
		if err2 := exec1(ctx, admin, create); err2 != nil {
			return fmt.Errorf("create database %s from %s: %w", name, template, errors.Join(err, err2))
		}
	}
	return nil
}

// AdminURL returns the URL of the server's maintenance database as a role
// that may create databases and roles, starting the server first if
// needed. Tests that create roles name them uniquely: roles belong to the
// whole server, which other tests share.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	return adminURL(tb).String()
}

// WithUser returns dbURL with its user and password replaced (no
// password when password is "").
func WithUser(tb testing.TB, dbURL, user, password string) string {
	tb.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatalf("pgtest: parse %q: %v", dbURL, err)
	}
	if password == "" {
		u.User = url.User(user)
	} else {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

func adminURL(tb testing.TB) *url.URL {
	tb.Helper()
	srv.once.Do(func() { srv.admin, srv.cluster, srv.err = start() })
	if srv.err != nil {
		tb.Fatalf("pgtest: no PostgreSQL server for the tests: %v", srv.err)
	}
	return srv.admin
}

// exec1 runs one statement on one of the admin connections to u (the
// server's admin URL), opening them on first use.
func exec1(ctx context.Context, u *url.URL, sql string) error {
	pool, err := adminPool(ctx, u)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, sql)
	return err
}

// adminPool returns the admin connections, made on first use. The tests
// of one binary share one server, hence one pool.
func adminPool(ctx context.Context, u *url.URL) (*pgxpool.Pool, error) {
	srv.poolMu.Lock()
	defer srv.poolMu.Unlock()
	if srv.admins != nil {
		return srv.admins, nil
	}
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	srv.admins = pool
	return pool, nil
}

// sanitize keeps the letters and digits of a test name, lower case, at
// most 40 of them, for a database name.
func sanitize(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// start returns the server to use: $TREATYWATCH_TEST_POSTGRES, or a new
// throwaway cluster.
func start() (*url.URL, *cluster, error) {
	if v := os.Getenv(EnvURL); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, nil, fmt.Errorf("$%s is not a postgres:// URL", EnvURL)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec1(ctx, u, "SELECT 1"); err != nil {
			return nil, nil, fmt.Errorf("connect to the server of $%s: %w", EnvURL, err)
		}
		return u, nil, nil
	}
	c, err := startCluster()
	if err != nil {
		return nil, nil, err
	}
	return c.url, c, nil
}

// cluster is a throwaway PostgreSQL cluster.
type cluster struct {
	bin     string // directory of initdb, pg_ctl, postgres
	dir     string // temporary folder: data/, the log, the socket
	data    string
	logPath string
	asUser  string // "postgres" when run as root, else ""
	url     *url.URL
}

// startCluster finds or installs the server binaries and starts a cluster.
func startCluster() (*cluster, error) {
	bin, err := serverBinaries()
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("the tests run as root and initdb refuses root, but there is no user postgres to run it as (create one: useradd --system postgres, or run the tests as a normal user, or set $%s)", EnvURL)
		}
		c.asUser = "postgres"
	}
	c.dir, err = os.MkdirTemp("", "treatywatch-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("temporary folder for the cluster: %w", err)
	}
	if c.asUser != "" {
		if err := chownTo(c.dir, c.asUser); err != nil {
			_ = os.RemoveAll(c.dir)
			return nil, err
		}
	}
	c.data = filepath.Join(c.dir, "data")
	c.logPath = filepath.Join(c.dir, "server.log")
	if err := c.initdb(); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, err
	}
	var lastErr error
	for range 5 { // a free port may be taken between choosing and binding it
		port, err := freePort()
		if err != nil {
			_ = os.RemoveAll(c.dir)
			return nil, err
		}
		if lastErr = c.start(port); lastErr == nil {
			c.url = &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Path: "/postgres", RawQuery: "sslmode=disable"}
			return c, nil
		}
	}
	_ = os.RemoveAll(c.dir)
	return nil, lastErr
}

// serverBinaries returns the directory of initdb and pg_ctl, installing
// the postgresql package with apt-get when they are absent and that is
// possible.
func serverBinaries() (string, error) {
	return finder{pgConfig: "pg_config", glob: "/usr/lib/postgresql/*/bin", lookPath: exec.LookPath, install: aptInstall}.serverBinaries()
}

// finder looks for the server binaries: where pg_config says, then in
// the newest directory matching glob, then on $PATH; and installs them
// with install when they are nowhere.
type finder struct {
	pgConfig string
	glob     string
	lookPath func(string) (string, error)
	// install installs them, or says why it could not.
	install func() (why string, err error)
}

func (f finder) serverBinaries() (string, error) {
	if dir, ok := f.find(); ok {
		return dir, nil
	}
	why, err := f.install()
	if err != nil {
		return "", fmt.Errorf("PostgreSQL's server binaries (initdb, pg_ctl, postgres) are not installed (looked in `pg_config --bindir`, %s and $PATH), and %s: %w; install Debian's postgresql package (apt-get install postgresql) or set $%s to a server's URL", f.glob, why, err, EnvURL)
	}
	if dir, ok := f.find(); ok {
		return dir, nil
	}
	return "", fmt.Errorf("apt-get installed postgresql but initdb and pg_ctl are still not found in %s; set $%s to a server's URL", f.glob, EnvURL)
}

func (f finder) find() (string, bool) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, f.pgConfig, "--bindir").Output(); err == nil { //nolint:gosec // G204: pg_config, or a test's stand-in
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, true
		}
	}
	dirs, _ := filepath.Glob(f.glob)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, true
		}
	}
	if p, err := f.lookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), true
	}
	return "", false
}

// versionOf returns NN of /usr/lib/postgresql/NN/bin.
func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// aptInstall installs the postgresql package when this process may. It
// returns why it could not otherwise.
func aptInstall() (string, error) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "there is no apt-get to install them with", errors.New("apt-get not found")
	}
	var prefix []string
	if os.Geteuid() != 0 {
		if err := exec.CommandContext(context.Background(), "sudo", "-n", "true").Run(); err != nil {
			return "this user is not root and has no passwordless sudo to install them with", err
		}
		prefix = []string{"sudo", "-n"}
	}
	logf, err := os.CreateTemp("", "treatywatch-pgtest-apt-*.log")
	if err != nil {
		return "the apt-get log could not be created", err
	}
	defer logf.Close()
	for _, args := range [][]string{{"apt-get", "update", "-qq"}, {"apt-get", "install", "-y", "-qq", "postgresql"}} {
		argv := append(append(append([]string{}, prefix...), "env", "DEBIAN_FRONTEND=noninteractive"), args...)
		cmd := exec.CommandContext(context.Background(), argv[0], argv[1:]...) //nolint:gosec // fixed apt-get arguments
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Run(); err != nil {
			return fmt.Sprintf("%s failed (see %s)", strings.Join(args, " "), logf.Name()), err
		}
	}
	return "", nil
}

// chownTo gives dir to the named user.
func chownTo(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("give the cluster's folder to %s: %w", name, err)
	}
	return nil
}

// command returns the command running the binary name of the cluster's
// server, as the postgres user when the test runs as root, with its output
// appended to the log file.
func (c *cluster) command(ctx context.Context, logf *os.File, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", path}, args...)...) //nolint:gosec // the server's own binaries, found by findBinaries
	} else {
		cmd = exec.CommandContext(ctx, path, args...) //nolint:gosec // the server's own binaries, found by findBinaries
	}
	cmd.Dir = c.dir
	cmd.Stdin = nil // /dev/null
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a server binary to completion, its output to the log file.
func (c *cluster) run(timeout time.Duration, name string, args ...string) error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open the cluster's log: %w", err)
	}
	defer logf.Close()
	if c.asUser != "" {
		if err := chownFile(logf, c.asUser); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.command(ctx, logf, name, args...).Run(); err != nil {
		return fmt.Errorf("%s %s: %w; its output:\n%s", name, strings.Join(args, " "), err, c.tail())
	}
	return nil
}

func chownFile(f *os.File, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return f.Chown(uid, gid)
}

// tail returns the end of the cluster's log.
func (c *cluster) tail() string {
	b, _ := os.ReadFile(c.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (c *cluster) initdb() error {
	return c.run(2*time.Minute, "initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
}

// start starts the server on port and waits until it accepts connections.
func (c *cluster) start(port int) error {
	opts := strings.Join([]string{
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + c.dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=128MB",
	}, " ")
	if err := c.run(time.Minute, "pg_ctl", "start", "-D", c.data, "-w", "-t", "60", "-l", c.logPath, "-o", opts); err != nil {
		c.kill()
		return err
	}
	return nil
}

// stop stops the cluster at once (its data is thrown away), kills the
// postmaster if that fails, and removes the folder.
func (c *cluster) stop() error {
	err := c.run(30*time.Second, "pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w")
	if err != nil {
		c.kill()
	}
	if rerr := os.RemoveAll(c.dir); rerr != nil {
		return errors.Join(err, rerr)
	}
	return nil // killed if need be; nothing left to do
}

// kill kills the postmaster named in postmaster.pid, if any.
func (c *cluster) kill() {
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 1 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// freePort returns a loopback port that nothing listens on now.
func freePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
