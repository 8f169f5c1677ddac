"""Small, explicit queries over a synthesized template (a dict), shared by the stack tests."""

from __future__ import annotations

import json
from typing import Any

Template = dict[str, Any]


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    """All resources of one type by logical ID."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def properties(template: Template, resource_type: str) -> list[dict[str, Any]]:
    """The ``Properties`` of every resource of one type."""
    return [r.get("Properties", {}) for r in resources(template, resource_type).values()]


def the(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The single resource of a type; fails when there is not exactly one."""
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def ref(logical_id: str) -> dict[str, str]:
    """``{"Ref": logical_id}``."""
    return {"Ref": logical_id}


def mentions(value: Any, needle: str) -> bool:
    """True when ``needle`` appears anywhere in the JSON form of ``value``."""
    return needle in json.dumps(value)


def statements(template: Template, *policy_types: str) -> list[dict[str, Any]]:
    """Every policy statement of the given policy resource types (PolicyDocument/KeyPolicy)."""
    found: list[dict[str, Any]] = []
    for policy_type in policy_types:
        for props in properties(template, policy_type):
            document = props.get("PolicyDocument") or props.get("KeyPolicy") or {}
            found.extend(document.get("Statement", []))
    return found


def as_list(value: Any) -> list[Any]:
    """A scalar or list as a list."""
    return value if isinstance(value, list) else [value]


def tag_value(resource: dict[str, Any], key: str) -> Any:
    """The value of tag ``key`` on a resource (list-of-dicts or map tag shapes)."""
    tags = resource.get("Properties", {}).get("Tags") or resource.get("Properties", {}).get(
        "TagSpecifications"
    )
    if isinstance(tags, dict):
        return tags.get(key)
    for tag in tags or []:
        if isinstance(tag, dict) and tag.get("Key") == key:
            return tag.get("Value")
    return None


def rendered(value: Any) -> str:
    """A string-valued intrinsic as text: ``Fn::Join`` parts joined, references as ``${Id}``.

    ``{"Fn::Join": ["-", ["tap-vpc", {"Ref": "Suffix"}]]}`` → ``tap-vpc-${Suffix}``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(rendered(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return "${" + json.dumps(value, sort_keys=True) + "}"
