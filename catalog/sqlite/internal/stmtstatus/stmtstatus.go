// Package stmtstatus counts how often SQLite prepared a statement again
// while it ran, for the catalog's tests: go-sqlite3 does not expose a
// statement's status counters, so this opens the file through SQLite's C
// API itself (the SQLite linked into the binary, go-sqlite3's).
package stmtstatus

/*
#include <stdlib.h>
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs);
int sqlite3_close(sqlite3 *db);
int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail);
int sqlite3_bind_text(sqlite3_stmt *stmt, int i, const char *text, int n, void (*destructor)(void *));
int sqlite3_step(sqlite3_stmt *stmt);
int sqlite3_reset(sqlite3_stmt *stmt);
int sqlite3_clear_bindings(sqlite3_stmt *stmt);
int sqlite3_stmt_status(sqlite3_stmt *stmt, int op, int reset);
int sqlite3_finalize(sqlite3_stmt *stmt);
const char *sqlite3_errmsg(sqlite3 *db);

// SQLITE_OPEN_READONLY; SQLITE_TRANSIENT; SQLITE_ROW, SQLITE_DONE;
// SQLITE_STMTSTATUS_REPREPARE (sqlite3.h).
static int open_read_only(const char *file, sqlite3 **db) { return sqlite3_open_v2(file, db, 0x1, 0); }
static int bind_text(sqlite3_stmt *stmt, int i, const char *text) { return sqlite3_bind_text(stmt, i, text, -1, (void (*)(void *))-1); }
static int reprepares(sqlite3_stmt *stmt) { return sqlite3_stmt_status(stmt, 5, 0); }
*/
import "C"

import (
	"fmt"
	"unsafe"

	_ "github.com/mattn/go-sqlite3" // the SQLite whose C API this calls
)

// Reprepares opens file read-only, prepares query once, runs it to its
// end once for each row of args (bound as text to ?1, ?2, ... and cleared
// between runs, as go-sqlite3 does), and returns how many times SQLite
// prepared it again meanwhile.
func Reprepares(file, query string, args [][]string) (int, error) {
	cfile, cquery := C.CString(file), C.CString(query)
	defer C.free(unsafe.Pointer(cfile))
	defer C.free(unsafe.Pointer(cquery))
	var db *C.sqlite3
	if rc := C.open_read_only(cfile, &db); rc != 0 {
		C.sqlite3_close(db)
		return 0, fmt.Errorf("open %s: SQLite result code %d", file, int(rc))
	}
	defer C.sqlite3_close(db)
	var stmt *C.sqlite3_stmt
	if rc := C.sqlite3_prepare_v2(db, cquery, -1, &stmt, nil); rc != 0 {
		return 0, fmt.Errorf("prepare: %s", C.GoString(C.sqlite3_errmsg(db)))
	}
	defer C.sqlite3_finalize(stmt)
	for _, row := range args {
		for i, a := range row {
			ca := C.CString(a)
			rc := C.bind_text(stmt, C.int(i+1), ca)
			C.free(unsafe.Pointer(ca))
			if rc != 0 {
				return 0, fmt.Errorf("bind ?%d: %s", i+1, C.GoString(C.sqlite3_errmsg(db)))
			}
		}
		for {
			rc := C.sqlite3_step(stmt)
			if rc == 101 { // SQLITE_DONE
				break
			}
			if rc != 100 { // SQLITE_ROW
				return 0, fmt.Errorf("step: %s", C.GoString(C.sqlite3_errmsg(db)))
			}
		}
		C.sqlite3_reset(stmt)
		C.sqlite3_clear_bindings(stmt)
	}
	return int(C.reprepares(stmt)), nil
}
