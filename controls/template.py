"""A parsed CloudFormation template with typed access to its resources and the resolver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from controls.resolve import Resolver, Unknown


@dataclass(frozen=True)
class Resource:
    """One entry of ``Resources``; ``properties`` are raw (unresolved)."""

    logical_id: str
    type: str
    body: Mapping[str, Any]
    line: int | None = None

    @property
    def properties(self) -> Mapping[str, Any]:
        props = self.body.get("Properties")
        return props if isinstance(props, dict) else {}

    @property
    def condition(self) -> str | None:
        value = self.body.get("Condition")
        return str(value) if value is not None else None

    def attribute(self, name: str) -> Any:
        """A resource attribute (``DeletionPolicy``, ``UpdatePolicy``, ``Metadata``...)."""
        return self.body.get(name)


@dataclass(frozen=True)
class Assembly:
    """What a CDK cloud assembly (``cdk.out``) knows beside the template, when it is there."""

    stack: str
    termination_protection: bool | None = None
    # logical ID -> {rule ID: reason}, from ``aws:cdk:acknowledged-rules`` metadata
    acknowledgments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


class Template:
    """The template plus a resolver bound to its parameters, conditions and mappings."""

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        source: str = "<template>",
        lines: Mapping[str, int] | None = None,
        assembly: Assembly | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.data = data
        self.source = source
        self.lines: dict[str, int] = dict(lines or {})
        self.assembly = assembly
        self.resolver = resolver or Resolver(data)
        resources = data.get("Resources")
        self.resources: dict[str, Resource] = {
            logical_id: Resource(
                logical_id, str(body.get("Type", "")), body, self.lines.get(logical_id)
            )
            for logical_id, body in (resources.items() if isinstance(resources, dict) else [])
            if isinstance(body, dict)
        }
        self._analysis: dict[str, Any] = {}

    def with_conditions(self, overrides: Mapping[str, bool]) -> Template:
        """The same template evaluated as if the named conditions had these values."""
        return Template(
            self.data,
            source=self.source,
            lines=self.lines,
            assembly=self.assembly,
            resolver=self.resolver.with_conditions(overrides),
        )

    # ------------------------------------------------------------------------- sections

    @cached_property
    def parameters(self) -> dict[str, dict[str, Any]]:
        section = self.data.get("Parameters")
        if not isinstance(section, dict):
            return {}
        return {name: body for name, body in section.items() if isinstance(body, dict)}

    @cached_property
    def conditions(self) -> dict[str, Any]:
        section = self.data.get("Conditions")
        return dict(section) if isinstance(section, dict) else {}

    @cached_property
    def outputs(self) -> dict[str, dict[str, Any]]:
        section = self.data.get("Outputs")
        if not isinstance(section, dict):
            return {}
        return {name: body for name, body in section.items() if isinstance(body, dict)}

    @cached_property
    def metadata(self) -> dict[str, Any]:
        section = self.data.get("Metadata")
        return dict(section) if isinstance(section, dict) else {}

    # ------------------------------------------------------------------------ resources

    def enabled(self, resource: Resource) -> bool | Unknown:
        return self.resolver.resource_enabled(resource.logical_id)

    def of_type(self, *types: str, include_disabled: bool = False) -> list[Resource]:
        """Resources of these types; those whose Condition is false by default are skipped."""
        wanted = set(types)
        return [
            resource
            for resource in self.resources.values()
            if resource.type in wanted and (include_disabled or self.enabled(resource) is not False)
        ]

    def has(self, *types: str) -> bool:
        return bool(self.of_type(*types))

    def resource(self, logical_id: str | None) -> Resource | None:
        return self.resources.get(logical_id) if logical_id else None

    # --------------------------------------------------------------------------- values

    def get(self, resource: Resource, *path: str | int) -> Any:
        """A resolved property of ``resource`` (``None`` when absent)."""
        return self.resolver.get(resource.properties, *path)

    def raw(self, resource: Resource, *path: str | int) -> Any:
        """A raw (unresolved) property; ``None`` when absent or behind an intrinsic."""
        node: Any = resource.properties
        for key in path:
            if isinstance(key, int):
                node = (
                    node[key] if isinstance(node, list) and -len(node) <= key < len(node) else None
                )
            else:
                node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                return None
        return node

    def resolve(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    def text(self, value: Any) -> str:
        return self.resolver.text(value)

    def target(self, value: Any) -> str | None:
        return self.resolver.target(value)

    def targets(self, value: Any) -> list[str]:
        """Logical IDs of a list property of references (``SubnetIds``, ``SecurityGroups``...)."""
        resolved = self.resolve(value)
        items = resolved if isinstance(resolved, list) else [resolved]
        found: list[str] = []
        for item in items:
            logical_id = getattr(item, "logical_id", None)
            if isinstance(logical_id, str):
                found.append(logical_id)
        return found

    def references(self, value: Any) -> set[str]:
        return self.resolver.references(value)

    def typed_references(self, value: Any, *types: str) -> list[str]:
        return sorted(
            logical_id
            for logical_id in self.references(value)
            if self.resources[logical_id].type in set(types)
        )

    def condition(self, name: str) -> bool | Unknown:
        return self.resolver.condition(name)

    def cached(self, key: str, build: Any) -> Any:
        """Memoize a whole-template analysis (network topology, security-group rules...)."""
        if key not in self._analysis:
            self._analysis[key] = build(self)
        return self._analysis[key]
