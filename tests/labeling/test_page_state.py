"""The labeling page's state logic (resource/labelloop/page-state.js, group-state.js) under node's own test runner."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from paths import ROOT


def test_the_page_state_unit_tests_pass_under_node():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (18 or later) is needed to run the page's unit tests: apt-get install nodejs.")
    run = subprocess.run([node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
