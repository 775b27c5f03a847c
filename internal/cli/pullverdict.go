package cli

import (
	"fmt"
	"io"

	"github.com/regimport/regimport/importer"
)

// printPullBlocked lists the references a node could not pull (wholly or
// on some platforms) under the policy: the reason for exit code 4.
func printPullBlocked(w io.Writer, sum importer.Summary) {
	for _, b := range sum.PullBlocked {
		fmt.Fprintf(w, "pull %-9s %s: %s\n", b.Verdict, b.Reference, b.Reason)
	}
}
