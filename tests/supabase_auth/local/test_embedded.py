"""The embedded database: started once, shared by concurrent processes, kept between runs."""

import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from supabase_auth.local import embedded
from tests.subprocess_django import PROJECT_DIR


def start_in_new_process(data_dir) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "supabase_auth.local.embedded", "start", str(data_dir)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def data_dir():
    # Not pytest's tmp_path: as root, Postgres runs as another user, and a pytest session
    # starting meanwhile makes /tmp/pytest-of-root private again, locking that user out.
    parent = Path(tempfile.mkdtemp(prefix="embedded-pg-"))
    parent.chmod(0o755)
    yield parent / "pg"
    embedded.stop(parent / "pg")
    shutil.rmtree(parent, ignore_errors=True)


def test_concurrent_processes_share_one_server(data_dir):
    with ThreadPoolExecutor(max_workers=4) as pool:
        urls = list(pool.map(start_in_new_process, [data_dir] * 4))

    assert len(set(urls)) == 1
    with psycopg.connect(urls[0]) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    pid_lines = (data_dir / "postmaster.pid").read_text().splitlines()
    assert pid_lines[0].isdigit()


def test_data_survives_a_stop_and_a_restart(data_dir):
    url = embedded.ensure_running(data_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table kept (value text)")
        conn.execute("insert into kept values ('still here')")

    assert embedded.stop(data_dir) is True
    url = embedded.ensure_running(data_dir)

    with psycopg.connect(url) as conn:
        assert conn.execute("select value from kept").fetchone() == ("still here",)


def test_stop_reports_a_server_that_is_not_running(tmp_path):
    assert embedded.stop(tmp_path / "never-started") is False


def test_location_is_announced_once_per_process_tree(monkeypatch, caplog, tmp_path):
    monkeypatch.delenv(embedded.ANNOUNCED_ENV, raising=False)
    caplog.set_level("INFO", logger="supabase_auth.local.embedded")

    embedded.announce(tmp_path, tmp_path / "socket")
    embedded.announce(tmp_path, tmp_path / "socket")

    assert [r.getMessage().startswith("Embedded Postgres") for r in caplog.records] == [True]
