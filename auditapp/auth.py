"""Optional login for hosted use: HTTP basic authentication in front of every page and route.

Configure one user with ``AUDITAPP_BASIC_AUTH="user:password"``, or several with
``AUDITAPP_USERS_FILE`` (one ``user:password`` or ``user:pbkdf2:<iterations>:<salt>:<hash>`` line
each; ``python -m auditapp.auth USER`` prints a hashed line). Serve over HTTPS: basic authentication
sends the password with every request. Without either variable the app is open (the laptop default).
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import secrets
import sys
from pathlib import Path

from auditapp.errors import AuditInputError

_ITERATIONS = 200_000


def hash_password(password: str, *, salt: str | None = None, iterations: int = _ITERATIONS) -> str:
    """A ``pbkdf2:<iterations>:<salt>:<hex>`` string for a users file."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2:{iterations}:{salt}:{digest}"


def _matches(stored: str, password: str) -> bool:
    if stored.startswith("pbkdf2:"):
        try:
            _, iterations, salt, _digest = stored.split(":")
            expected = hash_password(password, salt=salt, iterations=int(iterations))
        except ValueError:
            return False
        return hmac.compare_digest(expected.encode(), stored.encode())
    return hmac.compare_digest(stored.encode(), password.encode())


def load_users(*, basic_auth: str | None = None, users_file: str | None = None) -> dict[str, str]:
    """User name → stored password (plain or pbkdf2) from the settings; empty when login is off.

    Raises
    ------
    AuditInputError
        If ``basic_auth`` has no ``:``, or the users file is missing or has a line without ``:``.
    """
    users: dict[str, str] = {}
    if basic_auth:
        user, sep, password = basic_auth.partition(":")
        if not sep or not user or not password:
            raise AuditInputError("AUDITAPP_BASIC_AUTH must look like 'user:password', but has no user, "
                                  "':' or password. Set it like that, or unset it to turn login off.")
        users[user] = password
    if users_file:
        path = Path(users_file)
        if not path.is_file():
            raise AuditInputError(f"AUDITAPP_USERS_FILE points to {users_file!r}, which is not a file. "
                                  "Create it (one 'user:password' line per user) or unset the variable.")
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, sep, stored = line.strip().partition(":")
            if not sep or not user or not stored:
                raise AuditInputError(f"Line {number} of {users_file} is not 'user:password'. Fix or delete it.")
            users[user] = stored
    return users


def check(users: dict[str, str], header: str | None) -> str | None:
    """The user name if the ``Authorization`` header holds valid basic credentials, else None."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, sep, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    stored = users.get(user)
    if not sep or stored is None:
        _matches("pbkdf2:1:x:0", password)  # spend similar time for unknown users
        return None
    return user if _matches(stored, password) else None


def install(server, users: dict[str, str]) -> None:
    """Ask every request to ``server`` (a Flask app) for one of ``users``' credentials."""
    if not users:
        return
    from flask import Response, request

    @server.before_request
    def _require_login():
        if check(users, request.headers.get("Authorization")) is None:
            return Response("Log in to use auditapp.", 401, {"WWW-Authenticate": 'Basic realm="auditapp"'})
        return None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m auditapp.auth USER   (prints a users-file line)")
    print(f"{sys.argv[1]}:{hash_password(getpass.getpass('Password: '))}")
