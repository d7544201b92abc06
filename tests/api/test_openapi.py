"""The OpenAPI document and its viewers: valid, complete, secured, and served without a CDN."""

import inspect
import re
import uuid

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from posts.views import PostChangesView, PostViewSet
from profiles.views import MyAvatarView, MyProfileView, ProfilePostsView, PublicProfileView
from supabase_auth.views import SignOutView, SupabaseAuthView

OPERATIONS = {
    ("get", "/api/posts/"),
    ("post", "/api/posts/"),
    ("get", "/api/posts/me/"),
    ("get", "/api/posts/changes/"),
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
    ("get", "/api/posts/changes/"),
    ("get", "/api/posts/{id}/"),
    ("get", "/api/profiles/{id}/"),
    ("get", "/api/profiles/{id}/posts/"),
}
AUTH_OPERATIONS = {
    ("post", "/api/auth/signup/"),
    ("post", "/api/auth/signin/"),
    ("post", "/api/auth/refresh/"),
    ("post", "/api/auth/signout/"),
}
VIEW_DOCSTRINGS = {
    inspect.getdoc(view)
    for view in (
        PostViewSet,
        PostChangesView,
        MyAvatarView,
        MyProfileView,
        ProfilePostsView,
        PublicProfileView,
        SignOutView,
        SupabaseAuthView,
    )
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
LIST_FILTERS = {"author", "search", "created_after", "created_before", "updated_after"}
EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
# Words of profiles and internals that belong in code comments, not in what clients read.
IMPLEMENTATION_NOTE = re.compile(
    r"ModelSerializer|ServiceError|instantiat|in profiles|costs? no query|a (fifth|sixth|tenth)",
    re.IGNORECASE,
)
LOCAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/static/[^"']+)["']""")


@pytest.fixture(scope="module")
def schema() -> dict:
    from django.test import Client

    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def operation(schema: dict, method: str, path: str) -> dict:
    return schema["paths"][path][method]


def component(schema: dict, response: dict) -> dict:
    """Return the component a response's JSON body refers to."""
    ref = response["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


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
        ("get", "/api/posts/changes/", {"200", "304", "400", "401", "410", "429", "503"}),
        ("post", "/api/posts/", {"201", "400", "401", "413", "415"}),
        ("get", "/api/posts/{id}/", {"200", "404"}),
        ("put", "/api/posts/{id}/", {"200", "400", "401", "403", "404", "413", "415"}),
        ("patch", "/api/posts/{id}/", {"200", "400", "401", "403", "404", "413", "415"}),
        ("delete", "/api/posts/{id}/", {"204", "401", "403", "404"}),
        ("patch", "/api/profiles/me/", {"200", "400", "401"}),
        ("get", "/api/profiles/{id}/", {"200", "404"}),
        ("post", "/api/auth/signin/", {"200", "400", "401", "403", "413", "415"}),
        ("post", "/api/auth/signup/", {"201", "400", "403", "413", "415", "422"}),
    ],
)
def test_error_responses_are_documented(schema, method, path, codes):
    assert set(operation(schema, method, path)["responses"]) >= codes


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_operations_declare_the_401_of_a_refused_token(schema, method, path):
    # A public read with a bad or expired Bearer token is a 401, not an anonymous read.
    response = operation(schema, method, path)["responses"]["401"]

    assert component(schema, response)["required"] == ["code", "detail"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_profile_updates_declare_413_and_415(schema, method):
    responses = operation(schema, method, "/api/profiles/me/")["responses"]

    assert {"413", "415"} <= set(responses)


@pytest.mark.parametrize("path", sorted(path for method, path in OPERATIONS if method == "get"))
def test_reads_declare_if_none_match_and_304_without_a_body(schema, path):
    # ConditionalGetMiddleware answers any GET whose ETag the client already holds with 304.
    read = operation(schema, "get", path)

    assert parameters(schema, "get", path)["If-None-Match"]["in"] == "header"
    assert "content" not in read["responses"]["304"]
    assert "ETag" in read["responses"]["200"]["headers"]


@pytest.mark.parametrize(
    ("method", "path"), sorted((m, p) for m, p in OPERATIONS if m in ("put", "patch", "delete"))
)
def test_writes_declare_if_match_and_412(schema, method, path):
    assert "If-Match" in parameters(schema, method, path)
    assert "412" in operation(schema, method, path)["responses"]


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS | AUTH_OPERATIONS))
def test_every_operation_declares_throttling_and_outages(schema, method, path):
    responses = operation(schema, method, path)["responses"]

    assert {"429", "503"} <= set(responses)
    assert "Retry-After" in responses["503"]["headers"]
    assert component(schema, responses["503"])["required"] == ["code", "detail"]


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS | AUTH_OPERATIONS))
def test_every_operation_declares_the_406_of_an_unmet_accept(schema, method, path, client):
    declared = operation(schema, method, path)["responses"]["406"]
    url = path.replace("{id}", str(uuid.uuid4()))

    response = getattr(client, method)(url, HTTP_ACCEPT="application/xml")

    assert component(schema, declared)["required"] == ["code", "detail"]
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_validation_error_maps_any_field_to_its_messages(schema):
    body = schema["components"]["schemas"]["ValidationError"]

    assert body["type"] == "object"
    assert "properties" not in body  # no literal `field_name` property
    assert body["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_bad_request_is_field_errors_or_detail_and_code(schema):
    response = operation(schema, "post", "/api/posts/")["responses"]["400"]

    body = component(schema, response)

    assert [ref["$ref"].rsplit("/", 1)[-1] for ref in body["oneOf"]] == [
        "Error",
        "ValidationError",
    ]


@pytest.mark.parametrize(
    ("name", "always_present", "nullable"),
    [
        ("Post", {"content", "published", "title", "created_at"}, {"content"}),
        ("MyProfile", {"name", "email", "avatar_url"}, {"name", "avatar_url"}),
        ("PublicProfile", {"name", "avatar_url"}, {"name", "avatar_url"}),
        ("Tokens", {"expires_at", "access_token"}, {"expires_at"}),
    ],
)
def test_fields_always_in_a_response_are_required(schema, name, always_present, nullable):
    body = schema["components"]["schemas"][name]

    assert always_present <= set(body["required"])
    assert {n for n, p in body["properties"].items() if p.get("nullable")} == nullable


def test_request_bodies_keep_optional_fields_optional(schema):
    assert schema["components"]["schemas"]["PostRequest"]["required"] == ["title"]
    assert "required" not in schema["components"]["schemas"]["PatchedMyProfileRequest"]


def test_one_error_body_for_every_error(schema):
    names = set(schema["components"]["schemas"])
    error = schema["components"]["schemas"]["Error"]

    assert not {name for name in names if name.endswith("Error")} - {"Error", "ValidationError"}
    assert error["required"] == ["code", "detail"]  # `reasons` only for a weak password


def test_descriptions_are_for_clients_not_implementation_notes(schema):
    texts = [schema["info"]["description"]]
    for item in schema["paths"].values():
        texts += [op.get("description", "") for op in item.values() if isinstance(op, dict)]
    for body in schema["components"]["schemas"].values():
        texts += [body.get("description", "")]
        texts += [p.get("description", "") for p in body.get("properties", {}).values()]

    assert [text for text in texts if IMPLEMENTATION_NOTE.search(text)] == []


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS | AUTH_OPERATIONS))
def test_each_operation_has_its_own_description(schema, method, path):
    description = operation(schema, method, path).get("description", "")

    assert len(description) > 20
    assert description not in VIEW_DOCSTRINGS


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
