"""The repository's root, for tests that read its files (entry files, descriptors, demo data) from any
folder of the suite."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
