"""Keyset ("cursor") pagination on (created_at, id), newest first.

Each page is one index range scan whatever its depth: no OFFSET, no COUNT(*). Ties on
created_at (rows written in one transaction share now()) are broken by id, so a walk through
the pages returns every row exactly once even while new rows arrive at the top.
"""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from api import compiled_queries

MAX_CURSOR_CHARS = 200  # ours are about 110


@dataclass(frozen=True)
class Cursor:
    """A position between two rows; `backwards` walks towards newer rows."""

    created_at: datetime
    id: uuid.UUID
    backwards: bool = False

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id), int(self.backwards)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> "Cursor":
        invalid = ValidationError({"cursor": ["Invalid cursor."]}, code="invalid_cursor")
        if len(value) > MAX_CURSOR_CHARS:
            raise invalid
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            created_at, row_id, backwards = json.loads(raw)
            moment = datetime.fromisoformat(created_at)
            # Cursors are written in UTC; any other offset means a forged one (and an offset
            # beyond ±15:59 would reach Postgres as an error).
            if moment.utcoffset() != timedelta(0):
                raise invalid
            return cls(moment, uuid.UUID(row_id), bool(backwards))
        except (
            ValueError,
            TypeError,
            AttributeError,
            OverflowError,
            RecursionError,
            binascii.Error,
            UnicodeDecodeError,
        ) as exc:
            raise invalid from exc


class KeysetPagination(BasePagination):
    """Return `{"next": url|null, "previous": url|null, "results": [...]}`, newest first."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size = 20
    max_page_size = 100

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list:
        self.request = request
        self.limit = self._page_size(request)
        raw_cursor = request.query_params.get(self.cursor_query_param)
        cursor = Cursor.decode(raw_cursor) if raw_cursor else None
        rows = self._fetch(queryset, cursor, getattr(view, "query_shape", None))
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        if cursor is not None and cursor.backwards:
            rows.reverse()
            has_newer, has_older = more, True
        else:
            has_newer, has_older = cursor is not None, more
        self.next_cursor = self._cursor_after(rows[-1]) if has_older and rows else None
        self.previous_cursor = self._cursor_before(rows[0]) if has_newer and rows else None
        return rows

    def _fetch(self, queryset: QuerySet, cursor: Cursor | None, shape: tuple | None) -> list:
        """Return up to limit + 1 rows past the cursor.

        `shape` is the view's (key, values) for a queryset built only from those values; its
        pages then run from SQL compiled once (api/compiled_queries.py).
        """
        if cursor is None:
            direction, values = "first", ()

            def build():
                return queryset.order_by("-created_at", "-id")[: self.limit + 1]

        elif not cursor.backwards:
            direction, values = "older", (cursor.created_at, cursor.id)

            def build():
                older = Q(created_at__lte=cursor.created_at) & (
                    Q(created_at__lt=cursor.created_at) | Q(id__lt=cursor.id)
                )
                return queryset.filter(older).order_by("-created_at", "-id")[: self.limit + 1]

        else:
            direction, values = "newer", (cursor.created_at, cursor.id)

            def build():
                newer = Q(created_at__gte=cursor.created_at) & (
                    Q(created_at__gt=cursor.created_at) | Q(id__gt=cursor.id)
                )
                return queryset.filter(newer).order_by("created_at", "id")[: self.limit + 1]

        if shape is None:
            return list(build())
        key, base_values = shape
        return compiled_queries.fetch((key, direction, self.limit), build, base_values + values)

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "next": self._link(self.next_cursor),
                "previous": self._link(self.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Opaque position from a previous page's `next` or `previous`.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": (
                    f"Rows per page (default {self.page_size}; above {self.max_page_size} "
                    f"gives {self.max_page_size})."
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
        ]

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: ["Must be a positive integer."]})
        return min(size, self.max_page_size)  # DRF's convention: larger asks get the maximum

    @staticmethod
    def _cursor_after(row) -> str:
        return Cursor(row.created_at, row.id).encode()

    @staticmethod
    def _cursor_before(row) -> str:
        return Cursor(row.created_at, row.id, backwards=True).encode()

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)
