"""Redis, PgBouncer and nginx on loopback, each from its OS package and a template in templates/."""

import os
from pathlib import Path
from string import Template

from cluster.processes import (
    UNPRIVILEGED_USER,
    Process,
    free_port,
    hand_over,
    program,
    unprivileged,
    wait_for_port,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render(template: str, target: Path, **values: object) -> Path:
    """Write templates/<template> to target with $names filled in; return target."""
    text = Template((TEMPLATES / template).read_text()).substitute(values)
    target.write_text(text)
    target.chmod(0o644)
    return target


class Redis(Process):
    """redis-server in memory only (no dump, no AOF): the cache is disposable by design."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        workdir = workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        config = render("redis.conf", workdir / "redis.conf", port=self.port)
        super().__init__("redis", [program("redis-server"), str(config)], workdir / "redis.log")

    def start(self) -> "Redis":
        super().start()
        wait_for_port(self.port, self.process, self.log)
        return self


class PgBouncer(Process):
    """PgBouncer in transaction mode, Supavisor's port 6543 semantics.

    A server connection is lent per transaction, so prepared statements and session state do
    not survive a COMMIT.

    `databases` maps a name clients ask for to the Postgres socket directory that serves it.
    """

    def __init__(self, workdir: Path, databases: dict[str, Path], pool_size: int = 10) -> None:
        workdir = workdir.resolve()
        hand_over(workdir)
        self.port = free_port()
        # "*" is PgBouncer's fallback: any other name, to the database of that name.
        entries = "\n".join(
            f"{name} = host={socket_dir} port=5432" + ("" if name == "*" else " dbname=postgres")
            for name, socket_dir in databases.items()
        )
        users = workdir / "users.txt"
        users.write_text('"postgres" ""\n')
        users.chmod(0o644)
        config = render(
            "pgbouncer.ini",
            workdir / "pgbouncer.ini",
            databases=entries,
            port=self.port,
            users=users,
            pool_size=pool_size,
        )
        super().__init__(
            "pgbouncer",
            [program("pgbouncer"), str(config)],
            workdir / "pgbouncer.log",
            **unprivileged(),
        )

    def url(self, database: str) -> str:
        """Return the URL of database through the pooler."""
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> "PgBouncer":
        super().start()
        wait_for_port(self.port, self.process, self.log)
        return self


class Nginx(Process):
    """nginx balancing between API nodes; retries on another node only what is safe to retry."""

    def __init__(self, workdir: Path, upstreams: list[str], port: int | None = None) -> None:
        workdir = workdir.resolve()
        hand_over(workdir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.upstreams = upstreams
        self.config = workdir / "nginx.conf"
        self._render()
        super().__init__(
            "nginx",
            [program("nginx"), "-p", str(workdir), "-c", str(self.config), "-g", "daemon off;"],
            workdir / "nginx.log",
        )

    def _render(self) -> None:
        servers = "\n".join(
            f"        server {upstream} max_fails=1 fail_timeout=5s;" for upstream in self.upstreams
        )
        # As root, nginx's workers would run as nobody, who cannot write in workdir.
        user = f"user {UNPRIVILEGED_USER};" if os.geteuid() == 0 else ""
        render(
            "nginx.conf",
            self.config,
            port=self.port,
            servers=servers,
            workdir=self.workdir,
            user=user,
        )

    def start(self) -> "Nginx":
        super().start()
        wait_for_port(self.port, self.process, self.log)
        return self
