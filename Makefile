# `make test` is the one command that runs every test, on a fresh machine
# too: it installs what the tests need first, and changes no system
# configuration (the tests start their own PostgreSQL).
GO ?= go

.PHONY: test build run bench fuzz lint

test:
	./scripts/test-deps.sh
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/pairgate
	$(GO) test -race -count=1 -timeout 20m ./...
	./scripts/fuzz.sh

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/pairgate ./cmd/pairgate

run:
	$(GO) run ./cmd/pairgate serve

bench:
	$(GO) run ./cmd/pairgate-bench

fuzz:
	FUZZTIME=$${FUZZTIME:-30s} ./scripts/fuzz.sh
