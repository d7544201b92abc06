"""A real loopback HTTP server playing Supabase Auth (GoTrue) and Storage for supabase-py.

`FakeSupabase` listens on 127.0.0.1 (random port) and answers the HTTP calls the installed
supabase-py 2.34.1 makes (`supabase_auth`, `storage3`, `supabase.create_client`) with the
bodies, status codes and error shapes of the real services (SUPABASE.md sections 3-5, checked
against supabase/auth and supabase/storage sources). Tests point the code under test at
`fake.url` and assert on its state, its request log and the rows its hooks wrote.

Usage::

    with FakeSupabase(jwt_secret=settings.SUPABASE_JWT_SECRET) as fake:
        settings.SUPABASE_URL = fake.url
        settings.SUPABASE_ANON_KEY = fake.anon_key
        settings.SUPABASE_JWT_ISSUER = fake.issuer
        fake.create_bucket("avatars", public=True)
        ...

The server imports nothing from Django: what it should write to the test database
(`auth.users`, `auth.sessions`) it hands to the `on_*` hooks, and the test decides how;
`auth_table_hooks(execute)` builds SQL-writing hooks from any `execute(sql, params)`.
Hooks run on the server's request thread, not the test's thread (see `FakeSupabase`).
Storage policies (RLS stand-ins): `allow_authenticated` (default), `deny_all`, `own_folder`.
"""

from __future__ import annotations

import hashlib
import http
import json
import re
import secrets
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

AUTH_PREFIX = "/auth/v1"
STORAGE_PREFIX = "/storage/v1"
API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024_01_01 = "2024-01-01"
GOTRUE_VERSION = "v2.180.0"
ADMIN_ROLES = ("service_role", "supabase_admin")
# Kong's open (key-less) Auth routes; everything else under /auth/v1 needs a valid `apikey`.
OPEN_AUTH_PATHS = ("/verify", "/callback", "/authorize", "/.well-known/jwks.json")
INVALID_LOGIN = "Invalid login credentials"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_STORAGE_FILE_SIZE_LIMIT = 50 * 1024 * 1024  # the hosted free-plan global limit
TEN_YEARS = 10 * 365 * 24 * 3600

StoragePolicy = Callable[[str, str, str, dict], bool]
"""policy(operation, bucket_id, object_name, claims) -> allowed.

operation is one of "select", "insert", "update", "delete" (storage.objects) or
"bucket_select", "bucket_insert" (storage.buckets); object_name is "" for bucket operations;
claims are the caller's verified JWT claims (role "anon" for the anon key). The service_role
key bypasses every policy, as its Postgres role has BYPASSRLS.
"""


def allow_authenticated(operation: str, bucket: str, name: str, claims: dict) -> bool:
    """Default policy: signed-in users may do anything but create buckets; anon nothing."""
    return claims.get("role") == "authenticated" and operation != "bucket_insert"


def deny_all(operation: str, bucket: str, name: str, claims: dict) -> bool:
    """Supabase's real default: RLS on storage.objects/buckets and no policies."""
    return False


def own_folder(bucket: str | None = None) -> StoragePolicy:
    """Docs/storage-avatars.sql: users touch only `{their uid}/...` (in `bucket`, if given).

    Buckets stay invisible to users (no storage.buckets policy), as in that SQL.
    """

    def policy(operation: str, bucket_id: str, name: str, claims: dict) -> bool:
        if operation.startswith("bucket_") or claims.get("role") != "authenticated":
            return False
        if bucket is not None and bucket_id != bucket:
            return False
        return bool(claims.get("sub")) and name.split("/")[0] == claims["sub"]

    return policy


def _noop(*args: Any) -> None:
    return None


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _dt(moment: float | None) -> datetime | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC)


