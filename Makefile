# kiosk: `make run` to try it, `make test` for the whole suite. Needs Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LANGS := sv nb da fi de
STAMP := $(VENV)/.installed
# Test processes (pytest-xdist): each test file runs whole in one of them (--dist loadfile), so
# the servers and browsers a module starts once are started once. TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

.PHONY: run test test-fast lint typecheck format translations compile-translations audit lock bench bench-badges \
	bench-purge bench-checkin bench-dashboard bench-erasure bench-memory bench-pages clean vendor

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "kiosk needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

compile-translations: $(STAMP)
	@$(BIN)/kiosk translate compile >/dev/null

run: $(STAMP) compile-translations
	$(BIN)/kiosk db upgrade
	$(BIN)/kiosk demo --base-url http://127.0.0.1:$${KIOSK_PORT:-5000}
	$(BIN)/kiosk serve --host 127.0.0.1 --port $${KIOSK_PORT:-5000}

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The whole suite (what .ci/run calls): lint, then every test, browser and system tests included.
test: lint compile-translations
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The inner loop: no lint, no slow tests (tests/system/, browser, fuzzing, served processes).
test-fast: compile-translations
	$(BIN)/python -m pytest $(XDIST) -m "not slow and not browser" $(PYTEST_ARGS)

# Known vulnerabilities in the locked dependencies, from PyPI's advisory data (needs
# https://pypi.org). The lock pins every package, so nothing is installed (--no-deps
# --disable-pip); --strict fails the audit when any package cannot be checked, so an
# unreachable service never passes silently.
audit: $(STAMP)
	$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off

# Pin what .venv holds now (after `make .venv/.installed` or an upgrade) as requirements.lock.
lock: $(STAMP)
	@{ echo "# Every dependency of kiosk and its dev extra, pinned: what CI audits (make audit)."; \
	   echo "# Refresh: make lock (pip freeze --exclude-editable of .venv)."; \
	   $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock

# Extract new strings, merge them into every catalog, compile. Translate what is new in each
# translations/<lang>/LC_MESSAGES/messages.po; tests/core/test_i18n.py fails until every one is done.
translations: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l --no-location --sort-output \
		--project kiosk -o translations/messages.pot .
	@for lang in $(LANGS); do \
		if [ -f translations/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete -i translations/messages.pot \
				-d translations -l $$lang; \
		else \
			$(BIN)/pybabel -q init -i translations/messages.pot -d translations -l $$lang; \
		fi; \
	done
	@$(BIN)/kiosk translate compile >/dev/null

# The browser libraries under static/vendor/ at the versions pinned in scripts/vendor.sh, from
# the npm registry (needs node and npm); the result is committed, nothing is fetched at run time.
vendor:
	sh scripts/vendor.sh

# Benchmarks: long, never part of `make test`; results and commands in bench/README.md.
# BENCH_ARGS passes options to the database benchmarks (check-in, dashboard, memory, purge),
# e.g. BENCH_ARGS='--postgres postgresql+psycopg://postgres@127.0.0.1/kiosk_bench'.
bench: bench-badges bench-checkin bench-dashboard bench-erasure bench-memory bench-pages bench-purge

bench-badges: $(STAMP) compile-translations
	$(BIN)/python bench/badge_bench.py --output bench/results/badges.json

bench-checkin: $(STAMP) compile-translations
	$(BIN)/python bench/checkin.py --json bench/results/checkin.json $(BENCH_ARGS)

bench-dashboard: $(STAMP) compile-translations
	$(BIN)/python bench/dashboard.py --json bench/results/dashboard.json $(BENCH_ARGS)

# Memory runs on one backend: PostgreSQL when BENCH_ARGS names one, else SQLite.
bench-erasure: $(STAMP) compile-translations
	$(BIN)/python bench/erasure.py $(BENCH_ARGS)

bench-memory: $(STAMP) compile-translations
	$(BIN)/python bench/memory.py --json bench/results/memory.json $(BENCH_ARGS)

bench-pages: $(STAMP) compile-translations
	$(BIN)/python bench/page_weight.py --json bench/results/pages.json

bench-purge: $(STAMP) compile-translations
	$(BIN)/python bench/purge.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache .mypy_cache
