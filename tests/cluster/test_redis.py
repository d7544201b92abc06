"""The shared cache on a real Redis: limits shared by processes, atomic, failing open, bounded."""

import json
import logging
import socket
import threading

import pytest
import redis as redis_client
from rest_framework.test import APIClient

from api import shared_cache
from tests.cluster.conftest import node_env
from tests.subprocess_django import run_python
from tests.support.supabase_wiring import wired_fake_supabase

PASSWORD = "correct horse battery"
SIGN_IN_THREE_TIMES = """
import json
from django.test import Client
client = Client()
answers = [
    client.post(
        "/api/auth/signin",
        {"email": f"u{i}@example.com", "password": "long enough password"},
        content_type="application/json",
    ).status_code
    for i in range(3)
]
print(json.dumps(answers))
"""


@pytest.fixture
def cache_at(settings, monkeypatch):
    """Return use(url, timeout): Django's cache on that Redis, with the pause state reset.

    Request it after `rates`, whose teardown clears the cache: this one's restores it first.
    """

    def use(url: str, timeout: float = 0.5) -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
            }
        }

    monkeypatch.setattr(shared_cache, "_skip_until", 0.0)
    monkeypatch.setattr(shared_cache, "_last_warning", 0.0)
    original = settings.CACHES
    yield use
    settings.CACHES = original  # before the Supabase wiring's teardown clears the cache


@pytest.fixture
def supabase(db, settings):
    with wired_fake_supabase(settings, auth_tables=False) as fake:
        yield fake


def sign_in(client: APIClient, email: str):
    body = {"email": email, "password": PASSWORD}
    return client.post("/api/auth/signin", body, format="json")


def token_requests(supabase) -> int:
    return len(supabase.requests_to("/auth/v1/token"))


def test_processes_sharing_redis_url_share_the_limit(primary, redis):
    # Two processes one after the other, as two nodes would be: the second finds the first's
    # count in Redis. With per-process memory, each would get its own three attempts.
    env = node_env(
        primary.url,
        REDIS_URL=redis.url,
        API_THROTTLE_AUTH="3/minute",
        DJANGO_ALLOWED_HOSTS="testserver",
        SUPABASE_URL="http://127.0.0.1:9",  # nothing answers: a quick 503, counted anyway
    )

    first = run_python(env, SIGN_IN_THREE_TIMES)
    second = run_python(env, SIGN_IN_THREE_TIMES)

    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1]) == [503, 503, 503]
    assert json.loads(second.stdout.splitlines()[-1]) == [429, 429, 429]
    with redis_client.Redis.from_url(redis.url) as client:
        keys = [key.decode() for key in client.keys("*throttle_auth_127.0.0.1:60")]
        assert len(keys) == 1
        assert int(client.get(keys[0])) == 6
        # The window opened with the first attempt and ends a minute later: the counter and
        # the record of its end both expire then, so no key outlives its window.
        assert 0 < client.ttl(keys[0]) <= 60
        assert 0 < client.ttl(f"{keys[0]}:ends") <= 60


def test_concurrent_signins_on_redis_never_exceed_the_limit(supabase, redis, rates, cache_at):
    # DRF's throttle reads the history from Redis, decides, then writes it back: requests in
    # between all see room. INCR hands out each slot once.
    cache_at(redis.url)
    rates(auth="5/minute")
    start = threading.Barrier(30)
    statuses: list[int] = []

    def attempt(i: int) -> None:
        start.wait()
        statuses.append(sign_in(APIClient(), f"user{i}@example.com").status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [401] * 5 + [429] * 25
    assert token_requests(supabase) == 5


def test_redis_down_lets_signins_through_with_one_warning(supabase, rates, cache_at, caplog):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()  # nothing listens there now: connection refused
    cache_at(f"redis://127.0.0.1:{port}/0")
    rates(auth="1/minute")

    with caplog.at_level(logging.WARNING, logger="api.shared_cache"):
        statuses = [sign_in(APIClient(), f"u{i}@example.com").status_code for i in range(3)]

    assert statuses == [401, 401, 401]  # Supabase answered each: the limit failed open
    assert token_requests(supabase) == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "api.shared_cache"]
    assert len(warnings) == 1
    assert "rate limits are not enforced" in warnings[0]


class SilentServer:
    """Accept TCP connections and never answer: a Redis that hangs (paused, overloaded)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_hung_redis_costs_one_request_one_timeout(supabase, rates, cache_at):
    silent = SilentServer()
    cache_at(f"redis://127.0.0.1:{silent.port}/0", timeout=0.5)
    rates(auth="1/minute")
    statuses: list[int] = []

    def run() -> None:
        statuses.extend(sign_in(APIClient(), f"u{i}@example.com").status_code for i in range(10))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)  # generous: ten requests waiting on Redis for ever never finish
    silent.close()

    assert not worker.is_alive(), "sign-ins hung on an unresponsive Redis"
    assert statuses == [401] * 10
    assert len(silent.accepted) == 1  # later requests skipped the cache (CACHE_RETRY_SECONDS)


@pytest.mark.parametrize("variable", ["REDIS_URL", "CACHE_URL"])
def test_redis_url_configures_a_bounded_redis_cache_without_the_password(primary, variable):
    env = node_env(primary.url, **{variable: "redis://:s3cret@127.0.0.1:6390/2"})
    code = "import json; from django.conf import settings; print(json.dumps(settings.CACHES))"

    result = run_python(env, code)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6390/2",
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "password": "s3cret",
            },
        }
    }


def test_cache_url_of_another_kind_stops_start_up_naming_it(primary):
    result = run_python(node_env(primary.url, CACHE_URL="memcache://127.0.0.1:11211"), "")

    assert result.returncode != 0
    assert "CACHE_URL must be a redis://" in result.stderr.splitlines()[-1]


def test_without_redis_url_each_process_counts_alone(primary):
    code = "import json; from django.conf import settings; print(json.dumps(settings.CACHES))"

    result = run_python(node_env(primary.url), code)

    assert json.loads(result.stdout.splitlines()[-1]) == {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
