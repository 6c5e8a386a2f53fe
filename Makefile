# treatywatch — see README.md.
GO    ?= go
BIN   := bin/treatywatch
DB    ?= data/treatywatch.db
BENCHTIME ?= 1x

.PHONY: build run test bench vet fmt

build:
	$(GO) build -o $(BIN) ./cmd/treatywatch

## run: build, create $(DB) if absent, load the shipped seed, print the Hanoi Convention's status.
run: build
	./$(BIN) --db $(DB) seed --quiet
	./$(BIN) --db $(DB) status XVIII-16

## test: vet and the whole test suite, with the race detector.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

## bench: every benchmark, each against its raw SQLite baseline in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem -timeout 60m ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .
