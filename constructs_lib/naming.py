"""Naming conventions applied through ``Name`` tags (GOV-02).

A convention is a template such as ``corp-{resource_type}-{application}`` or
``webapp-{component}``. Values may be deploy-time tokens (a parameter's value); the name is then a
``Fn::Join``. Names go into ``Name`` tags, never into physical names, so a convention can never
block a resource replacement.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Fn, Tags, Token
from constructs import IConstruct

from constructs_lib.validation import invalid

_VALUE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

#: Priority above CDK's own ``Name`` tags (for example those ``ec2.Vpc`` puts on its subnets).
NAME_TAG_PRIORITY = 300


@dataclass(frozen=True)
class NamingConvention:
    """A name template with fixed values; :meth:`name` fills in the rest.

    >>> NamingConvention("corp-{resource_type}-{application}", {"application": "app"}).name(
    ...     resource_type="vpc")
    'corp-vpc-app'
    """

    template: str
    fixed: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fields = self.fields
        if not fields:
            raise invalid(
                "NamingConvention", "template", self.template, "use at least one {placeholder}"
            )
        unknown = set(self.fixed) - fields
        if unknown:
            raise invalid(
                "NamingConvention",
                "fixed",
                sorted(unknown),
                f"use only placeholders of the template: {sorted(fields)}",
            )
        for key, value in self.fixed.items():
            _check_value(key, value)

    @property
    def fields(self) -> set[str]:
        """Placeholders in the template."""
        return {name for _, name, _, _ in string.Formatter().parse(self.template) if name}

    def name(self, **values: str) -> str:
        """The name for ``values`` (plus the fixed ones); a token when any value is a token."""
        merged = {**self.fixed, **values}
        missing = self.fields - set(merged)
        if missing:
            raise invalid(
                "NamingConvention", "values", sorted(values), f"also pass {sorted(missing)}"
            )
        extra = set(values) - self.fields
        if extra:
            raise invalid(
                "NamingConvention",
                "values",
                sorted(extra),
                f"use only placeholders of {self.template!r}",
            )
        for key, value in values.items():
            _check_value(key, value)
        parts: list[str] = []
        for literal, name, _, _ in string.Formatter().parse(self.template):
            parts.append(literal)
            if name:
                parts.append(merged[name])
        if any(Token.is_unresolved(part) for part in parts):
            return Fn.join("", [part for part in parts if part])
        return "".join(parts)

    def tag(self, construct: IConstruct, **values: str) -> str:
        """Put the name on ``construct``'s own resource as its ``Name`` tag; returns the name."""
        name = self.name(**values)
        target = construct.node.default_child or construct
        Tags.of(target).add("Name", name, priority=NAME_TAG_PRIORITY)
        return name


def _check_value(key: str, value: str) -> None:
    if Token.is_unresolved(value):
        return
    if not _VALUE.match(value):
        raise invalid(
            "NamingConvention",
            key,
            value,
            "use lower-case letters and digits separated by single hyphens",
        )
