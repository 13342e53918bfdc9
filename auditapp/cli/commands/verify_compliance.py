"""What ``auditapp verify`` does for signatures and for compliance records (schema ``auditapp.ll144/1``).

Any record may carry an Ed25519 signature (``--sign KEY``): it is checked first, against the key given
with ``--public-key`` when there is one. An LL144 record is recomputed from the data with its own columns,
mapping and choices and compared field by field, as audit records are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditapp.core.errors import AuditInputError

COMPLIANCE_SCHEMAS = ("auditapp.ll144/1",)


def read_json(path: str | Path) -> Any:
    """The record file as JSON (an AuditInputError names the file when it is not)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AuditInputError(f"The record '{Path(path).name}' is not valid JSON ({exc.msg} at line {exc.lineno}).") from exc
    except UnicodeDecodeError as exc:
        raise AuditInputError(f"The record '{Path(path).name}' is not UTF-8 text.") from exc


def is_compliance_record(path: str | Path) -> bool:
    record = read_json(path)
    return isinstance(record, dict) and record.get("schema") in COMPLIANCE_SCHEMAS


def check_record_signature(record: dict[str, Any], public_key_path: str | None) -> bool:
    """Print the signature's status; False when it is invalid, missing though a key was given, or untrusted."""
    from auditapp.compliance.signing import check_signature, load_public_key

    expected = load_public_key(public_key_path) if public_key_path else None
    check = check_signature(record, expected)
    if not check.present and expected is None:
        return True  # an unsigned record, and no signature asked for
    print(check.message)
    if not check.present:
        return False
    return check.valid and check.trusted is not False


def verify_compliance_record(args) -> int:
    """Check the signature, recompute the LL144 record from the data, print differences; 0 same, 1 not."""
    from auditapp.compliance.ll144_outputs import reproduce_ll144
    from auditapp.inputs.intake import read_table
    from auditapp.reporting.outputs import dataset_info
    from auditapp.reporting.record_compare import MAX_SHOWN, compare_records

    record = read_json(args.record)
    signature_ok = check_record_signature(record, getattr(args, "public_key", None))
    dataset = read_table(args.data, missing_values=args.missing_values)
    differences = []
    recorded = (record.get("dataset") or {}).get("sha256")
    if recorded and recorded != dataset.sha256:
        differences.append(f"The dataset is not the one recorded: sha256 {dataset.sha256} instead of {recorded}.")
    try:
        fresh = reproduce_ll144(record, dataset.frame, dataset=dataset_info(dataset))
    except AuditInputError as exc:
        if not differences:
            raise
        differences.append(f"The audit could not be recomputed on these inputs: {exc}")
        fresh = None
    if fresh is not None:
        differences += [line for line in compare_records(record, fresh) if not line.startswith("dataset.sha256:")]
    if not differences and signature_ok:
        print("Verified: the dataset, the choices and every number match the record.")
        return 0
    if not differences:
        print("The numbers match the data, but the signature check failed.")
        return 1
    print(f"The record does NOT match: {len(differences)} difference(s).")
    for line in differences[:MAX_SHOWN]:
        print(f"  {line}")
    if len(differences) > MAX_SHOWN:
        print(f"  ... and {len(differences) - MAX_SHOWN} more.")
    return 1
