"""Static evaluation of CloudFormation intrinsic functions.

Resolution is honest: a value that depends on something only known at deploy time (a pseudo
parameter, a resource attribute, ``Fn::GetAZs``, an imported value, a parameter without default)
resolves to :class:`Unknown` carrying the reason, never to a guess. Parameters resolve to their
``Default``; conditions are evaluated from those defaults (``Fn::Equals``/``And``/``Or``/``Not``)
unless a caller overrides them (e.g. "evaluate as if ``HasCertificate`` were true").

References to resources resolve to :class:`ResourceRef` (``Ref`` → attribute ``None``).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be decided statically, with the reason."""

    reason: str

    def __bool__(self) -> bool:  # an Unknown must never pass for a truthy setting
        return False


@dataclass(frozen=True)
class ResourceRef:
    """``Ref`` (attribute ``None``) or ``Fn::GetAtt`` of a resource of the template."""

    logical_id: str
    attribute: str | None = None

    def __str__(self) -> str:
        if self.attribute:
            return f"${{{self.logical_id}.{self.attribute}}}"
        return f"${{{self.logical_id}}}"


@dataclass(frozen=True)
class Opaque:
    """A part of a concatenation known only at deploy time: its expression as normalized JSON.

    Two equal ``Opaque`` parts evaluate to the same text (same expression, same stack); two
    different ones may or may not.
    """

    expression: str

    @classmethod
    def of(cls, value: Any) -> Opaque:
        return cls(json.dumps(_normalized(value), sort_keys=True, separators=(",", ":")))

    def __str__(self) -> str:
        return "${" + self.expression + "}"


Part = str | Opaque
"""A piece of a string value: literal text, or an expression decided at deploy time."""


