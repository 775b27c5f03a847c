package cli

import (
	"fmt"
	"io"

	"github.com/regimport/regimport/importer"
)

// printPullBlocked lists the references a node could not pull (wholly or
// on some platforms) under the policy: the reason for exit code 4.
func printPullBlocked(w io.Writer, sum importer.Summary) {
	printPullBlocks(w, sum.PullBlocked)
}

// printPullBlocks is printPullBlocked for import and verify alike.
func printPullBlocks(w io.Writer, blocks []importer.PullBlock) {
	for _, b := range blocks {
		fmt.Fprintf(w, "pull %-9s %s: %s\n", b.Verdict, b.Reference, b.Reason)
	}
}
