"""Pretrained sentence-embedding models: which one, whether it is here, and text in, vectors out.

Text features can come from a sentence-transformers model (DESIGN.md section 12). It is an
optional extra (``pip install labelloop[embeddings]``): nothing here imports torch or
sentence-transformers until a model is asked to encode, and a model is only ever loaded from this
machine, never downloaded by labelloop: a folder given by path, a folder of the same name in the
models folder (``$LABELLOOP_MODELS``, else ``models/`` in the Python environment labelloop runs in,
where ``make`` installs all-MiniLM-L6-v2), or the Hugging Face cache.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np

from labelloop.errors import LabelloopError
from labelloop.platform.locks import Lock

FEATURES = ("auto", "tfidf", "embeddings")
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
INSTALL_HINT = "pip install labelloop[embeddings]"
BATCH = 64  # texts per forward pass: bounded memory, and a batch's padding stays small


def check_features(setting) -> str:
    if setting not in FEATURES:
        raise LabelloopError(f"Unknown features '{setting}' (use {', '.join(FEATURES)}).")
    return setting


def extra_installed() -> bool:
    """Whether sentence-transformers can be imported (found without importing it: that takes seconds)."""
    return importlib.util.find_spec("sentence_transformers") is not None


def models_folder() -> Path:
    """Where models are looked up by name before the Hugging Face cache."""
    return Path(os.environ.get("LABELLOOP_MODELS") or Path(sys.prefix) / "models").expanduser()


def _is_model(folder: Path) -> bool:
    return (folder / "config.json").is_file() or (folder / "modules.json").is_file()


def find_model(name: str) -> str | None:
    """The local folder of model ``name`` (a folder path, a name in the models folder or already in the
    Hugging Face cache), else None."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        return str(folder.resolve()) if _is_model(folder) else None
    kept = models_folder() / name.rstrip("/").split("/")[-1]
    if _is_model(kept):
        return str(kept.resolve())
    if not extra_installed() or not _in_hub_cache(name):
        return None
    from huggingface_hub import snapshot_download  # resolves the cached revision (about 0.5 s to import)

    try:
        return snapshot_download(name, local_files_only=True)
    except Exception:  # not in the cache, or not a valid name: either way it cannot load offline
        return None


def _in_hub_cache(name: str) -> bool:
    """Whether the Hugging Face cache has a folder for ``name`` (its documented layout), looked up
    without importing the hub client: most commands only need to know that the model is absent."""
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(os.environ.get("HF_HOME", "~/.cache/huggingface"), "hub")
    return (Path(hub).expanduser() / f"models--{name.replace('/', '--')}" / "snapshots").is_dir()


def require_model(name: str) -> str:
    """The folder of ``name``, or one sentence saying what is missing (the extra, or the model)."""
    if not extra_installed():
        raise LabelloopError(f"Embedding features need the embeddings extra: {INSTALL_HINT}.")
    path = find_model(name)
    if path is None:
        raise LabelloopError(f"The embedding model '{name}' is not on this machine: put its folder in {models_folder()} "
                             "or give --embedding-model the folder of a sentence-transformers model (labelloop never "
                             "downloads one).")
    return path


def resolve_features(setting: str, name: str) -> tuple:
    """``(kind, model folder)`` for a ``features`` setting: ``auto`` takes embeddings when the extra is
    installed and the model is here, else TF-IDF; ``embeddings`` raises one sentence when impossible."""
    if check_features(setting) == "tfidf":
        return "tfidf", None
    if setting == "embeddings":
        return "embeddings", require_model(name)
    path = find_model(name) if extra_installed() else None
    return ("embeddings", path) if path else ("tfidf", None)


_IDENTITIES: dict = {}


def model_identity(name: str, path: str) -> str:
    """A folder name for the model's cache: its name, and a digest of its files' contents.

    Two fine-tunings of one architecture share names and sizes, so the bytes are hashed (about
    0.3 s for a 90 MB model, once per process and version of the files).
    """
    files = sorted(p for p in Path(path).rglob("*") if p.is_file() and not p.name.startswith("."))
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if stamp not in _IDENTITIES:
        digest = hashlib.sha256()
        for file in files:
            digest.update(str(file.relative_to(path)).encode())
            with open(file, "rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):  # noqa: B023 (read at once)
                    digest.update(block)
        _IDENTITIES[stamp] = digest.hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.rstrip("/").split("/")[-1]).strip("-") or "model"
    return f"{slug[:60]}-{_IDENTITIES[stamp]}"


class Encoder:
    """A sentence-transformers model from a local folder, loaded on the first ``encode``, on the CPU."""

    def __init__(self, path: str, device: str = "cpu"):
        self.path, self.device = path, device
        self._model = None
        self._lock = Lock(held_long=True)

    def _loaded(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder: never ask the network
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars in a server's or CLI's output
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as error:
                    raise LabelloopError(f"Embedding features need the embeddings extra: {INSTALL_HINT}.") from error
                self._model = SentenceTransformer(self.path, device=self.device)
            return self._model

    def encode(self, texts: list) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (cosine similarity is then a dot product)."""
        if not len(texts):
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self._loaded().encode(list(texts), batch_size=BATCH, normalize_embeddings=True,
                                        show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)