class _NoValue:
    """``Ref: AWS::NoValue`` — the property is removed."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


def intrinsic(value: Any) -> tuple[str, Any] | None:
    """``("Fn::Join", args)`` for an intrinsic-function node, else ``None``."""
    if isinstance(value, dict) and len(value) == 1:
        key, args = next(iter(value.items()))
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return key, args
    return None


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def as_bool(value: Any) -> bool | None:
    """CloudFormation booleans: ``true``/``"true"`` (any case); ``None`` when not a boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def as_int(value: Any) -> int | None:
    """CloudFormation numbers are often strings (``"3306"``); ``None`` when not an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_list(value: Any) -> list[Any]:
    """A property that accepts one item or a list of them, as a list (``None`` → ``[]``)."""
    if value is None or value is NO_VALUE:
        return []
    if isinstance(value, list):
        return value
    return [value]


class Resolver:
    """Evaluates intrinsic functions against one template's parameters, conditions and mappings."""

    def __init__(
        self,
        template: Mapping[str, Any],
        condition_overrides: Mapping[str, bool] | None = None,
    ) -> None:
        self.template = template
        self.parameters: dict[str, Any] = _mapping(template.get("Parameters"))
        self.conditions: dict[str, Any] = _mapping(template.get("Conditions"))
        self.mappings: dict[str, Any] = _mapping(template.get("Mappings"))
        self.resources: dict[str, Any] = _mapping(template.get("Resources"))
        self.overrides: dict[str, bool] = dict(condition_overrides or {})
        self._condition_cache: dict[str, bool | Unknown] = {}
        self._evaluating: set[str] = set()

    def with_conditions(self, overrides: Mapping[str, bool]) -> Resolver:
        """A resolver that treats the named conditions as fixed (e.g. ``HasCertificate``)."""
        return Resolver(self.template, {**self.overrides, **overrides})

    # ----------------------------------------------------------------- parameters, conditions

    def parameter_value(self, name: str) -> Any:
        """The parameter's default, typed like CloudFormation passes it; Unknown without one."""
        definition = self.parameters.get(name)
        if not isinstance(definition, dict):
            return Unknown(f"parameter {name} is not declared")
        if "Default" not in definition:
            return Unknown(f"parameter {name} has no default (value given at deploy time)")
        default = definition["Default"]
        kind = str(definition.get("Type", "String"))
        if kind.startswith("AWS::SSM::Parameter::Value<"):
            return Unknown(f"parameter {name} is read from SSM parameter {default} at deploy time")
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            if isinstance(default, list):
                return default
            return [part.strip() for part in str(default).split(",")]
        return default

    def condition(self, name: str) -> bool | Unknown:
        """Evaluate a named condition from parameter defaults (and overrides)."""
        if name in self.overrides:
            return self.overrides[name]
        if name in self._condition_cache:
            return self._condition_cache[name]
        if name not in self.conditions:
            return Unknown(f"condition {name} is not declared")
        if name in self._evaluating:
            return Unknown(f"condition {name} refers to itself")
        self._evaluating.add(name)
        try:
            result = self.evaluate_condition(self.conditions[name])
        finally:
            self._evaluating.discard(name)
        if isinstance(result, Unknown):
            result = Unknown(f"condition {name}: {result.reason}")
        self._condition_cache[name] = result
        return result

    def evaluate_condition(self, expression: Any) -> bool | Unknown:
        if isinstance(expression, bool):
            return expression
        if not (isinstance(expression, dict) and len(expression) == 1):
            return Unknown(f"unsupported condition expression {expression!r}")
        key, args = next(iter(expression.items()))
        if key == "Condition" and isinstance(args, str):
            return self.condition(args)
        if key == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
            left, right = self.resolve(args[0]), self.resolve(args[1])
            for side in (left, right):
                if isinstance(side, Unknown):
                    return side
                if isinstance(side, ResourceRef):
                    return Unknown(f"compares the runtime value {side}")
            return bool(_comparable(left) == _comparable(right))
        if key == "Fn::Not" and isinstance(args, list) and len(args) == 1:
            inner = self.evaluate_condition(args[0])
            return inner if isinstance(inner, Unknown) else not inner
        if key in {"Fn::And", "Fn::Or"} and isinstance(args, list):
            results = [self.evaluate_condition(arg) for arg in args]
            decisive = key == "Fn::Or"  # Or: any True decides; And: any False decides
            if any(result is decisive for result in results):
                return bool(decisive)
            unknown = next((r for r in results if isinstance(r, Unknown)), None)
            return unknown if unknown is not None else not decisive
        if key == "Fn::If":
            return self.evaluate_condition(self.resolve(expression))
        return Unknown(f"unsupported condition function {key}")

    def resource_enabled(self, logical_id: str) -> bool | Unknown:
        """Whether a resource is created (its ``Condition``), from parameter defaults."""
        body = self.resources.get(logical_id)
        if not isinstance(body, dict) or "Condition" not in body:
            return True
        return self.condition(str(body["Condition"]))

    # ------------------------------------------------------------------------------ values

    def resolve(self, value: Any) -> Any:
        """Deep-resolve ``value``; properties that resolve to ``AWS::NoValue`` are dropped."""
        function = intrinsic(value)
        if function is not None:
            return self._function(*function)
        if isinstance(value, dict):
            resolved_dict = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved_dict.items() if item is not NO_VALUE}
        if isinstance(value, list):
            resolved_list = [self.resolve(item) for item in value]
            return [item for item in resolved_list if item is not NO_VALUE]
        return value

    def get(self, value: Any, *path: str | int) -> Any:
        """Walk ``path`` into ``value``, resolving intrinsics on the way; ``None`` when absent."""
        node = value
        for key in path:
            if intrinsic(node) is not None:
                node = self.resolve(node)
            if isinstance(node, Unknown):
                return node
            if isinstance(key, int):
                node = (
                    node[key] if isinstance(node, list) and -len(node) <= key < len(node) else None
                )
            else:
                node = node.get(key) if isinstance(node, dict) else None
            if node is None or node is NO_VALUE:
                return None
        resolved = self.resolve(node)
        return None if resolved is NO_VALUE else resolved

    def _function(self, name: str, args: Any) -> Any:
        handler = _HANDLERS.get(name)
        if handler is None:
            return Unknown(f"{name} is not evaluated statically")
        try:
            return handler(self, args)
        except (TypeError, ValueError, KeyError, IndexError) as error:
            return Unknown(f"{name} could not be evaluated ({error})")

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            return Unknown(f"Ref to {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return Unknown(f"{name} is known only at deploy time")
        if name in self.parameters:
            return self.parameter_value(name)
        if name in self.resources:
            return ResourceRef(name)
        return Unknown(f"Ref to undeclared {name}")

    def _get_att(self, args: Any) -> Any:
        if isinstance(args, str):
            logical_id, _, attribute = args.partition(".")
        else:
            logical_id, attribute = args[0], self.resolve(args[1])
            if isinstance(attribute, Unknown):
                return attribute
        if logical_id not in self.resources:
            return Unknown(f"Fn::GetAtt of undeclared resource {logical_id}")
        body = self.resources[logical_id]
        if (
            isinstance(body, dict)
            and body.get("Type") == "AWS::EC2::VPC"
            and attribute == "CidrBlock"
            and "CidrBlock" in _mapping(body.get("Properties"))
        ):
            return self.resolve(body["Properties"]["CidrBlock"])
        return ResourceRef(logical_id, str(attribute))

    def _sub(self, args: Any) -> Any:
        template, variables = _sub_args(args)
        unknown: Unknown | None = None

        def replace(match: re.Match[str]) -> str:
            nonlocal unknown
            value = self._sub_variable(match.group(1), variables)
            if isinstance(value, str):
                return value
            if unknown is None:
                unknown = (
                    value
                    if isinstance(value, Unknown)
                    else Unknown(f"Fn::Sub uses the runtime value {value}")
                )
            return ""

        text = _SUB_VARIABLE.sub(replace, template)
        return unknown if unknown is not None else text

    def _sub_variable(self, name: str, variables: Mapping[str, Any]) -> Any:
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            value = self.resolve(variables[name])
        elif "." in name and name.split(".", 1)[0] in self.resources:
            logical_id, attribute = name.split(".", 1)
            value = self._get_att([logical_id, attribute])
        else:
            value = self._ref(name)
        return _scalar_text(value)

    def _join(self, args: Any) -> Any:
        delimiter, items = args[0], self.resolve(args[1])
        if isinstance(items, Unknown):
            return items
        parts: list[str] = []
        for item in as_list(items):
            text = _scalar_text(item)
            if not isinstance(text, str):
                return (
                    text
                    if isinstance(text, Unknown)
                    else Unknown(f"Fn::Join uses the runtime value {item}")
                )
            parts.append(text)
        return str(delimiter).join(parts)

    def _select(self, args: Any) -> Any:
        index = as_int(self.resolve(args[0]))
        source = args[1]
        function = intrinsic(source)
        if function is not None and function[0] == "Fn::GetAZs":
            return Unknown(f"Fn::Select {index} of Fn::GetAZs is chosen at deploy time")
        items = self.resolve(source)
        if isinstance(items, Unknown):
            return items
        if index is None or not isinstance(items, list):
            return Unknown("Fn::Select with an unresolved index or list")
        return items[index]

    def _if(self, args: Any) -> Any:
        name, when_true, when_false = args
        state = self.condition(str(name))
        if isinstance(state, Unknown):
            return Unknown(f"Fn::If {name}: {state.reason}")
        return self.resolve(when_true if state else when_false)

    def _find_in_map(self, args: Any) -> Any:
        keys = [self.resolve(arg) for arg in args[:3]]
        for key in keys:
            if isinstance(key, Unknown):
                return Unknown(f"Fn::FindInMap key: {key.reason}")
        table, first, second = (str(key) for key in keys)
        try:
            return self.resolve(self.mappings[table][first][second])
        except (KeyError, TypeError):
            return Unknown(f"Fn::FindInMap {table}/{first}/{second} is not in Mappings")

    def _split(self, args: Any) -> Any:
        delimiter, source = args[0], self.resolve(args[1])
        if not isinstance(source, str):
            return (
                source if isinstance(source, Unknown) else Unknown("Fn::Split of a runtime value")
            )
        return source.split(str(delimiter))

    def _base64(self, args: Any) -> Any:
        source = _scalar_text(self.resolve(args))
        if not isinstance(source, str):
            return (
                source if isinstance(source, Unknown) else Unknown("Fn::Base64 of a runtime value")
            )
        return base64.b64encode(source.encode()).decode()

    def _cidr(self, args: Any) -> Any:
        block, count, bits = (self.resolve(arg) for arg in args)
        for value in (block, count, bits):
            if isinstance(value, Unknown):
                return value
        network = ipaddress.ip_network(str(block), strict=False)
        size, number = as_int(bits), as_int(count)
        if size is None or number is None:
            return Unknown("Fn::Cidr with a non-numeric count or size")
        prefix = network.max_prefixlen - size
        subnets = network.subnets(new_prefix=prefix)
        return [str(subnet) for _, subnet in zip(range(number), subnets, strict=False)]

    # ----------------------------------------------------------------------- concatenation

    def concatenation(self, value: Any) -> tuple[Part, ...]:
        """A string value as the concatenation of literal text and deploy-time parts.

        ``Fn::Join`` (nested, any delimiter) and ``Fn::Sub`` are flattened, everything known
        statically is folded into the text, ``Fn::If`` takes its branch when the condition is
        decided, and whatever is left is an :class:`Opaque` part. Equal tuples are equal
        strings once deployed; :func:`same_text` compares the rest.
        """
        parts: list[Part] = []
        self._concatenate(value, parts)
        return _merged(parts)

    def _concatenate(self, value: Any, parts: list[Part]) -> None:
        if value is None or value is NO_VALUE:
            return
        resolved = self.resolve(value)
        if resolved is NO_VALUE:
            return
        text = _scalar_text(resolved)
        if isinstance(text, str):
            parts.append(text)
            return
        function = intrinsic(value)
        name, args = function if function is not None else ("", None)
        if name == "Fn::Join" and isinstance(args, list) and len(args) == 2:
            delimiter = _scalar_text(self.resolve(args[0]))
            if isinstance(delimiter, str) and isinstance(args[1], list):
                items = [item for item in args[1] if self.resolve(item) is not NO_VALUE]
                for index, item in enumerate(items):
                    if index:
                        parts.append(delimiter)
                    self._concatenate(item, parts)
                return
        if name == "Fn::Sub":
            try:
                template, variables = _sub_args(args)
            except (TypeError, ValueError):
                pass  # malformed: the whole value stays one opaque part
            else:
                position = 0
                for match in _SUB_VARIABLE.finditer(template):
                    parts.append(template[position : match.start()])
                    position = match.end()
                    variable = match.group(1)
                    if variable.startswith("!"):
                        parts.append("${" + variable[1:] + "}")
                    elif variable in variables:
                        self._concatenate(variables[variable], parts)
                    elif "." in variable and variable.split(".", 1)[0] in self.resources:
                        self._concatenate({"Fn::GetAtt": variable.split(".", 1)}, parts)
                    else:
                        self._concatenate({"Ref": variable}, parts)
                parts.append(template[position:])
                return
        if name == "Fn::If" and isinstance(args, list) and len(args) == 3:
            state = self.condition(str(args[0]))
            if not isinstance(state, Unknown):
                self._concatenate(args[1] if state else args[2], parts)
                return
        parts.append(Opaque.of(value))

    # ---------------------------------------------------------------------- text rendering

    def text(self, value: Any) -> str:
        """Best-effort text with ``${...}`` placeholders for runtime values.

        Used to search literal parts (``{{resolve:secretsmanager:``, ``cfn-signal``, export
        names): the known parts are exact, every unknown part is a visible placeholder.
        """
        function = intrinsic(value)
        if function is not None:
            try:
                return self._function_text(*function)
            except (TypeError, ValueError, KeyError, IndexError, AttributeError):
                return "${" + function[0].removeprefix("Fn::") + "}"
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dict):
            return "\n".join(f"{key}: {self.text(item)}" for key, item in value.items())
        if isinstance(value, list):
            return "\n".join(self.text(item) for item in value)
        if value is None or value is NO_VALUE:
            return ""
        return str(value)

    def _function_text(self, name: str, args: Any) -> str:
        if name == "Ref" and isinstance(args, str):
            value = self._ref(args)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return str(value)
            if isinstance(value, list):
                return ",".join(str(item) for item in value)
            return "" if value is NO_VALUE else "${" + args + "}"
        if name == "Fn::GetAtt":
            target = self._get_att(args)
            return target if isinstance(target, str) else str(target)
        if name == "Fn::Sub":
            try:
                template, variables = _sub_args(args)
            except (TypeError, ValueError, IndexError):
                return "${?}"

            def replace(match: re.Match[str]) -> str:
                variable = match.group(1)
                if variable.startswith("!"):
                    return "${" + variable[1:] + "}"
                if variable in variables:
                    return self.text(variables[variable])
                value = _scalar_text(self._sub_variable(variable, variables))
                return value if isinstance(value, str) else "${" + variable + "}"

            return _SUB_VARIABLE.sub(replace, template)
        if name == "Fn::Join" and isinstance(args, list) and len(args) == 2:
            items = args[1]
            if isinstance(items, list):
                return str(args[0]).join(self.text(item) for item in items)
        if name == "Fn::If" and isinstance(args, list) and len(args) == 3:
            state = self.condition(str(args[0]))
            if not isinstance(state, Unknown):
                return self.text(args[1] if state else args[2])
            return "${If:" + str(args[0]) + "}"
        if name == "Fn::Base64":
            return self.text(args)
        resolved = self._function(name, args)
        scalar = _scalar_text(resolved)
        return scalar if isinstance(scalar, str) else "${" + name.removeprefix("Fn::") + "}"

    # ------------------------------------------------------------------------- references

    def references(self, value: Any) -> set[str]:
        """Logical IDs of resources that ``value`` mentions (Ref, GetAtt, ``${X}`` in Sub)."""
        found: set[str] = set()
        for name in _mentions(value):
            logical_id = name.split(".", 1)[0]
            if logical_id in self.resources:
                found.add(logical_id)
        return found

    def parameters_used(self, value: Any) -> set[str]:
        """Parameters that ``value`` mentions."""
        return {name for name in _mentions(value) if name in self.parameters}

    def target(self, value: Any) -> str | None:
        """The logical ID ``value`` points at (``Ref``/``GetAtt``, through ``Fn::If``)."""
        resolved = self.resolve(value)
        return resolved.logical_id if isinstance(resolved, ResourceRef) else None


