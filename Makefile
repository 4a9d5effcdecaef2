# labctl: make demo / make test do all set-up on a fresh Debian or Ubuntu machine (as root).
GO      ?= go
BIN     := bin/labctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# command:package pairs; deps installs the packages whose commands are missing.
TOOLS := iptables-nft-restore:iptables iptables-legacy-restore:iptables ip:iproute2 \
         conntrack:conntrack ping:iputils-ping tcpdump:tcpdump

.PHONY: all build deps test unit integration labs lint demo bench clean

all: build

build: $(BIN)

$(BIN): $(shell find . -name '*.go' -not -path './.git/*') go.mod go.sum
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/labctl

## deps: install the Debian packages labctl and its tests use, and the Go modules.
deps:
	@missing=""; for pair in $(TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	$(GO) mod download

## test: every test: unit tests (no root) and real-namespace tests (root), then every lab.
test: deps build
	$(GO) vet ./...
	@./.ci/leakcheck before
	$(GO) test -count=1 ./...
	@./.ci/leakcheck after

## unit: the tests that need no root.
unit:
	$(GO) test -count=1 ./topo/... ./verify/...

## demo: build labctl and run the hairpin lab once (up, probes, down).
demo: deps build
	./$(BIN) up labs/basic.yaml
	./$(BIN) exec labs/basic.yaml client -- ping -c1 -W1 203.0.113.254
	./$(BIN) down labs/basic.yaml

## bench: the speed figures (see README, Performance).
bench: deps build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./node/

clean:
	rm -rf bin
