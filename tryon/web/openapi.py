"""The OpenAPI 3.1 description of the API, built from the app's own routes and data models, so it
cannot drift from what is served: GET /api/v1/openapi.json."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import TypeAdapter

from tryon import __version__
from tryon.glasses import GlassesSpec
from tryon.makeup.spec import MakeupSpec

openapi = Blueprint("openapi", __name__)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}
    },
}
PRODUCT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["sku", "kind"],
    "properties": {
        "sku": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
        "name": {"type": "string"},
        "kind": {"type": "string", "description": "glasses, a makeup type, or look"},
        "spec": {"description": "GlassesSpec, MakeupSpec, or {products: [sku]} for a look"},
        "published": {"type": "boolean"},
    },
}


def build_spec() -> dict[str, Any]:
    """The OpenAPI document for the current app."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint.startswith("openapi."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        view = current_app.view_functions[rule.endpoint]
        doc = (view.__doc__ or rule.endpoint).strip()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": doc.splitlines()[0],
                "description": doc,
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in rule.arguments
                ],
                "responses": {
                    "200": {"description": "success"},
                    "4XX": {"description": "client error", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
                },
            }
            if rule.rule.startswith("/api/v1/merchant"):
                operation["security"] = [{"apiKey": []}]
                operation["responses"]["401"] = {"description": "missing or invalid API key"}
            if rule.endpoint == "merchant_api.create_product":
                operation["requestBody"] = {
                    "content": {
                        "application/json": {"schema": PRODUCT_SCHEMA},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    **PRODUCT_SCHEMA["properties"],
                                    "spec": {"type": "string", "description": "GlassesSpec JSON"},
                                    "front": {"type": "string", "format": "binary"},
                                    "temple": {"type": "string", "format": "binary"},
                                },
                            }
                        },
                    }
                }
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tryon",
            "version": __version__,
            "description": "Virtual try-on of glasses and makeup: shopper-facing rendering and the "
            "merchant catalogue API.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "GlassesSpec": GlassesSpec.model_json_schema(),
                "MakeupSpec": TypeAdapter(MakeupSpec).json_schema(),
                "Error": ERROR_SCHEMA,
            },
        },
    }


@openapi.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """This document."""
    return jsonify(build_spec())
