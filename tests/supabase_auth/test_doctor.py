"""`manage.py supabase_doctor` against the test database and a real loopback Supabase."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.support.supabase_wiring import wired_fake_supabase

CHECKS = [
    "database",
    "auth schema",
    "row-level security",
    "Django tables private",
    "realtime publication",
    "signing keys (JWKS)",
    "token",
    "Supabase Auth health",
    "avatars bucket",
]


@pytest.fixture
def supabase(db, settings):
    with wired_fake_supabase(settings, auth_tables=False) as fake:
        settings.SUPABASE_JWKS_URL = f"{fake.url}/auth/v1/.well-known/jwks.json"
        fake.create_bucket("avatars", public=True)
        yield fake


@pytest.fixture
def token(supabase):
    user = supabase.create_user("ada@example.com", "correct horse battery")
    return supabase.sign_in(user.email)["access_token"]


def doctor(*args: str) -> tuple[dict[str, tuple[str, str]], CommandError | None]:
    """Run the command; return {check: (status, detail)} and the CommandError, if any."""
    out = StringIO()
    error = None
    try:
        call_command("supabase_doctor", *args, stdout=out, no_color=True)
    except CommandError as exc:
        error = exc
    table = {}
    for line in out.getvalue().splitlines():
        match = re.match(r"^(.+?)\s{2,}(ok|warn|FAIL|skip)\s{2,}(.*)$", line)
        assert match, f"not a table row: {line!r}"
        table[match[1]] = (match[2], match[3])
    return table, error


def test_healthy_setup_passes_every_check(supabase, token):
    table, error = doctor("--token", token)

    assert error is None
    assert list(table) == CHECKS
    assert {check: status for check, (status, _) in table.items()} == dict.fromkeys(CHECKS, "ok")
    assert table["token"][1].startswith("valid: sub ")
    assert table["avatars bucket"][1] == "bucket 'avatars' exists and is public"
    assert table["Supabase Auth health"][1] == f"{supabase.url.split('//')[1]} answers"


def test_without_a_token_the_token_check_is_skipped(supabase):
    table, error = doctor()

    assert error is None
    assert table["token"][0] == "skip"
    assert supabase.requests_to("/auth/v1/user") == []


def test_supabase_down_fails_the_checks_that_call_it(supabase, token):
    supabase.down = True

    table, error = doctor("--token", token)

    failed = ["signing keys (JWKS)", "Supabase Auth health", "avatars bucket"]
    assert str(error) == f"3 check(s) failed: {', '.join(failed)}"
    assert [check for check, (status, _) in table.items() if status == "FAIL"] == failed
    assert table["token"][0] == "ok"  # verified locally, with the secret
    assert table["database"][0] == "ok"


def test_token_from_another_issuer_fails_naming_both(supabase, settings):
    user = supabase.create_user("ada@example.com")
    foreign = supabase.mint_access_token(user, iss="https://evil.example.com/auth/v1")

    table, error = doctor("--token", foreign)

    assert str(error) == "1 check(s) failed: token"
    status, detail = table["token"]
    assert status == "FAIL"
    assert "'https://evil.example.com/auth/v1'" in detail
    assert repr(settings.SUPABASE_JWT_ISSUER) in detail


def test_expired_token_fails(supabase):
    user = supabase.create_user("ada@example.com")
    expired = supabase.mint_access_token(user, expires_in=-3600)

    table, error = doctor("--token", expired)

    assert error is not None
    assert table["token"] == ("FAIL", "token_expired: Token has expired.")


def test_private_bucket_fails(supabase, token):
    supabase.buckets["avatars"].public = False

    table, error = doctor("--token", token)

    assert str(error) == "1 check(s) failed: avatars bucket"
    assert table["avatars bucket"] == (
        "FAIL",
        "bucket 'avatars' is private; avatar URLs need a public bucket",
    )


def test_missing_bucket_fails(supabase, token):
    del supabase.buckets["avatars"]

    table, error = doctor("--token", token)

    assert str(error) == "1 check(s) failed: avatars bucket"
    assert table["avatars bucket"][0] == "FAIL"
    assert "not found" in table["avatars bucket"][1]
    sent = supabase.last_request("/storage/v1/bucket/avatars")
    assert sent.bearer == supabase.service_role_key


def test_exposed_django_table_fails(supabase, token):
    with connection.cursor() as cursor:
        cursor.execute("grant select on auth_user to anon")

    table, error = doctor("--token", token)

    assert str(error) == "1 check(s) failed: Django tables private"
    assert table["Django tables private"] == (
        "FAIL",
        "anon/authenticated can reach auth_user (run migrate)",
    )


def test_table_without_row_level_security_fails(supabase, token):
    with connection.cursor() as cursor:
        cursor.execute("alter table posts disable row level security")

    table, error = doctor("--token", token)

    assert str(error) == "1 check(s) failed: row-level security"
    assert table["row-level security"] == ("FAIL", "posts: RLS OFF, 5 policies")
