"""The reference design (../shared/reference/): its FastAPI app and Auth stand-in, run locally.

Its pinned requirements are installed into a venv of its own under .local/ (once, from PyPI);
the app runs under uvicorn with 2 workers, as its README says, on a database seeded with the
same rows as ours (bench/data.py). Its `get_user()` calls the stand-in on every authenticated
request.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from bench.data import REFERENCE_JWT_SECRET, log
from tests.reliability.stack import ROOT, Server, free_port

VENV = ROOT / ".local" / "reference-venv"
# Where shared/ sits beside a checkout: /work/main -> /work/shared, a worktree one level deeper.
CANDIDATES = (ROOT.parent / "shared" / "reference", ROOT.parent.parent / "shared" / "reference")


def find() -> Path | None:
    """Return the reference folder (BENCH_REFERENCE_DIR, or shared/ beside the checkout)."""
    configured = os.environ.get("BENCH_REFERENCE_DIR")
    for path in [Path(configured)] if configured else CANDIDATES:
        if (path / "seed_fastapi" / "requirements.txt").is_file():
            return path
    return None


def install(folder: Path) -> Path:
    """Install the reference's pinned requirements into its venv unless done; return its bin/."""
    requirements = folder / "seed_fastapi" / "requirements.txt"
    stamp = VENV / ".requirements-sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != digest:
        log(f"installing the reference's requirements into {VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", "-r", str(requirements)],
            check=True,
        )
        stamp.write_text(digest)
    return VENV / "bin"


def _uvicorn(folder: Path, app: str, env: dict, log_path: Path, workers: int) -> Server:
    port = free_port()
    command = [str(VENV / "bin" / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    base = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"}  # a read-only folder
    server = Server(command, base | env, log_path, port=port, workers=workers)
    server.name = app
    server.cwd = folder
    return server


def auth_stand_in(folder: Path, log_path: Path) -> Server:
    """Return the Supabase Auth stand-in (get_user verifies the token; one process)."""
    # One process (--workers 1): no worker children to wait for.
    server = _uvicorn(
        folder, "auth_stand_in.app:app", {"JWT_SECRET": REFERENCE_JWT_SECRET}, log_path, 1
    )
    server.command += ["--lifespan", "off"]
    server.workers = 0
    # The stand-in has no /health; its own health path answers the readiness probe.
    server.url = f"http://127.0.0.1:{server.port}/auth/v1"
    return server


def app(folder: Path, database_url: str, auth_url: str, key: str, log_path: Path) -> Server:
    """Return the reference app (uvicorn, 2 workers) on database_url, asking auth_url."""
    env = {
        "SUPABASE_URL": auth_url,
        "SUPABASE_ANON_KEY": key,
        "SUPABASE_SERVICE_ROLE_KEY": key,
        "DATABASE_URL": database_url,
    }
    return _uvicorn(folder / "seed_fastapi", "src.main:app", env, log_path, 2)


def database_url(host: str, port: int | None, name: str = "bench_reference") -> str:
    """Return SQLAlchemy's asyncpg URL: TCP host:port, or a Unix socket directory."""
    if port is None:
        return f"postgresql+asyncpg://postgres@/{name}?host={host}"
    return f"postgresql+asyncpg://postgres@{host}:{port}/{name}"
