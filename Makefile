# hardened-stacks — every target bootstraps what it needs (.venv, node_modules) on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_BIN := $(CURDIR)/node_modules/.bin
ENVIRONMENT ?= prod

# jsii runs aws-cdk-lib in Node: use the Node 22 pinned in package.json, and the pinned CDK CLI.
export JSII_NODE := $(NODE_BIN)/node
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1
export PATH := $(NODE_BIN):$(PATH)
# The CLI must never reach the internet during synth (notices, telemetry).
export CDK_DISABLE_CLI_TELEMETRY := true

CDK := $(NODE_BIN)/cdk --no-notices --no-version-reporting

.PHONY: help install synth test lint snapshots bench audit clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed node_modules/.installed ## Create .venv and node_modules (first use only)

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# Pre-compile: importing aws-cdk-lib without bytecode costs seconds on every run.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

synth: install ## Synthesize every reference stack into cdk.out/ (ENVIRONMENT=prod|staging|dev)
	$(CDK) synth --quiet -c environment=$(ENVIRONMENT)
	@ls -1 cdk.out/*.template.json

test: install ## Run the whole test suite (synthesizes each stack once)
	$(BIN)/pytest

lint: install ## ruff, mypy and cfn-lint on the synthesized templates
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint cdk.out/*.template.json

snapshots: install ## Rewrite the syrupy template snapshots after an intended change
	$(BIN)/pytest tests/stacks -k snapshot --snapshot-update

bench: install ## Time a warm synth and the test suite
	@echo "== make synth (warm)"; time $(MAKE) --no-print-directory synth > /dev/null
	@echo "== make test"; time $(BIN)/pytest -q > /dev/null

audit: install ## Audit every synthesized template against its stack's control profile
	@for t in cdk.out/*.template.json; do \
	  s=$$(basename $$t .template.json); \
	  $(BIN)/hardened-stacks audit $$t --profile $$s --format markdown > /dev/null \
	    && echo "$$s: all controls pass" || exit 1; \
	done

clean: ## Remove generated output (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
