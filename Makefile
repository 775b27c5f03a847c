# regimport: see README.md. Every target works on a fresh machine with Go and gcc.
GO       ?= go
TAGS     := containers_image_openpgp
GOFLAGS  := -tags=$(TAGS)
BIN      := bin/regimport
export CGO_ENABLED := 1

.PHONY: all build test test-deps test-short vet demo bench fuzz fuzz-short clean
FUZZTIME ?= 30s
FUZZTIMEOUT ?= 0

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/regimport

vet:
	$(GO) vet $(GOFLAGS) ./...

# Every test, with the race detector. Tests start their own registry,
# catalog files and servers on loopback; nothing outside the machine is used.
# A throwaway PostgreSQL cluster (scripts/pg-cluster) runs for the length of
# the target; the packages that use the catalog then run a second time with
# PostgreSQL as the backend (REGIMPORT_TEST_BACKEND=postgres), which is the
# suite of the two backends for the code above the catalog (the catalog's
# own conformance suite, catalogtest.Run, runs on both backends in the
# first pass). Both passes run under the race detector: measured on 2
# shared cores, the PostgreSQL pass of these packages took 161 s with -race
# and 162 s without (its tests wait on servers more than they compute).
PG_PACKAGES := ./apiserver/... ./report/... ./importer/... ./internal/cli/...
test: vet test-deps
	@set -e; pgdir=$$(mktemp -d /tmp/regimport-pg.XXXXXX); \
	trap 'scripts/pg-cluster stop '$$pgdir EXIT; \
	REGIMPORT_TEST_POSTGRES=$$(scripts/pg-cluster start $$pgdir); export REGIMPORT_TEST_POSTGRES; \
	echo "test: PostgreSQL for the tests at $$REGIMPORT_TEST_POSTGRES"; \
	$(GO) test $(GOFLAGS) -race -count=1 -timeout 12m ./...; \
	echo "test: the same tests with PostgreSQL as the catalog"; \
	REGIMPORT_TEST_BACKEND=postgres $(GO) test $(GOFLAGS) -race -count=1 -timeout 10m $(PG_PACKAGES)
	@$(MAKE) --no-print-directory fuzz-short

# What tests need beyond Go and gcc, from Debian's packages: chromium (the
# HTML report is rendered and checked in it), kubectl (the server is
# checked with the real client) and PostgreSQL's server (the second backend). A tool that is missing and cannot be
# installed stops here with the reason; under CI=true the tests that need it
# fail rather than skip.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
TEST_TOOLS := chromium:chromium kubectl:kubectl
test-deps:
	@set -e; missing=""; \
	for tp in $(TEST_TOOLS); do \
	  tool=$${tp%%:*}; pkg=$${tp#*:}; \
	  command -v $$tool >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "test-deps: installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update || { echo "test-deps: apt-get update failed; cannot install$$missing" >&2; exit 1; }; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing || \
	    { echo "test-deps: apt-get install$$missing failed (root or passwordless sudo and Debian's package lists are needed)" >&2; exit 1; }; \
	fi; \
	for tp in $(TEST_TOOLS); do \
	  tool=$${tp%%:*}; \
	  command -v $$tool >/dev/null 2>&1 || { echo "test-deps: $$tool is still not on PATH after installing it" >&2; exit 1; }; \
	done
	@set -e; if ! scripts/pg-cluster check 2>/dev/null; then \
	  echo "test-deps: PostgreSQL's server (initdb, pg_ctl) is missing; installing Debian's postgresql package"; \
	  $(SUDO) apt-get update || { echo "test-deps: apt-get update failed; cannot install postgresql" >&2; exit 1; }; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql || \
	    { echo "test-deps: apt-get install postgresql failed (root or passwordless sudo and Debian's package lists are needed)" >&2; exit 1; }; \
	  scripts/pg-cluster check || { echo "test-deps: initdb and pg_ctl are still missing after installing postgresql" >&2; exit 1; }; \
	fi

# make test's commands run on a hostile host (scripts/hostile-host): a
# machine-wide and a user-level containers policy that rejects everything,
# a registries.d, registries.conf and certs.d set against the tests, and a
# Docker config whose credential store does not exist. The tests own their
# configuration (internal/hermetic), so they pass anyway. Not inherited by
# vet and test-deps, which install packages.
test: private SHELL := $(CURDIR)/scripts/hostile-host
test: private .SHELLFLAGS := /bin/sh -c

# Every fuzz target for FUZZTIME each: an execution count (1000x) or a
# duration (make fuzz FUZZTIME=10m for a long run). make test runs their seed
# corpora as ordinary tests, and fuzz-short briefly, by count: with a duration,
# Go 1.26's fuzzing coordinator can fail a target that found nothing with a
# bare "context deadline exceeded" when the deadline fires (go.dev/issue/75804,
# fixed in Go 1.27; it failed CI once here). A count sets no deadline to race,
# and FUZZTIMEOUT (go test's -timeout; 0, none, for make fuzz) bounds a hang
# in fuzz-short. A real finding always writes its input to
# testdata/fuzz/, so a long duration run that fails without one is that race.
fuzz:
	@set -e; for pkg in $$($(GO) list $(GOFLAGS) ./...); do \
	  for fz in $$($(GO) test $(GOFLAGS) -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$fz ($(FUZZTIME))"; \
	    $(GO) test $(GOFLAGS) -run '^$$' -fuzz "^$$fz\$$" -fuzztime $(FUZZTIME) -timeout $(FUZZTIMEOUT) $$pkg; \
	  done; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=1000x FUZZTIMEOUT=5m

test-short:
	$(GO) test $(GOFLAGS) -count=1 -short ./...

# Starts an in-process registry on loopback, seeds it, imports it into
# catalog.db with bin/regimport and shows the result.
demo: build
	$(GO) run $(GOFLAGS) ./cmd/regimport-demo --regimport $(BIN) --db catalog.db

# Benchmarks against baselines measured in the same run; see README.md.
# Each section writes its figures into README.md between its markers
# (<!-- bench:NAME -->). Partial runs: make bench BENCH='-only import' (or
# signed, profile, tokens, postgres, shards, report, endpoint, soak; comma-separated);
# every flag of cmd/regimport-bench goes in BENCH, e.g. smaller sizes:
# BENCH='-only import -import-tags 100,300 -rounds 2'. BENCH_README= leaves
# README.md alone.
BENCH ?=
BENCH_README ?= README.md
bench: build
	$(GO) build $(GOFLAGS) -o bin/regimport-bench-client ./cmd/regimport-bench/client
	$(GO) run $(GOFLAGS) ./cmd/regimport-bench --regimport $(BIN) --client bin/regimport-bench-client --readme '$(BENCH_README)' $(BENCH)

clean:
	rm -rf bin .bench catalog.db catalog.db-wal catalog.db-shm
