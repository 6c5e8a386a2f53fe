package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Creating a database is most of what a test's database costs (CREATE
// DATABASE copies the template's files and takes checkpoints: 0.1 s on
// an idle machine, 0.4 s on a busy one), and the tests of a package
// mostly run one after another. So, once the migrated template exists,
// spareCreators goroutines keep up to spareDatabases copies of it created
// ahead, while the tests run; NewMigratedDatabase takes one (renamed
// after its test) instead of waiting for its own. Each is still a fresh
// copy of the template that no one has connected to.
const (
	spareDatabases = 3
	spareCreators  = 2
)

// spare is a database created ahead from the template, or why it could
// not be.
type spare struct {
	name string
	err  error
}

// spares are the databases created ahead of NewMigratedDatabase's calls.
type spares struct {
	start  sync.Once
	ready  chan spare
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// run starts the creators, once.
func (s *spares) run(admin *url.URL, template string) {
	s.start.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel = cancel
		s.ready = make(chan spare, spareDatabases)
		for range spareCreators {
			s.wg.Go(func() {
				for ctx.Err() == nil {
					name := uniqueName("spare")
					cctx, done := context.WithTimeout(ctx, time.Minute)
					err := createDatabase(cctx, admin, name, template)
					done()
					if err != nil && ctx.Err() != nil {
						return // stopping
					}
					select {
					case s.ready <- spare{name: name, err: err}:
					case <-ctx.Done():
						if err == nil {
							dropDatabase(admin, name)
						}
						return
					}
					if err != nil { // the test that takes it fails with it; try again a little later
						select {
						case <-time.After(100 * time.Millisecond):
						case <-ctx.Done():
							return
						}
					}
				}
			})
		}
	})
}

// take returns a spare database, renamed after the test, waiting for one
// to be created if none is ready.
func (s *spares) take(tb testing.TB, admin *url.URL, what string) (string, error) {
	tb.Helper()
	var sp spare
	select {
	case sp = <-s.ready:
	case <-time.After(2 * time.Minute):
		return "", fmt.Errorf("no database created from the template within 2 minutes")
	}
	if sp.err != nil {
		return "", sp.err
	}
	name := uniqueName(what)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := exec1(ctx, admin, `ALTER DATABASE `+pgx.Identifier{sp.name}.Sanitize()+` RENAME TO `+pgx.Identifier{name}.Sanitize()); err != nil {
		dropDatabase(admin, sp.name)
		return "", fmt.Errorf("rename the database %s to %s: %w", sp.name, name, err)
	}
	return name, nil
}

// stop stops the creators and drops the spares no test took.
func (s *spares) stop(admin *url.URL) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
	for {
		select {
		case sp := <-s.ready:
			if sp.err == nil {
				dropDatabase(admin, sp.name)
			}
		default:
			return
		}
	}
}

// dropDatabase drops a database, if it exists, disconnecting its
// sessions; an error is ignored (the server may be stopping).
func dropDatabase(admin *url.URL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = exec1(ctx, admin, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
}
