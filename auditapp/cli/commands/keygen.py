"""``auditapp keygen KEYFILE``: a new Ed25519 key pair for signing records (``--sign KEYFILE``)."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``keygen`` sub-command."""
    parser = subparsers.add_parser(
        "keygen", help="create an Ed25519 key pair for signing audit records",
        description="Write a new Ed25519 private key to KEYFILE (PEM, readable by its owner only) and its "
                    "public key to KEYFILE.pub. Sign records with --sign KEYFILE; give KEYFILE.pub to whoever "
                    "checks them (auditapp verify --public-key KEYFILE.pub).")
    parser.add_argument("keyfile", metavar="KEYFILE", help="where to write the private key")
    parser.add_argument("--force", action="store_true", help="replace existing key files")
    parser.set_defaults(func=run)


def run(args) -> int:
    from auditapp.compliance.signing import generate_keys

    private, public, fingerprint = generate_keys(args.keyfile, overwrite=args.force)
    print(f"Wrote the private key {private} (keep it secret) and the public key {public}.")
    print(f"Key fingerprint (sha256): {fingerprint}")
    return 0
