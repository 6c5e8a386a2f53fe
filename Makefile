# treatywatch — see README.md.
GO    ?= go
BIN   := bin/treatywatch
DB    ?= data/treatywatch.db
BENCHTIME ?= 1x
FUZZTIME  ?= 20s

ADDR  ?= 127.0.0.1:8080

.PHONY: build run status test test-deps lint bench bench-scale fuzz load load-pg vet fmt

build:
	$(GO) build -o $(BIN) ./cmd/treatywatch
	$(GO) build -o bin/treatywatch-load ./cmd/treatywatch-load

## run: the main job — build, create $(DB) with the shipped seed if absent, print the Hanoi
## Convention's status, and serve the API and dashboard at http://$(ADDR) (console notifications).
run: build
	./$(BIN) --db $(DB) seed --quiet
	./$(BIN) --db $(DB) status XVIII-16
	./$(BIN) --db $(DB) serve --addr $(ADDR)

## status: the Hanoi Convention's status, without the server.
status: build
	./$(BIN) --db $(DB) seed --quiet
	./$(BIN) --db $(DB) status XVIII-16

## test: vet and the whole test suite, with the race detector. It first makes sure of what the
## suite needs beyond Go and gcc (test-deps), and fails saying what is missing rather than skip.
test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

## test-deps: Debian's chromium for the browser tests and Debian's postgresql server binaries for
## the PostgreSQL tests (unless TREATYWATCH_TEST_POSTGRES names a server), installed with apt-get
## when absent and this user may (root, or passwordless sudo); otherwise stop and say exactly what
## to install.
test-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then sudo=; \
		elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
		else echo "make test needs Debian's chromium (/usr/bin/chromium) for the browser tests; install it with: sudo apt-get install chromium" >&2; exit 1; fi; \
		echo "installing Debian's chromium for the browser tests"; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
		{ echo "make test: apt-get install chromium failed; the browser tests need /usr/bin/chromium" >&2; exit 1; }; \
	fi
	@if [ -z "$$TREATYWATCH_TEST_POSTGRES" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && \
		! { command -v pg_config >/dev/null 2>&1 && [ -x "$$(pg_config --bindir)/initdb" ]; }; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then sudo=; \
		elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
		else echo "make test needs PostgreSQL's server binaries (initdb, pg_ctl) for the PostgreSQL tests; install them with: sudo apt-get install postgresql (or set TREATYWATCH_TEST_POSTGRES to a server's URL)" >&2; exit 1; fi; \
		echo "installing Debian's postgresql for the PostgreSQL tests (a throwaway cluster per test binary; the service is not started)"; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || \
		{ echo "make test: apt-get install postgresql failed; the PostgreSQL tests need initdb and pg_ctl" >&2; exit 1; }; \
	fi

## bench: every benchmark, each against its raw baseline (the fastest plain go-sqlite3 loop, or for
## events/postgres the fastest plain pgx loop on the same server, for the same rows) in the same run, wall and CPU time; each package's run ends with a ratio line per pair.
## BENCHCOUNT > 1 repeats each pair and gives the median ratio.
BENCHCOUNT ?= 1
bench:
	$(GO) test -run '^$$' -bench '^Benchmark(AppendOne|Append1k)$$' -benchtime 3s -count $(BENCHCOUNT) -benchmem ./events/sqlite
	$(GO) test -run '^$$' -bench '^Benchmark(AppendBatch100k|ReadAll1M)$$' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -benchmem -timeout 30m ./events/sqlite
	$(GO) test -run '^$$' -bench '^Benchmark(AppendOne|AppendOneParallel|Append1k)$$' -benchtime 3s -count $(BENCHCOUNT) -benchmem ./events/postgres
	$(GO) test -run '^$$' -bench '^BenchmarkReadAll1M$$' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -benchmem -timeout 30m ./events/postgres
	$(GO) test -run '^$$' -bench '^Benchmark(Rebuild|StatusAsOf)$$' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -timeout 30m ./projections
	$(GO) test -run '^$$' -bench 'AppendToSlack' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -timeout 10m ./notifiers

## bench-scale: the built binary as whole processes (wall time, CPU, peak RSS; serve to /readyz, first
## start and restart) on a ledger holding only the Hanoi Convention and on ledgers of 1,000 treaties
## sharing SCALE events, with each figure's ratio to the Hanoi-only ledger. The generated ledgers are
## kept in SCALE_CACHE, outside the repository, so reruns start measuring at once.
SCALE       ?= 10k,100k,1m
SCALE_RUNS  ?= 3
SCALE_CACHE ?= $(or $(TMPDIR),/tmp)/treatywatch-scale
bench-scale: build
	$(GO) build -o bin/treatywatch-scale ./cmd/treatywatch-scale
	./bin/treatywatch-scale --bin $(BIN) --cache $(SCALE_CACHE) --scale $(SCALE) --runs $(SCALE_RUNS)

## fuzz: each fuzz target for FUZZTIME (default 20s). `make test` already runs every target's seed
## corpus (testdata/fuzz/<FuzzName>/); a failing input the fuzzer finds is written there too.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseDate$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzParsePeriod$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzCheckText$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzResolve$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeAct$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzImportCSV$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./events/treatyfile
	$(GO) test -run '^$$' -fuzz '^FuzzParseSchedule$$' -fuzztime $(FUZZTIME) ./notifiers
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME) ./cmd/internal/web

