"""Fixtures for fault injection: a dedicated Postgres per module (never the project's .local/)."""

import shutil
import tempfile
from pathlib import Path

import pytest

from supabase_auth.local import embedded
from tests.reliability.stack import start_database


@pytest.fixture(scope="module")
def database():
    """A migrated embedded Postgres of this module's own, in a temporary directory.

    Not under pytest's tmp_path: as root the server runs as another user, and every pytest
    session that starts meanwhile resets /tmp/pytest-of-root to 0700, locking pg_ctl out.
    """
    root = Path(tempfile.mkdtemp(prefix="reliability-"))
    data_dir = root / "pg"
    try:
        yield start_database(data_dir)
    finally:
        embedded.stop(data_dir)
        shutil.rmtree(root, ignore_errors=True)
