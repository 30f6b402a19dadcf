"""Signed, expiring tokens for links in mail (verify an address, reset a password, confirm or
manage a subscription), made with itsdangerous from the site's secret key."""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from paperwire.errors import ConfigError
from paperwire.settings import Settings


class InvalidToken(Exception):
    """A link's token is forged, altered, for another purpose, or expired (``expired``)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def secret_key(settings: Settings) -> str:
    """PAPERWIRE_SECRET_KEY, else the key kept in ``secret.key`` in the home (made on first
    use, readable by its owner only), so links survive restarts without any set-up."""
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ConfigError("PAPERWIRE_SECRET_KEY must be at least 32 characters")
        return settings.secret_key
    return _home_key(Path(settings.home).resolve())


@functools.cache
def _home_key(home: Path) -> str:
    # Read once per process: every request signs its CSRF token with it.
    path = home / "secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when two processes start together, one writes and the other reads its key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


class Signer:
    """Makes and checks tokens for one purpose (the salt): a password-reset token is not a
    valid address-verification token."""

    def __init__(self, settings: Settings, purpose: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key(settings), salt=purpose)
        self.purpose = purpose

    def sign(self, payload: Any) -> str:
        return self._serializer.dumps(payload)

    def unsign(self, token: str, max_age_s: int) -> Any:
        try:
            return self._serializer.loads(token, max_age=max_age_s)
        except SignatureExpired:
            raise InvalidToken("this link has expired", expired=True) from None
        except BadSignature:
            raise InvalidToken("this link is not valid") from None
