"""API client fixtures by role, each carrying a real HS256 token signed with the test secret.

Conftests import these fixtures by name (pytest refuses `pytest_plugins` outside the top-level
conftest, which another engineer owns).
"""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from supabase_auth import dev_tokens
from tests.factories import make_session
from tests.support.http import bearer


@pytest.fixture
def token_for() -> Callable[..., str]:
    """Return token_for(user, **claims): a valid access token for a profile or auth.users row.

    Claims override GoTrue's defaults (e.g. `email=...`, `user_metadata={"full_name": "Ada"}`).
    Unless a `session_id` is given, the token names a new `auth.sessions` row of the user, as a
    sign-in's token does, so it passes the session check (SUPABASE_AUTH_CHECK_SESSION).
    """

    def make(user, **claims) -> str:
        email = claims.pop("email", user.email)
        if "session_id" not in claims:
            claims["session_id"] = make_session(user.id)
        return dev_tokens.sign_hs256(dev_tokens.user_claims(user.id, email, **claims))

    return make


@pytest.fixture
def client_for(token_for) -> Callable[..., APIClient]:
    """Return client_for(user, **claims): an APIClient sending that user's Bearer token."""

    def make(user, **claims) -> APIClient:
        client = APIClient()
        client.credentials(**bearer(token_for(user, **claims)))
        return client

    return make


@pytest.fixture
def author_client(client_for, author) -> APIClient:
    return client_for(author)


@pytest.fixture
def other_user_client(client_for, other_user) -> APIClient:
    return client_for(other_user)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()
