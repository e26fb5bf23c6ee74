"""bench/run_all.py's headline table: a benchmark that could not measure a figure reports None, and the table says n/a."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_all(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))  # run_all imports its neighbours, as when run as a script
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "bench" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_missing_figure_is_shown_as_n_a_and_a_ratio_only_where_both_figures_exist(monkeypatch):
    table = _run_all(monkeypatch).headline_table([
        {"benchmark": "similar", "measure": "p95", "ours": None, "baseline": 3.0, "unit": "ms"},
        {"benchmark": "bulk", "measure": "p95", "ours": 2.0, "baseline": 4.0, "unit": "ms"},
    ]).splitlines()
    assert table[2] == "| similar | p95 | n/a | 3.00 ms |  |"
    assert table[3] == "| bulk | p95 | 2.00 ms | 4.00 ms | 2.0x |"