def _mentions(value: Any) -> Iterator[str]:
    function = intrinsic(value)
    if function is not None:
        name, args = function
        if name == "Ref" and isinstance(args, str):
            yield args
            return
        if name == "Fn::GetAtt":
            if isinstance(args, str):
                yield args.split(".", 1)[0]
            elif isinstance(args, list) and args and isinstance(args[0], str):
                yield args[0]
            return
        if name == "Fn::Sub":
            template = (
                args
                if isinstance(args, str)
                else args[0]
                if isinstance(args, list) and args
                else ""
            )
            for match in _SUB_VARIABLE.finditer(str(template)):
                if not match.group(1).startswith("!"):
                    yield match.group(1)
            if isinstance(args, list) and len(args) > 1:
                yield from _mentions(args[1])
            return
        if name == "Fn::If" and isinstance(args, list):
            yield from _mentions(args[1:])
            return
        yield from _mentions(args)
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _mentions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _mentions(item)


def same_text(left: Sequence[Part], right: Sequence[Part]) -> bool | None:
    """Whether two concatenations (:meth:`Resolver.concatenation`) are the same string.

    ``True`` when they are the same parts, ``False`` when their literal text cannot line up
    (different fixed prefixes or suffixes, or two different literals), ``None`` otherwise: a
    deploy-time part might produce the missing text.
    """
    first, second = _merged(left), _merged(right)
    if first == second:
        return True

    def literal(parts: tuple[Part, ...]) -> str | None:
        return "".join(str(p) for p in parts) if all(isinstance(p, str) for p in parts) else None

    def prefix(parts: tuple[Part, ...]) -> str:
        return parts[0] if parts and isinstance(parts[0], str) else ""

    def suffix(parts: tuple[Part, ...]) -> str:
        return parts[-1] if parts and isinstance(parts[-1], str) else ""

    whole_first, whole_second = literal(first), literal(second)
    if whole_first is not None and whole_second is not None:
        return False
    for whole, parts in ((whole_first, second), (whole_second, first)):
        if whole is not None:
            start, end = prefix(parts), suffix(parts)
            fits = whole.startswith(start) and whole.endswith(end)
            return None if fits and len(whole) >= len(start) + len(end) else False
    start_left, start_right = prefix(first), prefix(second)
    end_left, end_right = suffix(first), suffix(second)
    if not (start_left.startswith(start_right) or start_right.startswith(start_left)):
        return False
    if not (end_left.endswith(end_right) or end_right.endswith(end_left)):
        return False
    return None


