# The README's two commands are `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin

.PHONY: docs run test generate check-generated lint vuln build services keys sample \
        bench-instructions bench-ingest bench-eligibility bench-transactions fuzz clean

build:
	$(GO) build -o $(BIN)/gateway ./cmd/gateway
	@if [ -d mocks/cmd/avis-mocks ]; then $(GO) build -o $(BIN)/avis-mocks ./mocks/cmd/avis-mocks; fi

services:
	bash scripts/services.sh

keys:
	@if [ -d scripts/devkeys ]; then $(GO) run ./scripts/devkeys -dir var/keys; fi

sample: services build keys
	$(BIN)/gateway sample

# Start PostgreSQL and Redis if needed, load sample data, then run the mock
# registries and the gateway in the foreground (Ctrl-C stops both).
run: sample
	bash scripts/run.sh

# The whole test suite, as CI runs it.
test: services
	bash scripts/testtools.sh
	$(MAKE) check-generated
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

generate:
	$(GO) generate ./api

# Fails when api/api.gen.go is not what the spec generates.
check-generated:
	@tmp=$$(mktemp -d); cp api/api.gen.go $$tmp/; $(GO) generate ./api; \
	if ! diff -q $$tmp/api.gen.go api/api.gen.go >/dev/null; then \
	  echo "api/api.gen.go is stale: run 'make generate' and commit it"; diff -u $$tmp/api.gen.go api/api.gen.go | head -40; exit 1; fi; \
	echo "generated code is fresh"

lint:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

vuln:
	$(GO) run golang.org/x/vuln/cmd/govulncheck@latest ./...

# Every fuzz target in turn, FUZZTIME each (default 30s).
fuzz:
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' internal mocks); do d=$$(dirname $$f); \
	  for n in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -c6-); do \
	    echo "== ./$$d $$n"; $(GO) test -run '^$$' -fuzz "^$$n$$" -fuzztime $${FUZZTIME:-30s} ./$$d || exit 1; \
	  done; done

bench-instructions: services build keys
	bash scripts/bench-instructions.sh

bench-ingest: services build keys
	bash scripts/bench-ingest.sh

bench-eligibility: services build keys
	bash scripts/bench-eligibility.sh

bench-transactions: services build keys
	bash scripts/bench-transactions.sh

clean:
	rm -rf $(BIN)

# Refresh the README's configuration table from the code.
docs:
	@table=$$($(GO) run ./cmd/gateway config-doc); \
	python3 -c 'import re,sys; p="README.md"; s=open(p).read(); t=sys.argv[1]; s=re.sub(r"(<!-- config:start[^>]*-->\n).*?(\n<!-- config:end -->)", lambda m: m.group(1)+t+m.group(2), s, flags=re.S); open(p,"w").write(s)' "$$table"
