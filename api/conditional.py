"""ETags and If-Match: optimistic concurrency, so concurrent edits never overwrite each other.

A resource's ETag is a hash of its JSON representation. A client sends the ETag it read as
`If-Match` with PUT, PATCH or DELETE; when the row changed meanwhile the write is refused with
412 (RFC 9110 §13.1.1) instead of silently replacing someone else's edit. The views compare
and write inside one transaction with the row locked, so two writers holding the same ETag
cannot both pass.
"""

import hashlib
import json

from django.utils.http import parse_etags, quote_etag
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


def etag_for(representation: dict) -> str:
    """Return a strong ETag for a JSON representation."""
    digest = hashlib.sha256(
        json.dumps(representation, sort_keys=True, default=str).encode()
    ).hexdigest()
    return quote_etag(digest[:32])


def with_etag(response: Response) -> Response:
    """Return the response with the ETag of the representation it carries."""
    response["ETag"] = etag_for(response.data)
    return response


def check_if_match(request: Request, current_etag: str) -> None:
    """Raise PreconditionFailed unless If-Match is absent, `*`, or lists the current ETag.

    Parsed as Django's own conditional views parse it. The comparison is strong (RFC 9110
    §13.1.1): a weak `W/"..."` tag never matches, and `*` counts only alone (`If-Match = "*" /
    #entity-tag`), so a malformed header fails closed instead of matching anything.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return
    etags = parse_etags(header)
    if etags != ["*"] and current_etag not in etags:
        raise PreconditionFailed()
