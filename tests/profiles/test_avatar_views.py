"""POST/DELETE /api/profiles/me/avatar against a real loopback Supabase Storage (FakeSupabase).

The bucket is public and its policy is docs/storage-avatars.sql's (`own_folder`): the API must
act with the caller's own token for Storage to accept the file.
"""

import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags
from rest_framework.test import APIClient

from profiles.models import Profile
from tests.subprocess_django import PRODUCTION_ENV, run_python
from tests.support import throttles
from tests.support.http import bearer
from tests.support.images import (
    EXIF_MARKER,
    declared_png,
    gps_exif,
    image_file,
    noise_image,
    opened,
)
from tests.support.supabase_server import deny_all, own_folder
from tests.support.supabase_wiring import wired_fake_supabase

URL = "/api/profiles/me/avatar"
PASSWORD = "correct horse battery"
FORMATS = [
    ("PNG", "png", "image/png"),
    ("JPEG", "jpg", "image/jpeg"),
    ("WEBP", "webp", "image/webp"),
    ("GIF", "gif", "image/gif"),
]


@pytest.fixture
def supabase(db, settings):
    with wired_fake_supabase(settings) as fake:
        fake.create_bucket("avatars", public=True)
        fake.storage_policy(own_folder("avatars"))
        yield fake


class Member:
    """A user of the fake's Auth, signed in, with an API client sending their token."""

    def __init__(self, fake, email: str) -> None:
        self.id = fake.create_user(email, PASSWORD).id
        self.token = fake.sign_in(email)["access_token"]
        self.client = APIClient()
        self.client.credentials(**bearer(self.token))

    def profile(self) -> Profile:
        return Profile.objects.get(id=self.id)


@pytest.fixture
def ada(supabase):
    return Member(supabase, "ada@example.com")


@pytest.fixture
def bob(supabase):
    """Another user with an avatar already: nothing done by `ada` may touch it."""
    member = Member(supabase, "bob@example.com")
    assert member.client.get("/api/profiles/me").status_code == 200
    supabase.put_object("avatars", f"{member.id}/avatar.png", b"bob's", content_type="image/png")
    with_avatar(member)
    return member


def upload(client, data: bytes, name: str = "me.png", content_type: str = "image/png"):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(URL, {"file": file}, format="multipart")


def stored(fake, user_id: str) -> dict[str, bytes]:
    """Return the user's files in the avatars bucket: name -> bytes."""
    prefix = f"{user_id}/"
    return {
        name[len(prefix) :]: obj.data
        for (bucket, name), obj in fake.objects.items()
        if bucket == "avatars" and name.startswith(prefix)
    }


def expected_url(fake, user_id: str, extension: str, data: bytes) -> str:
    base = f"{fake.url}/storage/v1/object/public/avatars/{user_id}/avatar.{extension}"
    return f"{base}?v={hashlib.sha256(data).hexdigest()[:12]}"


def old_url(member) -> str:
    """Return the avatar URL a member had before the test (the bucket only holds such URLs)."""
    bucket_url = f"{settings.SUPABASE_URL}/storage/v1/object/public/avatars"
    return f"{bucket_url}/{member.id}/avatar.gif?v=01d01d"


def with_avatar(member, url: str | None = None) -> None:
    assert member.client.get("/api/profiles/me").status_code == 200  # the profile exists
    profile = member.profile()
    profile.avatar_url = url or old_url(member)
    profile.save(update_fields=["avatar_url"])  # first makes the database check this bucket


def assert_bob_untouched(fake, bob) -> None:
    assert stored(fake, bob.id) == {"avatar.png": b"bob's"}
    assert bob.profile().avatar_url == old_url(bob)


