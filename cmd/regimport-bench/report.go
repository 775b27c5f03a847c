package main

import (
	"context"
	"fmt"
	"io"

	
)

// reportBench renders audit reports of a 10,000-image, 20-run catalog in
// every format, each in its own process, with its peak memory.
func reportBench(ctx context.Context, c config, out io.Writer) string {
	res, err := Report(ctx, ReportConfig{Regimport: c.bin, Log: out})
	if err != nil {
		return fmt.Sprintf("## Reports\n\nnot measured: %v\n\n", err)
	}
	return res.String()
}
