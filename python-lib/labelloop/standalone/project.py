"""A standalone project folder: the DSS project's stand-in (DESIGN.md sections 1 and 7).

``DIR/labelloop.json`` holds the settings; the data stays where the user keeps it (a file, a
folder, or a database table read through SQLAlchemy). Next to it:
``journal.sqlite`` (unless a database URL is configured), ``variables.json``, ``datasets/``
(labels, metadata, queries) and ``models/``.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path

from labelloop.errors import LabelloopError, NotFound
from labelloop.labeling.audit_slice import AuditSlice
from labelloop.labeling.overlap import Overlap
from labelloop.learning.embedding_model import DEFAULT_MODEL, check_features, resolve_features
from labelloop.llm.client import check_url
from labelloop.parameters.tables import AUDIT_SHARE
from labelloop.platform.delimited import Dialect, detect
from labelloop.platform.local import LocalPlatform, dataset_format, write_json_atomic
from labelloop.platform.sql_table import SqlTable, is_database_url
from labelloop.store.item_sources import items_for_type
from labelloop.store.items import DATA_TYPES, FOLDER_TYPES, FolderSource, row_ids
from labelloop.store.journal import Journal
from labelloop.store.materialize import Outputs, clashing_column
from labelloop.store.restore import restore_journal

CONFIG_FILE = "labelloop.json"
UNLABELED = "unlabeled"
MODEL = "classifier"  # the project's model registry: models/classifier/vNNNN


@dataclass
class Settings:
    """What ``labelloop init`` records about a project."""

    type: str
    data: str
    categories: list
    id_column: str | None = None
    table: str | None = None  # when ``data`` is a database URL: the table of the pool
    text_column: str | None = None
    label_column: str = "label"
    multi_label: bool = False
    columns_first: list = field(default_factory=list)
    journal: str | None = None
    dataset_format: str = "parquet"
    overlap_share: float = 0.0  # the share of items several annotators label (labeling/overlap.py)
    overlap_annotators: int = 2
    audit_share: float = AUDIT_SHARE.default  # the share served without suggestion (labeling/audit_slice.py)
    outputs: dict = field(default_factory=lambda: {"labels": "labels", "metadata": "metadata", "queries": "queries"})
    features: str = "auto"  # text features: auto | tfidf | embeddings (standalone/embeddings.py)
    embedding_model: str = DEFAULT_MODEL  # a sentence-transformers model: a folder, or a name in the local cache
    delimiter: str | None = None  # a CSV pool's delimiter and decimal mark (platform/delimited.py), set by init
    decimal: str | None = None
    llm_url: str | None = None  # an OpenAI-compatible endpoint's base URL (llm/client.py); never its key
    llm_model: str | None = None
    llm_task: str | None = None  # the sentence that tells the LLM what the labels are for
    llm_key_env: str | None = None  # the environment variable holding the key (default LABELLOOP_LLM_API_KEY)

    @classmethod
    def from_dict(cls, values: dict) -> Settings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise LabelloopError(f"Unknown setting(s) in {CONFIG_FILE}: {', '.join(unknown)}.")
        return cls(**values)

    def __post_init__(self):
        check_features(self.features)
        if self.llm_url:
            self.llm_url = check_url(self.llm_url)
            if self.multi_label:
                raise LabelloopError("The LLM pre-labels single-label projects: it answers one category per item.")
            if self.type not in ("text", "tabular"):
                raise LabelloopError(f"The LLM reads texts and table rows; {self.type} items are not sent to it.")


def parse_categories(text: str) -> list:
    """``"cat,dog"`` or ``"cat=Cat picture,dog=Dog"`` into ``[{key, caption}]``; rejects repeats."""
    categories, seen = [], set()
    for part in text.split(","):
        key, _, caption = part.partition("=")
        key, caption = key.strip(), caption.strip()
        if not key:
            raise LabelloopError("Categories must not be empty: give them as a,b,c or a=Caption A,b=Caption B.")
        if key in seen:
            raise LabelloopError(f"Duplicate category '{key}'.")
        seen.add(key)
        categories.append({"key": key, "caption": caption or key})
    if len(categories) < 2:
        raise LabelloopError("Give at least two categories.")
    return categories


class Project:
    """An opened project folder: settings, platform, journal and item source."""

    def __init__(self, root, settings: Settings, user: str | None = None):
        self.root = Path(root)
        keep_private(self.root)
        self.settings = settings
        self.platform = LocalPlatform(self.root, write_format=settings.dataset_format, user=user, **_pool(settings, self.root))
        self.outputs = Outputs(settings.outputs["labels"], settings.outputs["metadata"], settings.label_column)

    @classmethod
    def open(cls, root, user: str | None = None) -> Project:
        path = Path(root) / CONFIG_FILE
        if not path.is_file():
            raise NotFound(f"{root} is not a labelloop project (no {CONFIG_FILE}); create it with 'labelloop init'.")
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise LabelloopError(f"{path} is not valid JSON ({error}).") from error
        return cls(root, Settings.from_dict(values), user=user)

    @property
    def data_path(self) -> Path:
        return (self.root / self.settings.data).resolve()

    @property
    def media_folder(self) -> str | None:
        """The folder the media files are read from (image and sound projects)."""
        return self.platform.folders.get(UNLABELED)

    @cached_property
    def items(self):
        """Where the items come from (``store.item_sources``): chosen here, once, from the data type."""
        return items_for_type(self.settings.type, self.settings.id_column)

    @property
    def pool_table(self) -> SqlTable | None:
        """The database table of the pool, or None when the pool is a file or a folder."""
        return self.platform.tables.get(UNLABELED)

    @property
    def journal_url(self) -> str:
        return self.settings.journal or f"sqlite:///{(self.root / 'journal.sqlite').resolve()}"

    @cached_property
    def journal(self) -> Journal:
        """The journal; an empty one is first refilled from the metadata dataset, if any."""
        if not self.settings.journal:
            keep_private(self.root / "journal.sqlite", folder=False)  # SQLite gives its -wal and -shm files its mode
        journal = Journal(self.journal_url)
        restore_journal(self.platform, journal, self.outputs)
        return journal

    @cached_property
    def source(self):
        """The items to label, with their stable ids."""
        self._check_data_here()
        return self.items.load(self.platform, UNLABELED)

    def _check_data_here(self) -> None:
        """A data file or folder moved since ``init``: say where its path is kept and how to change it."""
        if not is_database_url(self.settings.data) and not self.data_path.exists():
            raise NotFound(f"The data {self.data_path} is gone (moved or deleted?): put it back, or give its new path "
                           f"as \"data\" in {self.root / CONFIG_FILE}.")

    def update_settings(self, **changes) -> None:
        """Change settings given as flags of a later command (None: unchanged), and record them."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes:
            settings = Settings(**{**asdict(self.settings), **changes})
            resolve_features(settings.features, settings.embedding_model)  # refused before it is recorded
            write_json_atomic(self.root / CONFIG_FILE, asdict(settings))
            self.settings = settings

    def close(self) -> None:
        if "journal" in self.__dict__:
            self.journal.close()
        if self.pool_table is not None:
            self.pool_table.dispose()