# -- uploads that succeed --------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "extension", "content_type"), FORMATS)
def test_upload_sets_the_public_url_of_the_stored_file(
    supabase, ada, bob, fmt, extension, content_type
):
    response = upload(ada.client, image_file(fmt), f"me.{extension}", content_type)

    assert response.status_code == 200
    data = stored(supabase, ada.id)[f"avatar.{extension}"]
    url = expected_url(supabase, ada.id, extension, data)
    body = response.json()
    assert set(body) == {"id", "email", "name", "avatar_url", "created_at", "updated_at"}
    assert (body["id"], body["email"], body["avatar_url"]) == (ada.id, "ada@example.com", url)
    assert ada.profile().avatar_url == url
    assert_bob_untouched(supabase, bob)


@pytest.mark.parametrize(("fmt", "extension", "content_type"), FORMATS)
def test_upload_stores_a_reencoded_copy_without_metadata(
    supabase, ada, fmt, extension, content_type
):
    options = {} if fmt == "GIF" else {"exif": gps_exif()}
    sent = image_file(fmt, (80, 60), **options)
    if options:
        assert opened(sent).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    response = upload(ada.client, sent, f"me.{extension}", content_type)

    assert response.status_code == 200
    obj = supabase.objects[("avatars", f"{ada.id}/avatar.{extension}")]
    assert obj.content_type == content_type
    assert obj.cache_control == "max-age=3600"
    assert obj.owner == ada.id
    image = opened(obj.data)
    assert (image.format, image.size) == (fmt, (80, 60))
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert EXIF_MARKER.encode() not in obj.data


def test_public_url_serves_the_stored_file(supabase, ada):
    response = upload(ada.client, image_file("PNG"))

    public = httpx.get(response.json()["avatar_url"], timeout=5)

    assert public.status_code == 200
    assert public.headers["content-type"] == "image/png"
    assert public.content == stored(supabase, ada.id)["avatar.png"]


def test_upload_is_made_with_the_callers_token_and_upsert(supabase, ada):
    response = upload(ada.client, image_file("PNG"))

    assert response.status_code == 200
    sent = supabase.last_request(f"/storage/v1/object/avatars/{ada.id}/avatar.png", "POST")
    assert sent.bearer == ada.token
    assert sent.headers["apikey"] == supabase.anon_key
    assert sent.headers["x-upsert"] == "true"
    _filename, content_type, data = sent.files["file"]
    assert content_type == "image/png"
    assert data == stored(supabase, ada.id)["avatar.png"]
    assert all(r.bearer == ada.token for r in supabase.requests_to("/storage/v1/"))


def test_second_upload_of_another_format_removes_the_old_file(supabase, ada, bob):
    assert upload(ada.client, image_file("PNG")).status_code == 200

    response = upload(ada.client, image_file("JPEG"), "me.jpg", "image/jpeg")

    assert response.status_code == 200
    files = stored(supabase, ada.id)
    assert set(files) == {"avatar.jpg"}
    assert response.json()["avatar_url"] == expected_url(
        supabase, ada.id, "jpg", files["avatar.jpg"]
    )
    assert_bob_untouched(supabase, bob)


def test_new_image_of_the_same_format_replaces_the_file_and_the_version(supabase, ada):
    first = upload(ada.client, image_file("PNG", color=(255, 0, 0))).json()["avatar_url"]

    response = upload(ada.client, image_file("PNG", color=(0, 0, 255)))

    assert response.status_code == 200
    second = response.json()["avatar_url"]
    assert first.split("?")[0] == second.split("?")[0]
    assert parse_qs(urlsplit(first).query)["v"] != parse_qs(urlsplit(second).query)["v"]
    assert opened(stored(supabase, ada.id)["avatar.png"]).getpixel((0, 0)) == (0, 0, 255)


def test_type_comes_from_the_bytes_not_the_name_or_content_type(supabase, ada):
    response = upload(ada.client, image_file("PNG"), "photo.jpg", "image/jpeg")

    assert response.status_code == 200
    assert set(stored(supabase, ada.id)) == {"avatar.png"}
    assert supabase.objects[("avatars", f"{ada.id}/avatar.png")].content_type == "image/png"
    assert urlsplit(response.json()["avatar_url"]).path.endswith("/avatar.png")


