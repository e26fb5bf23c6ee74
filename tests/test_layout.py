"""The package's folders depend on each other one way (docs/explanation/architecture.md, Layout).

standalone, dss -> labeling, learning -> quality, rules, llm -> store -> platform -> the shared base
(errors, parameters, the public sampling API). labeling and learning do not import each other, nor
standalone and dss. Imports inside functions count too. Only the DSS package imports ``dataiku``.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python-lib" / "labelloop"
RANK = {"base": 0, "parameters": 1, "platform": 1, "store": 2, "quality": 3, "rules": 3, "llm": 3, "labeling": 4, "learning": 4,
        "standalone": 5, "dss": 5}


def area(module: str) -> str:
    """``labelloop.store.journal`` -> ``store``; top-level modules are the shared base."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in RANK else "base"


def imports(path: Path, package: str = "labelloop") -> set:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == package)
    return found


def test_dependencies_flow_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = "labelloop." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        mine = area(module)
        for imported in imports(path):
            theirs = area(imported)
            if theirs != mine and RANK[theirs] >= RANK[mine]:
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_only_the_dss_package_imports_dataiku():
    outside = [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.py"))
               if path.relative_to(PACKAGE).parts[0] != "dss" and imports(path, "dataiku")]
    assert outside == []


TOP_LEVEL = {"__init__.py", "errors.py", "sampling.py"}


def test_the_top_level_holds_only_the_shared_base_and_the_public_scoring_api():
    """Every other module lives in the package of what it does (a folder ``RANK`` knows)."""
    assert sorted(path.name for path in PACKAGE.glob("*.py")) == sorted(TOP_LEVEL)
    assert sorted(path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__") == sorted(
        name for name in RANK if name != "base")
