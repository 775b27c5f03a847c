#!/usr/bin/env bash
# Rebuilds schema8.sql: a PostgreSQL catalog at schema version 8 made by the
# code before PostgreSQL got native types (commit f44578f). It checks that
# commit out in a temporary worktree, drops in the generator test beside
# this script, runs it against a throwaway cluster and dumps the database.
#   internal/cli/testdata/legacy-postgres/make.sh   (from the repository root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
wt=$(mktemp -d /tmp/legacy-wt.XXXXXX); pg=$(mktemp -d /tmp/legacy-pg.XXXXXX)
trap 'git -C "$root" worktree remove --force "$wt"; "$root/scripts/pg-cluster" stop "$pg"' EXIT
git -C "$root" worktree add --detach "$wt" f44578f >/dev/null
cp "$here/generator_test.go.txt" "$wt/internal/cli/legacyfixture_gen_test.go"
url=$("$root/scripts/pg-cluster" start "$pg")
(cd "$wt" && REGIMPORT_LEGACY_FIXTURE_TO="$url" CGO_ENABLED=1 GOTOOLCHAIN=local \
  go test -tags=containers_image_openpgp -count=1 -run '^TestMakeLegacyPostgresFixture$' ./internal/cli/)
pg_dump --no-owner --no-privileges --format=plain "$url" > "$here/schema8.sql"
