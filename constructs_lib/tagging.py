"""Governance tags on every taggable resource (GOV-01).

Tags are applied with ``cdk.Tags``, an aspect that reaches every taggable L1 resource below the
scope, so a resource added later by any construct is tagged as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Tags, Token
from constructs import IConstruct

from constructs_lib.validation import invalid

_TAG_KEY = re.compile(r"^[\w\s.:/=+\-@]{1,128}$")
_TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]{1,256}$")


@dataclass(frozen=True, kw_only=True)
class StandardTags:
    """The tags every resource carries; ``extra`` adds stack-specific ones (e.g. compliance)."""

    environment: str
    project: str
    owner: str
    cost_center: str
    managed_by: str = "CloudFormation"
    extra: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str]:
        """All tags by key, validated; deploy-time values (parameter tokens) pass unchecked."""
        tags = {
            "Environment": self.environment,
            "Project": self.project,
            "Owner": self.owner,
            "CostCenter": self.cost_center,
            "ManagedBy": self.managed_by,
            **self.extra,
        }
        for key, value in tags.items():
            if not _TAG_KEY.match(key) or key.lower().startswith("aws:"):
                raise invalid(
                    "StandardTags", "key", key, "use 1-128 letters, digits and + - = . _ : / @"
                )
            if not Token.is_unresolved(value) and not _TAG_VALUE.match(value):
                raise invalid(
                    "StandardTags",
                    key,
                    value,
                    "use 1-256 letters, digits, spaces and + - = . _ : / @",
                )
        return tags


def apply_standard_tags(scope: IConstruct, tags: StandardTags) -> None:
    """Tag every taggable resource under ``scope``."""
    for key, value in tags.as_dict().items():
        Tags.of(scope).add(key, value)
