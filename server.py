"""Entry point of the web service.

Production: `scripts/serve.sh` (runs `tryon prepare`, then gunicorn on `tryon.web:create_app()`).
Development: `tryon prepare` once, then `python server.py`.
"""

from tryon.web import create_app

__all__ = ["create_app"]

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=8000, debug=False)