def keep_private(path: Path, folder: bool = True) -> None:
    """Make ``path`` readable by its owner only (a folder 0700, a file 0600), creating it if missing.

    A project holds its annotators' answers and names. The command line also sets its umask to
    077 (``cli.main``), so what is written inside later is private too."""
    if folder:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    with contextlib.suppress(PermissionError):  # someone else's folder keeps its mode
        os.chmod(path, 0o700 if folder else 0o600)


def _pool(settings: Settings, root: Path) -> dict:
    """Where the platform finds the pool (``UNLABELED``): a table, a folder or a dataset file."""
    if is_database_url(settings.data):
        return {"tables": {UNLABELED: SqlTable(settings.data, settings.table or "", settings.id_column or "")}}
    data = str((root / settings.data).resolve())
    if settings.type in FOLDER_TYPES:
        return {"folders": {UNLABELED: data}}
    dialect = Dialect(settings.delimiter, settings.decimal) if settings.delimiter and settings.decimal else None
    return {"datasets": {UNLABELED: data}, "dialects": {UNLABELED: dialect} if dialect else {}}


def init_project(root, data, data_type: str, categories: list, **options) -> Project:
    """Validate the data and settings, then write ``labelloop.json``; errors are one sentence."""
    root = Path(root)
    if (root / CONFIG_FILE).exists():
        raise LabelloopError(f"{root} is already a labelloop project.")
    if data_type not in DATA_TYPES:
        raise LabelloopError(f"Unknown type '{data_type}' (use {', '.join(DATA_TYPES)}).")
    data = str(data) if is_database_url(data) else str(Path(data).resolve())
    settings = Settings(type=data_type, data=data, categories=categories, **options)
    Overlap(settings.overlap_share, settings.overlap_annotators)  # refused here, not at the first serve
    AuditSlice(settings.audit_share)
    resolve_features(settings.features, settings.embedding_model)  # embeddings asked for but impossible: one sentence
    if is_database_url(data):
        _check_table(settings)
    else:
        _check_data(settings, Path(data))
    keep_private(root)
    write_json_atomic(root / CONFIG_FILE, asdict(settings))
    return Project(root, settings)


