package sqlite

/*
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_api_routines sqlite3_api_routines;
int sqlite3_auto_extension(void (*xEntryPoint)(void));
int sqlite3_db_config(sqlite3 *db, int op, ...);

// SQLITE_DBCONFIG_ENABLE_QPSG (sqlite3.h): 1 turns the query planner
// stability guarantee on for the connection.
static int regimport_stable_plans(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
	return sqlite3_db_config(db, 1007, 1, (int *)0);
}

static int regimport_register_stable_plans(void) {
	return sqlite3_auto_extension((void (*)(void))regimport_stable_plans);
}
*/
import "C"

import (
	"fmt"
	"sync"
)

// Every connection this process opens to a catalog plans each statement
// once, whatever values are bound to it: SQLite's query planner stability
// guarantee (QPSG), which SQLite itself documents as an option.
//
// Why: without it, SQLite marks a parameter whose value might change the
// best plan, and rebinding it makes the next step parse and plan the
// statement again. The catalog's lookups that join repositories to
// verdicts or list entries were re-prepared on every call that way: the
// pull verdict of one tag (PullVerdictOfImage), read once per tag at the
// end of a signed run and by verify, cost 70 µs with the planner's parse,
// 15 µs without (go-sqlite3's SQLite 3.54, a 6,000-image catalog).
//
// What the guarantee gives up is a plan fitted to one bound value, and the
// catalog's statements have nothing to gain from one: their lookups are by
// key; a LIMIT parameter still limits at run time (a known value only
// sized SQLite's estimates, and re-prepared the page queries at each new
// value); a report's --repository GLOB pattern, bound, no longer narrows
// an index range, which only the repositories table (a row per repository)
// could have offered; it is otherwise matched against computed values.
// Results never depend on the plan.
//
// go-sqlite3 has no call for sqlite3_db_config, so the setting is an
// auto extension: a function SQLite runs for each connection it opens in
// the process, registered once. It needs no particular build of
// go-sqlite3: sqlite3_auto_extension is in every build (not only those
// that load extensions), and the symbols are those of the SQLite linked in.
var registerStablePlans = sync.OnceValue(func() error {
	if rc := C.regimport_register_stable_plans(); rc != 0 {
		return fmt.Errorf("sqlite3_auto_extension for the query planner stability guarantee: SQLite result code %d", int(rc))
	}
	return nil
})
