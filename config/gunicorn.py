"""Gunicorn settings from the environment: `gunicorn -c config/gunicorn.py config.wsgi`."""

import gc
import multiprocessing

import environ

env = environ.Env()

bind = f"{env.str('HOST', default='0.0.0.0')}:{env.int('PORT', default=8000)}"  # noqa: S104 - containers must listen beyond loopback
# One worker per core: on 2 cores, 3 workers wrote about as fast but doubled p99 (more processes
# competing for the CPUs); threads, not processes, cover the waits (docs/performance.md).
workers = env.int("WEB_CONCURRENCY", default=multiprocessing.cpu_count())
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
# connections evenly over them. On one shared socket the first worker to wake takes the burst:
# 32 keep-alive connections landed 32/0 or 29/0 on two workers, so one process served them with
# its 8 threads while the other idled, for the connections' life (docs/performance.md).
reuse_port = env.bool("GUNICORN_REUSE_PORT", default=True)
# Requests served at once per process: while one waits on Postgres (a round trip of 0.5-3 ms
# in one region, tens across regions) the others run. Each thread keeps one database
# connection, so a node holds WEB_CONCURRENCY x GUNICORN_THREADS of them (docs/performance.md).
threads = env.int("GUNICORN_THREADS", default=8)
# gunicorn's gthread worker, reading each request whole and in bounded time (config/worker.py).
worker_class = env.str("GUNICORN_WORKER_CLASS", default="config.worker.ThreadWorker")
# A worker whose main loop stops answering the master is killed after `timeout`; one request's
# thread is bounded by its own waits instead (SERVER_READ_TIMEOUT for the client, Postgres's
# statement_timeout, SUPABASE_HTTP_TIMEOUT for Supabase). A restart drains for graceful_timeout.
timeout = env.int("GUNICORN_TIMEOUT", default=30)
graceful_timeout = env.int("GUNICORN_GRACEFUL_TIMEOUT", default=30)
keepalive = env.int("GUNICORN_KEEPALIVE", default=5)
# Recycling after N requests is off by default (gunicorn's default too): memory is flat under
# load (docs/performance.md, soak), and a recycle closes every keep-alive connection of the
# worker, which clients racing a request on them see as errors. Set it to bound a leak.
max_requests = env.int("GUNICORN_MAX_REQUESTS", default=0)
max_requests_jitter = env.int("GUNICORN_MAX_REQUESTS_JITTER", default=0)
accesslog = env.str("GUNICORN_ACCESS_LOG", default="-") or None  # empty: no access log
errorlog = "-"
# Trust X-Forwarded-* only from the platform's proxy (comma-separated IPs, "*" behind a PaaS);
# the worker drops them from any other peer before Django sees them (config/worker.py).
forwarded_allow_ips = env.str("FORWARDED_ALLOW_IPS", default="127.0.0.1")
# Headers with "_" in their names are dropped: X_Forwarded_Proto would reach Django as
# HTTP_X_FORWARDED_PROTO (gunicorn's default, stated so a change of it is deliberate).
header_map = "drop"
for _name, _value in (("WEB_CONCURRENCY", workers), ("GUNICORN_THREADS", threads)):
    if _value < 1:
        raise RuntimeError(f"{_name} must be at least 1, not {_value}.")
# Import Django once in the master so workers fork ready (faster boots, shared memory).
preload_app = env.bool("GUNICORN_PRELOAD", default=True)


def pre_fork(server, worker) -> None:
    """Move everything the master imported out of the garbage collector's sight.

    Workers fork from the preloaded master; frozen objects are never scanned again, so
    collections in workers are shorter (fewer latency spikes) and do not touch, and so copy,
    the shared pages (Instagram's gc.freeze() recipe, Python docs for gc.freeze).
    """
    gc.freeze()
