"""Shared test fixtures: the real samples in ../shared/data, read by path, never copied."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ERNIE_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("JIEBA_CACHE_DIR", tempfile.mkdtemp(prefix="jieba-"))


@pytest.fixture(scope="session")
def data() -> Path:
    """The shared sample folder; every test that reads real data goes through here."""
    if not DATA.is_dir():
        pytest.fail(f"shared sample data not found at {DATA}; set ERNIE_SHARED_DATA")
    return DATA