@dataclass
class FakeUser:
    """A user in the fake's auth.users, with the plain password it was given."""

    id: str
    email: str
    password: str | None
    created_at: float
    updated_at: float
    email_confirmed_at: float | None = None
    confirmation_sent_at: float | None = None
    last_sign_in_at: float | None = None
    user_metadata: dict = field(default_factory=dict)
    app_metadata: dict = field(default_factory=dict)
    identity_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity_data: dict = field(default_factory=dict)
    role: str = "authenticated"
    aud: str = "authenticated"
    phone: str = ""

    @property
    def confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def identity_json(self) -> dict:
        return {
            "identity_id": self.identity_id,
            "id": self.id,
            "user_id": self.id,
            "identity_data": dict(self.identity_data),
            "provider": "email",
            "last_sign_in_at": _iso(self.last_sign_in_at or self.created_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "email": self.email,
        }

    def to_json(self) -> dict:
        """The user as GoTrue serializes it (models.User, omitempty fields left out)."""
        body: dict[str, Any] = {
            "id": self.id,
            "aud": self.aud,
            "role": self.role,
            "email": self.email,
        }
        if self.email_confirmed_at is not None:
            body["email_confirmed_at"] = _iso(self.email_confirmed_at)
        body["phone"] = self.phone
        if self.confirmation_sent_at is not None:
            body["confirmation_sent_at"] = _iso(self.confirmation_sent_at)
        if self.email_confirmed_at is not None:
            body["confirmed_at"] = _iso(self.email_confirmed_at)
        if self.last_sign_in_at is not None:
            body["last_sign_in_at"] = _iso(self.last_sign_in_at)
        body.update(
            {
                "app_metadata": dict(self.app_metadata),
                "user_metadata": dict(self.user_metadata),
                "identities": [self.identity_json()],
                "created_at": _iso(self.created_at),
                "updated_at": _iso(self.updated_at),
                "is_anonymous": False,
            }
        )
        return body

    def to_row(self) -> dict:
        """The user as an `auth.users` row (column name -> value; datetimes are aware UTC)."""
        digest = hashlib.sha256((self.password or "").encode()).hexdigest()
        return {
            "instance_id": "00000000-0000-0000-0000-000000000000",
            "id": self.id,
            "aud": self.aud,
            "role": self.role,
            "email": self.email,
            "encrypted_password": f"$fake-sha256${digest}" if self.password else "",
            "email_confirmed_at": _dt(self.email_confirmed_at),
            "confirmation_sent_at": _dt(self.confirmation_sent_at),
            "last_sign_in_at": _dt(self.last_sign_in_at),
            "raw_app_meta_data": dict(self.app_metadata),
            "raw_user_meta_data": dict(self.user_metadata),
            "created_at": _dt(self.created_at),
            "updated_at": _dt(self.updated_at),
            "phone": self.phone or None,
            "is_sso_user": False,
            "is_anonymous": False,
        }


@dataclass
class FakeSession:
    """A row of the fake's auth.sessions."""

    id: str
    user_id: str
    created_at: float
    updated_at: float
    amr: list = field(default_factory=list)
    aal: str = "aal1"
    refreshed_at: float | None = None
    user_agent: str | None = None

    def to_row(self) -> dict:
        """The session as an `auth.sessions` row."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "created_at": _dt(self.created_at),
            "updated_at": _dt(self.updated_at),
            "factor_id": None,
            "aal": self.aal,
            "not_after": None,
            "refreshed_at": _dt(self.refreshed_at),
            "user_agent": self.user_agent,
            "ip": None,
            "tag": None,
        }


@dataclass
class FakeRefreshToken:
    token: str
    user_id: str
    session_id: str
    parent: str | None
    created_at: float
    revoked_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass
class FakeBucket:
    id: str
    public: bool = False
    file_size_limit: int | None = None
    allowed_mime_types: list[str] | None = None
    owner: str | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.id,
            "owner": self.owner or "",
            "public": self.public,
            "type": "STANDARD",
            "file_size_limit": self.file_size_limit,
            "allowed_mime_types": self.allowed_mime_types,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass
class FakeObject:
    bucket_id: str
    name: str
    data: bytes
    content_type: str
    cache_control: str
    owner: str | None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    user_metadata: dict = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.data, usedforsecurity=False).hexdigest() + '"'

    def metadata(self) -> dict:
        return {
            "eTag": self.etag,
            "size": len(self.data),
            "mimetype": self.content_type,
            "cacheControl": self.cache_control,
            "lastModified": _iso(self.updated_at),
            "contentLength": len(self.data),
            "httpStatusCode": 200,
        }

    def to_json(self) -> dict:
        return {
            "bucket_id": self.bucket_id,
            "name": self.name,
            "owner": self.owner,
            "owner_id": self.owner,
            "version": self.version,
            "id": self.id,
            "updated_at": _iso(self.updated_at),
            "created_at": _iso(self.created_at),
            "last_accessed_at": _iso(self.updated_at),
            "metadata": self.metadata(),
            "user_metadata": dict(self.user_metadata),
        }


@dataclass
class RecordedRequest:
    """One request as the fake received it (headers keyed in lower case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    status: int | None = None

    @property
    def bearer(self) -> str | None:
        """The token of `Authorization: Bearer <token>`, if any."""
        value = self.headers.get("authorization", "")
        return value[7:] if value[:7].lower() == "bearer " else None


@dataclass
class _Failure:
    path_prefix: str
    method: str | None
    status: int | None
    code: str | None
    message: str | None
    headers: dict[str, str]
    body: Any
    hang: float
    close: bool
    times: int


class _Response:
    def __init__(self, status: int, body: Any = None, headers: dict | None = None) -> None:
        self.status = status
        self.headers = dict(headers or {})
        self.close = False
        if body is None:
            self.body = b""
        elif isinstance(body, bytes):
            self.body = body
        else:
            self.body = json.dumps(body).encode()
            self.headers.setdefault("Content-Type", "application/json")

    @classmethod
    def drop(cls) -> _Response:
        response = cls(0)
        response.close = True
        return response


class _AuthError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class _StorageError(Exception):
    def __init__(self, status: int, code: str, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.error, self.message = status, code, error, message


def _no_such_bucket() -> _StorageError:
    return _StorageError(404, "NoSuchBucket", "Bucket not found", "Bucket not found")


def _no_such_key() -> _StorageError:
    return _StorageError(404, "NoSuchKey", "not_found", "Object not found")


def _rls_refused() -> _StorageError:
    return _StorageError(
        403, "AccessDenied", "Unauthorized", "new row violates row-level security policy"
    )


class FakeSupabase:
    """Supabase Auth + Storage on http://127.0.0.1:<random port>, for supabase-py.

    Constructor arguments (all keyword-only):
      jwt_secret: the legacy HS256 secret (used as UTF-8 bytes) that signs access tokens and
        the anon/service_role keys, and that verifies bearer tokens. Random by default: pass
        `settings.SUPABASE_JWT_SECRET` when the API under test verifies the tokens.
      anon_key, service_role_key: override the generated legacy keys (HS256 JWTs with
        role anon/service_role). Any string works, e.g. an `sb_publishable_...` key; the
        fake then treats it as that role.
      issuer: the `iss` of access tokens; default f"{url}/auth/v1".
      jwt_kid: put this `kid` in access-token headers (hosted HS256 tokens may carry one).
      confirm_email, signup_disabled, min_password_length, jwt_expiry,
        refresh_token_reuse_interval, refresh_token_parent_reuse, email_max_frequency,
        storage_file_size_limit: initial values of the settings below.
      on_user_created(row), on_user_deleted(user_id), on_session_created(row),
        on_session_ended(session_id, user_id): hooks; `row` is `FakeUser.to_row()` /
        `FakeSession.to_row()` (auth.users / auth.sessions column -> value). A hook that
        raises makes the request fail as the database failing would: 500
        unexpected_failure ("Database error saving new user", ...), state unchanged.
        Hooks run on a server thread while the caller waits for the HTTP answer: to write
        inside a Django test's transaction, share the test thread's connection
        (`conn = connections["default"]; conn.inc_thread_sharing()` in the test, use `conn`
        in the hook, `conn.dec_thread_sharing()` after); `auth_table_hooks` has the recipe.

    Settings (plain attributes, change them at any time):
      confirm_email (True): sign-up answers a bare user (no session) and existing confirmed
        emails get a fake user (random id, identities []); False is autoconfirm: sign-up
        returns a session and an existing email gets 422 user_already_exists.
      signup_disabled (False): sign-up answers 422 signup_disabled.
      min_password_length (6): shorter passwords get 422 weak_password, reasons ["length"].
      jwt_expiry (3600): access-token lifetime in seconds.
      refresh_token_reuse_interval (0.0): seconds a revoked refresh token stays usable
        (GoTrue's own default is 0; Supabase projects are configured with 10).
      refresh_token_parent_reuse (True): GoTrue hands the current refresh token back when
        the client presents its immediate parent again (a client that lost the last refresh
        answer). Set False for strict single use.
      email_max_frequency (60.0): re-signing-up an unconfirmed email re-sends the
        confirmation at most this often, else 429 over_email_send_rate_limit.
      storage_file_size_limit (50 MiB): the global upload limit (bucket limits also apply).
      refuse_uploads (False): refuse every non-service-role insert/update on
        storage.objects with the RLS error, whatever the policy says.
      storage_apikey_required (True): Supabase's API gateway refuses /storage/v1 calls
        without a valid `apikey` (header or query), as it does /auth/v1, except public object
        downloads (`/object/public/...`, what `<img src>` fetches). False is the self-hosted
        and CLI Kong, which lets Storage check the JWT alone.
      down (False): True drops every connection without an answer (a network failure);
        an int (e.g. 503) answers every request with that status.
      time_offset (0.0): seconds added to the fake's clock (`advance(seconds)`).

    State (read it; mutate through the methods): users (id -> FakeUser), sessions
    (id -> FakeSession), refresh_tokens (token -> FakeRefreshToken), buckets
    (id -> FakeBucket), objects ((bucket, name) -> FakeObject), requests (list of
    RecordedRequest, oldest first), crashes (tracebacks of the fake's own bugs).

    A bug in the fake still answers 500 (so the client does not hang), which the code under
    test would take for an outage of Supabase: each one is kept in `crashes`, and
    `assert_no_crashes()` (called on leaving `with FakeSupabase(...)`) fails the test.
    """

    def __init__(
        self,
        *,
        jwt_secret: str | None = None,
        anon_key: str | None = None,
        service_role_key: str | None = None,
        issuer: str | None = None,
        jwt_kid: str | None = None,
        confirm_email: bool = True,
        signup_disabled: bool = False,
        min_password_length: int = 6,
        jwt_expiry: int = 3600,
        refresh_token_reuse_interval: float = 0.0,
        refresh_token_parent_reuse: bool = True,
        email_max_frequency: float = 60.0,
        storage_file_size_limit: int = DEFAULT_STORAGE_FILE_SIZE_LIMIT,
        on_user_created: Callable[[dict], Any] = _noop,
        on_user_deleted: Callable[[str], Any] = _noop,
        on_session_created: Callable[[dict], Any] = _noop,
        on_session_ended: Callable[[str, str], Any] = _noop,
    ) -> None:
        self.jwt_secret = jwt_secret or secrets.token_urlsafe(32)
        self.jwt_kid = jwt_kid
        self._issuer = issuer
        self._defaults = {
            "confirm_email": confirm_email,
            "signup_disabled": signup_disabled,
            "min_password_length": min_password_length,
            "jwt_expiry": jwt_expiry,
            "refresh_token_reuse_interval": refresh_token_reuse_interval,
            "refresh_token_parent_reuse": refresh_token_parent_reuse,
            "email_max_frequency": email_max_frequency,
            "storage_file_size_limit": storage_file_size_limit,
            "refuse_uploads": False,
            "storage_apikey_required": True,
            "down": False,
            "time_offset": 0.0,
        }
        self.on_user_created = on_user_created
        self.on_user_deleted = on_user_deleted
        self.on_session_created = on_session_created
        self.on_session_ended = on_session_ended
        self.anon_key = anon_key or self._legacy_key("anon")
        self.service_role_key = service_role_key or self._legacy_key("service_role")
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.crashes: list[str] = []
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeSupabase:
        """Start serving on 127.0.0.1 and a free port; `url` is set from then on."""
        if self._httpd is not None:
            return self
        fake = self

        class Handler(_Handler):
            owner = fake

        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeSupabase",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; hanging requests are cut short."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSupabase:
        return self.start()

    def __exit__(self, exc_type: type | None, *exc_info: object) -> None:
        self.close()
        if exc_type is None:
            self.assert_no_crashes()

    def assert_no_crashes(self) -> None:
        """Fail if the fake itself crashed since the last check (its 500s are not Supabase's)."""
        crashes, self.crashes = self.crashes, []
        if crashes:
            raise AssertionError(
                f"FakeSupabase crashed {len(crashes)} time(s) while serving; first:\n{crashes[0]}"
            )

    def reset(self) -> None:
        """Forget all users, sessions, buckets, objects, requests and forced failures, and
        restore every setting and the storage policy to its constructor value."""
        with self._lock:
            for name, value in self._defaults.items():
                setattr(self, name, value)
            self.users: dict[str, FakeUser] = {}
            self.sessions: dict[str, FakeSession] = {}
            self.refresh_tokens: dict[str, FakeRefreshToken] = {}
            self.buckets: dict[str, FakeBucket] = {}
            self.objects: dict[tuple[str, str], FakeObject] = {}
            self.requests: list[RecordedRequest] = []
            self._failures: list[_Failure] = []
            self._policy: StoragePolicy = allow_authenticated

    @property
    def issuer(self) -> str:
        return self._issuer or f"{self.url}/auth/v1"

    @property
    def jwks(self) -> dict:
        """What GET /auth/v1/.well-known/jwks.json serves: HMAC keys are never published."""
        return {"keys": []}

    def now(self) -> float:
        return time.time() + self.time_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (token expiry, reuse interval, email frequency)."""
        self.time_offset += seconds

    # -- test controls ---------------------------------------------------------------------

    def fail_next(
        self,
        path_prefix: str,
        status: int | None = None,
        *,
        code: str | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        hang: float = 0.0,
        close: bool = False,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Make the next `times` requests whose path starts with `path_prefix` fail.

        path_prefix is the full path, e.g. "/auth/v1/token" or "/storage/v1/object/avatars".
        hang: wait this many seconds first (beyond a client timeout it is a timeout).
        close: then drop the connection without answering.
        status: then answer it, with `body` if given, else the service's error shape:
          Auth {"code": code, "message": message} (legacy {"code": status, "error_code",
          "msg"} without the API-version header); 502/503/504 without a code get a
          gateway body {"message": "<reason>"}; Storage {"statusCode": "<status>",
          "error": code, "message": message} sent with HTTP `status`.
          Defaults: 429 over_request_rate_limit "Request rate limit reached",
          500 unexpected_failure. `headers` are added (e.g. {"Retry-After": "30"}).
        With only `hang`, the request is then served normally.
        """
        with self._lock:
            self._failures.append(
                _Failure(
                    path_prefix,
                    method.upper() if method else None,
                    status,
                    code,
                    message,
                    dict(headers or {}),
                    body,
                    hang,
                    close,
                    times,
                )
            )

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def storage_policy(self, policy: StoragePolicy) -> StoragePolicy:
        """Set the storage RLS stand-in (usable as a decorator); see `StoragePolicy`."""
        self._policy = policy
        return policy

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests whose path starts with path_prefix (and method matches)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method)
            ]

    def last_request(
        self, path_prefix: str = "", method: str | None = None
    ) -> RecordedRequest | None:
        found = self.requests_to(path_prefix, method)
        return found[-1] if found else None

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- direct state setup (no HTTP) ------------------------------------------------------

    def create_user(
        self,
        email: str,
        password: str | None = None,
        *,
        confirmed: bool = True,
        user_metadata: dict | None = None,
        app_metadata: dict | None = None,
        user_id: str | None = None,
    ) -> FakeUser:
        """Add a user as the admin API would (on_user_created runs; it may raise)."""
        with self._lock:
            return self._new_user(
                email.strip().lower(),
                password,
                data=user_metadata or {},
                app_metadata=app_metadata,
                confirmed=confirmed,
                user_id=user_id,
            )

    def user_by_email(self, email: str) -> FakeUser | None:
        email = email.strip().lower()
        with self._lock:
            return next((u for u in self.users.values() if u.email == email), None)

    def confirm(self, email: str) -> FakeUser:
        """Confirm a user's email, as following the confirmation link does."""
        with self._lock:
            user = self.user_by_email(email)
            if user is None:
                raise KeyError(email)
            self._confirm(user)
            return user

    def sign_in(self, email: str) -> dict:
        """Open a session for the user as a password sign-in would; return the session JSON."""
        with self._lock:
            user = self.user_by_email(email)
            if user is None:
                raise KeyError(email)
            return self._issue_session(user, None)

    def end_session(self, session_id: str) -> None:
        with self._lock:
            self._end_sessions([session_id])

    def mint_access_token(
        self,
        user: FakeUser | str,
        *,
        session_id: str | None = None,
        expires_in: int | None = None,
        **claims: Any,
    ) -> str:
        """An access token for `user` (a FakeUser or id) signed like GoTrue's; claims override.

        E.g. `mint_access_token(user, expires_in=-10)` is an expired token, and
        `session_id` defaults to a random (unknown) session.
        """
        if isinstance(user, str):
            user = self.users[user]
        now = int(self.now())
        payload = self._claims(user, session_id or str(uuid.uuid4()), [], now)
        payload["exp"] = now + (self.jwt_expiry if expires_in is None else expires_in)
        payload.update(claims)
        return self._sign(payload)

    def create_bucket(
        self,
        bucket_id: str,
        *,
        public: bool = False,
        file_size_limit: int | None = None,
        allowed_mime_types: list[str] | None = None,
    ) -> FakeBucket:
        with self._lock:
            bucket = FakeBucket(
                bucket_id,
                public=public,
                file_size_limit=file_size_limit,
                allowed_mime_types=allowed_mime_types,
                created_at=self.now(),
                updated_at=self.now(),
            )
            self.buckets[bucket_id] = bucket
            return bucket

    def put_object(
        self,
        bucket_id: str,
        name: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        owner: str | None = None,
        cache_control: str = "max-age=3600",
    ) -> FakeObject:
        with self._lock:
            obj = FakeObject(
                bucket_id,
                name,
                data,
                content_type,
                cache_control,
                owner,
                created_at=self.now(),
                updated_at=self.now(),
            )
            self.objects[(bucket_id, name)] = obj
            return obj

    # -- tokens ----------------------------------------------------------------------------

    def _legacy_key(self, role: str) -> str:
        payload = {"iss": "supabase-demo", "role": role, "exp": int(time.time()) + TEN_YEARS}
        return jwt.encode(payload, self.jwt_secret.encode(), algorithm="HS256")

    def _sign(self, payload: dict) -> str:
        headers = {"kid": self.jwt_kid} if self.jwt_kid else None
        return jwt.encode(payload, self.jwt_secret.encode(), algorithm="HS256", headers=headers)

    def _claims(self, user: FakeUser, session_id: str, amr: list, now: int) -> dict:
        return {
            "iss": self.issuer,
            "sub": user.id,
            "aud": user.aud,
            "exp": now + self.jwt_expiry,
            "iat": now,
            "email": user.email,
            "phone": user.phone,
            "app_metadata": dict(user.app_metadata),
            "user_metadata": dict(user.user_metadata),
            "role": user.role,
            "aal": "aal1",
            "amr": list(amr),
            "session_id": session_id,
            "is_anonymous": False,
        }

    def _decode(self, token: str) -> dict:
        """Verify an HS256 token with the secret; raise ValueError(GoTrue-ish reason)."""
        key = self.jwt_secret.encode()
        if token in (self.anon_key, self.service_role_key) and token.count(".") != 2:
            # An opaque sb_ key: the gateway would swap in the matching legacy JWT.
            role = "anon" if token == self.anon_key else "service_role"
            return {"role": role}
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise ValueError(
                "token is malformed: token contains an invalid number of segments"
            ) from exc
        if header.get("alg") != "HS256":
            raise ValueError(
                f"token is unverifiable: error while executing keyfunc: signing method "
                f"{header.get('alg')} is invalid"
            )
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError as exc:
            raise ValueError("token signature is invalid: signature is invalid") from exc
        except jwt.PyJWTError as exc:
            raise ValueError(f"token is malformed: {exc}") from exc
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp <= self.now():
            raise ValueError("token has invalid claims: token is expired")
        return claims

    # -- auth state changes ----------------------------------------------------------------

    def _new_user(
        self,
        email: str,
        password: str | None,
        *,
        data: dict,
        app_metadata: dict | None = None,
        confirmed: bool,
        user_id: str | None = None,
        confirmation_sent: bool = False,
    ) -> FakeUser:
        now = self.now()
        uid = user_id or str(uuid.uuid4())
        identity_data = {
            **{k: v for k, v in data.items() if k not in ("sub", "email")},
            "email": email,
            "email_verified": confirmed,
            "phone_verified": False,
            "sub": uid,
        }
        user = FakeUser(
            id=uid,
            email=email,
            password=password,
            created_at=now,
            updated_at=now,
            email_confirmed_at=now if confirmed else None,
            confirmation_sent_at=now if confirmation_sent else None,
            user_metadata={**data, **identity_data},
            app_metadata={"provider": "email", "providers": ["email"], **(app_metadata or {})},
            identity_data=identity_data,
        )
        try:
            self.on_user_created(user.to_row())
        except Exception as exc:
            raise _AuthError(500, "unexpected_failure", "Database error saving new user") from exc
        self.users[uid] = user
        return user

    def _confirm(self, user: FakeUser) -> None:
        now = self.now()
        user.email_confirmed_at = now
        user.updated_at = now
        user.user_metadata["email_verified"] = True
        user.identity_data["email_verified"] = True

    def _issue_session(self, user: FakeUser, user_agent: str | None) -> dict:
        now = self.now()
        session = FakeSession(
            id=str(uuid.uuid4()),
            user_id=user.id,
            created_at=now,
            updated_at=now,
            amr=[{"method": "password", "timestamp": int(now)}],
            user_agent=user_agent,
        )
        try:
            self.on_session_created(session.to_row())
        except Exception as exc:
            raise _AuthError(500, "unexpected_failure", "Database error granting user") from exc
        self.sessions[session.id] = session
        token = self._new_refresh_token(user.id, session.id, None)
        user.last_sign_in_at = now
        user.updated_at = now
        return self._session_json(user, session, token.token)

    def _new_refresh_token(self, user_id: str, session_id: str, parent: str | None):
        token = FakeRefreshToken(secrets.token_urlsafe(9), user_id, session_id, parent, self.now())
        self.refresh_tokens[token.token] = token
        return token

    def _session_json(self, user: FakeUser, session: FakeSession, refresh_token: str) -> dict:
        now = int(self.now())
        claims = self._claims(user, session.id, session.amr, now)
        return {
            "access_token": self._sign(claims),
            "token_type": "bearer",
            "expires_in": claims["exp"] - now,
            "expires_at": claims["exp"],
            "refresh_token": refresh_token,
            "user": user.to_json(),
        }

    def _end_sessions(self, session_ids: Iterable[str]) -> None:
        for session_id in list(session_ids):
            session = self.sessions.get(session_id)
            if session is None:
                continue
            try:
                self.on_session_ended(session_id, session.user_id)
            except Exception as exc:
                raise _AuthError(500, "unexpected_failure", "Error logging out user") from exc
            del self.sessions[session_id]
            for token in [t for t in self.refresh_tokens.values() if t.session_id == session_id]:
                del self.refresh_tokens[token.token]

    def _delete_user(self, user: FakeUser) -> None:
        try:
            self._end_sessions([s.id for s in self.sessions.values() if s.user_id == user.id])
            self.on_user_deleted(user.id)
        except Exception as exc:
            raise _AuthError(500, "unexpected_failure", "Database error deleting user") from exc
        del self.users[user.id]
        for token in [t for t in self.refresh_tokens.values() if t.user_id == user.id]:
            del self.refresh_tokens[token.token]

    # -- HTTP dispatch ---------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> _Response:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        record = RecordedRequest(handler.command, parts.path, query, headers, body)
        if body and "json" in headers.get("content-type", ""):
            try:
                record.json = json.loads(body)
            except ValueError:
                record.json = None
        elif headers.get("content-type", "").startswith("multipart/form-data"):
            record.form, record.files = _parse_multipart(body, headers["content-type"])
        with self._lock:
            self.requests.append(record)
            failure = self._take_failure(record)
        response = self._respond(record, failure)
        record.status = None if response.close else response.status
        return response

    def _take_failure(self, record: RecordedRequest) -> _Failure | None:
        for failure in self._failures:
            if record.path.startswith(failure.path_prefix) and failure.method in (
                None,
                record.method,
            ):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _respond(self, record: RecordedRequest, failure: _Failure | None) -> _Response:
        if self.down is True:
            return _Response.drop()
        if self.down:
            status = int(self.down)
            return _Response(status, {"message": http.HTTPStatus(status).phrase})
        if failure is not None:
            if failure.hang:
                self._stopping.wait(failure.hang)
            if failure.close:
                return _Response.drop()
            if failure.status is not None:
                return self._forced(record, failure)
        try:
            if record.path.startswith(AUTH_PREFIX + "/"):
                return self._auth(record, record.path[len(AUTH_PREFIX) :])
            if record.path.startswith(STORAGE_PREFIX + "/"):
                return self._storage(record, record.path[len(STORAGE_PREFIX) :])
        except _AuthError as exc:
            return self._auth_error(record, exc)
        except _StorageError as exc:
            return _storage_error(exc)
        return _Response(404, {"message": "no Route matched with those values"})

    def _forced(self, record: RecordedRequest, failure: _Failure) -> _Response:
        status = failure.status or 500
        if failure.body is not None:
            response = _Response(status, failure.body)
        elif record.path.startswith(STORAGE_PREFIX):
            phrase = http.HTTPStatus(status).phrase
            response = _Response(
                status,
                {
                    "statusCode": str(status),
                    "error": failure.code or phrase,
                    "message": failure.message or phrase,
                },
            )
        elif failure.code is None and status in (502, 503, 504):
            response = _Response(status, {"message": http.HTTPStatus(status).phrase})
        else:
            default_code, default_message = {
                429: ("over_request_rate_limit", "Request rate limit reached"),
                500: (
                    "unexpected_failure",
                    "Unexpected failure, please check server logs for more information",
                ),
            }.get(status, ("unexpected_failure", http.HTTPStatus(status).phrase))
            response = self._auth_error(
                record,
                _AuthError(
                    status, failure.code or default_code, failure.message or default_message
                ),
            )
        response.headers.update(failure.headers)
        return response

    # -- Kong -------------------------------------------------------------------------------

    def _gateway_refusal(self, record: RecordedRequest) -> _Response | None:
        key = record.headers.get("apikey") or record.query.get("apikey")
        if not key:
            return _Response(
                401,
                {
                    "message": "No API key found in request",
                    "hint": "No `apikey` request header or url param was found.",
                },
            )
        if key not in (self.anon_key, self.service_role_key):
            return _Response(
                401,
                {
                    "message": "Invalid API key",
                    "hint": "Double check your Supabase `anon` or `service_role` API key.",
                },
            )
        return None

    # -- Auth (GoTrue) ---------------------------------------------------------------------

    def _auth_error(self, record: RecordedRequest, exc: _AuthError) -> _Response:
        headers = {"x-sb-error-code": exc.code}
        if _api_version(record) >= API_VERSION_2024_01_01:
            headers[API_VERSION_HEADER] = API_VERSION_2024_01_01
            body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        else:
            body = {"code": exc.status, "error_code": exc.code, "msg": exc.message}
            if exc.status >= 500:
                body["error_id"] = str(uuid.uuid4())
        body.update(exc.extra)
        return _Response(exc.status, body, headers)

    def _auth(self, record: RecordedRequest, path: str) -> _Response:
        if path not in OPEN_AUTH_PATHS:
            refused = self._gateway_refusal(record)
            if refused is not None:
                return refused
        method = record.method
        with self._lock:
            if (method, path) == ("GET", "/health"):
                return _Response(
                    200,
                    {
                        "version": GOTRUE_VERSION,
                        "name": "GoTrue",
                        "description": "GoTrue is a user registration and authentication API",
                    },
                )
            if (method, path) == ("GET", "/.well-known/jwks.json"):
                return _Response(200, self.jwks, {"Cache-Control": "public, max-age=600"})
            if (method, path) == ("GET", "/settings"):
                return _Response(200, self._settings_json())
            if (method, path) == ("POST", "/signup"):
                return self._signup(record)
            if (method, path) == ("POST", "/token"):
                return self._token(record)
            if (method, path) == ("POST", "/logout"):
                return self._logout(record)
            if (method, path) == ("GET", "/user"):
                user, _session, _claims = self._authenticate(record)
                return _Response(200, user.to_json())
            if path == "/admin/users" or path.startswith("/admin/users/"):
                return self._admin_users(record, method, path)
        raise _AuthError(404, "not_found", "Not Found")

    def _settings_json(self) -> dict:
        return {
            "external": {"email": True, "phone": False, "anonymous_users": False},
            "disable_signup": self.signup_disabled,
            "mailer_autoconfirm": not self.confirm_email,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
        }

    def _body(self, record: RecordedRequest) -> dict:
        if not record.body:
            return {}
        try:
            body = json.loads(record.body)
        except ValueError as exc:
            raise _AuthError(
                400, "bad_json", f"Could not parse request body as JSON: {exc}"
            ) from exc
        if not isinstance(body, dict):
            raise _AuthError(400, "bad_json", "Could not parse request body as JSON")
        return body

    def _check_password(self, password: str) -> None:
        if len(password.encode()) < self.min_password_length:
            raise _AuthError(
                422,
                "weak_password",
                f"Password should be at least {self.min_password_length} characters.",
                weak_password={"reasons": ["length"]},
            )

    @staticmethod
    def _valid_email(email: str) -> str:
        email = email.strip()
        if not email:
            raise _AuthError(400, "validation_failed", "An email address is required")
        if len(email) > 255 or not EMAIL_RE.match(email):
            raise _AuthError(
                400, "email_address_invalid", "Unable to validate email address: invalid format"
            )
        return email.lower()

    def _signup(self, record: RecordedRequest) -> _Response:
        if self.signup_disabled:
            raise _AuthError(422, "signup_disabled", "Signups not allowed for this instance")
        params = self._body(record)
        email = params.get("email") or ""
        phone = params.get("phone") or ""
        password = params.get("password") or ""
        data = params.get("data") or {}
        if not email and not phone:
            raise _AuthError(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled")
        if not password:
            raise _AuthError(400, "validation_failed", "Signup requires a valid password")
        self._check_password(password)
        if email and phone:
            raise _AuthError(
                400,
                "validation_failed",
                "Only an email address or phone number should be provided on signup.",
            )
        if bool(params.get("code_challenge")) != bool(params.get("code_challenge_method")):
            raise _AuthError(
                400,
                "validation_failed",
                "PKCE flow requires code_challenge_method and code_challenge",
            )
        if phone:
            raise _AuthError(400, "phone_provider_disabled", "Phone signups are disabled")
        email = self._valid_email(email)
        existing = self.user_by_email(email)
        now = self.now()
        if existing is not None and existing.confirmed:
            if not self.confirm_email:
                raise _AuthError(422, "user_already_exists", "User already registered")
            return _Response(200, _sanitized_user(email, data, now))
        if existing is not None:
            user = existing
            if self.confirm_email:
                sent = user.confirmation_sent_at
                if sent is not None and now < sent + self.email_max_frequency:
                    left = int(sent + self.email_max_frequency - now)
                    raise _AuthError(
                        429,
                        "over_email_send_rate_limit",
                        f"For security purposes, you can only request this after {left} seconds.",
                    )
                user.confirmation_sent_at = now
        else:
            user = self._new_user(
                email,
                password,
                data=data,
                confirmed=not self.confirm_email,
                confirmation_sent=self.confirm_email,
            )
        if self.confirm_email:
            return _Response(200, user.to_json())
        if not user.confirmed:
            self._confirm(user)
        return _Response(200, self._issue_session(user, record.headers.get("user-agent")))

    def _token(self, record: RecordedRequest) -> _Response:
        grant_type = record.query.get("grant_type", "")
        params = self._body(record)
        if grant_type == "password":
            return self._password_grant(record, params)
        if grant_type == "refresh_token":
            return self._refresh_grant(params)
        raise _AuthError(400, "validation_failed", "unsupported_grant_type")

    def _password_grant(self, record: RecordedRequest, params: dict) -> _Response:
        email = (params.get("email") or "").strip().lower()
        password = params.get("password") or ""
        if not email and not params.get("phone"):
            raise _AuthError(400, "validation_failed", "missing email or phone")
        user = self.user_by_email(email) if email else None
        if (
            user is None
            or user.password is None
            or not secrets.compare_digest(user.password.encode(), password.encode())
        ):
            raise _AuthError(400, "invalid_credentials", INVALID_LOGIN)
        if not user.confirmed:
            raise _AuthError(400, "email_not_confirmed", "Email not confirmed")
        body = self._issue_session(user, record.headers.get("user-agent"))
        if len(password.encode()) < self.min_password_length:
            body["weak_password"] = {
                "message": f"Password should be at least {self.min_password_length} characters.",
                "reasons": ["length"],
            }
        return _Response(200, body)

    def _refresh_grant(self, params: dict) -> _Response:
        presented = params.get("refresh_token") or ""
        if not presented:
            return _Response(
                400, {"error": "invalid_request", "error_description": "refresh_token required"}
            )
        token = self.refresh_tokens.get(presented)
        session = self.sessions.get(token.session_id) if token else None
        user = self.users.get(token.user_id) if token else None
        if token is None or session is None or user is None:
            raise _AuthError(
                400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        now = self.now()
        issued: str | None = None
        if token.revoked:
            # GoTrue's FindCurrentlyActiveRefreshToken: the session's newest unrevoked token.
            live = [
                t
                for t in self.refresh_tokens.values()
                if t.session_id == session.id and not t.revoked
            ]
            active = live[-1] if live else None
            if (
                self.refresh_token_parent_reuse
                and active is not None
                and active.parent == presented
            ):
                issued = active.token
            elif now > (token.revoked_at or 0) + self.refresh_token_reuse_interval:
                for other in self.refresh_tokens.values():
                    if other.session_id == session.id and not other.revoked:
                        other.revoked_at = now
                raise _AuthError(
                    400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"
                )
        if issued is None:
            issued = self._new_refresh_token(user.id, session.id, presented).token
            if not token.revoked:
                token.revoked_at = now
        session.refreshed_at = now
        session.updated_at = now
        return _Response(200, self._session_json(user, session, issued))

    def _authenticate(self, record: RecordedRequest) -> tuple[FakeUser, FakeSession | None, dict]:
        """GoTrue's requireAuthentication: the bearer token's user and session."""
        token = record.bearer
        if not token:
            raise _AuthError(401, "no_authorization", "This endpoint requires a Bearer token")
        claims = self._bearer_claims(token)
        sub = claims.get("sub")
        if not sub:
            raise _AuthError(403, "bad_jwt", "invalid claim: missing sub claim")
        if not _is_uuid(sub):
            raise _AuthError(400, "bad_jwt", "invalid claim: sub claim must be a UUID")
        user = self.users.get(sub)
        if user is None:
            raise _AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        session = None
        session_id = claims.get("session_id")
        if session_id and session_id != "00000000-0000-0000-0000-000000000000":
            if not _is_uuid(session_id):
                raise _AuthError(403, "bad_jwt", "invalid claim: session_id claim must be a UUID")
            session = self.sessions.get(session_id)
            if session is None:
                raise _AuthError(
                    403,
                    "session_not_found",
                    "Session from session_id claim in JWT does not exist",
                )
        return user, session, claims

    def _bearer_claims(self, token: str) -> dict:
        try:
            return self._decode(token)
        except ValueError as exc:
            raise _AuthError(
                403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {exc}"
            ) from exc

    def _logout(self, record: RecordedRequest) -> _Response:
        user, session, _claims = self._authenticate(record)
        scope = record.query.get("scope", "")
        if scope not in ("", "global", "local", "others"):
            raise _AuthError(400, "validation_failed", f'Unsupported logout scope "{scope}"')
        user_sessions = [s.id for s in self.sessions.values() if s.user_id == user.id]
        if session is None:
            for token in self.refresh_tokens.values():
                if token.user_id == user.id and not token.revoked:
                    token.revoked_at = self.now()
        elif scope == "local":
            self._end_sessions([session.id])
        elif scope == "others":
            self._end_sessions([s for s in user_sessions if s != session.id])
        else:
            self._end_sessions(user_sessions)
        return _Response(204)

    def _admin_users(self, record: RecordedRequest, method: str, path: str) -> _Response:
        token = record.bearer
        if not token:
            raise _AuthError(401, "no_authorization", "This endpoint requires a Bearer token")
        claims = self._bearer_claims(token)
        if claims.get("role") not in ADMIN_ROLES:
            raise _AuthError(403, "not_admin", "User not allowed")
        if path == "/admin/users":
            if method == "GET":
                users = [u.to_json() for u in self.users.values()]
                return _Response(200, {"users": users, "aud": "authenticated"})
            if method == "POST":
                return self._admin_create_user(self._body(record))
            raise _AuthError(405, "validation_failed", "Method Not Allowed")
        user_id = path[len("/admin/users/") :]
        if not _is_uuid(user_id):
            raise _AuthError(404, "validation_failed", "user_id must be an UUID")
        user = self.users.get(user_id)
        if user is None:
            raise _AuthError(404, "user_not_found", "User not found")
        if method == "GET":
            return _Response(200, user.to_json())
        if method == "DELETE":
            self._delete_user(user)
            return _Response(200, {})
        raise _AuthError(405, "validation_failed", "Method Not Allowed")

    def _admin_create_user(self, params: dict) -> _Response:
        if params.get("phone"):
            raise _AuthError(400, "phone_provider_disabled", "Phone logins are disabled")
        email = self._valid_email(params.get("email") or "")
        if self.user_by_email(email) is not None:
            raise _AuthError(
                422, "email_exists", "A user with this email address has already been registered"
            )
        password = params.get("password")
        if password:
            self._check_password(password)
        user_id = params.get("id")
        if user_id is not None and (not _is_uuid(user_id) or user_id in self.users):
            raise _AuthError(400, "validation_failed", "Invalid or duplicate user id")
        user = self._new_user(
            email,
            password or None,
            data=params.get("user_metadata") or {},
            app_metadata=params.get("app_metadata"),
            confirmed=bool(params.get("email_confirm")),
            user_id=user_id,
        )
        if params.get("role"):
            user.role = params["role"]
        return _Response(200, user.to_json())

    # -- Storage ---------------------------------------------------------------------------

    def _storage(self, record: RecordedRequest, path: str) -> _Response:
        method = record.method
        segments = [unquote(s) for s in path.strip("/").split("/")]
        public = segments[:2] == ["object", "public"] and method == "GET" and len(segments) > 3
        if self.storage_apikey_required and not public:
            refused = self._gateway_refusal(record)
            if refused is not None:
                return refused
        with self._lock:
            if public:
                return self._public_object(record, segments[2], "/".join(segments[3:]))
            claims = self._storage_claims(record)
            if segments[0] == "bucket":
                return self._bucket_route(record, method, segments[1:], claims)
            if segments[0] == "object" and len(segments) >= 2:
                rest = segments[1:]
                if rest[0] == "authenticated" and method == "GET" and len(rest) > 2:
                    return self._download(rest[1], "/".join(rest[2:]), claims)
                if method == "DELETE" and len(rest) == 1:
                    return self._remove(record, rest[0], claims)
                if len(rest) >= 2 and method in ("POST", "PUT"):
                    return self._upload(record, rest[0], "/".join(rest[1:]), claims)
                if len(rest) >= 2 and method == "GET":
                    return self._download(rest[0], "/".join(rest[1:]), claims)
        return _Response(
            404,
            {
                "message": f"Route {method}:{record.path} not found",
                "error": "Not Found",
                "statusCode": 404,
            },
        )

    def _storage_claims(self, record: RecordedRequest) -> dict:
        token = record.bearer or ""
        try:
            if not token:
                raise ValueError("Invalid Compact JWS")
            return self._decode(token)
        except ValueError as exc:
            reason = str(exc)
            if "expired" in reason:
                message = '"exp" claim timestamp check failed'
            elif "signature" in reason:
                message = "signature verification failed"
            else:
                message = "Invalid Compact JWS"
            raise _StorageError(403, "AccessDenied", "Unauthorized", message) from exc

    def _allowed(self, operation: str, bucket: str, name: str, claims: dict) -> bool:
        if claims.get("role") == "service_role":
            return True
        if self.refuse_uploads and operation in ("insert", "update"):
            return False
        return bool(self._policy(operation, bucket, name, dict(claims)))

    def _bucket_route(
        self, record: RecordedRequest, method: str, rest: list[str], claims: dict
    ) -> _Response:
        if not rest or rest == [""]:
            if method == "GET":
                visible = [
                    b.to_json()
                    for b in self.buckets.values()
                    if self._allowed("bucket_select", b.id, "", claims)
                ]
                return _Response(200, visible)
            if method == "POST":
                return self._create_bucket(record, claims)
        elif len(rest) == 1:
            bucket = self.buckets.get(rest[0])
            if bucket is None or not self._allowed("bucket_select", rest[0], "", claims):
                raise _no_such_bucket()
            if method == "GET":
                return _Response(200, bucket.to_json())
            if method == "DELETE":
                if any(b == bucket.id for b, _ in self.objects):
                    raise _StorageError(
                        409,
                        "InvalidRequest",
                        "InvalidRequest",
                        "The bucket you tried to delete is not empty",
                    )
                del self.buckets[bucket.id]
                return _Response(200, {"message": "Successfully deleted"})
        raise _StorageError(404, "InvalidRequest", "Not Found", "Route not found")

    def _create_bucket(self, record: RecordedRequest, claims: dict) -> _Response:
        params = record.json if isinstance(record.json, dict) else {}
        bucket_id = params.get("id") or params.get("name")
        if not bucket_id or not re.match(r"^[\w!\-.*'() &$@=;:+,?]+$", bucket_id):
            raise _StorageError(400, "InvalidBucketName", "Invalid Input", "Bucket name invalid")
        if not self._allowed("bucket_insert", bucket_id, "", claims):
            raise _rls_refused()
        if bucket_id in self.buckets:
            raise _StorageError(
                409, "ResourceAlreadyExists", "Duplicate", "The resource already exists"
            )
        bucket = self.create_bucket(
            bucket_id,
            public=bool(params.get("public")),
            file_size_limit=_size_limit(params.get("file_size_limit")),
            allowed_mime_types=params.get("allowed_mime_types"),
        )
        bucket.owner = claims.get("sub")
        return _Response(200, {"name": bucket_id})

    def _upload(
        self, record: RecordedRequest, bucket_id: str, name: str, claims: dict
    ) -> _Response:
        bucket = self.buckets.get(bucket_id)
        if bucket is None:
            raise _no_such_bucket()
        if "file" in record.files:
            _filename, content_type, data = record.files["file"]
            cache = record.form.get("cacheControl") or "3600"
            user_metadata = json.loads(record.form.get("metadata") or "{}")
        else:
            data = record.body
            content_type = record.headers.get("content-type") or "text/plain;charset=UTF-8"
            cache = record.headers.get("cache-control") or "3600"
            user_metadata = json.loads(record.headers.get("x-metadata") or "{}")
        cache_control = cache if "=" in cache else f"max-age={cache}"
        limit = self.storage_file_size_limit
        if bucket.file_size_limit is not None:
            limit = min(limit, bucket.file_size_limit)
        if len(data) > limit:
            raise _StorageError(
                413,
                "EntityTooLarge",
                "Payload too large",
                "The object exceeded the maximum allowed size",
            )
        mime = content_type.split(";")[0].strip()
        if bucket.allowed_mime_types and not any(
            _mime_matches(mime, allowed) for allowed in bucket.allowed_mime_types
        ):
            raise _StorageError(
                415, "InvalidMimeType", "invalid_mime_type", f"mime type {mime} is not supported"
            )
        existing = self.objects.get((bucket_id, name))
        if record.method == "PUT":
            if existing is None or not self._allowed("select", bucket_id, name, claims):
                raise _no_such_key()
            if not self._allowed("update", bucket_id, name, claims):
                raise _rls_refused()
        else:
            if not self._allowed("insert", bucket_id, name, claims):
                raise _rls_refused()
            if existing is not None:
                if record.headers.get("x-upsert") != "true":
                    raise _StorageError(
                        409, "ResourceAlreadyExists", "Duplicate", "The resource already exists"
                    )
                if not (
                    self._allowed("select", bucket_id, name, claims)
                    and self._allowed("update", bucket_id, name, claims)
                ):
                    raise _rls_refused()
        obj = FakeObject(
            bucket_id,
            name,
            data,
            content_type,
            cache_control,
            claims.get("sub"),
            created_at=existing.created_at if existing else self.now(),
            updated_at=self.now(),
            user_metadata=user_metadata,
        )
        if existing is not None:
            obj.id = existing.id
        self.objects[(bucket_id, name)] = obj
        return _Response(200, {"Id": obj.id, "Key": f"{bucket_id}/{name}"})

    def _remove(self, record: RecordedRequest, bucket_id: str, claims: dict) -> _Response:
        params = record.json if isinstance(record.json, dict) else {}
        prefixes = params.get("prefixes")
        if not isinstance(prefixes, list) or not prefixes:
            return _Response(
                400,
                {
                    "statusCode": "400",
                    "code": "FST_ERR_VALIDATION",
                    "error": "Bad Request",
                    "message": "body must have required property 'prefixes'",
                },
            )
        removed = []
        for name in prefixes:
            obj = self.objects.get((bucket_id, name))
            if obj is None:
                continue
            if self._allowed("select", bucket_id, name, claims) and self._allowed(
                "delete", bucket_id, name, claims
            ):
                del self.objects[(bucket_id, name)]
                removed.append(obj.to_json())
        return _Response(200, removed)

    def _download(self, bucket_id: str, name: str, claims: dict) -> _Response:
        if bucket_id not in self.buckets:
            raise _no_such_bucket()
        obj = self.objects.get((bucket_id, name))
        if obj is None or not self._allowed("select", bucket_id, name, claims):
            raise _no_such_key()
        return _object_response(obj, None)

    def _public_object(self, record: RecordedRequest, bucket_id: str, name: str) -> _Response:
        bucket = self.buckets.get(bucket_id)
        if bucket is None or not bucket.public:
            raise _no_such_bucket()
        obj = self.objects.get((bucket_id, name))
        if obj is None:
            raise _no_such_key()
        return _object_response(obj, record.query.get("download"))


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSupabase
    server_version = "FakeSupabase/1.0"
    sys_version = ""

    def _serve(self) -> None:
        try:
            body = self._read_body()
            response = self.owner._handle(self, body)
        except Exception as exc:  # a bug in the fake: answer, so the client does not hang,
            self.owner.crashes.append(traceback.format_exc())  # and fail the test (see owner)
            response = _Response(500, {"message": f"FakeSupabase error: {exc!r}"})
        if response.close:
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _api_version(record: RecordedRequest) -> str:
    """GoTrue's DetermineClosestAPIVersion: "" (initial) or "2024-01-01"."""
    value = record.headers.get(API_VERSION_HEADER.lower(), "")
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return ""
    return API_VERSION_2024_01_01 if parsed >= datetime(2024, 1, 1) else ""


def _sanitized_user(email: str, data: dict, now: float) -> dict:
    """GoTrue's sanitizeUser: a look-alike user for an already-registered email."""
    return {
        "id": str(uuid.uuid4()),
        "aud": "authenticated",
        "role": "",
        "email": email,
        "phone": "",
        "confirmation_sent_at": _iso(now),
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": dict(data),
        "identities": [],
        "created_at": _iso(now),
        "updated_at": _iso(now),
        "is_anonymous": False,
    }


def _storage_error(exc: _StorageError) -> _Response:
    """Storage's error handler: HTTP 400 for every 4xx, the real status as a string."""
    return _Response(
        500 if exc.status == 500 else 400,
        {
            "statusCode": str(exc.status),
            "code": exc.code,
            "error": exc.error,
            "message": exc.message,
        },
        {"Content-Type": "application/json; charset=utf-8"},
    )


def _object_response(obj: FakeObject, download: str | None) -> _Response:
    headers = {
        "Content-Type": obj.content_type,
        "Cache-Control": obj.cache_control,
        "ETag": obj.etag,
        "Last-Modified": datetime.fromtimestamp(obj.updated_at, UTC).strftime(
            "%a, %d %b %Y %H:%M:%S GMT"
        ),
    }
    if download is not None:
        filename = download or obj.name.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f'attachment; filename="{filename}";'
    return _Response(200, obj.data, headers)


def _parse_multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """Split a multipart/form-data body into text fields and file parts (byte-exact)."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str):
        return {}, {}
    form: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for chunk in (b"\r\n" + body).split(b"\r\n--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        part = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                name, _, value = line.partition(":")
                part[name.strip()] = value.strip()
        field_name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        if not isinstance(field_name, str):
            continue
        if isinstance(filename, str):
            ctype = part.get("content-type", "application/octet-stream")
            files[field_name] = (filename, ctype, data)
        else:
            form[field_name] = data.decode("utf-8", "replace")
    return form, files


def _mime_matches(mime: str, allowed: str) -> bool:
    if allowed.endswith("/*"):
        return mime.startswith(allowed[:-1])
    return mime == allowed


def _size_limit(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    match = re.match(r"^\s*(\d+)\s*(B|KB|MB|GB)?\s*$", str(value), re.IGNORECASE)
    if not match:
        raise _StorageError(
            400,
            "InvalidRequest",
            "InvalidRequest",
            "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B",
        )
    units = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3}
    return int(match.group(1)) * units[(match.group(2) or "B").upper()]


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def auth_table_hooks(execute: Callable[[str, list], Any]) -> dict[str, Callable]:
    """The four hooks, writing `auth.users` / `auth.sessions` through `execute(sql, params)`.

    `execute` runs one statement with %s placeholders (a DB-API cursor's `execute`). Usage
    in a Django test, inside its transaction (hooks run on the server's thread)::

        conn = connections["default"]
        conn.inc_thread_sharing()
        def execute(sql, params):
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
        fake = FakeSupabase(jwt_secret=..., **auth_table_hooks(execute)).start()
        ...
        fake.close(); conn.dec_thread_sharing()
    """

    def insert(table: str, row: dict) -> None:
        columns = ", ".join(row)
        values = ", ".join("%s::jsonb" if isinstance(v, dict) else "%s" for v in row.values())
        params = [json.dumps(v) if isinstance(v, dict) else v for v in row.values()]
        execute(f"insert into auth.{table} ({columns}) values ({values})", params)  # noqa: S608

    return {
        "on_user_created": lambda row: insert("users", row),
        "on_user_deleted": lambda user_id: execute(
            "delete from auth.users where id = %s", [user_id]
        ),
        "on_session_created": lambda row: insert("sessions", row),
        "on_session_ended": lambda session_id, user_id: execute(
            "delete from auth.sessions where id = %s", [session_id]
        ),
    }


def supabase_client(fake: FakeSupabase, access_token: str | None = None, *, key: str | None = None):
    """A `supabase.Client` for the fake, as a server would build one: no persisted session,
    no refresh timer, implicit flow; `access_token` makes Storage/PostgREST act as that user,
    `key` replaces the anon key (e.g. `fake.service_role_key`)."""
    from supabase import ClientOptions, create_client
    from supabase.lib.client_options import DEFAULT_HEADERS

    headers = dict(DEFAULT_HEADERS)
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    options = ClientOptions(
        headers=headers, auto_refresh_token=False, persist_session=False, flow_type="implicit"
    )
    return create_client(fake.url, key or fake.anon_key, options)
