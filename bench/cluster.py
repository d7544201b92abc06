"""`make bench-cluster`: what the several-node shape costs and carries, measured with wrk.

Starts the `make cluster` shape (cluster/run.py: production settings, one gunicorn worker per
node) on a seeded primary and its replica, then runs each scenario against:
  direct     one node, Postgres direct (session mode, prepared statements): the baseline;
  pooled     the same node shape through PgBouncer in transaction mode;
  nginx-1    nginx in front of one pooled node;
  nginx-2    nginx in front of two pooled nodes (public reads on the replica).
On a 2-core machine two nodes share the same CPUs: the figures give the per-node cost of the
proxy and the pooler, not a speed-up. Results: a table on stdout, JSON in bench/results/.
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import BENCH_SESSION, BENCH_USER, OTHER_USER, OURS_SQL, RESULTS, claims, log
from bench.load import wrk
from cluster.run import Cluster
from cluster.services import Nginx
from supabase_auth import dev_tokens

SCENARIOS = {
    "feed": ("/api/posts/", False),  # a public read: the replica's in nginx-2
    "me": ("/api/posts/me", True),  # authenticated, always the primary
}
WAYS = ("direct", "pooled", "nginx-1", "nginx-2")


def seed(cluster: Cluster) -> str:
    """Seed the primary with `make bench`'s data; return the bench user's access token."""
    with psycopg.connect(
        cluster.primary.url, autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as conn:
        conn.execute(OURS_SQL, {"me": BENCH_USER, "other": OTHER_USER, "session": BENCH_SESSION})
    issuer = f"{cluster.env['SUPABASE_URL']}/auth/v1"
    return dev_tokens.sign_hs256(claims(issuer, 7200), cluster.env["SUPABASE_JWT_SECRET"])


def check(base: str, token: str) -> None:
    """Fail before measuring unless every scenario answers 200 through this way in."""
    for name, (path, signed) in SCENARIOS.items():
        headers = {"Authorization": f"Bearer {token}"} if signed else {}
        response = httpx.get(base + path, headers=headers, timeout=10)
        assert response.status_code == 200, f"{name} via {base}: {response.status_code}"


def main() -> None:
    """Measure every way in on every scenario; print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (medians)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    cluster = Cluster(workdir, nodes=2, workers=1)
    try:
        log("starting the cluster (primary, replica, PgBouncer, Redis, 2 nodes, nginx)")
        cluster.start()
        token = seed(cluster)
        time.sleep(1)  # the replica replays the seed
        direct = cluster.start_node(
            3,
            DATABASE_URL=cluster.primary.url,
            DATABASE_POOL_MODE="session",
            DATABASE_REPLICA_URLS="",
        )
        one_node = Nginx(workdir / "nginx-1", cluster.node_urls[:1]).start()
        cluster.started.append(one_node)
        ways = {
            "direct": f"http://{cluster.node_urls[2]}",
            "pooled": f"http://{cluster.node_urls[0]}",
            "nginx-1": one_node.url,
            "nginx-2": cluster.nginx.url,
        }
        assert direct.running
        for base in ways.values():
            check(base, token)
        programs = {
            "api": [node.process.pid for node in cluster.nodes],
            "nginx": [cluster.nginx.process.pid, one_node.process.pid],
            "pgbouncer": [cluster.pgbouncer.process.pid],
            "postgres": [postmaster(cluster.primary), postmaster(cluster.replica)],
        }
        results = measure(ways, token, args.rounds, args.duration, programs)
    finally:
        cluster.stop()
    report(results)
    results["machine"] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"cluster-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")


def postmaster(server) -> int:
    """Return the pid of a running embedded server's postmaster (its backends are children)."""
    return int((server.data_dir / "postmaster.pid").read_text().split()[0])


def cpu_seconds(pids: list[int]) -> float:
    """Return the CPU time (user + system) used so far by these processes and their children."""
    total = 0.0
    for pid in pids:
        parent = psutil.Process(pid)
        for process in [parent, *parent.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
    return total


def measure(ways: dict, token: str, rounds: int, duration: int, programs: dict) -> dict:
    """Return, per scenario and way in, the medians over alternating rounds.

    Each round visits the ways in a rotated order, so that a noisy neighbour on a shared
    machine weighs on all of them alike. `rps`/`p99_ms`: 16 connections; `p50_c1_ms`: one
    connection. `<program>_cpu_us`: CPU microseconds per request spent in the API nodes,
    nginx and PgBouncer during the 16-connection run: what each hop costs, which waiting for
    a busy CPU does not inflate.
    """
    samples: dict[str, dict[str, list]] = {}
    for number in range(rounds):
        order = WAYS[number % len(WAYS) :] + WAYS[: number % len(WAYS)]
        for scenario, (path, signed) in SCENARIOS.items():
            for way in order:
                log(f"round {number + 1}/{rounds}: {scenario} via {way}")
                url, bearer = ways[way] + path, token if signed else None
                before = {name: cpu_seconds(pids) for name, pids in programs.items()}
                loaded = wrk(url, token=bearer, connections=16, duration=duration)
                for name, pids in programs.items():
                    used = cpu_seconds(pids) - before[name]
                    per_request = used / max(loaded["requests"], 1) * 1e6
                    samples.setdefault(f"{scenario} {way}", {}).setdefault(
                        f"{name}_cpu_us", []
                    ).append(round(per_request, 1))
                single = wrk(url, token=bearer, connections=1, duration=max(duration // 2, 2))
                entry = samples.setdefault(f"{scenario} {way}", {})
                entry.setdefault("rps", []).append(loaded["rps"])
                entry.setdefault("p99_ms", []).append(loaded["p99_ms"])
                entry.setdefault("p50_c1_ms", []).append(single["p50_ms"])
                entry.setdefault("errors", []).append(
                    loaded["non_2xx"] + loaded["socket_errors"] + single["non_2xx"]
                )
    return {
        key: {name: statistics.median(values) for name, values in entry.items()}
        | {"errors": sum(entry["errors"])}
        for key, entry in samples.items()
    }


def report(results: dict) -> None:
    """Print the medians: latency and throughput, then CPU per request in each program."""
    columns = ("req/s", "p99 ms", "p50 c1", "errors", "API µs", "nginx µs", "PgB µs", "PG µs")
    sys.stdout.write(f"{'scenario':<16}" + "".join(f"{c:>10}" for c in columns) + "\n")
    for key, r in results.items():
        values = (
            r["rps"],
            r["p99_ms"],
            r["p50_c1_ms"],
            r["errors"],
            r["api_cpu_us"],
            r["nginx_cpu_us"],
            r["pgbouncer_cpu_us"],
            r["postgres_cpu_us"],
        )
        sys.stdout.write(f"{key:<16}" + "".join(f"{v:>10.1f}" for v in values) + "\n")
    sys.stdout.write(
        "p50 c1: one connection; µs: CPU microseconds per request in the API nodes, nginx, "
        "PgBouncer and Postgres (primary + replica).\n"
    )


if __name__ == "__main__":
    main()