# -- uploads refused before Storage is called ------------------------------------------------


def assert_refused(response, fake, member, status: int, body: dict) -> None:
    assert response.status_code == status
    assert response.json() == body
    assert fake.requests_to("/storage/v1/") == []
    assert stored(fake, member.id) == {}
    assert member.profile().avatar_url == old_url(member)


def test_text_file_named_png_is_415(supabase, ada):
    with_avatar(ada)

    response = upload(ada.client, b"definitely not an image\n" * 10, "me.png", "image/png")

    assert_refused(
        response,
        supabase,
        ada,
        415,
        {"detail": "Upload a PNG, JPEG, WebP or GIF image.", "code": "unsupported_image_type"},
    )


def test_file_over_the_size_limit_is_413(supabase, ada, settings):
    settings.SUPABASE_AVATAR_MAX_BYTES = 10_000
    with_avatar(ada)
    data = noise_image("PNG", (64, 64))
    assert len(data) > 10_000

    response = upload(ada.client, data)

    assert_refused(
        response,
        supabase,
        ada,
        413,
        {"detail": "The avatar is larger than 10000 bytes.", "code": "file_too_large"},
    )


def test_file_at_the_size_limit_is_accepted(supabase, ada, settings):
    data = noise_image("PNG", (64, 64))
    settings.SUPABASE_AVATAR_MAX_BYTES = len(data)

    response = upload(ada.client, data)

    assert response.status_code == 200
    assert set(stored(supabase, ada.id)) == {"avatar.png"}


def test_body_far_over_the_limit_is_413_before_it_is_read(supabase, ada, settings):
    settings.SUPABASE_AVATAR_MAX_BYTES = 1_000
    with_avatar(ada)

    response = upload(ada.client, image_file("PNG") + b"\x00" * 100_000)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert supabase.requests_to("/storage/v1/") == []
    assert ada.profile().avatar_url == old_url(ada)


@pytest.mark.parametrize(
    "size", [(4096, 4097), (7_000, 7_000), (20_000, 20_000)], ids=["16.8M", "49M", "400M"]
)
def test_decompression_bomb_is_413(supabase, ada, size):
    with_avatar(ada)

    response = upload(ada.client, declared_png(*size))

    assert_refused(
        response,
        supabase,
        ada,
        413,
        {"detail": "The image has too many pixels.", "code": "image_too_large"},
    )


