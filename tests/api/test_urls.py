"""The API's own routes (schema, docs) answer at both spellings, never redirecting."""

import pytest


@pytest.mark.parametrize("path", ["/api/schema", "/api/schema/"])
def test_schema_answers_at_both_spellings(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


@pytest.mark.parametrize("path", ["/api/docs", "/api/docs/", "/api/redoc", "/api/redoc/"])
def test_docs_answer_at_both_spellings(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_docs_need_no_token_and_ignore_a_bad_one(anon_client, path):
    response = anon_client.get(path, HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 200
