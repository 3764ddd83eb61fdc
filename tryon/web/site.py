"""Static pages and files: the demo store and the widget's assets."""

from __future__ import annotations

from flask import Blueprint, redirect, send_from_directory, url_for

from tryon.config import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static"
site = Blueprint("site", __name__)


@site.get("/")
def index():
    return redirect(url_for("site.static_file", filename="demo.html"))


@site.get("/static/<path:filename>")
def static_file(filename: str):
    return send_from_directory(STATIC_DIR, filename)
