"""`manage.py mint_token`: development tokens the API accepts, never on a real Supabase."""

import io
import uuid

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from profiles.models import Profile
from supabase_auth.models import AuthSession, AuthUser
from tests.support.http import bearer

pytestmark = pytest.mark.urls("tests.supabase_auth.urls")


def mint(*args: str) -> str:
    out = io.StringIO()
    call_command("mint_token", *args, stdout=out)
    return out.getvalue().strip()


def subject(token: str) -> uuid.UUID:
    return uuid.UUID(jwt.decode(token, options={"verify_signature": False})["sub"])


@pytest.fixture
def debug(settings, db):
    settings.DEBUG = True
    return settings


def test_minted_token_is_accepted_by_the_api(api_client, debug):
    token = mint("--email", "dev@example.com")

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "dev@example.com"
    assert AuthUser.objects.get(id=body["id"]).email == "dev@example.com"
    assert AuthSession.objects.filter(id=body["session_id"], user_id=body["id"]).exists()
    assert Profile.objects.get(id=body["id"]).email == "dev@example.com"


def test_minted_token_passes_the_session_check(api_client, debug):
    debug.SUPABASE_AUTH_CHECK_SESSION = True
    token = mint("--email", "dev-session@example.com")

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["email"] == "dev-session@example.com"


def test_sub_option_is_honoured(api_client, debug):
    wanted = uuid.uuid4()

    token = mint("--email", "chosen@example.com", "--sub", str(wanted))

    assert subject(token) == wanted
    assert AuthUser.objects.get(id=wanted).email == "chosen@example.com"
    assert api_client.get("/whoami", **bearer(token)).json()["id"] == str(wanted)


def test_same_email_reuses_the_same_user(debug):
    other = subject(mint("--email", "someone-else@example.com"))

    first = subject(mint("--email", "again@example.com"))
    second = subject(mint("--email", "Again@Example.com"))

    assert first == second
    assert first != other
    assert AuthUser.objects.filter(email__iexact="again@example.com").count() == 1
    assert AuthSession.objects.filter(user_id=first).count() == 2  # a session per token


def test_refused_with_debug_off(settings, db):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG is off"):
        mint("--email", "prod@example.com")

    assert not AuthUser.objects.filter(email="prod@example.com").exists()


def test_force_allows_it_with_debug_off(api_client, settings, db):
    settings.DEBUG = False

    token = mint("--email", "forced@example.com", "--force")

    assert api_client.get("/whoami", **bearer(token)).status_code == 200
    assert AuthUser.objects.filter(email="forced@example.com").exists()


@pytest.mark.parametrize("ttl", ["0", "-60"])
def test_refused_with_a_ttl_that_is_not_positive(debug, ttl):
    with pytest.raises(CommandError, match="--ttl must be positive"):
        mint("--email", "ttl@example.com", "--ttl", ttl)

    assert not AuthUser.objects.filter(email="ttl@example.com").exists()


def test_refused_on_a_database_that_looks_like_real_supabase(debug):
    with connection.cursor() as cursor:
        cursor.execute("create role supabase_admin")  # rolled back with the test transaction

    with pytest.raises(CommandError, match="real Supabase database"):
        mint("--email", "victim@example.com")

    assert not AuthUser.objects.filter(email="victim@example.com").exists()