## load: 100 clients for 60 s (90 % reads, 10 % writes) against a server on a fresh temporary ledger;
## at the end the driver checks the ledger itself, through the API's log pages and in the file, for
## every acknowledged write present exactly once (LOAD_CLIENTS, LOAD_DURATION to change the load).
LOAD_CLIENTS  ?= 100
LOAD_DURATION ?= 60s
LOAD_ADDR     ?= 127.0.0.1:18181
load: build
	@set -e; dir=$$(mktemp -d); db=$$dir/load.db; pid=; \
	trap 'if [ -n "$$pid" ]; then kill $$pid 2>/dev/null || true; wait $$pid 2>/dev/null || true; fi; rm -rf $$dir' EXIT; \
	./$(BIN) --db $$db seed --quiet; \
	token=$$(./$(BIN) --db $$db token create --role officer --name load | tail -n 1); \
	./$(BIN) --db $$db serve --addr $(LOAD_ADDR) >$$dir/serve.log 2>&1 & pid=$$!; \
	ready=; for i in $$(seq 150); do \
		kill -0 $$pid 2>/dev/null || break; \
		grep -q 'serving http' $$dir/serve.log && curl -sf http://$(LOAD_ADDR)/readyz >/dev/null 2>&1 && { ready=1; break; }; \
		sleep 0.2; \
	done; \
	if [ -z "$$ready" ]; then echo "make load: the server on a fresh ledger did not become ready at $(LOAD_ADDR):" >&2; cat $$dir/serve.log >&2; exit 1; fi; \
	./bin/treatywatch-load --url http://$(LOAD_ADDR) --token $$token --clients $(LOAD_CLIENTS) --duration $(LOAD_DURATION) --db $$db

## load-pg: make load against two serve instances sharing one ledger in a throwaway PostgreSQL cluster
## (Debian's server binaries, started as the PostgreSQL tests start theirs: as the user postgres when
## root, on loopback, fsync off, in a temporary folder, stopped at the end). Client i talks to instance
## i mod 2; at the end the driver checks, through each instance's API, every acknowledged write present
## exactly once in the shared log.
LOAD_PG_PORT  ?= 18190
LOAD_PG_ADDRS ?= 127.0.0.1:18182 127.0.0.1:18183
load-pg: build
	@set -e; dir=$$(mktemp -d); chmod 755 $$dir; pids=; pgbin=; \
	for b in "$$(pg_config --bindir 2>/dev/null)" $$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do \
		if [ -n "$$b" ] && [ -x "$$b/initdb" ]; then pgbin=$$b; break; fi; done; \
	if [ -z "$$pgbin" ]; then echo "make load-pg needs PostgreSQL's server binaries (initdb, pg_ctl): sudo apt-get install postgresql" >&2; exit 1; fi; \
	as() { if [ "$$(id -u)" = 0 ]; then runuser -u postgres -- "$$@"; else "$$@"; fi; }; \
	mkdir $$dir/pg $$dir/pglog; if [ "$$(id -u)" = 0 ]; then chown postgres $$dir/pg $$dir/pglog; fi; \
	trap 'for p in $$pids; do kill $$p 2>/dev/null || true; wait $$p 2>/dev/null || true; done; as $$pgbin/pg_ctl -D $$dir/pg -m immediate stop >/dev/null 2>&1 || true; rm -rf $$dir' EXIT; \
	as $$pgbin/initdb -D $$dir/pg -A trust -U postgres -E UTF8 --locale=C >$$dir/pglog/initdb.log 2>&1; \
	as $$pgbin/pg_ctl -D $$dir/pg -l $$dir/pglog/server.log -w -o "-p $(LOAD_PG_PORT) -c listen_addresses=127.0.0.1 -k $$dir/pg -c fsync=off -c max_connections=200" start >/dev/null; \
	export TREATYWATCH_DB=postgres://postgres@127.0.0.1:$(LOAD_PG_PORT)/postgres; \
	export TREATYWATCH_SECRETS_KEY=$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'); \
	./$(BIN) seed --quiet; \
	token=$$(./$(BIN) token create --role officer --name load | tail -n 1); \
	urls=; n=0; for a in $(LOAD_PG_ADDRS); do n=$$((n+1)); \
		./$(BIN) serve --addr $$a --no-seed >$$dir/serve-$$n.log 2>&1 & pids="$$pids $$!"; \
		urls="$$urls$${urls:+,}http://$$a"; done; \
	for a in $(LOAD_PG_ADDRS); do ready=; for i in $$(seq 150); do \
		curl -sf http://$$a/readyz >/dev/null 2>&1 && { ready=1; break; }; sleep 0.2; done; \
		if [ -z "$$ready" ]; then echo "make load-pg: the instance at $$a did not become ready:" >&2; cat $$dir/serve-*.log >&2; exit 1; fi; done; \
	./bin/treatywatch-load --url $$urls --token $$token --clients $(LOAD_CLIENTS) --duration $(LOAD_DURATION)

## lint: golangci-lint v2, pinned in go.mod as a tool (no downloaded binary), with the linters and the
## import-direction rule of .golangci.yml.
lint:
	$(GO) tool golangci-lint run ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .
