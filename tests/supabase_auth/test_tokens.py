"""Token claims PyJWT lets through but the API must not: time claims that are not numbers."""

import time

import pytest

from profiles.models import Profile
from tests.support.http import bearer

pytestmark = pytest.mark.urls("tests.supabase_auth.urls")


def now() -> int:
    return int(time.time())


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(lambda: {"exp": str(now() + 3600)}, id="exp_a_numeric_string"),
        pytest.param(lambda: {"iat": str(now())}, id="iat_a_numeric_string"),
        pytest.param(lambda: {"nbf": str(now() - 60)}, id="nbf_a_numeric_string"),
        pytest.param(lambda: {"iat": True}, id="iat_a_boolean"),
    ],
)
def test_time_claim_that_is_not_a_number_is_401_every_time(api_client, make_token, user, claims):
    # Signed with the real secret, as a misbehaving custom access token hook could issue it.
    token = make_token(**claims())

    first = api_client.get("/whoami", **bearer(token))
    again = api_client.get("/whoami", **bearer(token))  # the verified-token memory's turn

    for response in (first, again):
        assert response.status_code == 401
        assert response.json()["code"] == "token_invalid"
        assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert not Profile.objects.filter(id=user.id).exists()


def test_fractional_time_claims_are_numbers(api_client, make_token, user):
    token = make_token(exp=now() + 3600.5, iat=now() - 0.5, nbf=now() - 1.5)

    first = api_client.get("/whoami", **bearer(token))
    again = api_client.get("/whoami", **bearer(token))

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["id"] == str(user.id)
    assert Profile.objects.filter(id=user.id).count() == 1
