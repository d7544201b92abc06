"""`make cluster`: nginx → API nodes → PgBouncer → a primary and a streaming replica, with Redis.

Everything listens on loopback and runs with production settings (DJANGO_DEBUG off), as a
several-node deployment on Supabase would: nginx the load balancer, each node gunicorn with its
own workers, PgBouncer in transaction mode standing in for Supavisor (port 6543), Redis the
shared cache, migrations over the direct connection. Ctrl-C stops everything it started.
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cluster import postgres
from cluster.processes import Process, free_port
from cluster.services import Nginx, PgBouncer, Redis
from supabase_auth.local import embedded

ROOT = Path(__file__).resolve().parent.parent

START_TIMEOUT = 90.0  # seconds for a node to import Django and answer /health


class Cluster:
    """The cluster's processes, started in dependency order and stopped in reverse."""

    def __init__(
        self,
        workdir: Path,
        *,
        nodes: int = 2,
        workers: int = 1,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir.resolve()
        self.node_count = nodes
        self.workers = workers
        self.port = port
        self.extra_env = env or {}
        self.started: list[Process] = []
        self.nodes: list[Process] = []
        self.node_urls: list[str] = []

    def start(self) -> "Cluster":
        """Start every piece; on any failure stop what was started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.primary = postgres.start_primary(self.workdir / "primary")
        self.env = self._node_env()
        self._manage("supabase_local_init")
        self._manage("migrate", "--noinput", "-v0")
        self.replica = postgres.start_replica(self.primary, self.workdir / "replica")
        self.pgbouncer = self._keep(
            PgBouncer(
                self.workdir / "pgbouncer",
                {"postgres": self.primary.socket_dir, "replica": self.replica.socket_dir},
                pool_size=int(self.extra_env.get("CLUSTER_POOL_SIZE", "10")),
            )
        )
        self.redis = self._keep(Redis(self.workdir / "redis"))
        self.env |= {
            "DATABASE_URL": self.pgbouncer.url("postgres"),
            "DATABASE_REPLICA_URLS": self.pgbouncer.url("replica"),
            "REDIS_URL": self.redis.url,
        }
        # For `manage.py` against the cluster (DJANGO_ENV_FILE=.local/cluster/cluster.env).
        (self.workdir / "cluster.env").write_text(
            "".join(
                f"{name}={value}\n"
                for name, value in sorted(self.env.items())
                if name not in ("PATH", "DJANGO_ENV_FILE")
            )
        )
        for number in range(1, self.node_count + 1):
            self.start_node(number)
        self.nginx = self._keep(Nginx(self.workdir / "nginx", self.node_urls, port=self.port))

    def _node_env(self) -> dict[str, str]:
        # Production settings; only what a loopback deployment must differ in is set here.
        direct = self.primary.url
        return {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV_FILE": os.devnull,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on loopback: TLS ends in front of nginx in a real deployment.
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
            "GUNICORN_ACCESS_LOG": "",
            "DATABASE_URL": direct,
            "DATABASE_POOL_MODE": "transaction",
            "DATABASE_MIGRATION_URL": direct,
            "API_NUM_PROXIES": "1",  # nginx
            "SUPABASE_URL": "http://127.0.0.1:54321",  # the Supabase CLI's local stack
            "SUPABASE_JWT_SECRET": secrets.token_urlsafe(40),
            "SUPABASE_JWKS_URL": "",
            "WEB_CONCURRENCY": str(self.workers),
        } | self.extra_env

    def _manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, timeout=300
        )

    def _keep(self, process: Process) -> Process:
        process.start()
        self.started.append(process)
        return process

    def start_node(self, number: int, **overrides: str) -> Process:
        """Start API node `number` (gunicorn with config/gunicorn.py) and wait for /health."""
        port = free_port()
        env = self.env | overrides | {"HOST": "127.0.0.1", "PORT": str(port)}
        node = Process(
            f"node{number}",
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "-c",
                "config/gunicorn.py",
                "config.wsgi",
            ],
            self.workdir / f"node{number}.log",
            cwd=ROOT,
            env=env,
        )
        self._keep(node)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if not node.running or time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} did not start:\n{node.log.read_text()[-3000:]}")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.nodes.append(node)
        self.node_urls.append(f"127.0.0.1:{port}")
        return node

    def stop(self) -> None:
        """Stop everything that was started, the last started first."""
        for process in reversed(self.started):
            process.stop()
        self.started.clear()
        for server in ("replica", "primary"):
            if hasattr(self, server):
                embedded.stop(getattr(self, server).data_dir)


def main() -> None:
    """Start the cluster, print where it answers, and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per node")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".local" / "cluster")
    args = parser.parse_args()
    stop = {"requested": False}

    def request_stop(signum, frame) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    cluster = Cluster(args.workdir, nodes=args.nodes, workers=args.workers, port=args.port)
    try:
        cluster.start()
        env_file = cluster.workdir / "cluster.env"
        lines = [
            f"API (nginx):  {cluster.nginx.url}/api/posts/",
            *(f"node {i}:       http://{url}" for i, url in enumerate(cluster.node_urls, 1)),
            f"PgBouncer:    {cluster.pgbouncer.url('postgres')} (transaction mode)",
            f"primary:      {cluster.primary.url}",
            f"replica:      {cluster.replica.url}",
            f"Redis:        {cluster.redis.url}",
            "A token:      DJANGO_ENV_FILE=" + str(env_file) + " .venv/bin/python manage.py "
            "mint_token --force --email dev@example.com",
            '              curl -H "Authorization: Bearer $TOKEN" '
            f"{cluster.nginx.url}/api/profiles/me",
            "Cluster ready; Ctrl-C stops it.",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        while not stop["requested"]:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        sys.stdout.write("Cluster stopped.\n")


if __name__ == "__main__":
    main()
