"""The embedded database: started once, shared by concurrent processes, kept between runs, and
recovering from what an interrupted start left behind."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
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


# -- recovery from an interrupted start (each case starts the server in a new process, as the
# next `make run` would, and checks the data written before is still there) ------------------


def run_command(action: str, data_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "supabase_auth.local.embedded", action, str(data_dir)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def cluster():
    """One cluster for the recovery cases (initdb is slow); each case leaves it running."""
    parent = Path(tempfile.mkdtemp(prefix="embedded-pg-"))
    parent.chmod(0o755)
    data_dir = parent / "pg"
    url = embedded.ensure_running(data_dir, disposable=True)  # fsync off: quicker stops
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table kept (value text)")
        conn.execute("insert into kept values ('still here')")
    yield data_dir
    embedded.stop(data_dir)
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def stopped(cluster):
    """The cluster, stopped cleanly; return the postmaster.pid it had while running."""
    embedded.start(cluster)
    pid_file = (cluster / "postmaster.pid").read_text()
    assert embedded.stop(cluster) is True
    return pid_file


def assert_recovered(result: subprocess.CompletedProcess, *phrases: str) -> None:
    """Assert the start succeeded, logged one line saying why, and the old data is served."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert all(phrase in lines[0] for phrase in phrases), lines[0]
    with psycopg.connect(result.stdout.strip()) as conn:
        assert conn.execute("select value from kept").fetchone() == ("still here",)


@pytest.mark.parametrize("content", [b"", b"[4242, 42", b'{"pid": 1}'])
def test_start_repairs_a_half_written_handle_list(cluster, stopped, content):
    (cluster / ".handle_pids.json").write_bytes(content)

    result = run_command("start", cluster)

    assert_recovered(result, ".handle_pids.json was half-written")
    assert all(type(pid) is int for pid in json.loads((cluster / ".handle_pids.json").read_text()))


def test_start_after_the_postmaster_was_killed_replaces_its_pid_file(cluster):
    embedded.start(cluster)
    postmaster = psutil.Process(int((cluster / "postmaster.pid").read_text().split()[0]))
    children = postmaster.children()
    postmaster.send_signal(signal.SIGKILL)
    psutil.wait_procs([postmaster, *children], timeout=60)  # backends exit after it

    result = run_command("start", cluster)

    assert_recovered(result, "removed a stale", f"process {postmaster.pid} is gone")


def test_start_replaces_a_pid_file_naming_another_live_process(cluster, stopped):
    # The pid was reused: Postgres's own check cannot tell (for a process of the same user).
    other = subprocess.Popen(["sleep", "300"])
    try:
        lines = stopped.splitlines()
        (cluster / "postmaster.pid").write_text("\n".join([str(other.pid), *lines[1:]]) + "\n")

        result = run_command("start", cluster)
    finally:
        other.kill()
        other.wait()

    assert_recovered(result, "removed a stale", f"process {other.pid} is not this server's")


@pytest.mark.parametrize("keep_lines", [0, 5])
def test_start_replaces_a_half_written_pid_file(cluster, stopped, keep_lines):
    lines = stopped.splitlines()[:keep_lines]
    (cluster / "postmaster.pid").write_text("".join(f"{line}\n" for line in lines))

    result = run_command("start", cluster)

    assert_recovered(result, "removed a stale")


def test_stop_with_a_stale_pid_file_reports_not_running(cluster, stopped):
    (cluster / "postmaster.pid").write_text("")

    result = run_command("stop", cluster)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("not running:")
    assert len(result.stderr.splitlines()) == 1
    assert "removed a stale" in result.stderr
    assert not (cluster / "postmaster.pid").exists()


def test_start_sets_aside_a_cluster_whose_first_start_was_interrupted(data_dir):
    # What initdb leaves when killed early: its version file and directories, never started.
    data_dir.mkdir(parents=True)
    (data_dir / "PG_VERSION").write_text("18\n")
    (data_dir / "base").mkdir()

    result = run_command("start", data_dir)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "was never started" in result.stderr
    with psycopg.connect(result.stdout.strip()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    (aside,) = data_dir.parent.glob("pg.unfinished-*")
    assert sorted(os.listdir(aside)) == ["PG_VERSION", "base"]


def test_a_running_server_is_left_alone(cluster):
    embedded.start(cluster)
    pid_file = (cluster / "postmaster.pid").read_text()

    result = run_command("start", cluster)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (cluster / "postmaster.pid").read_text() == pid_file


def test_threads_of_one_process_start_it_at_once(cluster):
    # Each new database connection of a threaded worker calls start(); the wheel's own
    # inter-process lock is not thread-safe ("Unable to release an unacquired lock").
    threads, rounds = 8, 5
    barrier = threading.Barrier(threads)

    def start(_) -> Path:
        barrier.wait()
        return embedded.start(cluster)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        socket_dirs = [d for _ in range(rounds) for d in pool.map(start, range(threads))]

    assert socket_dirs == [cluster] * threads * rounds
