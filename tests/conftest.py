"""Session-wide test setup: Node for jsii and the project root on the path."""

from __future__ import annotations

import os
from pathlib import Path

_PINNED_NODE = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "node"

# jsii runs aws-cdk-lib in Node; prefer the Node 22 that package.json pins over the machine's.
if _PINNED_NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_PINNED_NODE))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
