"""`make bench`: the API under gunicorn with production settings, driven by wrk.

Starts its own embedded Postgres (.local/bench-postgres), prepares it like Supabase, seeds two
deterministic databases (small: 1,000 posts; large: 1,000,000), mints ES256 tokens served by a
local JWKS, checks every scenario answers correctly once, then runs wrk (2 threads, 32
connections, 10 s) on each scenario and prints req/s, p50, p99, errors, database queries per
request and worker RSS. The list on 1,000,000 posts is compared with the list on 1,000 in
alternating rounds (compare_list_sizes). Results go to bench/results/. Every process it starts
is stopped.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import (
    BENCH_USER,
    DATA_DIR,
    LUA,
    RESULTS,
    ROOT,
    django_env,
    free_port,
    gunicorn,
    log,
    prepare_database,
    user_token,
    worker_rss_mb,
    wrk,
)
from supabase_auth.local import embedded
from tests.support.jwks_server import JWKSServer, SigningKey

# The reference design's figures (issue 6): FastAPI + SQLModel, get_user() per request.
REFERENCE = {
    "health": (11_000, 6),
    "post": (1_500, 1_900),
    "list": (1_150, 1_500),
    "me": (48, 1_700),
    "create": (48, 2_100),
}


def queries_per_request(env: dict, requests: list) -> dict:
    """Count SQL statements per scenario, through the full stack, in a separate process."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "count_queries.py")],
        cwd=ROOT,
        env=env | {"DJANGO_ALLOWED_HOSTS": "testserver"},
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"counting queries failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def check_once(base: str, scenarios: dict, token: str) -> None:
    """Fail before measuring if any scenario does not answer correctly."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/health").json() == {"status": "healthy"}
        listing = client.get("/api/posts/").json()
        assert len(listing["results"]) == 20, "list: 20 rows"
        assert listing["next"], "list: a next link"
        post = client.get(scenarios["post"]["path"]).json()
        assert post["published"] is True, "post: a published post"
        mine = client.get("/api/posts/me", headers=auth).json()
        assert len(mine["results"]) == 20, "me: the bench user's 20 posts"
        assert all(p["author_id"] == str(BENCH_USER) for p in mine["results"])
        created = client.post("/api/posts/", json={"title": "check"}, headers=auth)
        assert created.status_code == 201, created.text
        patched = client.patch(scenarios["patch"]["path"], json={"title": "Patched"}, headers=auth)
        assert patched.status_code == 200, patched.text


def main() -> None:
    """Prepare, check, measure, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--large-posts", type=int, default=1_000_000)
    parser.add_argument("--small-posts", type=int, default=1_000)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit(
            "wrk not found: install it (Debian/Ubuntu: apt-get install wrk; macOS: brew "
            "install wrk) and run `make bench` again."
        )

    with ExitStack() as stack:
        jwks = JWKSServer()
        stack.callback(jwks.close)
        signing_key = SigningKey("ES256", "bench-es256")
        jwks.publish(signing_key)
        supabase_url = (
            jwks.base_url
        )  # JWKS at {url}/auth/v1/.well-known/jwks.json, issuer {url}/auth/v1

        server_url = embedded.ensure_running(DATA_DIR)
        stack.callback(embedded.stop, DATA_DIR)
        env = django_env(server_url, supabase_url)
        small = prepare_database(server_url, "bench_small", args.small_posts, 50, env)
        large = None
        if not args.skip_large:
            large = prepare_database(server_url, "bench_large", args.large_posts, 1_000, env)

        token = user_token(signing_key, supabase_url)
        with psycopg.connect(small) as conn:
            published = conn.execute(
                "select id from posts where published and author_id <> %s "
                "order by created_at desc limit 1",
                [BENCH_USER],
            ).fetchone()[0]
            own = conn.execute(
                "select id from posts where author_id = %s order by created_at desc limit 1",
                [BENCH_USER],
            ).fetchone()[0]
        scenarios = {
            "health": {"path": "/health"},
            "post": {"path": f"/api/posts/{published}"},
            "list": {"path": "/api/posts/"},
            "me": {"path": "/api/posts/me", "auth": True},
            "create": {"path": "/api/posts/", "auth": True, "script": LUA / "create.lua"},
            "patch": {"path": f"/api/posts/{own}", "auth": True, "script": LUA / "patch.lua"},
        }
        counts = queries_per_request(
            env | {"DATABASE_URL": small},
            [
                {
                    "name": name,
                    "path": s["path"],
                    "method": {"create": "post", "patch": "patch"}.get(name, "get"),
                    "token": token if s.get("auth") else None,
                    "body": {"title": "Counted"} if name in ("create", "patch") else None,
                }
                for name, s in scenarios.items()
            ],
        )

        results = {"scenarios": {}, "settings": {}}
        port = free_port()
        with gunicorn(env | {"DATABASE_URL": small}, port) as (base, master):
            check_once(base, scenarios, token)
            for name, scenario in scenarios.items():
                log(f"wrk {name} {scenario['path']}")
                result = wrk(
                    base + scenario["path"],
                    script=scenario.get("script"),
                    token=token if scenario.get("auth") else None,
                    duration=args.duration,
                )
                result["queries"] = counts.get(name)
                result["worker_rss_mb"] = worker_rss_mb(master)
                results["scenarios"][name] = result
            if large:
                large_server = gunicorn(env | {"DATABASE_URL": large}, free_port())
                with large_server as (large_base, large_master):
                    httpx.get(large_base + "/api/posts/", timeout=10).raise_for_status()
                    compare_list_sizes(results, base, large_base, large_master, args.duration)
                    results["scenarios"]["list_large"]["queries"] = counts.get("list")

    results["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_generator": "wrk -t2 -c32 --latency, same machine",
    }
    results["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["command"] = "make bench"
    report(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (RESULTS / f"bench-{stamp}.json", RESULTS / "latest.json"):
        path.write_text(json.dumps(results, indent=2) + "\n")
    log(f"results: bench/results/bench-{stamp}.json")


def compare_list_sizes(
    results: dict, small_base: str, large_base: str, large_master: int, duration: int
) -> None:
    """Time the list on 1,000,000 posts against the list on 1,000, in alternating rounds.

    This machine's speed drifts by 15-30 % from one minute to the next, so two runs minutes
    apart compare the machine, not the query. Alternating rounds and comparing medians of p50
    compares the query: both servers run, only one is loaded at a time.
    """
    rounds = {"small": [], "large": []}
    for round_number in range(3):
        for size, base in (("small", small_base), ("large", large_base)):
            log(f"wrk list on {size} posts, round {round_number + 1} of 3")
            rounds[size].append(
                wrk(base + "/api/posts/", script=None, token=None, duration=max(duration // 2, 2))
            )
    middle = {size: sorted(runs, key=lambda r: r["p50_ms"])[1] for size, runs in rounds.items()}
    results["scenarios"]["list_large"] = middle["large"] | {
        "worker_rss_mb": worker_rss_mb(large_master)
    }
    results["large_to_small_p50"] = round(middle["large"]["p50_ms"] / middle["small"]["p50_ms"], 2)
    results["list_rounds_p50_ms"] = {
        size: [r["p50_ms"] for r in runs] for size, runs in rounds.items()
    }


def report(results: dict) -> None:
    """Print the results table (and the large/small latency ratio) on stdout."""
    rows = results["scenarios"]
    print(
        f"{'scenario':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'queries':>9}"
        f"{'RSS MB':>8}   reference"
    )
    for name, r in rows.items():
        ref = REFERENCE.get(name.removesuffix("_large"))
        errors = r["non_2xx"] + r["socket_errors"]
        ref_text = f"{ref[0]:,} req/s, p99 {ref[1]:,} ms" if ref else ""
        print(
            f"{name:<12}{r['rps']:>9,.0f}{r['p50_ms']:>9}{r['p99_ms']:>9}{errors:>8}"
            f"{r['queries']!s:>9}{r['worker_rss_mb']:>8}   {ref_text}"
        )
    if "large_to_small_p50" in results:
        print(
            f"list p50 on 1,000,000 posts / on 1,000 posts, median of 3 alternating rounds: "
            f"{results['large_to_small_p50']:.2f}× (rounds, ms: {results['list_rounds_p50_ms']})"
        )


if __name__ == "__main__":
    main()
