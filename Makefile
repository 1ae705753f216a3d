# Every target sets up what it needs: a fresh clone only needs make and Python 3.13.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Found once, on first use (a plain $(shell) would run the script at every expansion).
PYTHON313 ?= $(eval PYTHON313 := $(shell scripts/find-python313))$(PYTHON313)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help venv test lock clean

# Arguments that make a Python exit 0 only if it is 3.13.
IS_313 := -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'

define require_python313
@test -n "$(PYTHON313)" || { echo "error: Python 3.13 is required (see scripts/find-python313)"; exit 1; }
@$(PYTHON313) $(IS_313) 2>/dev/null || { echo "error: PYTHON313=$(PYTHON313) is not Python 3.13"; exit 1; }
endef
# The recipes every venv shares. $(1): its folder; $(2): the name of its requirements/<name>.txt
# and requirements/<name>.lock. A venv whose Python is not 3.13, or is broken (left by a setup that
# failed, which writes no stamp), is made again. freeze_venv is the recipe that regenerates the lock.
define install_venv
$(require_python313)
$(1)/bin/python $(IS_313) 2>/dev/null || { rm -rf $(1) && $(PYTHON313) -m venv $(1); }
$(1)/bin/python -m pip --disable-pip-version-check --quiet install -r requirements/$(2).txt -c requirements/$(2).lock
endef
define freeze_venv
(echo "# Exact versions for $(1), used as constraints: regenerate with 'make $@'."; $(1)/bin/python -m pip freeze) > requirements/$(2).lock
endef

# Each area of the project keeps its targets in its own file.
include $(wildcard mk/*.mk)

help:
	@echo "make demo     run the CDN locally on an embedded S3 (no Docker, no AWS account)"
	@echo "make test     set up .venv and .venv-tools and run every test and check"
	@echo "make invoke   EVENT=events/<file>.json: run the handler on one event, without Docker"
	@echo "make e2e      headless Chromium loads the demo's gallery and checks every image (installs chromium)"
	@echo "make bench    measure the transform against libvips and the tutorial baseline"
	@echo "make bench-levers  each lever of issue 5 on our engine alone (one section: BENCH_ARGS=\"--only ceiling\")"
	@echo "make build    sam build, without Docker; prints the artifact's size"
	@echo "make deploy   sam build && sam deploy (needs AWS credentials; DEPLOY_ARGS for one run's options); the SAM CLI lands in .venv-tools"
	@echo "make purge KEY=photos/cat.jpg   delete an original's derivatives and invalidate their URLs (PURGE_ARGS=--dry-run)"
	@echo "make log-retention DAYS=30   keep the deployed function's logs DAYS in every region (RETENTION_ARGS=--dry-run)"
	@echo "make prune-versions [KEEP=2]   delete old function versions, but the live one, newer ones and KEEP older (PRUNE_ARGS=--dry-run)"
	@echo "make clean    remove the venvs, test caches, sam build's output and out/"
	@echo "make bench-clean  remove the bench venv, its downloaded corpus and bench/results"
	@echo "make venv, tools, bench-venv, e2e-venv   set up one venv alone (.venv, .venv-tools, .venv-bench, .venv-e2e)"
	@echo "make lock, tools-lock, bench-lock, e2e-lock   regenerate that venv's requirements/<name>.lock"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements/runtime.txt requirements/dev.txt requirements/dev.lock
	$(call install_venv,$(VENV),dev)
	touch $@

test: venv
	$(PY) -m pytest

lock: venv
	$(call freeze_venv,$(VENV),dev)

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .hypothesis .aws-sam out