def _check_table(settings: Settings) -> None:
    """A database pool: a table, an id column to tell its rows apart, and the data checks of a file."""
    if settings.type in FOLDER_TYPES:
        raise LabelloopError(f"{settings.type} data must be a folder of files, not a database table.")
    if not settings.table:
        raise LabelloopError("A database pool needs --table (the table whose rows are the items).")
    if not settings.id_column:
        raise LabelloopError("A database pool needs --id-column: rows of a table have no order or hash to tell them "
                             "apart as rows are added.")
    table = SqlTable(settings.data, settings.table, settings.id_column)
    try:
        _check_frame(settings, table.read(), settings.table)
    finally:
        table.dispose()


def _check_data(settings: Settings, data: Path) -> None:
    if settings.table:
        raise LabelloopError("--table goes with a database URL in --data, not with a file.")
    if not data.exists():
        raise NotFound(f"{data}: no such file or folder.")
    _record_dialect(settings, data)
    if settings.type in FOLDER_TYPES:
        if not data.is_dir():
            raise LabelloopError(f"{data}: {settings.type} data must be a folder of files.")
        platform = LocalPlatform(data.parent, folders={UNLABELED: str(data)})
        if not len(FolderSource(platform.list_folder(UNLABELED), settings.type)):
            raise LabelloopError(f"{data}: the folder has no {settings.type} files.")
        return
    if data.is_dir():
        raise LabelloopError(f"{data}: {settings.type} data must be a CSV, Parquet or JSONL file.")
    platform = LocalPlatform(data.parent, **_pool(settings, data.parent))
    _check_frame(settings, platform.read_dataset(UNLABELED), data.name)


def _record_dialect(settings: Settings, data: Path) -> None:
    """A CSV pool's delimiter and decimal mark, as given or detected, so every later read agrees."""
    is_csv = data.is_file() and settings.type not in FOLDER_TYPES and dataset_format(data) == "csv"
    if is_csv:
        settings.delimiter, settings.decimal = detect(data, settings.delimiter, settings.decimal)
    elif settings.delimiter or settings.decimal:
        raise LabelloopError("--delimiter and --decimal go with a CSV file.")


def _check_frame(settings: Settings, frame, name: str) -> None:
    """The checks of a tabular or text pool's rows: columns named in the settings, ids, no clash."""
    if frame.empty:
        raise LabelloopError(f"{name}: the dataset has no rows.")
    columns = [str(c) for c in frame.columns]
    named = [("--id-column", settings.id_column), ("--text-column", settings.text_column)]
    named += [("--columns-first", column) for column in settings.columns_first]
    for flag, column in named:
        if column is not None and column not in columns:
            raise LabelloopError(f"{flag} '{column}' is not a column of {name} (columns: {_listed(columns)}).")
    if settings.type == "text" and settings.text_column is None:
        raise LabelloopError(f"Text data needs --text-column (columns: {_listed(columns)}).")
    clash = clashing_column(columns, settings.label_column)
    if clash:
        hint = ": choose another --label-column" if clash == settings.label_column else ": rename that column"
        raise LabelloopError(f"{name} already has a column '{clash}', which labelloop writes{hint}.")
    row_ids(frame, settings.id_column)


def _listed(columns: list, shown: int = 12) -> str:
    """Column names for a one-line message, however many there are."""
    more = f", ... ({len(columns) - shown:,} more)" if len(columns) > shown else ""
    return ", ".join(map(str, columns[:shown])) + more
