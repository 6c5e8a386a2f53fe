package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// GrantService gives role, an existing role that the service instances
// connect as, what they need and no more: SELECT and INSERT on events
// (never UPDATE, DELETE or TRUNCATE), SELECT on the schema version, and
// SELECT, INSERT, UPDATE and DELETE on every other table of the store's
// schema, with USAGE on the schema and its sequences. Run it as the
// owner, after the migrations (Open applies them), and again after a
// release whose migrations add tables. role must not own the tables: an
// owner may drop the append-only triggers.
//
// Typical setup, as a superuser:
//
//	CREATE ROLE treatywatch_owner LOGIN;
//	CREATE DATABASE treatywatch OWNER treatywatch_owner;
//	CREATE ROLE treatywatch LOGIN PASSWORD '…';
//
// then, as the owner, treatywatch --db
// postgres://treatywatch_owner@host/treatywatch grant-service treatywatch
// (which calls this method), and the instances run with --db
// postgres://treatywatch@host/treatywatch.
func (s *Store) GrantService(ctx context.Context, role string) error {
	if role == "" {
		return fmt.Errorf("grant service role: empty role name")
	}
	r := pgx.Identifier{role}.Sanitize()
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("grant service role %s: %w", role, err)
	}
	sc := pgx.Identifier{schema}.Sanitize()
	rows, err := s.pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename NOT IN ('events', 'treatywatch_schema') ORDER BY tablename`, schema)
	if err != nil {
		return fmt.Errorf("grant service role %s: list tables: %w", role, err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("grant service role %s: list tables: %w", role, err)
	}
	stmts := []string{
		`GRANT USAGE ON SCHEMA ` + sc + ` TO ` + r,
		`REVOKE ALL ON events FROM ` + r,
		`GRANT SELECT, INSERT ON events TO ` + r,
		`GRANT SELECT ON treatywatch_schema TO ` + r,
		`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ` + sc + ` TO ` + r,
	}
	for _, t := range tables {
		stmts = append(stmts, `GRANT SELECT, INSERT, UPDATE, DELETE ON `+pgx.Identifier{schema, t}.Sanitize()+` TO `+r)
	}
	return s.WriteTx(ctx, func(tx pgx.Tx) error {
		for _, stmt := range stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("grant service role %s: %s: %w", role, stmt, err)
			}
		}
		return nil
	})
}
