# regimport: see README.md. Every target works on a fresh machine with Go and gcc.
GO       ?= go
TAGS     := containers_image_openpgp
GOFLAGS  := -tags=$(TAGS)
BIN      := bin/regimport
export CGO_ENABLED := 1

.PHONY: all build test test-short vet demo bench fuzz clean

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/regimport

vet:
	$(GO) vet $(GOFLAGS) ./...

# Every test, with the race detector. Tests start their own registry,
# catalog files and servers on loopback; nothing outside the machine is used.
test: vet
	$(GO) test $(GOFLAGS) -race -count=1 -timeout 12m ./...

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
