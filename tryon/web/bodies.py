"""Request bodies read defensively: a malformed body is the client's 400, never a 500.

`json.loads` of deeply nested input raises RecursionError, not a decoding error, so both are
caught; the size is bounded by the app's MAX_CONTENT_LENGTH before anything is parsed.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from tryon.web.errors import ApiError

FLAGS = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "off": False, "no": False}


def json_object(*, force: bool = False) -> dict[str, Any]:
    """The body as a JSON object; ApiError 400 `bad_json` for anything else (force: whatever the content type)."""
    if not force and not request.is_json:
        raise ApiError(400, "bad_json", "send a JSON object (Content-Type: application/json)")
    try:
        data = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_json", "the body is not JSON, or nested too deeply") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "send a JSON object")
    return data


def form_flag(name: str) -> bool:
    """A yes/no form field ("true"/"false", "1"/"0", "on"/"off", "yes"/"no"; absent is no); 400 otherwise."""
    value = request.form.get(name)
    if value is None or value == "":
        return False
    if value.lower() not in FLAGS:
        raise ApiError(400, "bad_form", f"'{name}' must be true or false")
    return FLAGS[value.lower()]
