"""Try-on session tokens: what makes a widget event countable.

The embed page hands each try-on session a token signed with the service's secret key: a random
session id and the merchant it was issued for. The widget sends it with its events and its live
stream, and the analytics count each event at most once per session and product. A forged or
altered token, one for another merchant, or one older than SESSION_MAX_AGE_S is refused, so counts
can only grow as fast as sessions are started, and those are rate-limited per address.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from itsdangerous import BadData, URLSafeTimedSerializer

from tryon.errors import InvalidSessionError
from tryon.store.analytics import SESSION_MAX_AGE_S

_SALT = "tryon-session"


def local_secret(data_dir: Path) -> str:
    """The signing key kept in `data_dir` (made on first use, readable by this user only).

    Several processes start at once (a worker per core): the key is written whole to a file of its
    own, then linked into place, so the one that loses the race reads the winner's key, never a
    half-written file.
    """
    path = data_dir / "secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        descriptor, draft = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(32))
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return path.read_text().strip()


class SessionTokens:
    """Issues and checks session tokens with one secret key."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def issue(self, merchant: str) -> str:
        """A new session's token for `merchant`."""
        return self._serializer.dumps({"s": secrets.token_hex(16), "m": merchant})

    def session_id(self, token: object, merchant: str) -> str:
        """The session id a token carries; InvalidSessionError unless it is genuine, fresh and for `merchant`."""
        if not isinstance(token, str) or not token:
            raise InvalidSessionError("send the try-on session's token ('session') with the event")
        try:
            data = self._serializer.loads(token, max_age=SESSION_MAX_AGE_S)
        except BadData:
            raise InvalidSessionError("the session token is not valid (forged, altered or expired)") from None
        if not isinstance(data, dict) or data.get("m") != merchant or not isinstance(data.get("s"), str):
            raise InvalidSessionError("the session token was issued for another merchant")
        return data["s"]
