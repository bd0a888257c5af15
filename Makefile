# egorig: `make demo` runs the main job on the embedded default; `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.egorig-installed
# Owned Anny model data and the warp kernel cache live here (see synth/bodies/anny_data.py).
export EGORIG_CACHE_DIR ?= $(CURDIR)/.cache/egorig
export WARP_CACHE_PATH ?= $(EGORIG_CACHE_DIR)/warp
DEMO_OUT ?= out/demo

.PHONY: setup demo test test-all test-slow bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel
	$(PIP) install -q "torch==2.13.0"
	-$(PIP) uninstall -y -q opencv-python-headless 2>/dev/null  # replaced by the contrib build (same cv2 module)
	$(PIP) install -q -e ".[test]"
	# projectaria_tools: the reference Fisheye624 implementation of the lens tests; its own requirements
	# (jupyter, rerun, ...) are not needed for that, so it is installed without them.
	$(PIP) install -q --no-deps "projectaria-tools==2.3.0"
	$(PY) -m synth.bodies.anny_data build
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/synth demo --out $(DEMO_OUT)

test: setup
	$(PY) -m pytest -m "not slow and not gpu" -q

test-all: setup
	$(PY) -m pytest -m "not gpu" -q

test-slow: setup
	$(PY) -m pytest -m "slow and not gpu" -q

bench: setup
	$(PY) bench/labels.py
	$(PY) bench/render.py
	$(PY) bench/farm.py
	$(PY) bench/train.py

clean:
	rm -rf $(VENV) .cache out
