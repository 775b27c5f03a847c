package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/jackc/pgx/v5"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
)

// A PostgreSQL catalog made by the code before native types (schema 8:
// TEXT times and documents, integer flags, a rowid column, emulated SQLite
// functions; testdata/legacy-postgres says how it was made) is brought to
// the native schema when this build opens it, with nothing lost: every row
// of every table holds what it held, times, documents and flags compared
// by value. The emulated functions are gone, the columns have their native
// types, and the report and `get images` work on it.
func TestLegacyPostgresCatalogUpgrades(t *testing.T) {
	db := dbtest.NewPostgres(t)
	restore(t, db, filepath.Join("testdata", "legacy-postgres", "schema8.sql"))
	const skip = "schema_migrations.applied_at"
	before := dbtest.Dump(t, db, skip)
	if n := len(before["images"]); n < 10 {
		t.Fatalf("the fixture holds %d images; want the rich catalog", n)
	}

	ctx := context.Background()
	cat, err := catalogdb.Open(ctx, db, catalog.Options{})
	if err != nil {
		t.Fatalf("open the schema 8 catalog: %v", err)
	}
	cat.Close()
	// Columns later migrations add to legacy tables are left out of the
	// comparison; they must be empty for every legacy row (checked below).
	evidence := []string{"key_fingerprint", "certificate_subject", "certificate_issuer", "oidc_issuer", "certificate_not_before",
		"certificate_not_after", "signing_time", "time_source", "time_verified", "signature_expiry", "tlog_present", "tlog_verified",
		"timestamp_present", "timestamp_verified"} // migration 0013
	left := []string{skip, "import_runs.abandoned_at", "import_runs.abandoned_by"}
	for _, c := range evidence {
		left = append(left, "signatures."+c)
	}
	after := dbtest.Dump(t, db, left...)
	all := dbtest.Dump(t, db)
	for _, r := range all["import_runs"] {
		if !strings.Contains(r, "abandoned_at=NULL, abandoned_by=NULL") {
			t.Errorf("a legacy run got an abandoned mark from the upgrade: %s", r)
		}
	}
	for _, r := range all["signatures"] {
		if !strings.Contains(r, "key_fingerprint='', certificate_subject='', certificate_issuer='', oidc_issuer='', certificate_not_before=NULL, "+
			"certificate_not_after=NULL, signing_time=NULL, time_source='', time_verified=0, signature_expiry=NULL, tlog_present=0, "+
			"tlog_verified=0, timestamp_present=0, timestamp_verified=0") {
			t.Errorf("a legacy signature's evidence is not unknown after the upgrade: %s", r)
		}
	}

	want := normalizeLegacy(before)
	got := dbtest.Tables{}
	for table, rows := range after {
		got[table] = rows
	}
	if len(got["schema_migrations"]) != len(want["schema_migrations"])+catalogdb.SchemaVersion()-8 {
		t.Errorf("schema_migrations after the upgrade: %v", got["schema_migrations"])
	}
	delete(got, "schema_migrations")
	delete(want, "schema_migrations")
	// Tables later migrations add (and their sequences) start empty.
	for table, rows := range got {
		if _, ok := want[table]; !ok {
			if len(rows) != 0 {
				t.Errorf("table %s, new since schema 8, has rows after the upgrade: %v", table, rows)
			}
			delete(got, table)
		}
	}
	var seqs []string
	for _, r := range got["pg_sequences"] {
		if !strings.Contains(r, "last_value=never called") || slices.Contains(want["pg_sequences"], r) {
			seqs = append(seqs, r)
		}
	}
	got["pg_sequences"] = seqs
	if diff := dbtest.Diff(want, got, 5); len(diff) > 0 {
		t.Errorf("the upgrade changed rows:\n%s", strings.Join(diff, "\n"))
	}

	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var emulated []string
	rows, err := conn.Query(ctx, `SELECT p.proname FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		emulated = append(emulated, name)
	}
	rows.Close()
	if len(emulated) > 0 {
		t.Errorf("functions left in the catalog's schema: %v", emulated)
	}
	for col, typ := range map[string]string{
		"images.creation_timestamp": "timestamp with time zone", "images.metadata": "json", "images.annotations": "jsonb",
		"tag_events.created": "timestamp with time zone", "signatures.object": "jsonb", "image_streams.lookup_local": "boolean",
		"image_verdicts.migrated": "boolean", "attestations.verified": "boolean", "import_failures.id": "bigint",
	} {
		table, column, _ := strings.Cut(col, ".")
		var got string
		if err := conn.QueryRow(ctx, `SELECT data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, table, column).Scan(&got); err != nil {
			t.Errorf("%s: %v", col, err)
		} else if got != typ {
			t.Errorf("%s is %s, want %s", col, got, typ)
		}
	}

	var doc struct {
		Summary struct {
			Images int `json:"images"`
		} `json:"summary"`
		Inventory []json.RawMessage `json:"inventory"`
	}
	if err := json.Unmarshal(reportJSON(t, db), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Summary.Images != len(before["images"]) || len(doc.Inventory) == 0 {
		t.Errorf("the report of the upgraded catalog is empty: %d images, %d inventory rows", doc.Summary.Images, len(doc.Inventory))
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(getImagesJSON(t, db)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != len(before["images"]) {
		t.Errorf("get images lists %d images, the catalog holds %d", len(list.Items), len(before["images"]))
	}
}

// restore loads a plain pg_dump into the database db with psql.
func restore(t *testing.T, db, dump string) {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
		if len(matches) == 0 {
			t.Fatal("psql (PostgreSQL's client) is needed to restore the fixture")
		}
		psql = matches[len(matches)-1]
	}
	if _, err := os.Stat(dump); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", dump, db).CombinedOutput()
	if err != nil {
		t.Fatalf("restore %s: %v\n%s", dump, err, out)
	}
}

var legacyTime = regexp.MustCompile(`'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)'`)

// normalizeLegacy renders the schema 8 rows as the native schema holds
// them: times (RFC 3339 text) to the microsecond, import_failures' rowid
// as id. Documents and flags already render alike (see dbtest.Dump).
func normalizeLegacy(tables dbtest.Tables) dbtest.Tables {
	out := dbtest.Tables{}
	for table, rows := range tables {
		var norm []string
		for _, r := range rows {
			r = legacyTime.ReplaceAllStringFunc(r, func(q string) string {
				at, err := time.Parse(time.RFC3339Nano, q[1:len(q)-1])
				if err != nil {
					return q
				}
				return "'" + at.UTC().Round(time.Microsecond).Format(time.RFC3339Nano) + "'"
			})
			if table == "import_failures" {
				r = strings.Replace(r, "rowid=", "id=", 1)
			}
			norm = append(norm, r)
		}
		out[table] = norm
	}
	return out
}
