# tfx-nmt: `make run` trains, evaluates and pushes the quick model; `make test` runs the test suite;
# `make bench`, `make bench-quality` and `make bench-peers` print the benchmark tables of BENCHMARKS.md.
# Every target installs the environment first when it is missing or older than the lock file.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
PRESET ?= quick
OUTPUT_DIR ?= outputs/$(PRESET)
RUN_ARGS ?=
PYTEST_ARGS ?=
# `make bench`: about 10 minutes on an idle 2-core CPU (throughput ~4, data components ~4, smoke ~2).
BENCH_THROUGHPUT_ARGS ?= --preset quick --steps 40 --warmup 10 --baseline-batch 64
BENCH_DATA_ARGS ?= --vocabulary-size 8000
BENCH_OVERHEAD_ARGS ?= --preset smoke
# `make bench-quality`: the quick preset end to end into a fresh BENCH_OUTPUT_DIR (removed first).
BENCH_OUTPUT_DIR ?= outputs/bench-quality
BENCH_FIGURE ?= bench/figures/training_curve_quick.png
BENCH_QUALITY_ARGS ?= --preset quick
# `make bench-peers`: the SavedModel against its CTranslate2 export, on the model of a finished run (about 20
# minutes for the quick model on a 2-core CPU). CTranslate2 is a dependency of the product (in the lock).
PEERS_RUN_DIR ?= $(BENCH_OUTPUT_DIR)
BENCH_PEERS_ARGS ?= --sentences 1000 --batch-1-sentences 200 --rounds 3

# The shared copy of Multi30k beside the checkout, when there is one; else the code's own default.
SHARED_DATA := $(abspath ../shared/data/multi30k)
ifeq ($(TFX_NMT_DATA_DIR),)
ifneq ($(wildcard $(SHARED_DATA)/train.en.gz),)
export TFX_NMT_DATA_DIR := $(SHARED_DATA)
endif
endif

.PHONY: install run test lint bench bench-quality bench-peers clean lock lock-gpu chromium
install: $(STAMP)

# --compile-bytecode: unlike pip, uv leaves .pyc files to the first import, and where Python may not write
# them (PYTHONDONTWRITEBYTECODE, a read-only tree) every process, each Beam worker and test subprocess
# included, compiles TensorFlow, TFX and Beam again: `import tensorflow` 21 s instead of 6 s on a 2-core CPU.
$(STAMP): requirements.lock setup.py
	@py=$$(scripts/find_python310.sh) || exit 1; \
	echo "Using $$py"; \
	[ -x $(BIN)/python ] || "$$py" -m venv $(VENV) || exit 1; \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)" && \
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements.lock && \
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e . && \
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tfx-nmt run --preset $(PRESET) --output-dir $(OUTPUT_DIR) $(RUN_ARGS)

# pytest's own script, not `python -m pytest`: that would put the working directory on sys.path, and the
# top-level folders (pipeline/, models/, ...) would import under their bare names.
test: $(STAMP) chromium lint
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

# The import-layer contract of .importlinter, checked on the package as the wheel lays it out (the folders
# under their tfx_nmt.* names): import-linter reads a package from one directory, and in this checkout
# tfx_nmt.pipeline lives in pipeline/, not tfx_nmt/pipeline/. build/ goes first: setuptools keeps its copies
# of the sources in build/lib, and a module deleted since the last build would still be in the wheel.
LINT_TREE := build/import-graph
lint: $(STAMP)
	@rm -rf build && \
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
	  -w $(LINT_TREE) . && \
	$(BIN)/python -m zipfile -e $(LINT_TREE)/tfx_nmt-*.whl $(LINT_TREE)/tree && \
	cd $(LINT_TREE)/tree && ../../../$(BIN)/lint-imports --no-cache --config ../../../.importlinter

# Benchmarks print tables (BENCHMARKS.md); they are measurements, not tests.
# TensorFlow's start-up lines and Google clients' FutureWarnings would bury the tables.
bench bench-quality bench-peers: export TF_CPP_MIN_LOG_LEVEL = 2
bench bench-quality bench-peers: export PYTHONWARNINGS = ignore::FutureWarning
bench: $(STAMP)
	$(BIN)/python bench/train_throughput.py $(BENCH_THROUGHPUT_ARGS)
	$(BIN)/python bench/data_components.py $(BENCH_DATA_ARGS)
	$(BIN)/python bench/language_identification.py
	$(BIN)/python bench/pipeline_overhead.py $(BENCH_OVERHEAD_ARGS)

bench-quality: $(STAMP)
	rm -rf $(BENCH_OUTPUT_DIR)
	$(BIN)/python bench/quality.py --output-dir $(BENCH_OUTPUT_DIR) --figure $(BENCH_FIGURE) $(BENCH_QUALITY_ARGS)

bench-peers: $(STAMP)
	$(BIN)/python bench/peers.py --run-dir $(PEERS_RUN_DIR) $(BENCH_PEERS_ARGS)

# Headless Chromium opens the run report in the tests: Debian's `chromium` package, installed when missing
# (as root, or through sudo); nothing happens when it is already on PATH.
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "Installing Debian's chromium package for the report's browser test"; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# Regenerates requirements.lock from requirements.in for Python 3.10 on manylinux_2_28 (glibc 2.28+).
lock: $(STAMP)
	$(BIN)/uv pip compile --python-version 3.10 --python-platform x86_64-manylinux_2_28 \
	  requirements.in -o requirements.lock

# Regenerates requirements-gpu.lock, the GPU image's (kubeflow/Dockerfile, LOCK=requirements-gpu.lock):
# requirements-gpu.in is requirements.in constrained by requirements.lock plus `tensorflow[and-cuda]`, so
# every package of the CPU lock keeps its version and NVIDIA's CUDA wheels come on top. Run `make lock` first.
lock-gpu: $(STAMP)
	$(BIN)/uv pip compile --python-version 3.10 --python-platform x86_64-manylinux_2_28 \
	  requirements-gpu.in -o requirements-gpu.lock

clean:
	rm -rf $(VENV) outputs build
