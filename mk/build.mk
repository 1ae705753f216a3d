# The deployable stack (issue 3): the tools venv with aws-sam-cli, the Lambda@Edge
# artifact that `sam build` makes through build-EdgeFunction, and deploy.
# Included by the Makefile, which defines PYTHON313.

TOOLS_VENV := .venv-tools
SAM := SAM_CLI_TELEMETRY=0 $(TOOLS_VENV)/bin/sam

# Lambda's python3.13 runtime is Amazon Linux 2023 (glibc 2.34): any manylinux wheel
# up to 2_34 runs there. pip does not widen an explicit --platform, so list them;
# Pillow 13 ships manylinux_2_28 wheels only.
EDGE_WHEEL_PLATFORMS := manylinux2014_x86_64 manylinux_2_28_x86_64 manylinux_2_34_x86_64
# Pillow parts that edge/ never uses: the font stack (ImageFont's _imagingft and the
# libraries only it links: FreeType, HarfBuzz, Brotli, libpng), Tk, and type stubs.
# tests/test_build.py checks that every remaining binary still loads.
EDGE_PRUNED := PIL/_imagingft.*.so PIL/_imagingtk.*.so \
	pillow.libs/libfreetype-*.so* pillow.libs/libharfbuzz-*.so* pillow.libs/libbrotli*-*.so* pillow.libs/libpng16-*.so*

.PHONY: tools tools-lock build deploy purge log-retention prune-versions build-EdgeFunction

tools: $(TOOLS_VENV)/.installed

$(TOOLS_VENV)/.installed: requirements/tools.txt requirements/tools.lock
	$(call install_venv,$(TOOLS_VENV),tools)
	touch $@

tools-lock: tools
	$(call freeze_venv,$(TOOLS_VENV),tools)

# tests/test_template.py and tests/test_build.py run cfn-lint, sam validate and sam build from .venv-tools.
test: tools

build: tools
	$(SAM) build
	@$(PYTHON313) -m bench.artifact
ifeq ($(filter deploy,$(MAKECMDGOALS)),)  # make deploy goes on to deploy: no hint to run it
	@echo "Here, in place of the SAM CLI's hints above: make deploy (not sam deploy --guided, which may rewrite"
	@echo "samconfig.toml), make invoke EVENT=events/<name>.json (not sam local invoke, which needs Docker)."
endif

# The artifact as `make bench` measures it: built again only when what goes into it changed.
.aws-sam/build/EdgeFunction: $(wildcard edge/*.py edge/image/*.py) requirements/runtime.txt template.yaml mk/build.mk \
		| tools
	$(SAM) build
	touch $@

# DEPLOY_ARGS: more sam deploy options for one run, e.g. DEPLOY_ARGS='--parameter-overrides MemorySize=3008'.
deploy: build
	$(SAM) deploy $(DEPLOY_ARGS)

# An original's derivatives deleted and their URLs invalidated, after it is replaced or taken down (docs/DEPLOY.md,
# "Replacing an original"). PURGE_ARGS: more options, e.g. PURGE_ARGS=--dry-run or PURGE_ARGS='--stack my-cdn'.
purge: tools
	@test -n "$(KEY)" || { echo "usage: make purge KEY=photos/cat.jpg [PURGE_ARGS=--dry-run]"; exit 2; }
	$(TOOLS_VENV)/bin/python -m ops.purge "$(KEY)" $(PURGE_ARGS)

# The deployed function's log groups in every region, kept DAYS (docs/DEPLOY.md, Logs). boto3 comes with the SAM CLI.
# RETENTION_ARGS: more options, e.g. RETENTION_ARGS=--dry-run or RETENTION_ARGS='--stack my-cdn'.
log-retention: tools
	@test -n "$(DAYS)" || { echo "usage: make log-retention DAYS=30 [RETENTION_ARGS=--dry-run]"; exit 2; }
	$(TOOLS_VENV)/bin/python -m ops.log_retention --days "$(DAYS)" $(RETENTION_ARGS)

# The function versions earlier deploys left behind deleted, but for the aliased ones, any newer, and the KEEP
# newest older ones (2 unless given; docs/DEPLOY.md, "Old function versions"). PRUNE_ARGS: more options, e.g.
# PRUNE_ARGS=--dry-run.
prune-versions: tools
	$(TOOLS_VENV)/bin/python -m ops.prune_versions $(if $(KEEP),--keep "$(KEEP)") $(PRUNE_ARGS)

# Called by `sam build` (BuildMethod: makefile), in the project root, with ARTIFACTS_DIR set.
build-EdgeFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "error: ARTIFACTS_DIR is not set; run 'make build'"; exit 1; }
	$(require_python313)
	$(PYTHON313) -m pip --disable-pip-version-check --quiet install --root-user-action=ignore \
		--only-binary=:all: --implementation cp --python-version 3.13 --abi cp313 \
		$(addprefix --platform ,$(EDGE_WHEEL_PLATFORMS)) \
		--no-compile --upgrade --target "$(ARTIFACTS_DIR)" -r requirements/runtime.txt
	cd "$(ARTIFACTS_DIR)" && rm -f $(EDGE_PRUNED) && find . \( -name '*.pyi' -o -name py.typed \) -delete
	tar -cf - --exclude=__pycache__ --exclude='*.py[cod]' --exclude='.*' --exclude=tests \
		--exclude='test_*.py' --exclude='*_test.py' --exclude=conftest.py edge \
		| tar -xf - --no-same-owner -C "$(ARTIFACTS_DIR)"
	chmod -R a+rX "$(ARTIFACTS_DIR)"
# Lambda's code directory is read-only: without .pyc files for 3.13 every cold start
# would compile every module it imports. unchecked-hash: never compared with the .py
# (zip timestamps are not exact), which is safe because the code never changes in place.
	$(PYTHON313) -m compileall -q -j 0 --invalidation-mode unchecked-hash \
		-s "$(ARTIFACTS_DIR)" -p /var/task "$(ARTIFACTS_DIR)"
