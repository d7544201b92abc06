"""Run an API request's queries as Supabase's `anon` or `authenticated` role, with its claims.

With DATABASE_RLS=enforce the database refuses what its policies refuse, to the API too
(docs/rls.md). Each statement of the request is sent together with the settings PostgREST
(Supabase's Data API) gives its own requests, all transaction-local:

    select set_config('role', 'authenticated', true),
           set_config('request.jwt.claims', '<the verified claims>', true),
           set_config('request.method', 'GET', true), set_config('request.path', '/...', true)

Together means one pipeline ending in one Sync (server-side binding, the default on direct
connections and session poolers), or one simple-protocol query "setup; statement"
(client-side binding, as DATABASE_POOL_MODE=transaction uses): outside a transaction, the
setup and the statement then share one implicit transaction (PostgreSQL protocol, "Multiple
Statements in a Simple Query", "Pipelining"), so nothing outlives the statement and no round
trip is added. Inside one (a view's atomic block) the settings last until its
COMMIT or ROLLBACK; they are sent again before each statement, so a savepoint rolled back
cannot drop them. Direct connections, session poolers and transaction poolers behave alike.
The server's own queries (the authentication step's profile lookup, avatar URLs) run as the
connection's role inside `as_owner()`.
"""

import contextlib
import json
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import psycopg
import psycopg.sql
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
# Per server connection (connections are per thread; a closed one is collected with its key).
_setup_cursors: "weakref.WeakKeyDictionary[psycopg.Connection, psycopg.Cursor]" = (
    weakref.WeakKeyDictionary()
)


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
            _leave(connections[alias])


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
        if isinstance(cursor, psycopg.ClientCursor):
            return self._together(db, execute, sql, params, many, context, setup)
        with db.wrap_database_errors, raw.pipeline():
            _setup_cursor(raw).execute(SETUP_SQL, setup)
            return execute(sql, params, many, context)

    @staticmethod
    def _together(db, execute, sql, params, many, context, setup):
        """Send the setup and the statement as one simple query (client-side binding).

        Their transaction ends with that one message, so it suits every pooler: Supavisor's
        transaction mode is known to wedge on pipelined queries (porsager/postgres#970).
        """
        if many:
            raise DatabaseError("executemany() is not supported when DATABASE_RLS=enforce.")
        prefix = psycopg.sql.SQL(SETUP_SQL.replace("%s", "{}")).format(
            *map(psycopg.sql.Literal, setup)
        )
        prefix = prefix.as_string(db.connection)
        if params is not None:
            prefix = prefix.replace("%", "%%")  # the claims' text is not a placeholder
        result = execute(f"{prefix}; {sql}", params, many, context)
        context["cursor"].cursor.nextset()  # the statement's result, not the setup's
        return result

    @staticmethod
    def _declare(db, execute, sql, params, many, context, setup):
        """Set up before a server-side cursor's DECLARE: they cannot be pipelined."""
        if not db.in_atomic_block:
            # Its query would run in its own implicit transaction, without the settings.
            raise DatabaseError(
                "Server-side cursors need a transaction when DATABASE_RLS=enforce "
                "(use transaction.atomic() around .iterator())."
            )
        with db.wrap_database_errors:
            _setup_cursor(db.connection).execute(SETUP_SQL, setup)
        return execute(sql, params, many, context)


def _setup_cursor(raw: psycopg.Connection) -> psycopg.Cursor:
    """Return the connection's cursor for the setup statement (a new one each time cost more)."""
    cursor = _setup_cursors.get(raw)
    if cursor is None:
        cursor = _setup_cursors[raw] = raw.cursor()
    return cursor


def _leave(db: BaseDatabaseWrapper) -> None:
    """Drop the request's settings from a transaction that outlives it (a test's)."""
    raw = db.connection
    if raw is None or raw.closed:
        return
    if raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS:
        with db.wrap_database_errors:
            _setup_cursor(raw).execute(SETUP_SQL, OWNER_SETUP)
