# Running the CDN on a laptop (issue 7), without Docker or an AWS account: the demo
# (embedded S3 + CloudFront emulator + gallery), a Docker-free `sam local invoke`,
# and a browser test of the gallery. Everything lives in local/, outside the artifact.
# Included by the Makefile, which defines PYTHON313, VENV and PY.

PORT ?= 8080
E2E_VENV := .venv-e2e
E2E_PY := $(E2E_VENV)/bin/python
CHROMIUM := /usr/bin/chromium
# apt-get needs root; on a laptop that is sudo.
AS_ROOT = $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo invoke e2e e2e-venv e2e-lock

demo: venv
	$(PY) -m local.cdn --port $(PORT) $(DEMO_FLAGS)

invoke: venv
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/<file>.json [OUT=<file for the body>]"; exit 2; }
	$(PY) -m local.invoke "$(EVENT)" $(if $(OUT),--out "$(OUT)")

# Not part of `make test`: it installs Debian's Chromium and a browser-test venv.
e2e: venv e2e-venv $(CHROMIUM)
	$(E2E_PY) -m local.e2e --demo-python $(PY) --screenshot out/gallery.png

e2e-venv: $(E2E_VENV)/.installed

$(E2E_VENV)/.installed: requirements/e2e.txt requirements/e2e.lock
	$(call install_venv,$(E2E_VENV),e2e)
	touch $@

e2e-lock: $(E2E_VENV)/.installed
	$(call freeze_venv,$(E2E_VENV),e2e)

$(CHROMIUM):
	$(AS_ROOT) apt-get update
	$(AS_ROOT) apt-get install -y chromium
