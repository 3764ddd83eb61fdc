"""What the service tells a store about a try-on session: the glasses that fit the shopper.

The store's page has the session token its embed was given (the widget posts it to the page with
its events); with it, the store asks which of its glasses fit, to list those first. The answer is
product ids and the ideal front width: no image, no measurement of the face.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tryon.store.session_fits import fitting_glasses
from tryon.web.public import merchant_slug, public_catalog
from tryon.web.services import services

advice = Blueprint("advice", __name__)


@advice.get("/sessions/fitting")
def session_fitting() -> ResponseReturnValue:
    """GET ?merchant=m&session=<token>: {"measured": bool, "fitting": [sku, ...] best first,
    "ideal_glasses_width_mm": number or null}."""
    slug = merchant_slug()
    public_catalog(slug)  # the origin check
    shared = services()
    session_id = shared.tokens.session_id(request.args.get("session"), slug)
    found = fitting_glasses(shared.db, slug, session_id)
    response = jsonify(
        measured=found is not None,
        fitting=list(found.fitting) if found else [],
        ideal_glasses_width_mm=found.ideal_width_mm if found else None,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
