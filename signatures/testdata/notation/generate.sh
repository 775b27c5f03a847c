#!/bin/sh
# Regenerates the notation CLI fixtures in this directory (see README.md).
# Usage: signatures/testdata/notation/generate.sh NOTATION
#        signatures/testdata/notation/generate.sh --source DIR
# NOTATION is a notation CLI binary. With --source, DIR is a checkout of the
# notation repository at tag v1.3.2 (the Go module proxy does not serve the
# notation module, so `go install` cannot build it); the CLI is built from it,
# with the release's version flags, into a temporary directory.
# Never run by the tests or by make.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
notation=${1:-}
if [ "$notation" = "--source" ]; then
	src=${2:?usage: generate.sh --source DIR}
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	commit=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
	(cd "$src" && GOFLAGS=-mod=mod go build -o "$bin/notation" -ldflags "-w \
		-X github.com/notaryproject/notation/internal/version.GitCommit=$commit \
		-X github.com/notaryproject/notation/internal/version.BuildMetadata=" ./cmd/notation)
	notation=$bin/notation
fi
[ -n "$notation" ] || { echo "usage: generate.sh NOTATION | --source DIR" >&2; exit 2; }
cd "$root"
go run -tags=containers_image_openpgp ./signatures/testdata/notation/gen -notation "$notation" -out "$here"
