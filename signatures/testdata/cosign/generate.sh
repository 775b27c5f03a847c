#!/bin/sh
# Regenerates the cosign CLI fixtures in this directory (see README.md).
# Usage: signatures/testdata/cosign/generate.sh [COSIGN]
# COSIGN is a cosign v3 binary; without it, cosign v3.1.3 is built from the Go
# module proxy into a temporary GOBIN (a large build: minutes on two cores).
# Never run by the tests or by make.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cosign=${1:-}
if [ -z "$cosign" ]; then
	gobin=$(mktemp -d)
	trap 'rm -rf "$gobin"' EXIT
	GOBIN=$gobin GOFLAGS=-mod=mod go install github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3
	cosign=$gobin/cosign
fi
cd "$root"
go run -tags=containers_image_openpgp ./signatures/testdata/cosign/gen -cosign "$cosign" -out "$here"
