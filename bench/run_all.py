"""``make bench``: run every benchmark in ``bench/`` and write ``bench/RESULTS.md``.

Each benchmark runs as its own process, one after the other, and measures the approach of the
plugin we replace in the same run, so the ratios hold on any machine. Their headline numbers
(``headline.record``) make the table at the top of RESULTS.md, which is also copied into
docs/benchmarks.md between its ``bench:start`` and ``bench:end`` markers; each benchmark's full output follows.

    python bench/run_all.py [--only NAME ... [--update]]

``--only NAME --update`` re-measures those benchmarks and puts their sections and headline rows
into RESULTS.md (and the docs' table) in place of the old ones, noting when.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from headline import ENVIRONMENT

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HELPERS = {"run_all.py", "headline.py"}
# Arguments a benchmark runs with here; the 4.x start-up takes ten minutes on 1M rows, so it is
# timed on 100k rows and scaled up (iterrows is linear).
ARGUMENTS = {"startup.py": ["--baseline-rows", "100000"]}
ORDER = ["label_write.py", "sampler.py", "folder.py", "startup.py", "load.py"]
PACKAGES = ["pandas", "numpy", "scikit-learn", "SQLAlchemy", "Flask", "pyarrow"]


def benchmarks() -> list:
    """Every benchmark file, in a fixed order (a new one runs last)."""
    found = sorted(p.name for p in BENCH.glob("*.py") if p.name not in HELPERS)
    return sorted(found, key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return (f"{cpu}, {os.cpu_count()} cores, {memory_kb / 1024 ** 2:.0f} GB RAM; {platform.platform()}; "
            f"Python {platform.python_version()}; {versions}")


def commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (result.stdout.strip() or "unknown") + (" with uncommitted changes" if dirty else "")


def number(value) -> str:
    """A figure as the tables print it; a benchmark that could not measure one reports None, shown as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}" if value >= 1 else f"{value:.3f}"


def headline_table(rows: list) -> str:
    lines = ["| benchmark | measure | labelloop | 4.x approach, same run | 4.x / labelloop |", "|---|---|---|---|---|"]
    for row in rows:
        unit = f" {row['unit']}" if row["unit"] else ""
        baseline, ratio = "", ""
        if row["baseline"] is not None:
            baseline = number(row["baseline"]) + unit
        if row["baseline"] is not None and row["ours"]:
            ratio = f"{row['baseline'] / row['ours']:,.1f}x"
        ours = number(row['ours']) + (unit if row['ours'] is not None else '')
        lines.append(f"| {row['benchmark']} | {row['measure']} | {ours} | {baseline} | {ratio} |")
    return "\n".join(lines)


def run(name: str, headlines: Path) -> tuple:
    command = [sys.executable, str(BENCH / name), *ARGUMENTS.get(name, [])]
    print(f"== {' '.join(['python', 'bench/' + name, *ARGUMENTS.get(name, [])])}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, ENVIRONMENT: str(headlines)})
    seconds = time.monotonic() - started
    output = result.stdout + (f"\n[exit code {result.returncode}]\n{result.stderr[-3000:]}" if result.returncode else "")
    print(output, flush=True)
    return result.returncode, output, seconds


def update_docs(table: str, latest: str, machine_line: str) -> None:
    """The headline table in docs/benchmarks.md, with the date of its newest figure (the dates of
    each benchmark's run stay in RESULTS.md)."""
    page = ROOT / "docs" / "benchmarks.md"
    block = f"{table}\n\nLatest figures of {latest}. {machine_line} Every benchmark's full output and date: `bench/RESULTS.md`.\n"
    text = page.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- bench:start -->\n).*?(<!-- bench:end -->)", re.S)
    if pattern.search(text):
        page.write_text(pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text), encoding="utf-8")


def update_results(names: list, sections: list, rows: list) -> None:
    """Re-measured benchmarks replace their own sections and headline rows (a row is the same
    measure when its benchmark and its words before any "(" are); the rest of RESULTS.md stays,
    and its header says what was re-measured when."""
    path = BENCH / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    for name, section in zip(names, sections):
        pattern = re.compile(rf"^## {re.escape(name[:-3])}\n.*?(?=^## |\Z)", re.S | re.M)
        text = pattern.sub(lambda _, new=section: new + "\n", text) if pattern.search(text) else text + "\n" + section

    def key(line: str) -> tuple:
        cells = [c.strip() for c in line.strip("|\n").split("|")]
        return cells[0], cells[1].split(" (")[0]

    new_lines = headline_table(rows).splitlines()[2:]
    replaced = {key(line) for line in new_lines}
    lines = text.splitlines()
    first = lines.index(headline_table([]).splitlines()[0]) + 2  # the headline table's first row
    last = next(n for n in range(first, len(lines) + 1) if n == len(lines) or not lines[n].startswith("|"))
    table = []
    for line in lines[first:last]:  # the new rows where the first old one was, or at the end
        if key(line) not in replaced:
            table.append(line)
        elif new_lines:
            table, new_lines = table + new_lines, []
    table += new_lines
    lines[first:last] = table
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    at = next(n for n, line in enumerate(lines) if line.startswith("Machine: "))
    lines[at:at] = [f"Re-measured on {stamp}, commit {commit()}: {', '.join(n[:-3] for n in names)}.", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    update_docs("\n".join(headline_table([]).splitlines() + table), stamp,
                next(line for line in lines if line.startswith("Machine: ")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (RESULTS.md is then not written)")
    parser.add_argument("--update", action="store_true",
                        help="with --only: put their new sections and headline rows into RESULTS.md, keeping the rest")
    args = parser.parse_args()
    names = [n for n in benchmarks() if not args.only or n in args.only or n[:-3] in args.only]
    sections, failed = [], []
    with tempfile.TemporaryDirectory() as folder:
        headlines = Path(folder) / "headlines.jsonl"
        headlines.touch()
        for name in names:
            code, output, seconds = run(name, headlines)
            command = " ".join(["python", f"bench/{name}", *ARGUMENTS.get(name, [])])
            sections.append(f"## {name[:-3]}\n\n`{command}`, {seconds / 60:.1f} min\n\n```text\n{output.strip()}\n```\n")
            if code:
                failed.append(name)
        rows = [json.loads(line) for line in headlines.read_text().splitlines()]
    if args.only:
        if args.update and not failed:
            update_results(names, sections, rows)
        return 1 if failed else 0
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    about = f"Measured on {stamp}, commit {commit()}.\n\nMachine: {machine()}."
    table = headline_table(rows)
    (BENCH / "RESULTS.md").write_text(
        "# Benchmark results\n\nWritten by `make bench` (`bench/run_all.py`); do not edit by hand. Every baseline is "
        "the approach of the plugin we replace (ML-assisted Labeling 4.x), measured in the same run.\n\n"
        f"{about}\n\n{table}\n\n" + "\n".join(sections), encoding="utf-8")
    update_docs(table, stamp, f"Machine: {machine()}.")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
