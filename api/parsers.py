"""The API's JSON parser: DRF's, refusing bodies nested deeper than any endpoint reads."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """Parse strict JSON (no NaN, UTF-8 checked, as DRF does) at most `max_depth` levels deep.

    The standard library's decoder recurses once per level and raises RecursionError, which
    no DRF code catches, near Python's recursion limit (1000 frames, less the request's own);
    a document a little shallower parses but then breaks whatever walks it (repr() in a
    validation message, json.dumps). Every body of this API is a flat object, so a small
    limit costs nothing and keeps every walk far from that limit.
    """

    max_depth = 32

    def parse(self, stream, media_type=None, parser_context=None):
        """Return the parsed body; raise ParseError (a 400) for anything nested too deeply."""
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise self._too_deep() from exc
        if nesting_exceeds(data, self.max_depth):
            raise self._too_deep()
        return data

    def _too_deep(self) -> ParseError:
        return ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels.")


def nesting_exceeds(value: object, limit: int) -> bool:
    """Return whether arrays and objects in value nest more than limit levels.

    Level by level, without recursion; exact type checks keep it a few times cheaper than a
    generic walk on bodies made of many small containers (docs/reliability.md).
    """
    level = [value] if type(value) in (dict, list) else []
    for _ in range(limit):
        deeper = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                if type(child) is list or type(child) is dict:
                    deeper.append(child)
        if not deeper:
            return False
        level = deeper
    return True  # containers `limit + 1` levels down
