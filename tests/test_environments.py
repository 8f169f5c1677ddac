"""The environments of SPEC section 4: one codebase, differences only from config/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from config import ENVIRONMENTS, load_config
from tests.stacks.queries import properties, resources
from tests.support import SynthesizedApp, synthesize_reference_app


@pytest.fixture(scope="module")
def dev_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The dev environment through the same gates as prod (nag packs, CFN validation)."""
    return synthesize_reference_app(str(tmp_path_factory.mktemp("dev")), environment="dev")


@pytest.fixture(scope="module")
def dev_tap(dev_app: SynthesizedApp) -> dict[str, Any]:
    return dict(json.loads(dev_app.template_paths["TapStack"].read_text()))


def test_prod_is_the_default_environment() -> None:
    assert load_config(None) is ENVIRONMENTS["prod"]


def test_only_dev_relaxes_and_says_why() -> None:
    for name, config in ENVIRONMENTS.items():
        relaxed = not (config.multi_az_database and config.deletion_protection)
        assert relaxed == (name == "dev")
        assert bool(config.relaxation_reason) == relaxed


def test_dev_passes_the_gates_with_one_nat_single_az_db_and_no_deletion_protection(
    dev_app: SynthesizedApp, dev_tap: dict[str, Any]
) -> None:
    assert len(resources(dev_tap, "AWS::EC2::NatGateway")) == 1
    [database] = properties(dev_tap, "AWS::RDS::DBInstance")
    assert database["MultiAZ"] is False and database["DeletionProtection"] is False
    assert database["EnablePerformanceInsights"] is False
    assert not any(stack.termination_protection for stack in dev_app.stacks)


def test_dev_template_is_cfn_lint_clean(dev_app: SynthesizedApp) -> None:
    for stack in dev_app.stacks:
        path = dev_app.template_paths[stack.stack_name]
        assert [str(m) for m in lint_file(path, config=ManualArgs(regions=[stack.region]))] == []
