"""Rate limits (api/throttling.py, API_THROTTLE_* and API_NUM_PROXIES): 429 JSON, atomic counts."""

import json
import sys
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from posts.models import Post
from tests.subprocess_django import PRODUCTION_ENV, run_python
from tests.support import throttles
from tests.support.supabase_wiring import wired_fake_supabase


@pytest.fixture
def rates(settings, monkeypatch):
    """Return set_rates(anon=..., user=...): throttle at these rates, from an empty cache."""

    def set_rates(**scopes: str) -> None:
        throttling = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] | scopes
        settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": throttling}
        # DRF copies the rates onto SimpleRateThrottle at import (a restart re-reads them), and
        # reloads only api_settings when REST_FRAMEWORK changes.
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES
        )

    cache.clear()
    yield set_rates
    cache.clear()


def assert_throttled(response) -> None:
    throttles.assert_throttled(response, window_seconds=60)


def test_fourth_anonymous_request_in_a_minute_is_429(anon_client, db, rates):
    rates(anon="3/minute")

    statuses = [anon_client.get("/api/posts/").status_code for _ in range(3)]
    response = anon_client.get("/api/posts/")

    assert statuses == [200, 200, 200]
    assert_throttled(response)


def test_anonymous_limit_does_not_apply_to_signed_in_users(anon_client, author_client, rates):
    rates(anon="3/minute")
    for _ in range(3):
        anon_client.get("/api/posts/")

    statuses = [author_client.get("/api/posts/").status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert_throttled(anon_client.get("/api/posts/"))


def test_user_limit_counts_each_user_separately(author_client, other_user_client, rates):
    rates(user="2/minute")
    author_statuses = [author_client.get("/api/posts/me").status_code for _ in range(2)]

    throttled = author_client.get("/api/posts/me")
    other = other_user_client.get("/api/posts/me")

    assert author_statuses == [200, 200]
    assert_throttled(throttled)
    assert other.status_code == 200


def test_throttled_write_writes_nothing(author_client, rates):
    rates(user="1/minute")
    author_client.post("/api/posts/", {"title": "first"}, format="json")

    response = author_client.post("/api/posts/", {"title": "second"}, format="json")

    assert_throttled(response)
    assert list(Post.objects.values_list("title", flat=True)) == ["first"]


def test_no_limit_by_default(anon_client, db):
    cache.clear()

    statuses = {anon_client.get("/api/posts/").status_code for _ in range(30)}

    assert statuses == {200}


def test_api_throttle_anon_variable_sets_the_anonymous_rate(django_db_setup):
    # A fresh process reads the variable as a deployment would, against the test database.
    database = connection.settings_dict
    env = PRODUCTION_ENV | {
        "DATABASE_URL": (
            f"postgres://{database['USER']}@/{database['NAME']}?host={database['HOST']}"
        ),
        "API_THROTTLE_ANON": "2/minute",
    }
    code = (
        "import json; from django.test import Client; c = Client();"
        "r = [c.get('/api/posts/', secure=True) for _ in range(3)];"
        "print(json.dumps([[x.status_code, x.json()] for x in r]))"
    )

    result = run_python(env, code)

    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert [status for status, _ in answers] == [200, 200, 429]
    assert answers[2][1]["code"] == "throttled"


# -- the client address and the account (issue 11.4), counted atomically (issue 14.1) --------

PASSWORD = "correct horse battery"


@pytest.fixture
def supabase(db, settings):
    with wired_fake_supabase(settings, auth_tables=False) as fake:
        yield fake


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def proxies(settings):
    """Return trust(n): API_NUM_PROXIES=n for this test."""

    def trust(count: int) -> None:
        settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": count}

    return trust


def sign_in(client, email: str, remote_addr: str = "127.0.0.1", **headers):
    body = {"email": email, "password": PASSWORD}
    return client.post(
        "/api/auth/signin", body, format="json", headers=headers, REMOTE_ADDR=remote_addr
    )


def token_requests(supabase) -> int:
    return len(supabase.requests_to("/auth/v1/token"))


def test_forged_x_forwarded_for_does_not_reset_the_signin_limit(supabase, api_client, rates):
    # The default configuration: no proxy trusted (API_NUM_PROXIES unset).
    rates(auth="10/minute")

    responses = [
        sign_in(api_client, f"user{i}@example.com", X_Forwarded_For=f"198.51.100.{i % 250}")
        for i in range(500)
    ]

    statuses = [response.status_code for response in responses]
    assert statuses[:10] == [401] * 10  # unknown users: invalid_credentials
    assert statuses[10:] == [429] * 490
    assert_throttled(responses[-1])
    assert token_requests(supabase) == 10


def test_one_trusted_proxy_keys_on_the_address_it_appended(supabase, api_client, rates, proxies):
    rates(auth="2/minute")
    proxies(1)
    client_a = [f"{forged}, 203.0.113.7" for forged in ("1.1.1.1", "9.9.9.9", "5.5.5.5")]

    statuses = [
        sign_in(api_client, "ada@example.com", X_Forwarded_For=xff).status_code for xff in client_a
    ]
    other = sign_in(api_client, "ada@example.com", X_Forwarded_For="1.1.1.1, 203.0.113.8")

    assert statuses == [401, 401, 429]
    assert other.status_code == 401
    assert token_requests(supabase) == 3


def test_signin_limit_per_account_holds_across_addresses(supabase, api_client, rates, proxies):
    rates(auth="100/minute", auth_account="3/hour")
    proxies(1)
    supabase.create_user("ada@example.com", PASSWORD)
    supabase.create_user("bob@example.com", PASSWORD)

    statuses = [
        sign_in(api_client, "ada@example.com", X_Forwarded_For=f"198.51.100.{i}").status_code
        for i in range(20)
    ]
    throttled = sign_in(api_client, "ada@example.com", X_Forwarded_For="198.51.100.99")
    other_account = sign_in(api_client, "bob@example.com", X_Forwarded_For="198.51.100.99")

    assert statuses == [200] * 3 + [429] * 17
    assert_throttled_for_long(throttled)
    assert other_account.status_code == 200
    assert [r.json["email"] for r in supabase.requests_to("/auth/v1/token")] == [
        "ada@example.com"
    ] * 3 + ["bob@example.com"]


def assert_throttled_for_long(response) -> None:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 3600
    assert response.json()["code"] == "throttled"


def test_account_limit_matches_emails_as_supabase_auth_does(supabase, api_client, rates, proxies):
    rates(auth="100/minute", auth_account="2/hour")
    proxies(1)
    supabase.create_user("ada@example.com", PASSWORD)
    spellings = ["ada@example.com", " ADA@Example.com", "Ada@example.COM "]

    statuses = [
        sign_in(api_client, email, X_Forwarded_For=f"198.51.100.{i}").status_code
        for i, email in enumerate(spellings)
    ]

    assert statuses == [200, 200, 429]
    assert token_requests(supabase) == 2


def test_refresh_is_not_limited_per_account(supabase, api_client, rates):
    rates(auth="100/minute", auth_account="1/hour")
    supabase.create_user("ada@example.com", PASSWORD)
    refresh_token = sign_in(api_client, "ada@example.com").json()["refresh_token"]

    refreshed = api_client.post(
        "/api/auth/refresh", {"refresh_token": refresh_token}, format="json"
    )

    assert refreshed.status_code == 200
    assert set(refreshed.json()) >= {"access_token", "refresh_token"}


def test_addresses_of_one_ipv6_64_share_a_budget(supabase, api_client, rates):
    rates(auth="2/minute")
    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2:abcd::1"]

    statuses = [
        sign_in(api_client, f"u{i}@example.com", address).status_code
        for i, address in enumerate(same_64)
    ]
    other_64 = sign_in(api_client, "x@example.com", "2001:db8:1:3::1")

    assert statuses == [401, 401, 429]
    assert other_64.status_code == 401
    assert token_requests(supabase) == 3


@pytest.fixture
def eager_thread_switches():
    """Switch threads as often as possible, so that races show up within a few requests."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_concurrent_signins_never_exceed_the_limit(db, settings, rates, eager_thread_switches):
    # DRF's throttle reads its history, decides, then writes it: requests racing between the
    # read and the write all saw room. An atomic counter hands out each slot once.
    rates(auth="5/minute")
    # Forty threads switching every microsecond are slow: give the five sign-ins that get
    # through time to reach the fake Supabase (a 1-second timeout turned one into a 503).
    with wired_fake_supabase(settings, auth_tables=False, timeout=30) as supabase:
        statuses = signins_at_once(40)

    assert sorted(statuses) == [401] * 5 + [429] * 35
    assert token_requests(supabase) == 5


def signins_at_once(count: int) -> list[int]:
    """Sign in `count` different accounts from one address, all threads released at once."""
    start = threading.Barrier(count)
    statuses: list[int] = []

    def attempt(i: int) -> None:
        client = APIClient()
        start.wait()
        statuses.append(sign_in(client, f"user{i}@example.com").status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.fixture
def clock(monkeypatch):
    """Return move(seconds): time.time() frozen one second before a minute starts, then moved.

    Everything that reads time.time() sees it: the throttles and the local-memory cache's
    expiry alike.
    """
    now = [(time.time() // 60 + 1) * 60 - 1]
    monkeypatch.setattr(time, "time", lambda: now[0])

    def move(seconds: float) -> None:
        now[0] += seconds

    return move


def test_a_burst_across_the_clocks_minute_gets_the_limit_once(supabase, api_client, rates, clock):
    # With windows aligned to the clock, 3 attempts at :59 and 5 at :01 were two windows' worth:
    # 8 of 5 got through. The window opens at the first attempt, so a burst gets N whenever.
    rates(auth="5/minute")

    before = [sign_in(api_client, f"a{i}@example.com").status_code for i in range(3)]
    clock(2)
    after = [sign_in(api_client, f"b{i}@example.com") for i in range(5)]

    assert before + [r.status_code for r in after] == [401] * 5 + [429] * 3
    assert after[-1]["Retry-After"] == "58"  # the window opened at :59 and lasts a minute
    clock(58)
    assert sign_in(api_client, "c@example.com").status_code == 401  # a new window
    assert token_requests(supabase) == 6


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("API_NUM_PROXIES", "-1"),
        ("API_THROTTLE_AUTH", "ten/minute"),
        ("API_THROTTLE_AUTH_ACCOUNT", "5/fortnight"),
    ],
)
def test_unsafe_throttle_setting_stops_start_up_naming_it(variable, value):
    result = run_python(PRODUCTION_ENV | {variable: value}, "")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]
