# tfx-nmt: `make run` trains, evaluates and pushes the quick model; `make test` runs the test suite.
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

# The shared copy of Multi30k beside the checkout, when there is one; else the code's own default.
SHARED_DATA := $(abspath ../shared/data/multi30k)
ifeq ($(TFX_NMT_DATA_DIR),)
ifneq ($(wildcard $(SHARED_DATA)/train.en.gz),)
export TFX_NMT_DATA_DIR := $(SHARED_DATA)
endif
endif

.PHONY: install run test bench clean lock chromium
install: $(STAMP)

$(STAMP): requirements.lock setup.py
	@py=$$(scripts/find_python310.sh) || exit 1; \
	echo "Using $$py"; \
	[ -x $(BIN)/python ] || "$$py" -m venv $(VENV) || exit 1; \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)" && \
	$(BIN)/uv pip install --python $(BIN)/python -r requirements.lock && \
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e . && \
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tfx-nmt run --preset $(PRESET) --output-dir $(OUTPUT_DIR) $(RUN_ARGS)

test: $(STAMP) chromium
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)

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

clean:
	rm -rf $(VENV) outputs
