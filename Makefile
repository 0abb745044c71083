# The README's two commands: `make run` and `make test`. Both build .venv first.
# `make bench` runs every benchmark (`make bench BENCH_ARGS=--quick` for a smoke run).
.PHONY: run test venv bench

DATA_DIR ?= data

venv:
	@scripts/bootstrap

run: venv
	@scripts/run "$(DATA_DIR)"

test: venv
	@scripts/test-services
	@.venv/bin/python -m pytest $(PYTEST_ARGS)

bench: venv
	@.venv/bin/gate --data-dir "$(DATA_DIR)" bench all $(BENCH_ARGS)
