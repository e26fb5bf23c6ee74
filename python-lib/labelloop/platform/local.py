"""The standalone adapter: datasets are files, folders are directories, variables a JSON file.

Datasets are read from CSV, Parquet or JSONL and written as Parquet (or CSV when asked), always
through a temporary file and an atomic rename, so a reader never sees a half-written file. The
labels and metadata datasets a server keeps current are Parquet folders of parts
(platform/parquet_parts.py), so that a write costs what changed; they read as one dataset.
"""
from __future__ import annotations

import getpass
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from filelock import FileLock

from labelloop.errors import LabelloopError, NotFound, first_line
from labelloop.platform.base import Platform, estimator_probabilities
from labelloop.platform.delimited import Dialect, detect
from labelloop.platform.parquet_parts import (
    PartedDataset,
    iter_parquet,
    iter_parts,
    one_type_per_column,
    read_parts,
    replace_parts,
)
from labelloop.platform.registry import ModelRegistry

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl"}
# pandas 3 parses CSV floats exactly by default (and deprecates the option); older pandas needs it.
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def dataset_format(path) -> str:
    """The format of a dataset file, from its extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise LabelloopError(f"{path}: unsupported file type '{suffix}' (use .csv, .parquet or .jsonl).")
    return FORMATS[suffix]


def read_table(path, columns: list | None = None, dialect: Dialect | None = None) -> pd.DataFrame:
    """Read a CSV, Parquet or JSONL file; a file that cannot be read raises a one-line error.

    A CSV file is read with ``dialect``, else with the delimiter and decimal mark its first lines
    use (platform/delimited.py). CSV floats are parsed exactly: pandas 2's default parser can be
    one unit in the last place off, which would change the ids of hashed rows.
    """
    kind = dataset_format(path)
    if kind == "parquet" and Path(path).is_dir():
        return read_parts(path, columns)
    if not Path(path).is_file():
        raise NotFound(f"{path}: no such file.")
    try:
        if kind == "parquet":
            return pd.read_parquet(path, columns=columns)
        if kind == "csv":
            return pd.read_csv(path, usecols=columns, **_csv_options(path, dialect))
        chunks = list(_jsonl_chunks(path, 100_000, columns))
        return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns or [])
    except UnicodeDecodeError as error:
        raise LabelloopError(f"{path}: is not UTF-8 text (found byte 0x{error.object[error.start]:02x}): "
                             "save it as UTF-8 and try again.") from error
    except (ValueError, OSError, pd.errors.ParserError) as error:
        if isinstance(error, pd.errors.EmptyDataError):
            return pd.DataFrame(columns=columns or [])
        raise LabelloopError(f"{path}: cannot be read as {kind} ({first_line(error)}).") from error


def _jsonl_chunks(path, chunksize: int, columns: list | None) -> Iterator[pd.DataFrame]:
    """Parse JSON lines with the stdlib, which reads every float exactly (pandas' parser does not)."""
    batch = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as error:
                raise LabelloopError(f"{path}: line {number} is not valid JSON ({error}).") from error
            if not isinstance(record, dict):
                raise LabelloopError(f"{path}: line {number} is not a JSON object.")
            batch.append(record)
            if len(batch) == chunksize:
                yield pd.DataFrame.from_records(batch, columns=columns)
                batch = []
    if batch:
        yield pd.DataFrame.from_records(batch, columns=columns)


def _csv_options(path, dialect: Dialect | None) -> dict:
    return {**(dialect or detect(path)).read_options(), **_EXACT_FLOATS}


def iter_table(path, chunksize: int, columns: list | None = None, dialect: Dialect | None = None) -> Iterator[pd.DataFrame]:
    """Read a file in chunks of at most ``chunksize`` rows."""
    kind = dataset_format(path)
    if kind == "parquet" and Path(path).is_dir():
        yield from iter_parts(path, chunksize, columns)
        return
    if not Path(path).is_file():
        raise NotFound(f"{path}: no such file.")
    if kind == "parquet":
        yield from iter_parquet(path, chunksize, columns)
    elif kind == "csv":
        yield from pd.read_csv(path, usecols=columns, chunksize=chunksize, **_csv_options(path, dialect))
    else:
        yield from _jsonl_chunks(path, chunksize, columns)


def write_table(path, frame: pd.DataFrame) -> None:
    """Write atomically: a temporary file in the same directory, then a rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = dataset_format(path)
    if kind == "parquet" and path.is_dir():
        replace_parts(path, frame)
        return
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        if kind == "parquet":
            one_type_per_column(frame).to_parquet(temporary, index=False)
        elif kind == "csv":
            # With CRLF line ends the writer quotes any field holding \r or \n; with the default
            # "\n" a lone \r is written bare and splits the row when read back.
            frame.to_csv(temporary, index=False, lineterminator="\r\n")
        else:
            _write_jsonl(temporary, frame)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _write_jsonl(path, frame: pd.DataFrame) -> None:
    """One JSON object per row. The stdlib encoder writes floats exactly (pandas' rounds them)."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    with open(path, "w", encoding="utf-8") as out:
        for record in cleaned.to_dict("records"):
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def write_json_atomic(path, value) -> None:
    """Write a JSON file through a temporary file, fsync and rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(value, out, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _inside(root: Path, path: Path) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(root) + os.sep)


class LocalPlatform(Platform):
    """A project folder: ``datasets/``, ``folders/``, ``models/`` and ``variables.json``.

    ``datasets`` and ``folders`` map names to paths elsewhere (the user's own data files);
    ``tables`` map names to database tables (``SqlTable``), which are only read; other names
    resolve to ``datasets/<name>.<ext>`` and ``folders/<name>`` inside the root. ``dialects``
    give the delimiter and decimal mark of CSV datasets (others' are detected at each read).
    """

    def __init__(self, root, datasets: dict | None = None, folders: dict | None = None,
                 write_format: str = "parquet", user: str | None = None, tables: dict | None = None,
                 dialects: dict | None = None):
        self.root = Path(root)
        self.datasets = dict(datasets or {})
        self.dialects = dict(dialects or {})
        self.folders = dict(folders or {})
        self.tables = dict(tables or {})
        if write_format not in ("parquet", "csv"):
            raise LabelloopError(f"Unknown dataset format '{write_format}' (use parquet or csv).")
        self.write_format = write_format
        self._user = user
        self._registries = {}

    # datasets
    def dataset_path(self, name: str) -> Path:
        if name in self.datasets:
            return self.root / self.datasets[name]
        for suffix in FORMATS:
            candidate = self.root / "datasets" / f"{name}{suffix}"
            if candidate.exists():
                return candidate
        return self.root / "datasets" / f"{name}.{self.write_format}"

    def read_dataset(self, name, columns=None):
        if name in self.tables:
            return self.tables[name].read(columns)
        return read_table(self.dataset_path(name), columns, self.dialects.get(name))

    def iter_dataset(self, name, chunksize, columns=None):
        if name in self.tables:
            return self.tables[name].iter(chunksize, columns)
        return iter_table(self.dataset_path(name), chunksize, columns, self.dialects.get(name))

    def write_dataset(self, name, frame):
        if name in self.tables:
            raise LabelloopError(f"The dataset '{name}' is a database table, which labelloop only reads.")
        write_table(self.dataset_path(name), frame)

    def dataset_exists(self, name):
        return name in self.tables or self.dataset_path(name).exists()

    def parted_dataset(self, name, key):
        """The project's own Parquet datasets are kept as parts; the user's files and CSV are not."""
        if name in self.tables or name in self.datasets or self.write_format != "parquet":
            return None
        path = self.dataset_path(name)
        return PartedDataset(path, key) if path.suffix == ".parquet" else None

    # folders
    def folder_path(self, name: str) -> Path:
        return self.root / self.folders.get(name, Path("folders") / name)

    def is_folder(self, name):
        return name in self.folders or self.folder_path(name).is_dir()

    def list_folder(self, name):
        """Every file's path with a leading ``/``, sorted; symlinks that leave the folder are left out.

        A symlink to a directory is not walked into: one inside the folder would list its files
        a second time (or forever, when it points back up), one outside leaves the folder.
        Built from ``os.scandir`` strings: pathlib objects per entry cost 3x on a 100k-file folder."""
        root = self.folder_path(name)
        if not root.is_dir():
            raise NotFound(f"{root}: no such folder.")
        prefix = len(str(root))
        paths = []
        pending = [str(root)]
        while pending:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_symlink() and not _inside(root, Path(entry.path)):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file():
                        paths.append(entry.path[prefix:].replace(os.sep, "/"))
        return sorted(paths)

    def open_folder_file(self, name, path):
        root = self.folder_path(name)
        target = root / path.lstrip("/")
        if not _inside(root, target) or not target.is_file():
            raise NotFound(f"No file '{path}' in folder '{name}'.")
        return open(target, "rb")

    # variables
    @property
    def variables_path(self) -> Path:
        return self.root / "variables.json"

    def get_variables(self):
        try:
            return json.loads(self.variables_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def update_variables(self, change):
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / ".variables.lock")):
            variables = self.get_variables()
            change(variables)
            write_json_atomic(self.variables_path, variables)
            return variables

    # models
    def registry(self, model: str) -> ModelRegistry:
        """The model's registry, kept: it caches the last version it loaded."""
        if model not in self._registries:
            self._registries[model] = ModelRegistry(self.root / "models" / model)
        return self._registries[model]

    def model_probabilities(self, model, frame, version=None):
        version = version or self.active_version(model)
        return estimator_probabilities(self.registry(model).load(version), frame, version, f"The model '{model}'")

    def model_featurizer(self, model, version=None):
        """A pipeline's steps but the last (the built-in model's features); None for other models."""
        estimator = self.registry(model).load(version or self.active_version(model))
        steps = getattr(estimator, "steps", None)
        return estimator[:-1] if steps and len(steps) > 1 else None

    def active_version(self, model):
        latest = self.registry(model).latest()
        if latest is None:
            raise NotFound(f"The model '{model}' has no trained version yet.")
        return latest

    def model_versions(self, model):
        return self.registry(model).versions()

    # identity
    def user(self, headers=None):
        return self._user or getpass.getuser()
