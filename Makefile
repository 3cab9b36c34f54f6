# wsticket: `make test` is the one test command (README, .ci/run).
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/.bin
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
STATICCHECK_VERSION := v0.8.2
PROTOS := proto/wsticket/v1/ticket.proto proto/wsticket/v1/record.proto

.PHONY: test deps vet lint proto proto-check bench build pack

## test: install what the tests need when missing, vet, run every Go test with the race
## detector (real Redis, real browsers; internal/doctest builds the documentation's Go programs,
## runs its walk-through, and packs, installs and runs the npm package), the deploy/ manifest
## checks (a separate module), then the browser client's unit tests.
test: deps vet
	$(GO) test -race -count=1 ./...
	cd deploy && $(GO) test -count=1 ./...
	node --test clientlib/js/test/

## deps: the programs the tests drive: redis-server (>= 6.2; tests start their own processes),
## Chromium and Firefox ESR (headless browser tests), Node.js and npm (the browser client's tests,
## and internal/doctest, which packs and installs it), and curl (the README walk-through's test).
## Missing ones are installed with apt-get when running as root; otherwise the target says what to install.
## npm comes second: Debian's nodejs lacks it, NodeSource's bundles it (and conflicts with Debian's npm).
deps:
	@apt_install() { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $$* with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$* >/dev/null; \
	  else echo "missing: $$* (install them, e.g. with apt-get)"; exit 1; fi; \
	}; \
	missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || missing="$$missing firefox-esr"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then apt_install $$missing; fi; \
	command -v npm >/dev/null 2>&1 || apt_install npm

vet:
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ticketd ./cmd/ticketd

## pack: the browser client's npm tarball, in .bin/ (internal/doctest packs, installs and runs it too).
pack: deps
	@mkdir -p $(BIN)
	cd clientlib/js && npm_config_update_notifier=false npm pack --pack-destination $(BIN)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## lint: gofmt and staticcheck.
lint: $(BIN)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(BIN)/staticcheck ./...
	cd deploy && $(BIN)/staticcheck ./...

$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

## proto: regenerate the committed Go code from proto/ (needs protoc: apt-get install protobuf-compiler libprotobuf-dev).
proto: $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc
	PATH=$(BIN):$$PATH protoc -I proto -I /usr/include \
	  --go_out=. --go_opt=module=github.com/wsticket/wsticket \
	  --go-grpc_out=. --go-grpc_opt=module=github.com/wsticket/wsticket \
	  $(PROTOS)

## proto-check: fail when the committed generated code differs from a fresh `make proto`
## (the protoc version line in the header is ignored: it names the apt package, not the output).
proto-check: proto
	git diff --exit-code -I '^//[[:space:]]+protoc[[:space:]]' -- proto/

## bench: one run of about 3 to 5 minutes (internal/bench) on a private redis-server: wsticket's mint
## and redeem (the library, ticketd's HTTP and gRPC APIs) beside plain and auto-pipelined go-redis,
## issue 12's goal ratios, Redis commands, round trips, CPU and memory per ticket, and the reconnect
## storm against examples/echo, profiled. The report goes to bench.txt, profiles to .bench/;
## BENCHFLAGS=-readme=deploy/README.md also regenerates the capacity table there. Go benchmarks of
## single functions: go test -run '^$$' -bench . ./issuer/... ./verifier/...
bench: deps
	set -o pipefail; $(GO) run ./internal/bench -out .bench $(BENCHFLAGS) | tee bench.txt
