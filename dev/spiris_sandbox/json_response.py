"""JSON responses the way Spiris writes them: UTF-8 without escaping å/ä/ö, compact, PascalCase as given."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ApiJSONResponse(Response):
    """`application/json; charset=utf-8` with non-ASCII kept as UTF-8."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return encode_json(content)
