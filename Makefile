# focus-ingest: build, test, lint, bench.
GO       ?= go
PYTHON   ?= python3
VENV     ?= .venv
BIN      := bin/focus-ingest
FUZZTIME ?= 10s

.PHONY: all build test go-test fuzz py-test lint venv emulators tools bench load faults clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/focus-ingest

# The venv holds the independent readers (pyarrow, duckdb) and pytest.
venv: $(VENV)/.installed
$(VENV)/.installed: tests/python/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	touch $@

# Storage emulators the Go tests start as processes (internal/testenv):
# moto's S3 server into the venv (PyPI), Azurite (npm, lockfile in
# test/emulators), fake-gcs-server built from the Go module proxy.
FAKE_GCS_VERSION := v1.56.1
EMU_DIR := test/emulators
emulators: $(VENV)/.emulators $(EMU_DIR)/node_modules/.installed bin/tools/fake-gcs-server
$(VENV)/.emulators: $(VENV)/.installed $(EMU_DIR)/requirements.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(EMU_DIR)/requirements.txt
	touch $@
$(EMU_DIR)/node_modules/.installed: $(EMU_DIR)/package.json $(EMU_DIR)/package-lock.json
	cd $(EMU_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@
bin/tools/fake-gcs-server:
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/fsouza/fake-gcs-server@$(FAKE_GCS_VERSION)

# Tools the Go tests run, built from the Go module proxy into bin/tools;
# a tool already there is not rebuilt.
HEALTH_PROBE_VERSION := v0.4.62
tools: bin/tools/grpc-health-probe
bin/tools/grpc-health-probe:
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/grpc-ecosystem/grpc-health-probe@$(HEALTH_PROBE_VERSION)

lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed: $$bad"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) list -deps ./convert/... | grep -E 'google.golang.org/grpc|gocloud.dev|arrow/flight'; then \
	  echo "convert/ must not import gRPC, Flight or gocloud"; exit 1; fi
	@# pqarrow itself links arrow/flight, so for dataset/ the rule is on its own imports.
	@if $(GO) list -f '{{join .Imports "\n"}}' ./dataset/... | grep -E 'arrow/flight|google.golang.org/grpc'; then \
	  echo "dataset/ must not import Flight"; exit 1; fi
	@if $(GO) list -deps ./client | grep -E 'focus-ingest/(flightsvc|server|dataset|ingest|convert|storage)$$'; then \
	  echo "client/ must import only Flight, gRPC and proto/"; exit 1; fi

# internal/loadtest runs the binary (CI size here; `make load` for the full size).
go-test: emulators tools build
	FOCUS_INGEST_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 ./...

# Every Fuzz* of the parsers (convert) and of the server's JSON bodies (flightsvc).
# A run that fails with only "context deadline exceeded" and writes no failing
# input is Go's -fuzztime race (go.dev/issue/75804, fixed in Go 1.27, not in
# 1.26.x): reported, not counted. Any other failure stops the target.
FUZZ_PKGS ?= ./convert ./flightsvc
fuzz:
	@log=$$(mktemp); trap 'rm -f $$log $$log.rc' EXIT; \
	for p in $(FUZZ_PKGS); do \
	  for t in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
	    echo "fuzz $$p $$t ($(FUZZTIME))"; \
	    { $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$p; echo $$? > $$log.rc; } 2>&1 | tee $$log; \
	    [ "$$(cat $$log.rc)" = 0 ] && continue; \
	    if grep -qx '    context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	      echo "fuzz $$p $$t: stopped by Go's -fuzztime deadline race (go.dev/issue/75804) with no failing input: not a failure"; \
	    else exit 1; fi; \
	  done; \
	done

# test_backends.py checks lakes that the Go test TestCrossBackend makes on the emulators; that test runs it.
py-test: venv build tools
	FOCUS_INGEST_BIN=$(CURDIR)/$(BIN) $(VENV)/bin/pytest -q tests/python --ignore=tests/python/test_backends.py

test: tools lint go-test fuzz py-test

# The load test at full size: 50 clients push 105 exports (4.2M rows) and read
# while the server's RSS is sampled; `make test` runs it at CI size.
load: build
	FOCUS_INGEST_LOAD_FULL=1 FOCUS_INGEST_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -v -timeout 30m -run 'TestLoad$$' ./internal/loadtest

# The fault and concurrency harness at full size (make test runs it at CI
# size as part of go-test); docs/RELIABILITY.md has the cases and figures.
FAULT_TRIALS ?= 100
FAULT_ROWS   ?= 100000
faults: venv emulators build
	FOCUS_INGEST_BIN=$(CURDIR)/$(BIN) FOCUS_INGEST_FAULT_CLI_TRIALS=$(FAULT_TRIALS) \
	  FOCUS_INGEST_FAULT_SERVER_TRIALS=$(FAULT_TRIALS) FOCUS_INGEST_FAULT_ROWS=$(FAULT_ROWS) \
	  FOCUS_INGEST_FAULT_ROUNDS=5 FOCUS_INGEST_FAULT_S3=1 $(GO) test -count=1 -v -timeout 4h ./internal/faults/

bench: venv
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf bin $(VENV)
