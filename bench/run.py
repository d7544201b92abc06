"""`make bench`: this API and the reference design, side by side, with Postgres 0, 1 and 10 ms away.

One run prepares an embedded Postgres of its own (.local/bench-postgres) with the same rows for
both apps (bench/data.py), then for each distance: a delay proxy between each app and Postgres
(bench/proxy.py; distance 0 is the direct Unix socket), the API under the Procfile's gunicorn
(2 workers) and the reference under uvicorn (2 workers), each scenario checked once, then wrk
(2 threads, 32 connections) on each scenario, alternating the apps. Then 256 connections on
loopback. It prints req/s, p50, p99, errors, worker RSS and this/reference ratios, and writes
bench/results/bench-<time>.json and latest.json. Every process it starts is stopped.

Variants (`--variant NAME:VAR=VALUE,...`) run the API with other settings in the same rounds,
for decisions: e.g. `--variant sync:GUNICORN_WORKER_CLASS=sync --rounds 3` (medians reported).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data, reference
from bench.data import BENCH_USER, OWN_POST, PUBLISHED_POST, log
from bench.load import LUA, check, wrk
from supabase_auth.local import embedded
from tests.reliability.stack import Gunicorn, free_port
from tests.support.jwks_server import JWKSServer, SigningKey

DISTANCES = (0, 1, 10)
MANY_CONNECTIONS = 256
MANY_SCENARIOS = ("post", "list", "me", "create")


def _rows(body) -> list:
    """Return a list's rows: ours are paginated ({"results": [...]}), the reference's are not."""
    return body["results"] if isinstance(body, dict) else body


# Each scenario: the request on each side (None: the app has no such endpoint) and the answer.
SCENARIOS = {
    "health": {
        "paths": {"this": "/health", "reference": "/health"},
        "expect": lambda body: body == {"status": "healthy"},
    },
    "post": {
        "paths": {
            "this": f"/api/posts/{PUBLISHED_POST}",
            "reference": f"/api/posts/{PUBLISHED_POST}",
        },
        "expect": lambda body: body["published"] is True and body["id"] == PUBLISHED_POST,
    },
    "list": {
        "paths": {"this": "/api/posts/", "reference": "/api/posts/?published_only=true"},
        "expect": lambda body: len(_rows(body)) == 20,
    },
    "me": {
        "paths": {"this": "/api/posts/me", "reference": "/api/posts/me"},
        "auth": True,
        "expect": lambda body: [r["author_id"] for r in _rows(body)] == [str(BENCH_USER)] * 20,
    },
    "patch": {
        "paths": {"this": f"/api/posts/{OWN_POST}", "reference": None},
        "method": "PATCH",
        "auth": True,
        "body": {"title": "Patched by wrk"},
        "script": LUA / "patch.lua",
        "expect": lambda body: body["title"] == "Patched by wrk",
    },
    "create": {
        "paths": {"this": "/api/posts/", "reference": "/api/posts/"},
        "method": "POST",
        "auth": True,
        "body": {"title": "Benchmark post", "content": "Written by wrk.", "published": False},
        "script": LUA / "create.lua",
        "expect": lambda body: body["author_id"] == str(BENCH_USER),
    },
}


def parse_variant(text: str) -> tuple[str, dict]:
    """Return (name, environment) of `NAME:VAR=VALUE,VAR=VALUE`."""
    name, _, assignments = text.partition(":")
    env = dict(item.split("=", 1) for item in assignments.split(",") if item)
    return name, env


def main() -> None:
    """Prepare, check, measure, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distances", default="0,1,10", help="one-way delays in ms, e.g. 0,1")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="e.g. post,me")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (medians)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-many", action="store_true", help="skip the 256-connection runs")
    parser.add_argument("--no-reference", action="store_true", help="only this API")
    parser.add_argument("--variant", action="append", default=[], help="NAME:VAR=VALUE,...")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--show", type=Path, help="print a saved run's table (a results JSON)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    if args.show:
        report(json.loads(args.show.read_text())["summary"], markdown=args.markdown)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: install it (Debian/Ubuntu: apt-get install wrk) and retry.")
    distances = [float(d) for d in args.distances.split(",") if d]
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    variants = dict(parse_variant(v) for v in args.variant) or {"this": {}}
    folder = None if args.no_reference else reference.find()
    if folder is None and not args.no_reference:
        log("reference design not found (../shared/reference/, or BENCH_REFERENCE_DIR): skipped")

    results: dict = {"runs": [], "variants": variants}
    # Every server's output, kept after the run for a look when something failed.
    logs = data.DATA_DIR.parent / "bench-logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    with ExitStack() as stack:
        bench = Bench(stack, logs, variants, folder, args)
        for distance in distances:
            results["runs"] += bench.at_distance(distance, scenarios, args.connections)
        if not args.no_many and 0.0 in distances:
            many = [s for s in MANY_SCENARIOS if s in scenarios]
            results["runs"] += bench.at_distance(0.0, many, MANY_CONNECTIONS, rounds=1)

    results["summary"] = summarise(results["runs"])
    results["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_generator": "wrk -t2, same machine",
        "load": os.getloadavg(),
    }
    results["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["command"] = " ".join(["bench/run.py", *sys.argv[1:]])
    report(results["summary"], markdown=args.markdown)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (data.results_dir() / f"bench-{stamp}.json", data.results_dir() / "latest.json"):
        path.write_text(json.dumps(results, indent=2) + "\n")
    log(f"results: bench/results/bench-{stamp}.json")


class Bench:
    """The long-lived parts of a run: Postgres, the JWKS and Auth stand-ins, tokens."""

    def __init__(self, stack: ExitStack, logs: Path, variants: dict, folder, args) -> None:
        self.stack, self.logs, self.variants, self.folder = stack, logs, variants, folder
        self.duration, self.rounds, self.workers = args.duration, args.rounds, args.workers
        jwks = JWKSServer()
        stack.callback(jwks.close)
        key = SigningKey("ES256", "bench-es256")
        jwks.publish(key)
        self.supabase_url = jwks.base_url  # JWKS at {url}/auth/v1/.well-known/jwks.json
        self.token = data.es256_token(key, self.supabase_url)

        server_url = embedded.ensure_running(data.DATA_DIR)
        stack.callback(embedded.stop, data.DATA_DIR)
        if data.raise_max_connections(server_url):
            embedded.stop(data.DATA_DIR)
            server_url = embedded.ensure_running(data.DATA_DIR)
        self.socket_dir = embedded.start(data.DATA_DIR)
        self.env = data.django_env(self.supabase_url)
        self.ours = data.prepare_ours(server_url, self.env | {"DATABASE_URL": server_url})
        if folder is not None:
            reference.install(folder)
            self.reference_db = data.prepare_reference(
                server_url, (folder / "schema.sql").read_text()
            )
            auth = reference.auth_stand_in(folder, logs / "auth-stand-in.log")
            stack.enter_context(auth)
            self.reference_auth = f"http://127.0.0.1:{auth.port}"
            self.reference_token = data.hs256_token(self.reference_auth)

    def at_distance(
        self, distance: float, scenarios: list, connections: int, rounds: int | None = None
    ) -> list[dict]:
        """Measure every app on every scenario with Postgres `distance` ms away (one way)."""
        log(f"Postgres {distance:g} ms away, {connections} connections")
        data.reset(self.ours)
        if self.folder is not None:
            data.reset(self.reference_db)
        with ExitStack() as stack:
            host, port = self.socket_dir, None
            if distance:
                port = free_port()
                stack.enter_context(DelayProxy(port, self.socket_dir, distance, self.logs))
                host = "127.0.0.1"
            apps = self._start_apps(stack, host, port)
            runs = []
            for scenario_name in scenarios:
                scenario = SCENARIOS[scenario_name]
                for server, token, side in apps.values():
                    path = scenario["paths"][side]
                    if path is not None:
                        check(server.url, request(scenario, path), token)
                for round_number in range(rounds or self.rounds):
                    for app_name, (server, token, side) in apps.items():
                        path = scenario["paths"][side]
                        if path is None:
                            continue
                        log(f"  {scenario_name} on {app_name}, round {round_number + 1}")
                        result = wrk(
                            server.url + path,
                            duration=self.duration,
                            connections=connections,
                            script=scenario.get("script"),
                            token=token if scenario.get("auth") else None,
                        )
                        runs.append(
                            result
                            | {
                                "distance_ms": distance,
                                "connections": connections,
                                "scenario": scenario_name,
                                "app": app_name,
                                "round": round_number,
                                "worker_rss_mb": server.worker_rss_mb(),
                            }
                        )
        return runs

    def _start_apps(self, stack: ExitStack, host, port: int | None) -> dict:
        """Start this API (each variant) and the reference on the database at host:port.

        Return {name: (server, token, side)}; `side` picks the scenario's path.
        """
        apps = {}
        for name, extra in self.variants.items():
            extra = dict(extra)
            chdir = extra.pop("BENCH_CHDIR", None)  # another copy of the code, to compare
            env = self.env | extra | {"DATABASE_URL": our_database_url(host, port)}
            server = Gunicorn(env, self.logs / f"{name}.log", workers=self.workers)
            if chdir:
                server.cwd = Path(chdir)
            apps[name] = (stack.enter_context(server), self.token, "this")
        if self.folder is not None:
            url = reference.database_url(host, port)
            log_path = self.logs / "reference.log"
            server = reference.app(
                self.folder, url, self.reference_auth, self.reference_token, log_path
            )
            apps["reference"] = (stack.enter_context(server), self.reference_token, "reference")
        return apps


def request(scenario: dict, path: str) -> dict:
    """Return the scenario as one request for load.check()."""
    return {
        "method": scenario.get("method", "GET"),
        "path": path,
        "auth": scenario.get("auth", False),
        "body": scenario.get("body"),
        "expect": scenario["expect"],
    }


def our_database_url(host, port: int | None) -> str:
    """Return the API's DATABASE_URL: TCP host:port, or the Unix socket directory."""
    if port is None:
        return embedded.url(Path(host), "bench_api")
    return f"postgres://postgres@{host}:{port}/bench_api"


class DelayProxy:
    """bench/proxy.py in its own process: TCP on port → the Unix socket, `delay` ms each way."""

    def __init__(self, port: int, socket_dir: Path, delay: float, logs: Path) -> None:
        self.command = [
            sys.executable,
            str(Path(__file__).with_name("proxy.py")),
            "--listen",
            f"127.0.0.1:{port}",
            "--target",
            str(Path(socket_dir) / ".s.PGSQL.5432"),
            "--delay-ms",
            str(delay),
        ]
        self.log_path = logs / f"proxy-{port}.log"

    def __enter__(self) -> "DelayProxy":
        with self.log_path.open("w") as log_file:
            self.process = subprocess.Popen(
                self.command, stdout=subprocess.PIPE, stderr=log_file, text=True
            )
        ready = self.process.stdout.readline().strip()
        if ready != "ready":
            self.process.kill()
            raise RuntimeError(f"the delay proxy did not start:\n{self.log_path.read_text()}")
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def summarise(runs: list[dict]) -> list[dict]:
    """Return one row per (distance, connections, scenario, app): medians over rounds, ratios."""
    groups: dict[tuple, list] = {}
    for run in runs:
        key = (run["distance_ms"], run["connections"], run["scenario"], run["app"])
        groups.setdefault(key, []).append(run)
    rows = []
    for (distance, connections, scenario, app), group in groups.items():
        rows.append(
            {
                "distance_ms": distance,
                "connections": connections,
                "scenario": scenario,
                "app": app,
                "rounds": len(group),
                "rps": round(statistics.median(r["rps"] for r in group), 1),
                "p50_ms": round(statistics.median(r["p50_ms"] for r in group), 2),
                "p99_ms": round(statistics.median(r["p99_ms"] for r in group), 2),
                "errors": sum(r["non_2xx"] + r["socket_errors"] for r in group),
                "worker_rss_mb": max(r["worker_rss_mb"] for r in group),
            }
        )
    references = {
        (r["distance_ms"], r["connections"], r["scenario"]): r["rps"]
        for r in rows
        if r["app"] == "reference"
    }
    for row in rows:
        ref = references.get((row["distance_ms"], row["connections"], row["scenario"]))
        row["vs_reference"] = (
            round(row["rps"] / ref, 2) if ref and row["app"] != "reference" else None
        )
    return rows


def report(rows: list[dict], *, markdown: bool = False) -> None:
    """Print the table on stdout (aligned text, or Markdown for docs/performance.md)."""
    header = ["ms away", "conns", "scenario", "app", "req/s", "p50 ms", "p99 ms", "errors"]
    header += ["RSS MB", "× ref"]
    lines = []
    for r in rows:
        ratio = f"{r['vs_reference']:.2f}" if r["vs_reference"] is not None else ""
        lines.append(
            [
                f"{r['distance_ms']:g}",
                str(r["connections"]),
                r["scenario"],
                r["app"],
                f"{r['rps']:,.0f}",
                f"{r['p50_ms']:g}",
                f"{r['p99_ms']:g}",
                str(r["errors"]),
                f"{r['worker_rss_mb']:g}",
                ratio,
            ]
        )
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
        return
    widths = [7, 6, 9, 12, 8, 8, 8, 7, 7, 7]
    print("".join(f"{h:>{w}} " for h, w in zip(header, widths, strict=True)))
    for line in lines:
        print("".join(f"{v:>{w}} " for v, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
