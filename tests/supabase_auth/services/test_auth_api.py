"""services.auth_api: Supabase Auth's answers, from a real loopback GoTrue, translated.

The error table is driven through the real supabase-py client with the status and code Supabase
Auth really uses for each case (SUPABASE.md §4), not by calling the translation directly.
"""

import pytest

from api.errors import ServiceError
from api.exceptions import service_error_status
from supabase_auth.services import auth_api
from supabase_auth.services.auth_api import Tokens
from tests.support.supabase_wiring import wired_fake_supabase

PASSWORD = "correct horse battery"


@pytest.fixture
def supabase(db, settings):
    with wired_fake_supabase(settings) as fake:
        yield fake


def failure_of(call) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


# Supabase Auth status and code → ours. Wrong password and unknown email are one answer.
SUPABASE_ERRORS = [
    (400, "invalid_credentials", 401, "invalid_credentials"),
    (400, "email_not_confirmed", 403, "email_not_confirmed"),
    (400, "phone_not_confirmed", 403, "phone_not_confirmed"),
    (400, "user_banned", 403, "user_banned"),
    (422, "signup_disabled", 403, "signup_disabled"),
    (422, "email_provider_disabled", 403, "email_provider_disabled"),
    (422, "user_already_exists", 422, "user_already_exists"),
    (422, "email_exists", 422, "user_already_exists"),
    (400, "email_address_invalid", 400, "email_address_invalid"),
    (400, "validation_failed", 400, "validation_failed"),
    (400, "refresh_token_not_found", 401, "invalid_refresh_token"),
    (400, "refresh_token_already_used", 401, "invalid_refresh_token"),
    (400, "session_expired", 401, "session_expired"),
    (403, "session_not_found", 401, "session_expired"),
    (429, "over_request_rate_limit", 429, "rate_limited"),
    (429, "over_email_send_rate_limit", 429, "rate_limited"),
]


@pytest.mark.parametrize(
    ("supabase_status", "supabase_code", "status", "code"),
    SUPABASE_ERRORS,
    ids=[row[1] for row in SUPABASE_ERRORS],
)
def test_supabase_error_is_translated(supabase, supabase_status, supabase_code, status, code):
    supabase.fail_next(
        "/auth/v1/token", supabase_status, code=supabase_code, message="Supabase says no"
    )

    failure = failure_of(lambda: auth_api.sign_in("ada@example.com", PASSWORD))

    assert (service_error_status(failure), failure.code, failure.message) == (
        status,
        code,
        "Supabase says no",
    )
    assert failure.extra == {}
    assert failure.retry_after == (60 if status == 429 else None)


def test_unlisted_client_error_passes_supabase_code_on_as_400(supabase):
    supabase.fail_next("/auth/v1/signup", 400, code="captcha_failed", message="Captcha failed")

    failure = failure_of(lambda: auth_api.sign_up("ada@example.com", PASSWORD))

    assert (service_error_status(failure), failure.code, failure.message) == (
        400,
        "captcha_failed",
        "Captcha failed",
    )


def test_unlisted_429_is_rate_limited(supabase):
    supabase.fail_next("/auth/v1/token", 429, code="too_many_tries", message="Slow down")

    failure = failure_of(lambda: auth_api.sign_in("ada@example.com", PASSWORD))

    assert (service_error_status(failure), failure.code, failure.retry_after) == (
        429,
        "rate_limited",
        60,
    )


@pytest.mark.parametrize(
    ("header", "retry_after"),
    [("17", 17), ("86400", 86400), ("0", 60), ("86401", 60), ("soon", 60), ("-5", 60)],
)
def test_retry_after_is_supabases_when_plausible(supabase, header, retry_after):
    supabase.fail_next("/auth/v1/token", 429, headers={"Retry-After": header})

    failure = failure_of(lambda: auth_api.sign_in("ada@example.com", PASSWORD))

    assert failure.retry_after == retry_after


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"status": 500, "code": "unexpected_failure"}, id="500"),
        pytest.param({"status": 500, "body": b"<html>Internal error</html>"}, id="500-html"),
        pytest.param({"status": 503}, id="503"),
        pytest.param({"status": 520, "body": b""}, id="520-empty"),
        pytest.param({"close": True}, id="dropped"),
        pytest.param({"hang": 3.0}, id="timeout"),
    ],
)
def test_outage_is_auth_unavailable(supabase, failure):
    supabase.fail_next("/auth/v1/token", **failure)

    caught = failure_of(lambda: auth_api.refresh("some-refresh-token"))

    assert (service_error_status(caught), caught.code) == (503, "auth_unavailable")
    assert caught.message == "Authentication is unavailable; try again shortly."


def test_sign_up_sends_the_metadata_as_user_data(supabase):
    supabase.confirm_email = False

    tokens = auth_api.sign_up("ada@example.com", PASSWORD, {"full_name": "Ada"})

    assert isinstance(tokens, Tokens)
    sent = supabase.last_request("/auth/v1/signup")
    assert sent.json["data"] == {"full_name": "Ada"}
    assert "code_challenge" not in sent.json  # implicit flow: no PKCE verifier to keep
    assert supabase.users[tokens.user_id].user_metadata["full_name"] == "Ada"


def test_sign_up_with_confirmation_returns_none(supabase):
    assert auth_api.sign_up("ada@example.com", PASSWORD) is None
    assert supabase.user_by_email("ada@example.com") is not None


def test_sign_in_returns_the_session_as_tokens(supabase):
    user = supabase.create_user("ada@example.com", PASSWORD)

    tokens = auth_api.sign_in("ada@example.com", PASSWORD)

    assert tokens.user_id == user.id
    assert tokens.token_type == "bearer"
    assert tokens.expires_in == 3600
    assert tokens.refresh_token in supabase.refresh_tokens


@pytest.mark.parametrize(("status", "code"), [(403, "session_not_found"), (400, "session_expired")])
def test_sign_out_of_an_ended_session_succeeds(supabase, status, code):
    supabase.fail_next("/auth/v1/logout", status, code=code)

    assert auth_api.sign_out("any-token", "local") is None
    assert supabase.last_request("/auth/v1/logout").bearer == "any-token"


def test_sign_out_failure_is_raised(supabase):
    supabase.fail_next("/auth/v1/logout", 500)

    failure = failure_of(lambda: auth_api.sign_out("any-token", "global"))

    assert (service_error_status(failure), failure.code) == (503, "auth_unavailable")
    assert supabase.last_request("/auth/v1/logout").query == {"scope": "global"}


def test_unconfigured_supabase_is_auth_unavailable(supabase, settings):
    settings.SUPABASE_URL = ""

    failure = failure_of(lambda: auth_api.sign_in("ada@example.com", PASSWORD))

    assert (service_error_status(failure), failure.code) == (503, "auth_unavailable")
    assert supabase.requests == []
