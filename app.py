#!/usr/bin/env python3
"""CDK entry point: places the reference stacks into their environments and registers the gates.

``cdk synth`` runs this file (see ``cdk.json``). The tests build the app with the same
:func:`build_app`, so what they check is exactly what ``cdk synth`` writes.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag

from config import ENVIRONMENT_CONTEXT_KEY, load_config
from stacks import reference_stacks


def register_nag_packs(app: cdk.App) -> None:
    """Fail the synth on any unacknowledged finding of the four cdk-nag packs."""
    cdk.Validations.of(app).add_plugins(
        cdk_nag.AwsSolutionsChecks(app),
        cdk_nag.HIPAASecurityChecks(app),
        cdk_nag.NIST80053R5Checks(app),
        cdk_nag.PCIDSS321Checks(app),
    )


def build_app(app: cdk.App) -> list[cdk.Stack]:
    """Add every reference stack for the environment chosen by ``-c environment=...``."""
    config = load_config(app.node.try_get_context(ENVIRONMENT_CONTEXT_KEY))
    register_nag_packs(app)
    return reference_stacks(app, config)


if __name__ == "__main__":
    application = cdk.App()
    build_app(application)
    application.synth()
