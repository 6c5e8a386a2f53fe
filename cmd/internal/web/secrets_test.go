package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // to read every table of the ledger file as it is

	"github.com/treatywatch/treatywatch/events"
)

// secretsInFile reports where each secret appears in the SQLite file at
// path: in any text or blob value of any table (read through SQL), or in
// the bytes of the file, its -wal and its -shm.
func secretsInFile(tb testing.TB, path string, secrets ...string) []string {
	tb.Helper()
	var found []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			if suffix != "" && os.IsNotExist(err) {
				continue
			}
			tb.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				found = append(found, fmt.Sprintf("%q in the bytes of %s", s, "ledger.db"+suffix))
			}
		}
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	tables := queryStrings(tb, db, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if len(tables) < 8 {
		tb.Fatalf("only %d tables: %v", len(tables), tables)
	}
	for _, table := range tables {
		for _, col := range queryStrings(tb, db, `SELECT name FROM pragma_table_info(?)`, table) {
			q := fmt.Sprintf(`SELECT CAST(%q AS BLOB) FROM %q WHERE typeof(%q) IN ('text', 'blob')`, col, table, col)
			for _, v := range queryBlobs(ctx, tb, db, q) {
				for _, s := range secrets {
					if bytes.Contains(v, []byte(s)) {
						found = append(found, fmt.Sprintf("%q in %s.%s", s, table, col))
					}
				}
			}
		}
	}
	return found
}

func queryBlobs(ctx context.Context, tb testing.TB, db *sql.DB, q string) [][]byte {
	tb.Helper()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func queryStrings(tb testing.TB, db *sql.DB, q string, args ...any) []string {
	tb.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestTokenSecretIsInNoTable creates tokens through the API with and
// without an Idempotency-Key: the secret is answered once, a retry with the
// key says which token the key created without the secret, and no table
// of the ledger file (nor its bytes, nor the WAL) holds a secret.
func TestTokenSecretIsInNoTable(t *testing.T) {
	e := MustEnv(t, envOptions{})
	type created struct {
		Secret string       `json:"secret"`
		Token  events.Token `json:"token"`
	}
	var secrets []string
	var first created
	r := e.PostJSON("/api/v1/tokens", e.Admin, map[string]string{"name": "Officer Bo", "role": "officer"}, "Idempotency-Key: tok-1")
	wantStatus(t, r, http.StatusCreated)
	r.JSON(t, &first)
	if !strings.HasPrefix(first.Secret, "tw_") {
		t.Fatalf("answer %s", r.Body)
	}
	secrets = append(secrets, first.Secret)

	retry := e.PostJSON("/api/v1/tokens", e.Admin, map[string]string{"name": "Officer Bo", "role": "officer"}, "Idempotency-Key: tok-1")
	wantStatus(t, retry, http.StatusConflict)
	er := retry.Err(t)
	if er.Code != "token_already_created" || !strings.Contains(er.Message, first.Token.ID) || !strings.Contains(er.Message, "shown once") {
		t.Errorf("retry answered %s", retry.Body)
	}
	if strings.Contains(string(retry.Body), first.Secret) || strings.Contains(string(retry.Body), "tw_") {
		t.Errorf("the retry reveals the secret: %s", retry.Body)
	}
	if retry.Header.Get("Idempotency-Replayed") != "true" {
		t.Error("the retry is not marked as replayed")
	}
	toks, err := e.Ledger.Tokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tok := range toks {
		if tok.Name == "Officer Bo" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d tokens named Officer Bo; the retry created another", n)
	}
	// The token works; the key used for another body is refused as usual.
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", first.Secret, ratification()), http.StatusCreated)
	wantStatus(t, e.PostJSON("/api/v1/tokens", e.Admin, map[string]string{"name": "Other", "role": "viewer"}, "Idempotency-Key: tok-1"), http.StatusUnprocessableEntity)

	// Without a key, and a refused creation with a key (kept: it holds no secret).
	var second created
	r = e.PostJSON("/api/v1/tokens", e.Admin, map[string]string{"name": "Viewer Vi", "role": "viewer"})
	wantStatus(t, r, http.StatusCreated)
	r.JSON(t, &second)
	secrets = append(secrets, second.Secret, e.Admin, e.Officer, e.Viewer)
	wantStatus(t, e.PostJSON("/api/v1/tokens", e.Admin, map[string]string{"name": "King", "role": "king"}, "Idempotency-Key: tok-2"), http.StatusUnprocessableEntity)

	// The scan sees what is at rest: the kept answer of the retry.
	if found := secretsInFile(t, e.Store.Path(), "token_already_created"); len(found) == 0 {
		t.Fatal("the scan does not find the kept answer: it is blind")
	}
	if found := secretsInFile(t, e.Store.Path(), secrets...); len(found) > 0 {
		t.Errorf("secrets at rest:\n%s", strings.Join(found, "\n"))
	}
}
