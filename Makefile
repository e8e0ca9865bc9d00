# Developer and CI entry points. `make test` is THE test command (README, .ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

UV_VERSION := 0.13.8
# Use uv from PATH if present, else a private copy installed into .tools/ by `make setup`.
ifndef UV
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
endif
RUN := $(UV) run --locked

export UV_PYTHON_DOWNLOADS := never

# CI sets CI=true: deterministic Hypothesis profile, and skipped postgres tests become failures.
ifneq ($(filter-out false 0,$(CI)),)
export HYPOTHESIS_PROFILE ?= ci
export LEDGER_REQUIRE_POSTGRES ?= 1
else
export HYPOTHESIS_PROFILE ?= dev
endif

.PHONY: setup test lint serve bench

setup:
	@if ! command -v "$(UV)" >/dev/null 2>&1; then \
		echo "uv not found; installing uv==$(UV_VERSION) into .tools/"; \
		if python3 -m venv .tools; then \
			.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"; \
		else \
			rm -rf .tools; \
			python3 -m pip install --quiet --target .tools/pip "uv==$(UV_VERSION)"; \
			mkdir -p .tools/bin && ln -sf ../pip/bin/uv .tools/bin/uv; \
		fi; \
	fi
	$(UV) sync --locked

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports

# Lint first (fail fast), then the suite; the recipe fails iff a step fails, and the last step
# is pytest, so success of `make test` means pytest passed.
test: lint
	$(RUN) pytest -p no:cacheprovider

# Embedded default (SQLite in ./data): `serve` itself migrates, publishes the seeds, fills an
# empty store with a demo year and prints demo tokens, then serves.
serve: setup
	$(RUN) sop-ledger serve

bench: setup
	$(RUN) python -m bench
