"""Compliance packs: each a tested implementation of a rule's own computations.

- :mod:`~auditapp.compliance.ll144`: NYC Local Law 144 bias audits (6 RCNY §5-301);
- :mod:`~auditapp.compliance.uniform_guidelines`: adverse impact under 29 CFR 1607.4(D), with Fisher's
  exact test, the two-standard-deviation test, the flip test and the shortfall;
- :mod:`~auditapp.compliance.fair_lending`: adverse impact ratios, standardized mean differences and
  segmented ratios as practised under ECOA / Regulation B;
- :mod:`~auditapp.compliance.bisg` and :mod:`~auditapp.compliance.weighted`: race and ethnicity estimated
  from surname and geography (BISG / BIFSG) and audits with probabilistic group membership;
- :mod:`~auditapp.compliance.eu_ai_act` and :mod:`~auditapp.compliance.signing`: evidence for the EU AI
  Act (Art. 10, Art. 15, Annex IV 2(g)) and Ed25519-signed records.

Pure functions returning frozen dataclasses; nothing here takes a store, a session or page state.
"""
