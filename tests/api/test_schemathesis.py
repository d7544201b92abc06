"""Every documented operation, fuzzed from the OpenAPI schema (schemathesis) with a valid token.

SCHEMATHESIS_MAX_EXAMPLES sets the cases per operation (25 by default; CI runs more). The
operations that call Supabase run against the FakeSupabase HTTP double. Every status must be
one the schema declares (status_code_conformance), every body its schema. The cases run and
failed are printed and written to test-artifacts/schemathesis.json.
"""

import json
import os
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_auth_user
from tests.support.supabase_server import own_folder
from tests.support.supabase_wiring import wired_fake_supabase

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "schemathesis.json"
CALLS_SUPABASE = r"^/api/(auth/|profiles/me/avatar)"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure is a finding, never a flake
    database=None,
    suppress_health_check=list(HealthCheck),
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
cases_run: dict[str, int] = {}
cases_failed: dict[str, int] = {}  # hypothesis's shrinking retries a failure: cases, not bugs


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    yield
    total, failed = sum(cases_run.values()), sum(cases_failed.values())
    ARTIFACT.parent.mkdir(exist_ok=True)
    report = {"cases": total, "failed": failed}
    report["by_operation"] = cases_run
    ARTIFACT.write_text(json.dumps(report | {"failed_by_operation": cases_failed}, indent=2))
    print(
        f"\nschemathesis: {total} cases over {len(cases_run)} operations, "
        f"{failed} failed in {len(cases_failed)} operations"
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


@pytest.fixture
def supabase_token(settings, monkeypatch, wsgi_in_test_transaction):
    """A session token issued by the FakeSupabase (Auth and Storage), throttling out of the way.

    DRF copies the throttle rates onto its class when imported, so they are patched there.
    """
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": None, "avatar": None})
    with wired_fake_supabase(settings, auth_tables=False, confirm_email=False) as fake:
        fake.create_bucket("avatars", public=True)
        fake.storage_policy(own_folder("avatars"))
        user = make_auth_user("fuzz@example.com")
        fake.create_user("fuzz@example.com", "a-long-password", user_id=str(user.id))
        yield fake.sign_in("fuzz@example.com")["access_token"]


def call_and_validate(case, headers: dict[str, str]) -> None:
    """Call the operation and run every check, counting the case and whether it failed."""
    label = case.operation.label
    cases_run[label] = cases_run.get(label, 0) + 1
    try:
        case.call_and_validate(headers=headers, checks=CHECKS)
    except BaseException:  # schemathesis raises a FailureGroup, a BaseExceptionGroup
        cases_failed[label] = cases_failed.get(label, 0) + 1
        raise


@schema.exclude(path_regex=CALLS_SUPABASE).parametrize()
@HYPOTHESIS
def test_operation_never_fails_and_answers_as_documented(case, auth_headers):
    call_and_validate(case, auth_headers)


@schema.include(path_regex=CALLS_SUPABASE).parametrize()
@HYPOTHESIS
def test_supabase_operation_never_fails_and_answers_as_documented(case, supabase_token):
    call_and_validate(case, {"Authorization": f"Bearer {supabase_token}"})
