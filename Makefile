# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-rls lint install db-stop db-url bench bench-rls bench-quick bench-auth soak token superuser \
	cluster test-cluster bench-cluster

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is required (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

## run: serve the API on http://$(HOST):$(PORT) with the embedded database (DEBUG on)
run: export DJANGO_DEBUG ?= true
run: install
	@# runserver logs where the embedded database lives; the steps before it stay quiet about it.
	EMBEDDED_POSTGRES_ANNOUNCED=1 $(MANAGE) migrate --noinput
	@EMBEDDED_POSTGRES_ANNOUNCED=1 $(MANAGE) dev_banner --url http://$(HOST):$(PORT)
	$(MANAGE) runserver $(HOST):$(PORT)

## token: print a dev access token for EMAIL (the running `make run` API accepts it)
token: export DJANGO_DEBUG ?= true
token: export EMBEDDED_POSTGRES_ANNOUNCED = 1
token: install
	@$(MANAGE) mint_token --email "$(or $(EMAIL),dev@example.com)"

## superuser: create a staff user for /admin/ on the development database
superuser: export DJANGO_DEBUG ?= true
superuser: install
	$(MANAGE) createsuperuser

## test: the whole test suite (real Postgres: embedded, or TEST_DATABASE_URL)
test: install
	$(BIN)/python -m pytest

## test-rls: the whole suite again with DATABASE_RLS=enforce (docs/rls.md); CI runs both
test-rls: install
	DATABASE_RLS=enforce $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## db-stop: stop the embedded development and test databases (data is kept)
db-stop: install
	$(BIN)/python -m supabase_auth.local.embedded stop .local/postgres
	$(BIN)/python -m supabase_auth.local.embedded stop .local/test-postgres

db-url: install
	@$(BIN)/python -m supabase_auth.local.embedded url .local/postgres

## bench: this API and the reference design side by side, Postgres 0/1/10 ms away (~20 min;
## BENCH_ARGS="--distances 1 --scenarios post,me" for a quick run; --help lists the options)
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## bench-quick: one distance (1 ms), three scenarios, short runs: a smoke test of the bench
bench-quick: install
	$(BIN)/python bench/run.py --distances 1 --scenarios post,me,create --duration 5 --no-many

## bench-rls: the API with DATABASE_RLS=off and =enforce in the same rounds, Postgres 0/1/10 ms
## away (make bench's variants; docs/rls.md), then the in-process cost per request (bench/rls.py)
bench-rls: install
	$(BIN)/python bench/run.py --no-reference --variant off:DATABASE_RLS=off \
		--variant enforce:DATABASE_RLS=enforce $(BENCH_ARGS)
	$(BIN)/python bench/rls.py

## soak: a mixed load at half capacity for SOAK_MINUTES (default 5): 5xx, p99, memory, connections
soak: install
	$(BIN)/python bench/soak.py

## bench-auth: what token verification and authentication cost (not part of `make test`)
bench-auth: install
	$(BIN)/python bench/auth_bench.py

## cluster: nginx, two API nodes, Redis, PgBouncer, a primary and a replica on loopback (Ctrl-C stops)
cluster: install
	$(BIN)/python -m cluster.run $(CLUSTER_ARGS)

## test-cluster: drive the cluster end to end: limits across nodes, key rotation, outages, a node killed
test-cluster: install
	TEST_CLUSTER=1 $(BIN)/python -m pytest tests/cluster/test_cluster.py

## bench-cluster: throughput and p99 through nginx with 1 and 2 nodes, and what nginx and PgBouncer cost
bench-cluster: install
	$(BIN)/python bench/cluster.py $(BENCH_ARGS)
