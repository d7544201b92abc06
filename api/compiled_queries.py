"""Run hot read querysets from SQL the ORM compiled once per shape.

Only the values change from one request to the next (a post id, a user id, a cursor position):
`fetch()` has the ORM build and compile a shape's SQL the first time, remembers where each
value sits among the SQL parameters, and afterwards runs that SQL with the new values through
Django's cursor (so transactions, query logging and database error handling all apply).
Whatever cannot be remembered safely is simply evaluated each time. What it buys is measured
in docs/performance.md.
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.query import NamedValuesListIterable
from django.db.models.utils import create_namedtuple_class


@dataclass(frozen=True)
class CompiledQuery:
    model: type  # the database is chosen per run: a replica's read or the primary's
    sql: str
    parameters: tuple  # constants, with None where a value goes
    value_positions: tuple[int | None, ...]  # for each parameter: which value, or None
    row: type

    def run(self, values: tuple) -> list:
        parameters = [
            self.parameters[i] if position is None else values[position]
            for i, position in enumerate(self.value_positions)
        ]
        with connections[router.db_for_read(self.model)].cursor() as cursor:
            cursor.execute(self.sql, parameters)
            return list(map(self.row._make, cursor.fetchall()))


_compiled: dict[Hashable, CompiledQuery | None] = {}


def fetch(key: Hashable, build: Callable[[], QuerySet], values: tuple) -> list:
    """Return the named rows of `build()`, compiling its SQL only the first time `key` is seen.

    `build()` must return a `values_list(..., named=True)` queryset that depends on nothing but
    `key` and `values`; each value must be an object the ORM passes to the database unchanged
    (a UUID, an aware datetime), so that it is found among the parameters by identity.
    """
    if key not in _compiled:
        queryset = build()
        _compiled[key] = compile_queryset(queryset, values)
        if _compiled[key] is None:
            return list(queryset)
    compiled = _compiled[key]
    return list(build()) if compiled is None else compiled.run(values)


def compile_queryset(queryset: QuerySet, values: tuple) -> CompiledQuery | None:
    """Return the queryset's SQL with the positions of `values`, or None if it cannot be reused."""
    if queryset._iterable_class is not NamedValuesListIterable or not queryset._fields:
        return None
    compiler = queryset.query.get_compiler(queryset.db)
    try:
        sql, parameters = compiler.as_sql()
    except (EmptyResultSet, FullResultSet):
        return None
    if compiler.get_converters([column for column, _, _ in compiler.select]):
        return None  # rows need Python-side conversion: leave them to the ORM
    positions = tuple(
        next((i for i, value in enumerate(values) if parameter is value), None)
        for parameter in parameters
    )
    if set(positions) - {None} != set(range(len(values))):
        return None  # a value was copied or converted on its way: it cannot be found again
    constants = tuple(
        None if position is not None else parameter
        for position, parameter in zip(positions, parameters, strict=True)
    )
    return CompiledQuery(
        queryset.model, sql, constants, positions, create_namedtuple_class(*queryset._fields)
    )
