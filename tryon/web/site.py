"""Pages and files: the demo store, the embeddable try-on page, the widget's static files."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, abort, make_response, redirect, render_template, request, send_from_directory, url_for

from tryon.config import PROJECT_ROOT
from tryon.web.services import services

STATIC_DIR = PROJECT_ROOT / "static"
site = Blueprint("site", __name__, template_folder="templates")


@site.get("/")
def index():
    return redirect(url_for("site.static_file", filename="demo.html"))


@site.get("/static/<path:filename>")
def static_file(filename: str):
    return send_from_directory(STATIC_DIR, filename)


@site.get("/product-images/<path:filename>")
def product_image(filename: str):
    """Product pictures for catalogue pages (the glasses' front images)."""
    return send_from_directory(services().settings.assets_dir, filename)


@site.get("/embed/<product_id>")
def embed(product_id: str):
    """The try-on page a product page shows in an iframe (via static/tryon.js or directly)."""
    if product_id not in services().catalog.ids():
        abort(404, description=f"unknown product {product_id!r}")
    host = request.args.get("host", "")
    host_origin = host if urlparse(host).scheme in ("http", "https") else "*"
    response = make_response(render_template("embed.html", product=product_id, host_origin=host_origin))
    response.headers["Permissions-Policy"] = "camera=(self)"
    response.headers["Content-Security-Policy"] = "frame-ancestors *"
    response.headers["Cache-Control"] = "no-store"
    return response