def test_truncated_png_is_400(supabase, ada):
    with_avatar(ada)
    data = noise_image("PNG", (64, 64))

    response = upload(ada.client, data[: len(data) // 2])

    assert_refused(
        response,
        supabase,
        ada,
        400,
        {"detail": "The file is not a valid image.", "code": "invalid_image"},
    )


def test_missing_file_field_is_400(supabase, ada):
    with_avatar(ada)

    response = ada.client.post(URL, {"avatar": "x"}, format="multipart")

    assert_refused(response, supabase, ada, 400, {"file": ["No file was submitted."]})


def test_empty_file_is_400(supabase, ada):
    with_avatar(ada)

    response = upload(ada.client, b"")

    assert_refused(response, supabase, ada, 400, {"file": ["The submitted file is empty."]})


def test_json_body_is_415(supabase, ada):
    with_avatar(ada)

    response = ada.client.post(URL, {"file": "aGVsbG8="}, format="json")

    assert_refused(
        response,
        supabase,
        ada,
        415,
        {
            "detail": 'Unsupported media type "application/json" in request.',
            "code": "unsupported_media_type",
        },
    )


def test_anonymous_upload_is_401(supabase, ada):
    response = upload(APIClient(), image_file("PNG"))

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert supabase.requests == []
    assert supabase.objects == {}


# -- Storage refusing or failing -------------------------------------------------------------


def assert_storage_refused(response, fake, member, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"detail", "code"}
    assert stored(fake, member.id) == {}
    assert member.profile().avatar_url == old_url(member)


def test_storage_policy_refusal_is_403(supabase, ada):
    with_avatar(ada)
    supabase.storage_policy(deny_all)

    response = upload(ada.client, image_file("PNG"))

    assert_storage_refused(response, supabase, ada, 403, "storage_forbidden")
    assert response.json()["detail"] == (
        "Storage refused the upload (its policies do not allow it)."
    )
    assert supabase.last_request("/storage/v1/object/avatars/").bearer == ada.token


def test_policy_of_another_folder_refuses_the_upload(supabase, ada, bob):
    """With a policy for someone else's folder only, the caller's token gets nothing."""
    with_avatar(ada)
    supabase.storage_policy(lambda op, bucket, name, claims: name.startswith(f"{bob.id}/"))

    response = upload(ada.client, image_file("PNG"))

    assert_storage_refused(response, supabase, ada, 403, "storage_forbidden")
    assert_bob_untouched(supabase, bob)


def test_missing_bucket_is_503_storage_misconfigured(supabase, ada):
    with_avatar(ada)
    del supabase.buckets["avatars"]

    response = upload(ada.client, image_file("PNG"))

    assert_storage_refused(response, supabase, ada, 503, "storage_misconfigured")
    assert response.json()["detail"] == "Avatar storage is not set up."


def test_file_too_large_for_the_bucket_is_413(supabase, ada):
    with_avatar(ada)
    supabase.buckets["avatars"].file_size_limit = 50

    response = upload(ada.client, image_file("PNG"))

    assert_storage_refused(response, supabase, ada, 413, "file_too_large")


def test_type_the_bucket_does_not_allow_is_415(supabase, ada):
    with_avatar(ada)
    supabase.buckets["avatars"].allowed_mime_types = ["image/png"]

    response = upload(ada.client, image_file("GIF"), "me.gif", "image/gif")

    assert_storage_refused(response, supabase, ada, 415, "unsupported_image_type")


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"status": 500}, id="500"),
        pytest.param({"status": 503, "body": b"<html>upstream down</html>"}, id="503-html"),
        pytest.param({"close": True}, id="connection-dropped"),
        pytest.param({"hang": 4.0}, id="hang-beyond-timeout"),
    ],
)
def test_storage_failure_is_503(supabase, ada, failure):
    with_avatar(ada)
    supabase.fail_next("/storage/v1/object/avatars/", **failure)

    response = upload(ada.client, image_file("PNG"))

    assert_storage_refused(response, supabase, ada, 503, "storage_unavailable")


def test_storage_down_is_503(supabase, ada):
    with_avatar(ada)
    supabase.down = True

    response = upload(ada.client, image_file("PNG"))

    assert_storage_refused(response, supabase, ada, 503, "storage_unavailable")
    assert response.json()["detail"] == "Avatar storage is unavailable; try again shortly."


def test_unconfigured_storage_is_503(supabase, ada, settings):
    with_avatar(ada)
    settings.SUPABASE_ANON_KEY = ""

    response = upload(ada.client, image_file("PNG"))

    assert_storage_refused(response, supabase, ada, 503, "storage_unavailable")
    assert supabase.requests_to("/storage/v1/") == []


def test_failed_cleanup_of_the_old_file_still_succeeds(supabase, ada):
    assert upload(ada.client, image_file("PNG")).status_code == 200
    supabase.fail_next("/storage/v1/object/avatars", 500, method="DELETE")

    response = upload(ada.client, image_file("JPEG"), "me.jpg", "image/jpeg")

    assert response.status_code == 200
    assert set(stored(supabase, ada.id)) == {"avatar.png", "avatar.jpg"}
    assert urlsplit(ada.profile().avatar_url).path.endswith("/avatar.jpg")


# -- removal ---------------------------------------------------------------------------------


