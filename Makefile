# The README's two commands: `make run` and `make test`. Both build .venv first.
# `make bench` runs every benchmark (`make bench BENCH_ARGS=--quick` for a smoke run).
.PHONY: run test lint venv bench

DATA_DIR ?= data

venv:
	@scripts/bootstrap

run: venv
	@scripts/run "$(DATA_DIR)"

# Lint and types first (seconds), then the tests on every core: independent tests run in parallel
# (pytest-xdist; worksteal: an idle worker takes tests queued for a busy one); PYTEST_ARGS adds to or
# overrides that (e.g. PYTEST_ARGS="-n 0 -x tests/core").
test: venv
	@scripts/test-services
	@.venv/bin/ruff check gate drivers webui tests
	@.venv/bin/mypy
	@.venv/bin/python -m pytest -n auto --dist worksteal --durations=15 $(PYTEST_ARGS)

lint: venv
	@.venv/bin/ruff check gate drivers webui tests
	@.venv/bin/mypy

bench: venv
	@.venv/bin/gate --data-dir "$(DATA_DIR)" bench all $(BENCH_ARGS)
