"""`make soak`: a mixed read/write load at about half the measured capacity, for minutes.

Measures the capacity of the mixed workload first (wrk, 32 connections, 10 s), then offers
about half of it for SOAK_MINUTES (default 5) while sampling every gunicorn worker's memory
and the number of Postgres connections. Reports 5xx (must be 0), p50/p99, the memory slope
(MB per minute, by least squares) and the highest connection count; writes
bench/results/soak-latest.json. Every process it starts is stopped.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.data import OWN_POST, PUBLISHED_POST, log
from bench.load import LUA, parse_wrk
from supabase_auth.local import embedded
from tests.reliability.stack import Gunicorn
from tests.support.jwks_server import JWKSServer, SigningKey

CONNECTIONS = 32


def sample(master_pid: int, database_url: str, stop: threading.Event, every: float) -> list:
    """Record (seconds, worker RSS MB each, Postgres connections) until stop is set."""
    samples, started = [], time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while not stop.wait(every):
            workers = psutil.Process(master_pid).children()
            rss = [round(w.memory_info().rss / 2**20, 1) for w in workers]
            backends = conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and pid <> pg_backend_pid()"
            ).fetchone()[0]
            samples.append((round(time.monotonic() - started, 1), rss, backends))
    return samples


def slope_mb_per_minute(samples: list) -> float:
    """Least-squares slope of the mean worker RSS over time, skipping the warm-up minute."""
    points = [(t / 60, statistics.mean(rss)) for t, rss, _ in samples if t >= 60 and rss]
    if len(points) < 3:
        points = [(t / 60, statistics.mean(rss)) for t, rss, _ in samples if rss]
    if len(points) < 2:
        return 0.0
    return round(statistics.linear_regression(*zip(*points, strict=True)).slope, 3)


def run_wrk_mixed(base: str, env: dict, seconds: int) -> tuple[dict, dict]:
    """Run the mixed script; return wrk's summary and the status classes it counted."""
    command = [
        "wrk",
        "-t2",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA / "mixed.lua"),
        base,
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, env=os.environ | env
    ).stdout
    classes = json.loads(re.search(r"STATUS_CLASSES (\{.*\})", output).group(1))
    summary = parse_wrk(output)
    return summary, classes


def main() -> None:
    """Prepare, measure capacity, soak at half of it, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 5)))
    args = parser.parse_args()

    with ExitStack() as stack:
        jwks = JWKSServer()
        stack.callback(jwks.close)
        key = SigningKey("ES256", "soak-es256")
        jwks.publish(key)
        server_url = embedded.ensure_running(data.DATA_DIR)
        stack.callback(embedded.stop, data.DATA_DIR)
        env = data.django_env(jwks.base_url)
        database = data.prepare_ours(server_url, env | {"DATABASE_URL": server_url})
        token = data.es256_token(key, jwks.base_url, ttl=int(args.minutes * 60) + 3600)
        lua_env = {"SOAK_TOKEN": token, "SOAK_POST": PUBLISHED_POST, "SOAK_OWN_POST": OWN_POST}
        log_path = data.DATA_DIR.parent / "soak-gunicorn.log"
        server = stack.enter_context(Gunicorn(env | {"DATABASE_URL": database}, log_path))
        base, master = server.url, server.master_pid
        capacity, _ = run_wrk_mixed(base, lua_env | {"SOAK_DELAY_MS": "0"}, 10)
        target = capacity["rps"] / 2
        # Each connection waits `delay` between requests: 32 connections × (1000/delay).
        delay_ms = max(1, round(CONNECTIONS * 1000 / target))
        log(
            f"capacity {capacity['rps']:.0f} req/s; soaking at ~{target:.0f} req/s "
            f"for {args.minutes:g} min"
        )
        stop = threading.Event()
        samples: list = []
        sampler = threading.Thread(
            target=lambda: samples.extend(sample(master, database, stop, 10)), daemon=True
        )
        sampler.start()
        summary, classes = run_wrk_mixed(
            base, lua_env | {"SOAK_DELAY_MS": str(delay_ms)}, int(args.minutes * 60)
        )
        stop.set()
        sampler.join()

    result = {
        "capacity_rps": capacity["rps"],
        "offered_rps": round(target),
        "minutes": args.minutes,
        **summary,
        "status_classes": classes,
        "server_errors": classes.get("500", 0),
        "rss_mb_start": samples[0][1] if samples else None,
        "rss_mb_end": samples[-1][1] if samples else None,
        "rss_slope_mb_per_min": slope_mb_per_minute(samples),
        "max_postgres_connections": max((c for _, _, c in samples), default=None),
        "samples": samples,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    print(
        f"soak {args.minutes:g} min at ~{target:.0f} req/s (capacity {capacity['rps']:.0f}): "
        f"{summary['requests']:,} requests, {result['server_errors']} 5xx, statuses {classes}, "
        f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, worker RSS "
        f"{result['rss_mb_start']} → {result['rss_mb_end']} MB "
        f"(slope {result['rss_slope_mb_per_min']} MB/min), "
        f"Postgres connections ≤ {result['max_postgres_connections']}"
    )
    (data.results_dir() / "soak-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    if result["server_errors"]:
        sys.exit("soak failed: server errors")


if __name__ == "__main__":
    main()
