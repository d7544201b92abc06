"""Run an API request's queries as Supabase's `anon` or `authenticated` role, with its claims.

With DATABASE_RLS=enforce the database refuses what its policies refuse, to the API too
(docs/rls.md). Each statement of the request is sent together with the settings PostgREST
(Supabase's Data API) gives its own requests, all transaction-local:

    select set_config('role', 'authenticated', true),
           set_config('request.jwt.claims', '<the verified claims>', true),
           set_config('request.method', 'GET', true), set_config('request.path', '/...', true)

They travel as one simple-protocol query, "<setup>; <statement>", with the statement's
values bound inline as psycopg's ClientCursor binds them: Postgres runs the statements of one
simple query in one implicit transaction (PostgreSQL protocol, "Multiple Statements in a
Simple Query"), so outside a transaction nothing outlives the statement, and no round trip is
added. One message and one answer suit every pooler (Supavisor's transaction mode is known to
wedge on pipelined queries, porsager/postgres#970) and cost less than a pipeline in a threaded
server (docs/rls.md, measured); these statements are not prepared. Inside a transaction (a
view's atomic block) the settings last until its COMMIT or ROLLBACK; they are sent again with
each statement, so a savepoint rolled back cannot drop them.
The server's own queries (the authentication step's profile lookup, avatar URLs) run as the
connection's role inside `as_owner()`.
"""

import contextlib
import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import psycopg
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq

from supabase_auth.tokens import Claims

ANON = "anon"
AUTHENTICATED = "authenticated"
# PostgREST's pre-request settings (PostgREST/Query/PreQuery.hs), in its order.
SETUP_SQL = (
    "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true), "
    "set_config('request.method', %s, true), set_config('request.path', %s, true)"
)
# `none` is SET ROLE NONE: back to the role the connection logged in as.
OWNER_SETUP = ("none", "", "", "")


@dataclass
class RequestRole:
    """Whom the current request's statements run as, and the settings that say so."""

    method: str
    path: str
    role: str = ANON
    claims: str = '{"role":"anon"}'  # PostgREST's claims for a request without a token
    owner_depth: int = 0

    def setup(self) -> tuple[str, str, str, str]:
        """Return the values of SETUP_SQL for the next statement."""
        if self.owner_depth:
            return OWNER_SETUP
        return (self.role, self.claims, self.method, self.path)


_current: ContextVar[RequestRole | None] = ContextVar("request_role", default=None)


@contextlib.contextmanager
def enforced(method: str, path: str) -> Iterator[RequestRole]:
    """Run every statement sent within as the request's role (`anon` until assume())."""
    state = RequestRole(method=method, path=path)
    token = _current.set(state)
    wrapper = Wrapper(state)
    try:
        with contextlib.ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(wrapper))
            yield state
    finally:
        _current.reset(token)
        for alias in wrapper.used:
            wrapper.leave(connections[alias])


def assume(claims: Claims) -> None:
    """Make the current request's later statements run as this signed-in user (if enforced)."""
    state = _current.get()
    if state is not None:
        state.role = AUTHENTICATED
        # PostgREST puts the role into the claims it sets (it is there already in user tokens).
        state.claims = json.dumps({**claims.raw, "role": AUTHENTICATED}, separators=(",", ":"))


@contextlib.contextmanager
def as_owner() -> Iterator[None]:
    """Run the statements within as the connection's own role: the server's bookkeeping.

    For what the API roles have no grant on and the server alone writes: the profile made or
    synced from a verified token, an avatar's URL. Everything a client asks for runs as them.
    """
    state = _current.get()
    if state is None:
        yield
        return
    state.owner_depth += 1
    try:
        yield
    finally:
        state.owner_depth -= 1


class Wrapper:
    """A Django execute wrapper sending the request's role setup with each statement."""

    def __init__(self, state: RequestRole) -> None:
        self.state = state
        self.used: set[str] = set()  # aliases whose open transaction carries our settings
        self.prefixes: dict[tuple, tuple[str, str]] = {}  # setup -> its SQL, and %-escaped
        # One cursor per server connection for the request's life: binds values inline, sends
        # setups alone. Held by the request, never by a module-level cache, so a connection
        # the server drops (CONN_MAX_AGE, an error, a thread's end) is not kept open.
        self.cursors: dict[psycopg.Connection, psycopg.ClientCursor] = {}

    def __call__(self, execute: Callable, sql, params, many: bool, context: dict):
        db: BaseDatabaseWrapper = context["connection"]
        if _current.get() is not self.state:
            return execute(sql, params, many, context)  # a shared connection, another thread
        if self.state.owner_depth and not db.in_atomic_block:
            return execute(sql, params, many, context)  # nothing set: the owner already
        raw = db.connection
        if raw.pgconn.transaction_status == pq.TransactionStatus.INERROR:
            return execute(sql, params, many, context)  # only a rollback can run: let it
        if db.in_atomic_block:
            self.used.add(db.alias)
        setup = self.state.setup()
        cursor = context["cursor"].cursor
        if isinstance(cursor, psycopg.ServerCursor):
            return self._declare(db, execute, sql, params, many, context, setup)
        if many:
            raise DatabaseError("executemany() is not supported when DATABASE_RLS=enforce.")
        db.validate_no_broken_transaction()
        with db.wrap_database_errors:
            # Parameters inline and prepare=False: a simple query may hold several statements,
            # a prepared one only one.
            cursor.execute(self._together(raw, setup, sql, params), prepare=False)
        cursor.nextset()  # the statement's result, not the setup's
        return cursor

    def _together(self, raw: psycopg.Connection, setup: tuple, sql: str, params) -> str:
        """Return "<setup>; <statement>", every value inline as psycopg's ClientCursor binds."""
        mogrifier = self._setup_cursor(raw)
        if setup not in self.prefixes:  # the same for every statement of the request
            prefix = mogrifier.mogrify(SETUP_SQL, setup)
            # The claims are text, not placeholders, when the statement's values are bound.
            self.prefixes[setup] = (prefix, prefix.replace("%", "%%"))
        prefix, escaped = self.prefixes[setup]
        if params is None:
            return f"{prefix}; {sql}"
        return mogrifier.mogrify(f"{escaped}; {sql}", params)

    def _declare(self, db, execute, sql, params, many, context, setup):
        """Set up before a server-side cursor's DECLARE, which must be a statement of its own."""
        if not db.in_atomic_block:
            # Its query would run in its own implicit transaction, without the settings.
            raise DatabaseError(
                "Server-side cursors need a transaction when DATABASE_RLS=enforce "
                "(use transaction.atomic() around .iterator())."
            )
        with db.wrap_database_errors:
            self._setup_cursor(db.connection).execute(SETUP_SQL, setup)
        return execute(sql, params, many, context)

    def _setup_cursor(self, raw: psycopg.Connection) -> psycopg.ClientCursor:
        """Return this request's cursor on the connection (a new one per statement cost more)."""
        cursor = self.cursors.get(raw)
        if cursor is None:
            cursor = self.cursors[raw] = psycopg.ClientCursor(raw)
        return cursor

    def leave(self, db: BaseDatabaseWrapper) -> None:
        """Drop the request's settings from a transaction that outlives it (a test's)."""
        raw = db.connection
        if raw is None or raw.closed:
            return
        if raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS:
            with db.wrap_database_errors:
                self._setup_cursor(raw).execute(SETUP_SQL, OWNER_SETUP)
