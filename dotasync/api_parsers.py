"""The API's request parser: JSON, with a body nested too deep for Python's decoder a 400.

Its own module, free of our models: DRF imports it while reading its settings.
"""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; json.loads raises RecursionError, not ValueError, past ~1000 levels."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
