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

from aws_cdk import CfnResource, Fn, TagManager, Tags, Token
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct

from constructs_lib.validation import invalid

_VALUE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

#: Priority above CDK's own ``Name`` tags (for example those ``ec2.Vpc`` puts on its subnets).
NAME_TAG_PRIORITY = 300
#: Priority of the names derived from construct paths: above CDK's defaults, below explicit names.
DERIVED_NAME_PRIORITY = 200


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
        for target in _tag_targets(construct):
            Tags.of(target).add("Name", name, priority=NAME_TAG_PRIORITY)
        return name

    def tag_everything(self, scope: IConstruct, field_name: str) -> int:
        """Name every taggable resource under ``scope`` after its construct path.

        ``Network/Resource/PublicSubnet1/RouteTable`` becomes the ``field_name`` value
        ``network-publicsubnet1-routetable``. Explicit :meth:`tag` names win (higher priority).
        Returns the number of resources named.
        """
        named = 0
        root_depth = len(scope.node.scopes)
        for construct in scope.node.find_all():
            taggable = TagManager.is_taggable(construct) or TagManager.is_taggable_v2(construct)
            launch_template = isinstance(construct, ec2.LaunchTemplate)
            if not ((isinstance(construct, CfnResource) and taggable) or launch_template):
                continue
            path = [c.node.id for c in construct.node.scopes[root_depth:]]
            component = path_component(path)
            if not component:
                continue
            Tags.of(construct).add(
                "Name", self.name(**{field_name: component}), priority=DERIVED_NAME_PRIORITY
            )
            named += 1
        return named


def _tag_targets(construct: IConstruct) -> list[IConstruct]:
    """Where a construct's own ``Name`` tag must go.

    Normally its CloudFormation resource, not the whole subtree (a VPC's subnets keep their own
    names). A launch template renders the tags of its L2 into the ``TagSpecifications`` of the
    instances and volumes it launches, so it is tagged as well.
    """
    targets = [construct.node.default_child or construct]
    if isinstance(construct, ec2.LaunchTemplate):
        targets.append(construct)
    return targets


def path_component(path: list[str]) -> str:
    """A naming component from construct IDs: ``["Network", "Resource", "Vpc"]`` → ``network-vpc``.

    ``Resource`` and ``Default`` are CDK's IDs for a construct's primary child and say nothing.
    """
    words = [part for part in path if part not in ("Resource", "Default")]
    text = "-".join(words).lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", text)).strip("-")[:120].strip("-")


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
