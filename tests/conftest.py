"""Session-wide test setup: Node for jsii and the project root on the path."""

from __future__ import annotations

import os
from pathlib import Path

_PINNED_NODE = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "node"

# jsii runs aws-cdk-lib in Node; prefer the Node 22 that package.json pins over the machine's.
if _PINNED_NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_PINNED_NODE))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")


import json  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from tests.support import SynthesizedApp, synthesize_reference_app  # noqa: E402


@pytest.fixture(scope="session")
def reference_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The app exactly as ``cdk synth`` builds it (cdk.json context, nag packs, CFN validation).

    Synthesized once per session; a failing gate (unacknowledged finding, invalid template)
    fails here with the validation report in the message.
    """
    return synthesize_reference_app(str(tmp_path_factory.mktemp("cdk.out")))


@pytest.fixture(scope="session")
def templates(reference_app: SynthesizedApp) -> dict[str, dict[str, Any]]:
    """Every synthesized template by stack name."""
    return {
        name: json.loads(path.read_text()) for name, path in reference_app.template_paths.items()
    }
