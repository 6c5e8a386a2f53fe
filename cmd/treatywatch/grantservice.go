package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/treatywatch/treatywatch/events/postgres"
)

// runGrantService gives a PostgreSQL role the service's rights on the
// --db database (postgres.Store.GrantService): read and insert events,
// never change them. Run as the database's owner, which also applies the
// pending migrations.
func runGrantService(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("grant-service", flag.ContinueOnError)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return usagef("grant-service: want the ROLE the service instances connect as")
	}
	if !postgres.IsURL(m.dbPath) {
		return usagef("grant-service: --db must be the postgres:// URL of the database, as its owner (an SQLite file has no roles)")
	}
	st, err := postgres.Open(ctx, m.dbPath, postgres.Config{}, m.logger)
	if err != nil {
		return fmt.Errorf("grant-service: open %s: %w", m.dbName(), err)
	}
	defer st.Close()
	if err := st.GrantService(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(m.stdout, "grant-service: %s may now read and insert events (never update, delete or truncate them) and use the other tables of %s; run the instances with --db as %s\n", pos[0], m.dbName(), pos[0])
	return nil
}
