# labctl: make demo / make test do all set-up on a fresh Debian or Ubuntu machine (as root).
GO      ?= go
BIN     := bin/labctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# command:package pairs; deps installs the packages whose commands are missing.
TOOLS := iptables-nft-restore:iptables iptables-legacy-restore:iptables ip:iproute2 \
         conntrack:conntrack ping:iputils-ping tcpdump:tcpdump \
         dot:graphviz shellcheck:shellcheck capsh:libcap2-bin

# Linters, pinned; go run builds each once into the Go build cache.
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT  := $(GO) run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
SHELL_SCRIPTS := .ci/run .ci/leakcheck scripts/check-mermaid .github/action/install.sh .github/action/test.sh

.PHONY: all build deps test unit integration labs lint actionlint schema demo bench clean

all: build

build: $(BIN)

$(BIN): $(shell find . -name '*.go' -not -path './.git/*') go.mod go.sum
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/labctl

## deps: install the Debian packages labctl and its tests use, and the Go modules.
deps:
	@missing=""; for pair in $(TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || case " $$missing " in *" $$pkg "*) ;; *) missing="$$missing $$pkg";; esac; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	$(GO) mod download

## test: every test: unit tests (no root) and real-namespace tests (root), then every lab.
test: deps build actionlint
	$(GO) vet ./...
	@./.ci/leakcheck before
	$(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory labs
	@./.ci/leakcheck after

## labs: every lab in labs/ on real namespaces (root): up, every probe and step, down.
## LABS_FLAGS passes options to labctl test, e.g. LABS_FLAGS='--junit labctl-junit.xml'.
labs: build
	@if [ "$$(id -u)" != 0 ] && [ "$${CI:-}" != true ]; then \
	  echo "labs: skipped, labctl test needs root (with CI=true this fails instead)"; \
	else ./$(BIN) test $(LABS_FLAGS) labs/*.yaml; fi

## unit: the tests that need no root.
unit:
	$(GO) test -count=1 ./topo/... ./verify/...

## lint: gofmt, go vet, staticcheck, shellcheck (warnings and errors) on the scripts, actionlint.
lint: actionlint
	@unformatted=$$(gofmt -l cmd node topo verify); \
	if [ -n "$$unformatted" ]; then echo "gofmt -w these files:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	shellcheck --severity=warning $(SHELL_SCRIPTS)

## actionlint: check the workflows, and action.yml through the workflow that uses it;
## actionlint runs shellcheck on every run: block.
actionlint:
	@command -v shellcheck >/dev/null || { echo "shellcheck is missing: make deps installs it"; exit 1; }
	$(ACTIONLINT) -shellcheck=$$(command -v shellcheck)

## schema: regenerate docs/lab.schema.json, the schema editors fetch (a test keeps it current).
schema:
	$(GO) test -count=1 ./topo -run '^TestSchemaPublished$$' -update

## demo: build labctl and run the hairpin lab once (up, probes, down).
demo: deps build
	./$(BIN) plan labs/hairpin.yaml | head -n 40
	./$(BIN) test labs/hairpin.yaml

## bench: the speed figures (docs/performance.md): one table of every target beside
## the floor (and Mininet when installed), then the package benchmarks (verify's:
## 500 sequential probes in a 20-host lab, BenchmarkProbes500). BENCH_FLAGS
## passes options, e.g. make bench BENCH_FLAGS='-reps 5 -curve ""'; -arp-overflow adds
## the run without static neighbours, which fills the machine-wide neighbour table.
bench: deps build
	$(GO) run ./bench $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchtime 3x ./node/ ./topo/gen/ ./verify/ ./labs/

clean:
	rm -rf bin
