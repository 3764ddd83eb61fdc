"""Pages and files: the demo store, the embeddable try-on page, the dashboard, static files."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, make_response, redirect, render_template, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue

from tryon.config import package_data
from tryon.errors import UnknownProductError
from tryon.web.public import frame_ancestors
from tryon.web.services import DEMO_MERCHANT, services

STATIC_DIR = package_data("static")  # inside an installed wheel, or the checkout's static/
site = Blueprint("site", __name__, template_folder="templates")


@site.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("site.static_file", filename="demo.html"))


@site.get("/dashboard")
def dashboard() -> ResponseReturnValue:
    """The merchant dashboard (signs in with an API key)."""
    return send_from_directory(STATIC_DIR, "dashboard.html")


@site.get("/static/<path:filename>")
def static_file(filename: str) -> ResponseReturnValue:
    return send_from_directory(STATIC_DIR, filename)


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
    token = services().tokens.issue(merchant)  # this page view is one try-on session (analytics)
    html = render_template("embed.html", sku=sku, merchant=merchant, host_origin=host_origin, session=token)
    response = make_response(html)
    response.headers["Permissions-Policy"] = "camera=(self)"
    response.headers["Content-Security-Policy"] = frame_ancestors(catalog)
    response.headers["Cache-Control"] = "no-store"
    return response
