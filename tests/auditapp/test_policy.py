"""Policies: presets, validation messages, YAML/JSON round trips, loading by name or path."""

import json

import pytest

from auditapp.core.errors import AuditInputError
from auditapp.policy.criteria import (
    PRESETS,
    Criterion,
    Policy,
    dump_policy,
    load_policy,
    parse_policy,
    policy_from_dict,
    preset,
)


def _criterion(**changes):
    fields = {"metric": "selection_rate", "measure": "ratio", "scope": "vs_best", "at_least": 0.8}
    fields.update(changes)
    return fields


def test_four_fifths_preset_is_selection_rate_ratio_to_the_highest_group():
    (c,) = preset("four-fifths").criteria
    assert (c.metric, c.measure, c.scope, c.at_least, c.at_most, c.required) == (
        "selection_rate", "ratio", "vs_best", 0.8, None, True)


def test_ratio_band_preset_bounds_several_rates_between_0_8_and_1_25_against_the_reference():
    criteria = preset("ratio-band").criteria
    assert len(criteria) >= 4
    assert {(c.scope, c.measure, c.at_least, c.at_most) for c in criteria} == {("reference", "ratio", 0.8, 1.25)}
    assert len({c.metric for c in criteria}) == len(criteria)


def test_equalized_odds_preset_caps_tpr_and_fpr_gaps_at_0_1():
    criteria = preset("equalized-odds").criteria
    assert {(c.metric, c.scope, c.measure, c.at_most) for c in criteria} == {
        ("true_positive_rate", "spread", "difference", 0.1),
        ("false_positive_rate", "spread", "difference", 0.1)}


def test_every_preset_loads_by_name_and_strict_has_a_monitored_criterion():
    for name in PRESETS:
        assert load_policy(name).name == name
    assert any(not c.required for c in preset("strict").criteria)


def test_unknown_preset_is_rejected_with_the_list_of_presets():
    with pytest.raises(AuditInputError, match="no preset policy 'lenient'.*four-fifths"):
        preset("lenient")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_and_parse_round_trip(fmt):
    policy = preset("strict")
    assert parse_policy(dump_policy(policy, format=fmt), format=fmt) == policy


def test_a_criterion_without_name_gets_a_readable_one():
    assert Criterion(**_criterion()).name == "selection_rate ratio vs highest group"


def test_bounds_are_described_in_words():
    assert Criterion(**_criterion(at_most=1.25)).bound_text == "between 0.8 and 1.25"
    assert Criterion(**_criterion(at_least=None, at_most=2)).bound_text == "at most 2"


@pytest.mark.parametrize(("changes", "message"), [
    ({"metric": "happiness"}, "'metric' is 'happiness'; allowed values: selection_rate, base_rate"),
    ({"measure": "odds"}, "'measure' is 'odds'; allowed values: rate, difference, ratio"),
    ({"scope": "everyone"}, "'scope' is 'everyone'; allowed values: group, reference, vs_best, spread"),
    ({"groupings": "pairs"}, "'groupings' is 'pairs'; allowed values: all, single, intersections"),
    ({"measure": "rate"}, "measure 'rate' with scope 'vs_best'"),
    ({"at_least": None}, "has no bound. Give 'at_least', 'at_most' or both"),
    ({"at_least": "0.8"}, "'at_least' must be a finite number, got '0.8'"),
    ({"at_least": float("nan")}, "'at_least' must be a finite number"),
    ({"at_least": True}, "'at_least' must be a finite number"),
    ({"at_most": 0.5}, r"'at_least' \(0.8\) is above 'at_most' \(0.5\)"),
    ({"min_group_size": 0}, "'min_group_size' must be a whole number of at least 1, got 0"),
    ({"min_group_size": 2.5}, "'min_group_size' must be a whole number"),
    ({"required": "yes"}, "'required' must be true or false, got 'yes'"),
])
def test_invalid_criterion_fields_are_named_with_allowed_values(changes, message):
    with pytest.raises(AuditInputError, match=message):
        Criterion(**_criterion(**changes))


