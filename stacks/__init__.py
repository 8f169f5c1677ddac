"""The reference stacks, one module per seed analysis."""

from __future__ import annotations

import aws_cdk as cdk

from config import EnvironmentConfig


def reference_stacks(app: cdk.App, config: EnvironmentConfig) -> list[cdk.Stack]:
    """Create every reference stack in ``app`` for ``config``."""
    return []
