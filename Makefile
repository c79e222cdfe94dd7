# Every target bootstraps .venv at the repo root when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install dev test test-deps lint bench fuzz package clean

$(STAMP): pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade 'pip<26.3'  # chalice pins pip<26.3; a newer one would be downgraded
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/lambdavault server -dev -dev-root-token-id=root

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint package test-deps
	$(BIN)/pytest -n 3 --dist loadgroup

# slapd/ldap-utils (apt, as root or with sudo) and OpenBao 2.6.2's bao; quick when present.
test-deps: $(STAMP)
	scripts/test-deps.sh

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Property-based requests from our OpenAPI document and OpenBao's against `lambdavault
# server -dev`; OpenBao's dev server answers the same request when ours gives a 5xx.
# FUZZ_SEED (printed) repeats a run; FUZZ_SPEC=ours|openbao|both; summary in build/fuzz.
FUZZ_SEED ?= 19
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --seed $(FUZZ_SEED) --seconds $(FUZZ_SECONDS)

# chalice needs a region only to name things in the template; nothing is contacted.
# STAGE=prod packages the prod stage (its IAM policy file, its resource names).
# infra.package then cuts the zip to what the functions import (infra/package_manifest.py),
# strips shared objects and compiles it to bytecode for the functions' Python.
STAGE ?= dev
PACKAGE := build/package
package: $(STAMP)
	rm -rf $(PACKAGE)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage $(STAGE) \
		--merge-template infra/template.yaml $(PACKAGE)
	$(BIN)/python -m infra.pin_stage $(PACKAGE)/sam.yaml $(STAGE)
	$(BIN)/python -m infra.audit_streams $(PACKAGE)/sam.yaml
	$(BIN)/python -m infra.package $(PACKAGE)
	$(BIN)/cfn-lint $(PACKAGE)/sam.yaml

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
