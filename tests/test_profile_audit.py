"""Every reference stack passes its own control profile in the audit (SPEC section 6).

The audit (``controls``) is a second, independent implementation of the catalogue: it reads the
synthesized template the way it would read anyone's. Each stack must pass every control of its
profile with a decided result — a control the audit "cannot decide" is a failure here too.
"""

from __future__ import annotations

import pytest

from controls.engine import Report, evaluate
from controls.loader import load_template
from controls.model import Status
from controls.profiles import PROFILES
from stacks import reference_stack_classes
from tests.support import SynthesizedApp


@pytest.fixture(scope="module")
def reports(reference_app: SynthesizedApp) -> dict[str, Report]:
    return {
        name: evaluate(load_template(str(path)), profile=name)
        for name, path in reference_app.template_paths.items()
    }


def test_every_reference_stack_declares_a_profile(reference_app: SynthesizedApp) -> None:
    assert set(reference_app.template_paths) == set(reference_stack_classes())
    assert set(reference_stack_classes()) <= set(PROFILES)


@pytest.mark.parametrize("stack", sorted(reference_stack_classes()))
def test_stack_passes_its_profile(reports: dict[str, Report], stack: str) -> None:
    report = reports[stack]
    undecided = {
        result.control.id: [
            item.render()
            for item in result.outcome.items
            if item.status not in (Status.PASS, Status.NOT_APPLICABLE)
        ][:3]
        or result.outcome.reason
        for result in report.results
        if result.status not in (Status.PASS, Status.NOT_APPLICABLE)
    }
    assert undecided == {}
