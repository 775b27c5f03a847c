package catalog

import "errors"

// ErrNotEmpty means the destination of a copy already holds data; a copy
// only fills an empty catalog, so that nothing stored there is lost.
var ErrNotEmpty = errors.New("destination catalog is not empty")

// TableCopy is how many rows a copy wrote into one table.
type TableCopy struct {
	Table string
	Rows  int64
}

// CopyStats is what Copy wrote, table by table in the order copied.
type CopyStats struct {
	Tables []TableCopy
	Rows   int64
}
