"""Pages and files: the demo store, the embeddable try-on page, the dashboard, static files."""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import urlparse

from flask import Blueprint, make_response, redirect, render_template, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue

from tryon.config import package_data
from tryon.errors import UnknownProductError
from tryon.web.embedding import note_origin
from tryon.web.public import frame_ancestors
from tryon.web.services import DEMO_MERCHANT, services

STATIC_DIR = package_data("static")  # inside an installed wheel, or the checkout's static/
site = Blueprint("site", __name__, template_folder="templates")

# The shopper-facing languages (static/i18n/<code>.json) and the tags that name them.
LANGUAGES = {"nb": "nb", "no": "nb", "nn": "nb", "en": "en"}
DEFAULT_LANGUAGE = "en"


@site.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("site.static_file", filename="demo.html"))


@site.get("/dashboard")
def dashboard() -> ResponseReturnValue:
    """The merchant dashboard (signs in with an API key)."""
    return send_from_directory(STATIC_DIR, "dashboard.html")


@site.get("/static/<path:filename>")
def static_file(filename: str) -> ResponseReturnValue:
    response = send_from_directory(STATIC_DIR, filename)
    if filename.startswith("i18n/"):  # the loader reads its words from the store's own page
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def page_language() -> str:
    """The embed page's language: `lang` in the query (the loader passes the store page's), else the
    browser's preference, else English."""
    asked = request.args.get("lang", "").lower().replace("_", "-").split("-")[0]
    if asked in LANGUAGES:
        return LANGUAGES[asked]
    preferred = request.accept_languages.best_match(list(LANGUAGES))
    return LANGUAGES.get(preferred or "", DEFAULT_LANGUAGE)


@cache
def messages(language: str) -> dict[str, str]:
    """A language's shopper-facing strings (read once per process)."""
    return json.loads((STATIC_DIR / "i18n" / f"{language}.json").read_text(encoding="utf-8"))


@site.get("/embed/<sku>")
@site.get("/embed/<merchant>/<sku>")
def embed(sku: str, merchant: str = DEMO_MERCHANT) -> ResponseReturnValue:
    """The try-on page a product page shows in an iframe (via static/tryon.js or directly).

    Only a published product is served, and only inside pages of the merchant's allowed origins.
    """
    catalog = services().catalog(merchant)  # UnknownMerchantError: a 404 unknown_merchant
    if sku not in catalog.skus():
        raise UnknownProductError(f"unknown product {sku!r}")
    host = request.args.get("host", "")
    host_origin = host if urlparse(host).scheme in ("http", "https") else "*"
    if host_origin != "*":
        note_origin(catalog.merchant_id, host_origin)
    token = services().tokens.issue(merchant)  # this page view is one try-on session (analytics)
    language = page_language()
    html = render_template(
        "embed.html",
        sku=sku,
        merchant=merchant,
        host_origin=host_origin,
        session=token,
        lang=language,
        t=messages(language),
    )
    response = make_response(html)
    response.headers["Permissions-Policy"] = "camera=(self)"
    response.headers["Content-Security-Policy"] = frame_ancestors(catalog)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = language
    response.vary.add("Accept-Language")
    return response
