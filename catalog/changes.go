package catalog

import "time"

// Change is one row of the change log: what happened to which object at
// which resourceVersion. Watchers read it to turn the catalog into events.
type Change struct {
	ResourceVersion int64
	Resource        string // "images"
	Name            string
	Event           string // ADDED, MODIFIED, DELETED
	ChangedAt       time.Time
}
