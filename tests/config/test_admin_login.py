"""The admin's log-in attempt limit (django-axes): per username and client address, in the DB."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db import ProgrammingError
from django.test import Client
from django.utils import timezone

from tests.subprocess_django import PRODUCTION_ENV, run_python
from tests.support.staff import PASSWORD, REFUSED, make_staff

LIMIT = 5  # DJANGO_ADMIN_LOGIN_FAILURES' default
LOCKED = "Log-in locked"


@pytest.fixture
def staff(django_user_model):
    return make_staff(django_user_model)


@pytest.fixture
def other_staff(django_user_model):
    return make_staff(django_user_model, "other")


def log_in(username: str, password: str, address: str = "203.0.113.7", **headers):
    """Post the admin's log-in form from address, as a fresh browser would."""
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )
    return client, response


def fail(times: int, username: str = "staff", address: str = "203.0.113.7", **headers) -> list:
    """Post a wrong password `times` times; return the responses."""
    return [log_in(username, "wrong password", address, **headers)[1] for _ in range(times)]


def lock_out(username: str = "staff", address: str = "203.0.113.7", **headers) -> None:
    """Fail LIMIT times: refused with the form until the last, which locks the pair out."""
    responses = fail(LIMIT, username, address, **headers)
    assert [r.status_code for r in responses] == [200] * (LIMIT - 1) + [429]
    assert REFUSED in responses[0].content.decode()


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_failures_below_the_limit_still_let_the_right_password_in(staff):
    assert [r.status_code for r in fail(LIMIT - 1)] == [200] * (LIMIT - 1)

    client, response = log_in("staff", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)
    assert not AccessAttempt.objects.exists()  # reset on success


def test_failures_up_to_the_limit_lock_out_even_the_right_password(staff):
    lock_out()

    client, response = log_in("staff", PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page
    assert "Try again in 15 minutes" in page
    assert "axes_reset_username" in page
    assert not logged_in(client)
    staff.refresh_from_db()
    assert staff.last_login is None
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == ("staff", "203.0.113.7")
    assert attempt.failures_since_start == LIMIT + 1  # the right password, refused, counts too


def test_lockout_holds_only_that_username_from_that_address(staff, other_staff):
    lock_out()

    from_elsewhere, elsewhere = log_in("staff", PASSWORD, address="198.51.100.9")
    other_user, other = log_in("other", PASSWORD)

    assert (elsewhere.status_code, other.status_code) == (302, 302)
    assert logged_in(from_elsewhere)
    assert logged_in(other_user)


def test_forged_forwarded_for_or_user_agent_does_not_escape_the_lockout(staff):
    responses = [
        fail(1, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}", HTTP_USER_AGENT=f"agent {n}")[0]
        for n in range(LIMIT)
    ]
    assert responses[-1].status_code == 429

    client, response = log_in(
        "staff", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200", HTTP_USER_AGENT="fresh"
    )

    assert response.status_code == 429
    assert not logged_in(client)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_behind_a_configured_proxy_the_forwarded_address_is_the_client(staff, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    lock_out(address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")

    _, response = log_in("staff", PASSWORD, "10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")
    other, other_response = log_in(
        "staff", PASSWORD, "10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9"
    )

    assert response.status_code == 429
    assert other_response.status_code == 302
    assert logged_in(other)
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"


def test_lockout_lifts_after_the_cool_off(staff):
    lock_out()
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    client, response = log_in("staff", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_staff_unlock_a_username_with_axes_reset_username(staff):
    lock_out()

    call_command("axes_reset_username", "staff", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client, response = log_in("staff", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)
    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_api_roles_cannot_read_the_attempts(as_role, staff, role):
    fail(1)

    with pytest.raises(ProgrammingError, match="permission denied"), as_role(role) as cursor:
        cursor.execute("select username, ip_address from axes_accessattempt")

    assert AccessAttempt.objects.get().username == "staff"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_ADMIN_LOGIN_FAILURES", "0"),
        ("DJANGO_ADMIN_LOGIN_FAILURES", "1000"),
        ("DJANGO_ADMIN_LOGIN_LOCKOUT_MINUTES", "0"),
    ],
)
def test_unsafe_admin_login_limit_stops_start_up(name, value):
    result = run_python(PRODUCTION_ENV | {name: value}, "")

    assert result.returncode != 0
    assert f"{name} is unsafe" in result.stderr
