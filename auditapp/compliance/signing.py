"""Ed25519 signatures on JSON records (``auditapp keygen``, ``--sign KEY``, checked by ``auditapp verify``).

The signed bytes are the record in canonical JSON (keys sorted, no spaces, UTF-8, no NaN), with the
``signature`` block included except its ``value``: so the signer's public key, its fingerprint and the
signing time are signed too. A record whose every byte of content is unchanged verifies; a changed
number, an added or removed field, or a swapped public key does not.

A signature proves who signed only against a public key obtained independently (``verify --public-key``):
the key embedded in the record proves only that the record was not changed since that key signed it.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditapp.core.errors import AuditInputError

if TYPE_CHECKING:  # cryptography is imported only when a record is signed or checked
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

ALGORITHM = "Ed25519"


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes a signature covers: canonical JSON of the record, the signature's ``value`` left out."""
    content = dict(record)
    if isinstance(content.get("signature"), dict):
        content["signature"] = {k: v for k, v in content["signature"].items() if k != "value"}
    try:
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise AuditInputError(f"The record cannot be signed: {exc}.") from exc
    return text.encode("utf-8")


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """sha256 of the raw 32-byte public key, hex."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()


def generate_keys(private_path: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[Path, Path, str]:
    """Write a new Ed25519 private key (PEM, mode 0600) and its public key (``<path>.pub``).

    Returns ``(private path, public path, fingerprint)``.

    Raises
    ------
    AuditInputError
        If a key file exists already and ``overwrite`` is False.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Path(private_path)
    public = private.with_name(private.name + ".pub")
    for path in (private, public):
        if path.exists() and not overwrite:
            raise AuditInputError(f"'{path}' exists already; choose another name, or pass --force to replace it "
                                  "(records signed with the old key will no longer match the new public key).")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.chmod(private, 0o600)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public, fingerprint(key.public_key())


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Read an Ed25519 private key written by ``auditapp keygen`` (PEM, unencrypted)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise AuditInputError(f"'{Path(path).name}' is not an unencrypted PEM private key ({exc}). Create one "
                              "with `auditapp keygen KEYFILE`.") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditInputError(f"'{Path(path).name}' is not an Ed25519 key; create one with `auditapp keygen`.")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Read an Ed25519 public key (PEM, as ``auditapp keygen`` writes ``<key>.pub``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (ValueError, TypeError) as exc:
        raise AuditInputError(f"'{Path(path).name}' is not a PEM public key ({exc}).") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditInputError(f"'{Path(path).name}' is not an Ed25519 public key.")
    return key


def sign_record(record: dict[str, Any], private_key: Ed25519PrivateKey, *, signed_at: str | None = None) -> dict[str, Any]:
    """A copy of ``record`` with a ``signature`` block (any old signature replaced)."""
    content = {k: v for k, v in record.items() if k != "signature"}
    public = private_key.public_key()
    content["signature"] = {
        "algorithm": ALGORITHM,
        "public_key": base64.b64encode(_raw_public(public)).decode("ascii"),
        "key_fingerprint": fingerprint(public),
        "signed_at": signed_at or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    content["signature"]["value"] = base64.b64encode(private_key.sign(canonical_bytes(content))).decode("ascii")
    return content


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking a record's signature.

    ``valid``: the content is what the embedded key signed. ``trusted``: that key is the expected one
    (None when no expected key was given).
    """

    present: bool
    valid: bool
    trusted: bool | None
    fingerprint: str | None
    message: str


def check_signature(record: dict[str, Any], expected_public_key: Ed25519PublicKey | None = None) -> SignatureCheck:
    """Check the record's signature (and, given ``expected_public_key``, that this key made it)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    block = record.get("signature")
    if block is None:
        message = "The record is not signed."
        if expected_public_key is not None:
            message += " A public key was given, so a signature was expected."
        return SignatureCheck(False, False, None if expected_public_key is None else False, None, message)
    try:
        if not isinstance(block, dict) or block.get("algorithm") != ALGORITHM:
            raise ValueError(f"algorithm {block.get('algorithm') if isinstance(block, dict) else None!r}")
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(block["public_key"], validate=True))
        signature = base64.b64decode(block["value"], validate=True)
    except (KeyError, ValueError, TypeError) as exc:
        return SignatureCheck(True, False, None, None, f"The signature block is malformed ({exc}).")
    print_ = fingerprint(public)
    try:
        public.verify(signature, canonical_bytes(record))
        valid = block.get("key_fingerprint") == print_
    except InvalidSignature:
        valid = False
    expected = None if expected_public_key is None else fingerprint(expected_public_key)
    trusted = None if expected is None else print_ == expected
    if not valid:
        message = ("The signature does NOT match: the record was changed after it was signed (or the signature "
                   "was altered).")
    elif trusted is False:
        message = (f"The signature is valid but was made with key {print_[:16]}…, not the public key given "
                   f"({(expected or '')[:16]}…).")
    elif trusted:
        message = f"Signature valid, made by the expected key {print_[:16]}… on {block.get('signed_at')}."
    else:
        message = (f"Signature valid for the key embedded in the record ({print_[:16]}…, signed "
                   f"{block.get('signed_at')}); pass --public-key to check who signed.")
    return SignatureCheck(True, valid, trusted, print_, message)
