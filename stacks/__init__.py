"""The reference stacks, one module per seed analysis (SPEC.md section 2)."""

from __future__ import annotations

import aws_cdk as cdk

from config import EnvironmentConfig


def reference_stacks(app: cdk.App, config: EnvironmentConfig) -> list[cdk.Stack]:
    """Create every reference stack in ``app`` for ``config``."""
    from stacks.enterprise_web_app_stack import EnterpriseWebAppStack
    from stacks.tap_stack import TapStack

    return [
        EnterpriseWebAppStack(app, "EnterpriseWebAppStack", config=config),
        TapStack(app, "TapStack", config=config),
    ]
