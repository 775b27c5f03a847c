package main

import (
	"context"
	"fmt"
	"io"

	
)

// endpointBench load-tests a `regimport serve` process with wrk on loopback:
// GET one image and list pages of 500 over 10,000 images, and the same page
// at 1,000 images to show that pages do not slow down as the catalog grows.
func endpointBench(ctx context.Context, c config, out io.Writer) string {
	rep, err := Endpoint(ctx, EndpointConfig{Regimport: c.bin, Log: out})
	if err != nil {
		return fmt.Sprintf("## Endpoint\n\nnot measured: %v\n\n", err)
	}
	return rep.String()
}
