package main

import (
	"context"
	"fmt"
	"io"
)

// endpointBench is the endpoint section: it load-tests a `regimport serve`
// process with wrk on loopback: GET one image and list pages of 500 over
// -endpoint-images images, and the same page at a tenth of them to show
// that pages do not slow down as the catalog grows (endpoint_load.go). Without wrk, the
// block says it was not measured and why.
func endpointBench(ctx context.Context, c config, out io.Writer) (block, error) {
	b := block{name: "endpoint", title: "Endpoint: `regimport serve` under wrk",
		flags: fmt.Sprintf("-endpoint-images %d -endpoint-duration %s", c.endpointSize, c.endpointRun)}
	rep, err := Endpoint(ctx, EndpointConfig{Regimport: c.bin, Log: out, Images: c.endpointSize, SmallImages: max(1000, c.endpointSize/10), Duration: c.endpointRun})
	if err != nil {
		b.body = fmt.Sprintf("Not measured: %v\n", err)
		return b, nil
	}
	b.body = rep.String()
	return b, nil
}
