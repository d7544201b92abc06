"""The OpenAPI document and its viewers: valid, complete, secured, and served without a CDN."""

import re
import uuid

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

OPERATIONS = {
    ("get", "/api/posts/"),
    ("post", "/api/posts/"),
    ("get", "/api/posts/me/"),
    ("get", "/api/posts/{id}/"),
    ("put", "/api/posts/{id}/"),
    ("patch", "/api/posts/{id}/"),
    ("delete", "/api/posts/{id}/"),
    ("get", "/api/profiles/me/"),
    ("put", "/api/profiles/me/"),
    ("patch", "/api/profiles/me/"),
    ("get", "/api/profiles/{id}/"),
    ("get", "/api/profiles/{id}/posts/"),
}
PUBLIC = {
    ("get", "/api/posts/"),
    ("get", "/api/posts/{id}/"),
    ("get", "/api/profiles/{id}/"),
    ("get", "/api/profiles/{id}/posts/"),
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
LIST_FILTERS = {"author", "search", "created_after", "created_before", "updated_after"}
EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
LOCAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/static/[^"']+)["']""")


@pytest.fixture(scope="module")
def schema() -> dict:
    from django.test import Client

    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def operation(schema: dict, method: str, path: str) -> dict:
    return schema["paths"][path][method]


def parameters(schema: dict, method: str, path: str) -> dict[str, dict]:
    return {p["name"]: p for p in operation(schema, method, path).get("parameters", [])}


def test_served_schema_is_valid_openapi_3(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3.0 JSON schema

    assert schema["openapi"].startswith("3.")


def test_schema_generates_without_warnings(tmp_path):
    # drf-spectacular's own check: validation plus every guess it had to make is an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")

    assert yaml.safe_load((tmp_path / "s.yaml").read_text())["paths"]


def test_every_posts_and_profiles_operation_is_documented(schema):
    documented = {
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }

    assert documented >= OPERATIONS


def test_security_scheme_is_supabase_bearer(schema):
    scheme = schema["components"]["securitySchemes"]["SupabaseBearer"]

    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_each_operation_names_its_security(schema, method, path):
    security = operation(schema, method, path)["security"]

    assert {"SupabaseBearer": []} in security
    # Public reads also work without a token ({}); everything else needs one.
    assert ({} in security) == ((method, path) in PUBLIC)


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("get", "/api/posts/me/", {"200", "400", "401"}),
        ("post", "/api/posts/", {"201", "400", "401", "413"}),
        ("get", "/api/posts/{id}/", {"200", "404"}),
        ("put", "/api/posts/{id}/", {"200", "400", "401", "403", "404", "413"}),
        ("patch", "/api/posts/{id}/", {"200", "400", "401", "403", "404", "413"}),
        ("delete", "/api/posts/{id}/", {"204", "401", "403", "404"}),
        ("patch", "/api/profiles/me/", {"200", "400", "401"}),
        ("get", "/api/profiles/{id}/", {"200", "404"}),
    ],
)
def test_error_responses_are_documented(schema, method, path, codes):
    assert set(operation(schema, method, path)["responses"]) >= codes


def test_error_body_is_documented_as_detail_and_code(schema):
    response = operation(schema, "delete", "/api/posts/{id}/")["responses"]["403"]
    ref = response["content"]["application/json"]["schema"]["$ref"]

    body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    assert set(body["required"]) == {"detail", "code"}


def test_list_documents_its_filters_and_pagination(schema):
    names = set(parameters(schema, "get", "/api/posts/"))

    assert names >= LIST_FILTERS | {"cursor", "page_size"}
    assert "published" not in names


def test_me_documents_the_published_filter_too(schema):
    params = parameters(schema, "get", "/api/posts/me/")

    assert set(params) >= LIST_FILTERS | {"cursor", "page_size", "published"}
    assert params["published"]["schema"]["type"] == "boolean"


@pytest.mark.parametrize(
    "path", ["/api/posts/{id}/", "/api/profiles/{id}/", "/api/profiles/{id}/posts/"]
)
def test_ids_are_documented_as_uuids(schema, path):
    id_schema = parameters(schema, "get", path)["id"]["schema"]

    if id_schema.get("format") != "uuid":
        pattern = re.compile(id_schema["pattern"])
        assert pattern.search(str(uuid.uuid4()))
        assert not pattern.search("not-a-uuid")


def test_post_request_body_exposes_only_writable_fields(schema):
    body = operation(schema, "post", "/api/posts/")["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[-1]

    fields = schema["components"]["schemas"][ref]

    assert set(fields["properties"]) == {"title", "content", "published"}
    assert fields["required"] == ["title"]
    assert fields["properties"]["title"]["maxLength"] == 200


def test_public_profile_schema_has_no_email(schema):
    response = operation(schema, "get", "/api/profiles/{id}/")["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    assert "email" not in schema["components"]["schemas"][ref]["properties"]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_page_loads_nothing_from_other_hosts(client, path):
    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert EXTERNAL_URL.findall(html) == []


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_page_assets_are_served_locally(client, path):
    html = client.get(path).content.decode()
    assets = LOCAL_ASSET.findall(html)

    statuses = {
        asset: client.head(asset).status_code for asset in assets
    }  # HEAD: no file left open

    assert any(asset.endswith(".js") for asset in assets)
    assert statuses == dict.fromkeys(assets, 200)
