# credbroker — make targets. `make test` is what CI runs (see .ci/run).
GO        ?= go
BIN       ?= bin/credbroker
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -s -w -X github.com/credbroker/credbroker/internal/buildinfo.Version=$(VERSION)
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
STATICCHECK_VERSION := v0.8.2
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(shell $(GO) env GOPATH)/bin/staticcheck)

.PHONY: all build dev test test-short test-systemd test-fleet bench lint fuzz clean tools man completions package nfpm gotestsum

# Packages (make package): where they and the generated docs go, the version
# (the tag at HEAD, v1.2.3 -> 1.2.3, else 0.0.0~git<commit time>.<hash>: '~'
# sorts before any release in dpkg and rpm), the target architecture, and a
# timestamp from the commit for reproducible man pages and archives.
DIST        ?= dist
GOARCH      ?= $(shell $(GO) env GOARCH)
PKG_VERSION ?= $(shell t=$$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null) && echo "$${t\#v}" | tr - '~' || \
                 git log -1 --format='0.0.0~git%cd.%h' --date=format-local:%Y%m%d%H%M%S 2>/dev/null || echo 0.0.0~dev)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
NFPM_VERSION := v2.43.0
GOTESTSUM_VERSION := v1.12.3
GOTESTSUM   ?= $(shell $(GO) env GOPATH)/bin/gotestsum
NFPM        ?= $(shell $(GO) env GOPATH)/bin/nfpm
# gen-docs runs on the build machine, whatever GOARCH the package is for.
GENDOCS      = GOARCH= CGO_ENABLED=0 $(GO) run -trimpath -ldflags '$(LDFLAGS)' ./cmd/credbroker gen-docs

all: build

# build: cgo, for PKCS #11 tokens (crypto11 loads the token's C module), linked
# against libc only: Go's own DNS resolver and user lookup (netgo, osusergo), as
# in a static build; the package declares the libc it needs (packaging/nfpm.yaml).
# Another GOARCH needs that architecture's C compiler (CC=aarch64-linux-gnu-gcc).
# Without a C compiler (a fresh machine), build falls back to a pure-Go binary that
# says so when a token source is configured; packages are always built with cgo.
BUILDTAGS ?= netgo,osusergo
BUILD_CGO ?= $(if $(shell command -v "$$($(GO) env CC)" 2>/dev/null),1,0)
package: BUILD_CGO := 1
build:
	@[ "$(BUILD_CGO)" = 1 ] || echo "make build: no C compiler ($$($(GO) env CC)): building without PKCS #11 token support; apt-get install gcc for it" >&2
	CGO_ENABLED=$(BUILD_CGO) $(GO) build -trimpath -tags '$(BUILDTAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/credbroker

## dev: run the broker with the embedded, in-memory core and the demo account
dev:
	$(GO) run ./cmd/credbroker serve --dev

## test: lint, then every test (unit, SDK and end-to-end with the real aws CLI and boto3),
## a line per package, the output of each failure, and at the end every skipped test
## with its reason (gotestsum's summary), so a skip is never silent
test: lint nfpm gotestsum
	$(GOTESTSUM) --format pkgname-and-test-fails --format-icons text -- -race -count=1 -timeout 12m ./...

## test-fleet: the fleet simulation at the issue's size: 10,000 brokers against a core
## throttling at 600 AssumeRole/s, 2.5 simulated hours with an outage (internal/fleet;
## `make test` runs it with 1,000, and 200 under -race); prints the per-minute histograms
test-fleet:
	CREDBROKER_FLEET_SIZE=10000 $(GO) test -count=1 -timeout 20m -run '^TestFleet$$' -v ./internal/fleet

## test-systemd: the .deb under a real systemd: a Debian 12 root booted in systemd-nspawn
## follows packaging/README.md (root; the root is built once and cached: packaging/nspawn/)
test-systemd: package
	bash packaging/nspawn/test-systemd.sh '$(DIST)/credbroker_$(PKG_VERSION)-1_$(GOARCH).deb'

test-short:
	$(GO) test -short -count=1 ./...

## bench: every benchmark once, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

tools:
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## fuzz: a short run of every fuzz target (FUZZTIME each)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## man: one man page per command, from the same command tree as --help
man:
	rm -rf $(DIST)/man
	$(GENDOCS) --man $(DIST)/man
	gzip -9n $(DIST)/man/*.1

## completions: bash, zsh and fish completion scripts
completions:
	rm -rf $(DIST)/completions
	$(GENDOCS) --completions $(DIST)/completions

## package: .deb and .rpm in $(DIST) (binary, units, config, completions, man pages)
package: build man completions nfpm
	@for p in deb rpm; do \
	  CREDBROKER_VERSION='$(PKG_VERSION)' CREDBROKER_ARCH='$(GOARCH)' CREDBROKER_BIN='$(BIN)' \
	  CREDBROKER_DIST='$(DIST)' $(NFPM) package --config packaging/nfpm.yaml --packager $$p --target $(DIST)/ || exit 1; \
	done

# gotestsum, pinned: runs `go test -json` and summarises it (skips included).
gotestsum:
	@$(GO) version -m $(GOTESTSUM) 2>/dev/null | grep -qE 'mod[[:space:]]+gotest.tools/gotestsum[[:space:]]+$(GOTESTSUM_VERSION)([[:space:]]|$$)' || \
	  { echo "installing gotestsum $(GOTESTSUM_VERSION)"; GOBIN='$(dir $(GOTESTSUM))' $(GO) install gotest.tools/gotestsum@$(GOTESTSUM_VERSION); }

# nfpm, pinned: a build tool, not a library of the product.
nfpm:
	@$(GO) version -m $(NFPM) 2>/dev/null | grep -qE 'mod[[:space:]]+github.com/goreleaser/nfpm/v2[[:space:]]+$(NFPM_VERSION)([[:space:]]|$$)' || \
	  { echo "installing nfpm $(NFPM_VERSION)"; GOBIN='$(dir $(NFPM))' $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION); }

clean:
	rm -rf bin dist
