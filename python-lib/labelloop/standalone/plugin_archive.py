"""Build the zip that DSS's "upload plugin" takes, from a source checkout."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from labelloop.errors import LabelloopError

PLUGIN_FILES = ("plugin.json", "LICENSE.md")
PLUGIN_FOLDERS = ("python-lib", "custom-recipes", "webapps", "python-triggers", "python-steps", "resource", "code-env",
                  "parameter-sets")
_LEFT_OUT = ("__pycache__", ".egg-info", ".pyc")


def source_root() -> Path:
    """The checkout this package was installed from (it holds plugin.json)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "plugin.json").is_file():
        raise LabelloopError("The plugin archive is built from a labelloop source checkout, and none was found.")
    return root


def plugin_files(root: Path) -> list:
    """The plugin's files, relative to ``root``, sorted."""
    files = [Path(name) for name in PLUGIN_FILES]
    for folder in PLUGIN_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not any(part.endswith(_LEFT_OUT) for part in relative.parts):
                files.append(relative)
    return sorted(files)


def build_plugin(root: Path | None = None, out_dir: Path | None = None) -> Path:
    """Write ``dist/labelloop-<version>.zip`` with ``plugin.json`` at its root.

    As Dataiku's own plugin Makefiles build theirs (``git archive`` of the plugin's root, no
    prefix: dss-plugin-model-error-analysis, Makefile).
    """
    root = root or source_root()
    descriptor = json.loads((root / "plugin.json").read_text(encoding="utf-8"))
    out_dir = Path(out_dir or root / "dist")
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{descriptor['id']}-{descriptor['version']}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for relative in plugin_files(root):
            zf.write(root / relative, relative.as_posix())
    return archive
