"""What a Django connection sent Postgres: statements and round trips, from libpq's own trace."""

import itertools
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq

STATEMENT_MESSAGES = ("Query", "Execute")
MESSAGE = re.compile(r"^([FB])\t\d+\t(\w+)(.*?)(?=^[FB]\t\d+\t|\Z)", re.MULTILINE | re.DOTALL)


@dataclass
class Wire:
    """Messages of one traced stretch: (`F` from the client or `B` from the server, type, text)."""

    messages: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def statements(self) -> int:
        """Return the statements the server ran (simple queries and extended-protocol Executes)."""
        return sum(
            1 for side, kind, _ in self.messages if side == "F" and kind in STATEMENT_MESSAGES
        )

    def queries(self, containing: str = "") -> int:
        """Return the simple-protocol queries sent (whose text contains `containing`)."""
        return sum(
            1
            for side, kind, text in self.messages
            if side == "F" and kind == "Query" and containing in text
        )

    @property
    def round_trips(self) -> int:
        """Return how many times the client sent and then waited for the server's answer."""
        sides = [side for side, _, _ in self.messages]
        return sum(1 for sent, answer in itertools.pairwise(sides) if (sent, answer) == ("F", "B"))


@contextmanager
def traced(connection: BaseDatabaseWrapper) -> Iterator[Wire]:
    """Record what the connection sends and receives within the block (PQtrace, libpq ≥ 14)."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    wire = Wire()
    with tempfile.TemporaryFile("w+") as log:
        pgconn.trace(log.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield wire
        finally:
            pgconn.untrace()
        log.seek(0)
        # A message is one line, but a statement's text keeps its own line breaks.
        wire.messages.extend(MESSAGE.findall(log.read()))
