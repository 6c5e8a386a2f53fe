package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"github.com/mattn/go-sqlite3"

	"github.com/treatywatch/treatywatch/events"
)

// Backup copies the whole database — the log and every other table — to
// a new file at dest with SQLite's online backup API, in one step from one
// read snapshot, so writers (a running serve, other processes) go on
// meanwhile and the copy is consistent. dest must not exist; it is created
// readable by its owner only. The copy is then opened and its hash chain
// verified: the report is the copy's. On any failure the partial copy is
// removed.
//
// The copy's sink secrets stay sealed with this store's secrets key
// (SecretsKeyFile), which is not copied: keep it apart from the backups.
func (s *Store) Backup(ctx context.Context, dest string) (VerifyReport, error) {
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return VerifyReport{}, &events.InvalidError{Field: "backup", Reason: fmt.Sprintf("%s exists: a backup goes to a new file", dest)}
	}
	if err != nil {
		return VerifyReport{}, fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return VerifyReport{}, fmt.Errorf("backup: %w", err)
	}
	rep, err := s.backup(ctx, dest)
	if err != nil {
		for _, p := range []string{dest, dest + "-wal", dest + "-shm"} {
			_ = os.Remove(p)
		}
		return VerifyReport{}, err
	}
	return rep, nil
}

func (s *Store) backup(ctx context.Context, dest string) (VerifyReport, error) {
	dst, err := sql.Open(driverName, fileURI(dest)+"?_busy_timeout=5000")
	if err != nil {
		return VerifyReport{}, fmt.Errorf("backup: %w", err)
	}
	dst.SetMaxOpenConns(1)
	defer dst.Close()
	dconn, err := dst.Conn(ctx)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("backup: %w", err)
	}
	defer dconn.Close()
	sconn, err := s.read.Conn(ctx)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("backup: %w", err)
	}
	defer sconn.Close()
	err = dconn.Raw(func(d any) error {
		return sconn.Raw(func(src any) error {
			dc, ok1 := d.(*sqlite3.SQLiteConn)
			sc, ok2 := src.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return errors.New("not SQLite connections")
			}
			b, err := dc.Backup("main", sc, "main")
			if err != nil {
				return err
			}
			done, err := b.Step(-1) // every page, from one snapshot
			if ferr := b.Finish(); err == nil {
				err = ferr
			}
			if err == nil && !done {
				err = errors.New("the source was busy; try again")
			}
			return err
		})
	})
	if err != nil {
		return VerifyReport{}, fmt.Errorf("backup: %w", err)
	}
	if err := dconn.Close(); err != nil {
		return VerifyReport{}, fmt.Errorf("backup: %w", err)
	}
	if err := dst.Close(); err != nil {
		return VerifyReport{}, fmt.Errorf("backup: %w", err)
	}
	cp, err := Open(ctx, dest, Config{}, nil)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("backup: open the copy: %w", err)
	}
	defer cp.Close()
	rep, err := cp.VerifyReport(ctx, nil)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("backup: verify the copy: %w", err)
	}
	if len(rep.Breaks) > 0 {
		first := rep.Breaks[0]
		return rep, fmt.Errorf("backup: the copy does not verify: %w", &first)
	}
	return rep, nil
}
