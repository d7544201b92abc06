"""Every documented operation, fuzzed from the OpenAPI schema (schemathesis) with a valid token."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

# These call Supabase's servers (Auth, Storage), which the suite does not run: without them
# they answer 503 by design.
CALLS_SUPABASE = r"^/api/(auth/|profiles/me/avatar)"

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).exclude(
    path_regex=CALLS_SUPABASE
)


@pytest.fixture
def wsgi_in_test_transaction(db):
    """Let WSGI requests share the test's transaction, as Django's own test client does.

    Django closes "obsolete" connections when a request starts and ends; inside the test's
    transaction that would close the connection that holds it.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(wsgi_in_test_transaction, author, token_for):
    """Authorization for a user who exists in auth.users (generated tokens would all be 401s)."""
    return {"Authorization": f"Bearer {token_for(author)}"}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure is a finding, never a flake
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_never_fails_and_answers_as_documented(case, auth_headers):
    case.call_and_validate(
        headers=auth_headers,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
