"""The reference stacks, one module per seed analysis (SPEC.md section 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import aws_cdk as cdk

from config import EnvironmentConfig

if TYPE_CHECKING:
    from stacks.base import ReferenceStack


#: A reference stack class: ``(app, stack_name, *, config) -> stack``.
StackClass = Callable[..., "ReferenceStack"]


def reference_stack_classes() -> dict[str, StackClass]:
    """Every reference stack by its stack name (which is also its control profile name)."""
    from stacks.corp_enterprise_app_stack import CorpEnterpriseAppStack
    from stacks.enterprise_web_app_stack import EnterpriseWebAppStack
    from stacks.fin_secure_stack import FinSecureStack
    from stacks.pay_flow_stack import PayFlowStack
    from stacks.tap_stack import TapStack

    return {
        "EnterpriseWebAppStack": EnterpriseWebAppStack,
        "TapStack": TapStack,
        "CorpEnterpriseAppStack": CorpEnterpriseAppStack,
        "FinSecureStack": FinSecureStack,
        "PayFlowStack": PayFlowStack,
    }


def reference_stacks(app: cdk.App, config: EnvironmentConfig) -> list[cdk.Stack]:
    """Create every reference stack in ``app`` for ``config``."""
    return [
        stack_class(app, name, config=config)
        for name, stack_class in reference_stack_classes().items()
    ]
