"""EU AI Act evidence: missing values by group by hand, and what each item says present or missing."""

import numpy as np
import pandas as pd

from auditapp.compliance.eu_ai_act import eu_ai_act_evidence, evidence_section, missing_by_group
from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from auditapp.reporting.record import audit_record


def test_missing_by_group_by_hand():
    frame = pd.DataFrame({"sex": ["F", "F", "M", None], "income": [1.0, None, None, None], "age": [1, 2, 3, 4]})
    table = missing_by_group(frame, ["sex"])
    assert table.loc[("sex", "F"), "income"] == 0.5 and table.loc[("sex", "M"), "income"] == 1.0
    assert table.loc[("sex", "(missing)"), "sex"] == 1.0 and table.loc[("sex", "F"), "age"] == 0.0


def test_evidence_items_follow_the_record():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], 300), "y": rng.integers(0, 2, 300),
                          "pred": rng.integers(0, 2, 300)})
    audit = run_audit(frame, AuditSpec(target="y", sensitive=("sex",), prediction="pred"))
    record = audit_record(audit, dataset={"name": "d<1>.csv", "sha256": "ab" * 32, "rows": 300, "columns": ["sex"]})
    evidence = eu_ai_act_evidence(record, frame=frame)
    status = {(i.article, i.requirement.split(":")[0]): i.status for i in evidence.items}
    assert status[("Art. 15(4)", "Feedback loops in systems that keep learning after deployment")] == "missing"
    assert status[("Annex IV 2(g)", "Test reports dated and signed")] == "partial"
    assert all(i.status == "present" for i in evidence.items if i.article.startswith(("Art. 10", "Art. 15(1)")))
    with_loop = eu_ai_act_evidence(dict(record, signature={"algorithm": "Ed25519", "key_fingerprint": "f" * 64,
                                                           "signed_at": "t"}), feedback=["lending: gap grew"])
    assert {i.status for i in with_loop.items if i.article in ("Art. 15(4)",)} == {"present"}
    html = evidence_section(evidence)
    assert "d&lt;1&gt;.csv" in html and "d<1>" not in html