def test_policy_needs_a_name_and_criteria_and_unique_names():
    c = Criterion(**_criterion(name="x"))
    with pytest.raises(AuditInputError, match="needs a name"):
        Policy(name=" ", criteria=(c,))
    with pytest.raises(AuditInputError, match="has no criteria"):
        Policy(name="p", criteria=())
    with pytest.raises(AuditInputError, match="several criteria named 'x'"):
        Policy(name="p", criteria=(c, c))


def test_policy_from_dict_names_the_criterion_number_and_field():
    data = {"name": "gate", "criteria": [_criterion(name="ok"), _criterion(name="gap", scope="all")]}
    with pytest.raises(AuditInputError, match=r"Criterion 2 \('gap'\): 'scope' is 'all'; allowed values"):
        policy_from_dict(data)
    data = {"name": "gate", "criteria": [_criterion(measure="odds")]}
    with pytest.raises(AuditInputError, match="^Criterion 1: 'measure' is 'odds'"):
        policy_from_dict(data)


@pytest.mark.parametrize(("data", "message"), [
    (["not", "a", "mapping"], "A policy must be a mapping with keys name, description, criteria; got list"),
    ({"name": "p", "criteria": [], "owner": "me"}, "unknown field\\(s\\) 'owner'; allowed fields: name"),
    ({"name": "p"}, "'criteria' must be a non-empty list"),
    ({"name": "p", "criteria": "selection_rate"}, "'criteria' must be a non-empty list"),
    ({"name": "p", "criteria": ["selection_rate"]}, "Criterion 1 must be a mapping"),
    ({"name": "p", "criteria": [{"metric": "selection_rate", "bound": 0.8}]},
     "Criterion 1 has unknown field\\(s\\) 'bound'; allowed fields: name, metric"),
    ({"name": "p", "criteria": [{"at_least": 0.8}]}, "Criterion 1 has no 'metric'"),
])
def test_policy_from_dict_rejects_malformed_structures(data, message):
    with pytest.raises(AuditInputError, match=message):
        policy_from_dict(data)


def test_a_policy_without_name_is_called_custom():
    assert policy_from_dict({"criteria": [_criterion()]}).name == "custom policy"


def test_parse_errors_say_where():
    with pytest.raises(AuditInputError, match="not valid YAML at line 3, column 1: expected ',' or ']'"):
        parse_policy("name: p\ncriteria: [a, b\n", format="yaml")
    with pytest.raises(AuditInputError, match="not valid JSON: Expecting .* at line 1"):
        parse_policy("{name: p}", format="json")
    with pytest.raises(AuditInputError, match="not UTF-8"):
        parse_policy(b"\xff\xfe", format="yaml")
    with pytest.raises(AuditInputError, match="Unknown policy format 'toml'"):
        parse_policy("x", format="toml")
    with pytest.raises(AuditInputError, match="Unknown policy format 'xml'"):
        dump_policy(preset("strict"), format="xml")


def test_load_policy_reads_yaml_and_json_files(tmp_path):
    yaml_file = tmp_path / "gate.yml"
    yaml_file.write_text(
        "name: release gate\ncriteria:\n  - metric: true_positive_rate\n    measure: difference\n"
        "    scope: spread\n    at_most: 0.05\n    required: false\n", encoding="utf-8")
    policy = load_policy(str(yaml_file))
    assert policy.name == "release gate"
    assert policy.criteria[0].at_most == 0.05 and policy.criteria[0].required is False
    json_file = tmp_path / "gate.json"
    json_file.write_text(json.dumps(preset("equalized-odds").to_dict()), encoding="utf-8")
    assert load_policy(json_file) == preset("equalized-odds")


def test_load_policy_errors_name_the_file_and_the_choices(tmp_path):
    with pytest.raises(AuditInputError, match="'nope' is neither a preset policy \\(four-fifths"):
        load_policy("nope")
    bad = tmp_path / "gate.txt"
    bad.write_text("name: x", encoding="utf-8")
    with pytest.raises(AuditInputError, match="extension '.txt'; use .yaml, .yml or .json"):
        load_policy(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ncriteria:\n  - metric: selection_rate\n", encoding="utf-8")
    with pytest.raises(AuditInputError, match="^broken.yaml: Criterion 1 has no bound"):
        load_policy(broken)