def test_delete_removes_the_files_and_clears_the_url(supabase, ada, bob):
    assert upload(ada.client, image_file("PNG")).status_code == 200
    supabase.put_object("avatars", f"{ada.id}/avatar.gif", b"old gif", content_type="image/gif")

    response = ada.client.delete(URL)

    assert response.status_code == 204
    assert response.content == b""
    assert stored(supabase, ada.id) == {}
    assert ada.profile().avatar_url is None
    sent = supabase.last_request("/storage/v1/object/avatars", "DELETE")
    assert sent.bearer == ada.token
    assert sorted(sent.json["prefixes"]) == sorted(
        f"{ada.id}/avatar.{ext}" for ext in ("png", "jpg", "webp", "gif")
    )
    assert_bob_untouched(supabase, bob)


def test_delete_without_an_avatar_is_204(supabase, ada):
    response = ada.client.delete(URL)

    assert response.status_code == 204
    assert ada.profile().avatar_url is None


def test_delete_when_storage_is_down_is_503_and_keeps_the_url(supabase, ada):
    assert upload(ada.client, image_file("PNG")).status_code == 200
    url = ada.profile().avatar_url
    supabase.down = True

    response = ada.client.delete(URL)

    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert set(stored(supabase, ada.id)) == {"avatar.png"}
    assert ada.profile().avatar_url == url


def test_anonymous_delete_is_401(supabase, bob):
    response = APIClient().delete(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert supabase.requests_to("/storage/v1/") == []
    assert_bob_untouched(supabase, bob)


def test_avatar_url_is_public_on_the_profile(supabase, ada):
    url = upload(ada.client, image_file("WEBP"), "me.webp", "image/webp").json()["avatar_url"]

    response = APIClient().get(f"/api/profiles/{ada.id}")

    assert response.status_code == 200
    assert response.json()["avatar_url"] == url
    assert "email" not in response.json()


# -- throttle --------------------------------------------------------------------------------


@pytest.fixture
def avatar_rate(settings, monkeypatch):
    """Return set_rate("2/minute"): the `avatar` throttle scope's rate for this test."""
    return lambda rate: throttles.set_rate(settings, monkeypatch, "avatar", rate)


def test_third_avatar_call_in_a_minute_is_429_and_reaches_nothing(supabase, ada, avatar_rate):
    avatar_rate("2/minute")
    first = upload(ada.client, image_file("PNG", color=(255, 0, 0)))
    assert ada.client.delete(URL).status_code == 204
    supabase.clear_requests()

    response = upload(ada.client, image_file("PNG", color=(0, 0, 255)))

    assert first.status_code == 200
    throttles.assert_throttled(response, window_seconds=60)
    assert supabase.requests_to("/storage/v1/") == []
    assert stored(supabase, ada.id) == {}
    assert ada.profile().avatar_url is None


def test_avatar_throttle_counts_each_user_alone(supabase, ada, bob, avatar_rate):
    avatar_rate("2/minute")
    assert [upload(ada.client, image_file("PNG")).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]

    response = upload(bob.client, image_file("PNG"))

    assert response.status_code == 200
    assert set(stored(supabase, bob.id)) == {"avatar.png"}
    assert bob.profile().avatar_url == response.json()["avatar_url"]


def test_avatar_throttle_is_on_by_default(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["avatar"] == "20/hour"
    assert settings.API_THROTTLE_AVATAR == "20/hour"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "API_THROTTLE_AVATAR is unsafe when DJANGO_DEBUG is off"),
        ("twenty", "API_THROTTLE_AVATAR must look like 10/minute"),
        ("20/fortnight", "API_THROTTLE_AVATAR must look like 10/minute"),
    ],
)
def test_unsafe_avatar_throttle_stops_start_up(value, message):
    result = run_python(PRODUCTION_ENV | {"API_THROTTLE_AVATAR": value}, "")

    assert result.returncode != 0
    assert message in result.stderr


def test_valid_avatar_throttle_starts(settings):
    result = run_python(
        PRODUCTION_ENV | {"API_THROTTLE_AVATAR": "5/minute"},
        "from django.conf import settings as s; "
        "print(s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['avatar'])",
    )

    assert (result.returncode, result.stdout.strip()) == (0, "5/minute")
