"""Snapshot helpers: what may differ between two synths of the same code is masked."""

from __future__ import annotations

import json
import re
from typing import Any


def masked(template: dict[str, Any]) -> dict[str, Any]:
    """The template with asset hashes and CDK bootstrap version details masked."""
    text = json.dumps(template, sort_keys=True)
    text = re.sub(r"[0-9a-f]{64}", "<asset-hash>", text)
    text = re.sub(r'"/cdk-bootstrap/[^"]*"', '"<bootstrap-parameter>"', text)
    return dict(json.loads(text))
