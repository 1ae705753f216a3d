# `make bench`: our engine against the tutorial baseline and libvips (issue 5).
# Its own venv, so that libvips, numpy and scikit-image never reach .venv or the artifact.
BENCH_VENV := .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_CACHE := .cache/bench-corpus
BENCH_ARGS ?=

.PHONY: bench bench-venv bench-levers bench-lock bench-clean

bench-venv: $(BENCH_VENV)/.installed

# bench.check_libvips: pyvips-binary must really load its bundled libvips (API mode, every saver we use).
$(BENCH_VENV)/.installed: requirements/runtime.txt requirements/bench.txt requirements/bench.lock
	$(call install_venv,$(BENCH_VENV),bench)
	$(BENCH_PY) -m bench.check_libvips
	touch $@

# BENCH_ARGS passes options through, e.g. BENCH_ARGS="--only 50mp --repetitions 9".
# The report measures the built artifact, rebuilt first if what goes into it changed (mk/build.mk).
bench: bench-venv .aws-sam/build/EdgeFunction
	$(BENCH_PY) -m bench.run --cache $(BENCH_CACHE) $(BENCH_ARGS)

# Exploratory: each lever of issue 5 measured on our engine alone (not part of `make bench`).
bench-levers: bench-venv
	$(BENCH_PY) -m bench.levers --cache $(BENCH_CACHE) $(BENCH_ARGS)

bench-lock: bench-venv
	$(call freeze_venv,$(BENCH_VENV),bench)

bench-clean:
	rm -rf $(BENCH_VENV) $(BENCH_CACHE) bench/results
