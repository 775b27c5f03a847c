# regimport: see README.md. Every target works on a fresh machine with Go and gcc.
GO       ?= go
TAGS     := containers_image_openpgp
GOFLAGS  := -tags=$(TAGS)
BIN      := bin/regimport
export CGO_ENABLED := 1

.PHONY: all build test test-deps test-short vet demo bench fuzz fuzz-short clean
FUZZTIME ?= 30s

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/regimport

vet:
	$(GO) vet $(GOFLAGS) ./...

# Every test, with the race detector. Tests start their own registry,
# catalog files and servers on loopback; nothing outside the machine is used.
test: vet test-deps
	$(GO) test $(GOFLAGS) -race -count=1 -timeout 12m ./...
	@$(MAKE) --no-print-directory fuzz-short

# What tests need beyond Go: Debian's chromium, in which the HTML report is
# rendered and checked (its test skips, saying why, when this cannot install it).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
test-deps:
	@command -v chromium >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) || \
	  echo "test-deps: could not install chromium; the HTML report's browser test will be skipped" >&2

# Every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m for a long run).
# make test runs their seed corpora as ordinary tests, and fuzz-short briefly.
fuzz:
	@set -e; for pkg in $$($(GO) list $(GOFLAGS) ./...); do \
	  for fz in $$($(GO) test $(GOFLAGS) -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$fz ($(FUZZTIME))"; \
	    $(GO) test $(GOFLAGS) -run '^$$' -fuzz "^$$fz\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

test-short:
	$(GO) test $(GOFLAGS) -count=1 -short ./...

# Starts an in-process registry on loopback, seeds it, imports it into
# catalog.db with bin/regimport and shows the result.
demo: build
	$(GO) run $(GOFLAGS) ./cmd/regimport-demo --regimport $(BIN) --db catalog.db

# Benchmarks against a baseline measured in the same run; see README.md.
bench: build
	$(GO) run $(GOFLAGS) ./cmd/regimport-bench --regimport $(BIN)

clean:
	rm -rf bin .bench catalog.db catalog.db-wal catalog.db-shm