def _merged(parts: Sequence[Part]) -> tuple[Part, ...]:
    """Adjacent literal parts joined, empty ones dropped."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + part
                continue
        merged.append(part)
    return tuple(merged)


def _normalized(value: Any) -> Any:
    """An expression in one spelling: GetAtt as a list, scalars as CloudFormation text."""
    function = intrinsic(value)
    if function is not None and function[0] == "Fn::GetAtt" and isinstance(function[1], str):
        logical_id, _, attribute = function[1].partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    if isinstance(value, dict):
        return {str(key): _normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    return _scalar_text(value)


def _sub_args(args: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(args, str):
        return args, {}
    if isinstance(args, list) and len(args) == 2 and isinstance(args[1], dict):
        return str(args[0]), args[1]
    raise ValueError("Fn::Sub takes a string or [string, {variables}]")


def _scalar_text(value: Any) -> Any:
    """Scalars as CloudFormation text; anything else unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    text = _scalar_text(value)
    return text if isinstance(text, str) else value


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_HANDLERS: dict[str, Any] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Sub": Resolver._sub,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::If": Resolver._if,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::Split": Resolver._split,
    "Fn::Base64": Resolver._base64,
    "Fn::Cidr": Resolver._cidr,
    "Fn::GetAZs": lambda _self, _args: Unknown("Fn::GetAZs is known only at deploy time"),
    "Fn::ImportValue": lambda _self, _args: Unknown("Fn::ImportValue comes from another stack"),
}
