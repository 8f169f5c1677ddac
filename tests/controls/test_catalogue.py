"""Catalogue-wide guarantees: every check is seen passing and failing, and no check crashes."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from pathlib import Path

import pytest

from controls import CATALOGUE, evaluate, load_template
from controls.catalogue import Context
from controls.engine import run_control
from controls.model import Outcome, Status
from controls.template import Template
from tests.controls import (
    test_checks_compute_database,
    test_checks_delivery_operations,
    test_checks_encryption_iam,
    test_checks_network,
    test_checks_storage_logging_edge,
)
from tests.controls.helpers import as_template, network

HERE = Path(__file__).parent
CHECK_TESTS = sorted(HERE.glob("test_checks_*.py"))
MODULES = (
    test_checks_network,
    test_checks_encryption_iam,
    test_checks_compute_database,
    test_checks_storage_logging_edge,
    test_checks_delivery_operations,
)


def _asserted(kind: str) -> set[str]:
    pattern = re.compile(rf'assert_{kind}\(\s*"([A-Z0-9]+-\d\d)"')
    return {m for path in CHECK_TESTS for m in pattern.findall(path.read_text())}


def test_every_control_is_seen_passing_and_failing():
    controls = set(CATALOGUE)
    assert controls - _asserted("pass") == set(), "controls never seen passing"
    assert controls - _asserted("fail") == set(), "controls never seen failing"


def _fragments() -> list[tuple[str, Template]]:
    found: list[tuple[str, Template]] = [("network", as_template(network()))]
    for module in MODULES:
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and "Resources:" in value:
                found.append((f"{module.__name__.rsplit('.', 1)[1]}.{name}", as_template(value)))
    found.append(("weak_web_stack", load_template(HERE / "data" / "weak_web_stack.yaml")))
    return found


@pytest.mark.parametrize(
    ("name", "template"), _fragments(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_no_check_crashes_on_any_fragment(name: str, template: Template):
    report = evaluate(template)
    crashed = [
        f"{r.control.id}: {item.message}"
        for r in report.results
        if r.status is Status.UNKNOWN
        for item in r.outcome.items
        if "could not evaluate" in item.message
    ]
    assert crashed == [], name
    assert len(report.results) == len(CATALOGUE)


def _mutations(data: dict) -> list[dict]:
    """Odd shapes a hand-written template may have: every property (or its children) replaced."""
    mutated: list[dict] = []
    odd_values: tuple[object, ...] = (
        "x",
        1,
        [],
        None,
        {"a": 1},
        {"Ref": "Nope"},
        {"Fn::If": ["Nope", 1, 2]},
    )
    for odd in odd_values:
        flat, nested = copy.deepcopy(data), copy.deepcopy(data)
        for body in flat["Resources"].values():
            if isinstance(body.get("Properties"), dict):
                body["Properties"] = dict.fromkeys(body["Properties"], odd)
        for body in nested["Resources"].values():
            for key, value in (body.get("Properties") or {}).items():
                if isinstance(value, dict):
                    body["Properties"][key] = dict.fromkeys(value, odd)
                elif isinstance(value, list):
                    body["Properties"][key] = [odd for _ in value]
        mutated += [flat, nested]
    return mutated


@pytest.mark.parametrize(
    ("name", "template"), _fragments(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_no_check_crashes_on_odd_shapes(name: str, template: Template):
    for data in _mutations(dict(template.data)):
        for result in evaluate(Template(data)).results:
            for item in result.outcome.items:
                assert "could not evaluate" not in item.message, (name, result.control.id, item)


def test_a_crashing_check_becomes_cannot_decide():
    def broken(_context: Context) -> Outcome:
        raise KeyError("Properties")

    control = replace(CATALOGUE["NET-01"], check=broken)
    outcome = run_control(control, Context(Template({"Resources": {}})))
    assert outcome.status is Status.UNKNOWN
    assert "could not evaluate this template (KeyError: 'Properties')" in outcome.items[0].message
