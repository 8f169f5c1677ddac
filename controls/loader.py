"""Read a CloudFormation template: JSON, YAML with short tags, or fenced in Markdown.

Every unusable input raises :class:`TemplateError` naming the file, line and column:
a YAML or JSON syntax error, a duplicate YAML key, a document that is not a template
(no ``Resources`` mapping, a resource without ``Type``), a Markdown file with no fenced
block that is a template.

When the template sits in a CDK cloud assembly (``cdk.out/manifest.json`` lists it), the
stack's termination protection and its acknowledged findings are read too (see
:class:`controls.template.Assembly`); the template alone stays the source of truth.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controls.template import Assembly, Template

SHORT_TAGS = (
    "Ref",
    "Sub",
    "GetAtt",
    "If",
    "Select",
    "GetAZs",
    "Join",
    "Split",
    "FindInMap",
    "Base64",
    "Cidr",
    "ImportValue",
    "Equals",
    "And",
    "Or",
    "Not",
    "Condition",
    "Transform",
    "ToJsonString",
    "Length",
)

_TEMPLATE_LANGUAGES = {"", "yaml", "yml", "json", "cloudformation", "cfn", "template"}
_MARKDOWN_SUFFIXES = {".md", ".markdown"}


class TemplateError(Exception):
    """Unusable input, with the position of the problem when there is one."""

    def __init__(
        self, message: str, *, source: str, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.column = column

    @property
    def position(self) -> str:
        if self.line is None:
            return self.source
        if self.column is None:
            return f"{self.source}:{self.line}"
        return f"{self.source}:{self.line}:{self.column}"

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.position}: {self.message}"
        where = f"line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{self.position}: {self.message} ({where})"


# ------------------------------------------------------------------------------ YAML


class _CloudFormationLoader(yaml.SafeLoader):
    """Safe YAML loader that knows CloudFormation's short tags and keeps dates as text."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable key: let the base class report it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


# CloudFormation reads ``2010-09-09`` as text, not as a date.
_CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _short_tag(name: str) -> Any:
    key = name if name in {"Ref", "Condition"} else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        else:  # pragma: no cover - PyYAML has only these three node kinds
            raise yaml.constructor.ConstructorError(None, None, f"bad !{name}", node.start_mark)
        return {key: value}

    return construct


for _tag in SHORT_TAGS:
    _CloudFormationLoader.add_constructor(f"!{_tag}", _short_tag(_tag))


def _parse_yaml(text: str, source: str, line_offset: int = 0) -> tuple[Any, dict[str, int]]:
    loader = _CloudFormationLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise TemplateError(
            f"YAML syntax error: {problem or error}",
            source=source,
            line=mark.line + 1 + line_offset if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as error:
        raise TemplateError(f"YAML error: {error}", source=source) from None
    finally:
        loader.dispose()
    return data, _yaml_resource_lines(node, line_offset)


def _yaml_resource_lines(node: yaml.Node | None, line_offset: int) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    for key, value in node.value:
        if (
            isinstance(key, yaml.ScalarNode)
            and key.value == "Resources"
            and isinstance(value, yaml.MappingNode)
        ):
            return {
                str(child.value): child.start_mark.line + 1 + line_offset
                for child, _ in value.value
                if isinstance(child, yaml.ScalarNode)
            }
    return {}


# ------------------------------------------------------------------------------ JSON


def _parse_json(text: str, source: str, line_offset: int = 0) -> tuple[Any, dict[str, int]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TemplateError(
            f"JSON syntax error: {error.msg}",
            source=source,
            line=error.lineno + line_offset,
            column=error.colno,
        ) from None
    return data, _json_resource_lines(text, data, line_offset)


_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')


def _json_resource_lines(text: str, data: Any, line_offset: int) -> dict[str, int]:
    """Line of each resource key: its first occurrence as a key after ``"Resources"``."""
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        return {}
    wanted = {str(logical_id) for logical_id in data["Resources"]}
    start = max(text.find('"Resources"'), 0)
    lines: dict[str, int] = {}
    line, position = text.count("\n", 0, start) + 1, start
    for match in _JSON_KEY.finditer(text, start):
        key = match.group(1)
        if key in wanted and key not in lines:
            line += text.count("\n", position, match.start())
            position = match.start()
            lines[key] = line + line_offset
            if len(lines) == len(wanted):
                break
    return lines


# -------------------------------------------------------------------------- Markdown


@dataclass(frozen=True)
class _Fence:
    language: str
    first_line: int  # 1-based line of the block's first content line in the file
    text: str


def _fences(text: str) -> list[_Fence]:
    fences: list[_Fence] = []
    opening: re.Match[str] | None = None
    body: list[str] = []
    start = 0
    opener = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)[^`]*$")
    for number, line in enumerate(text.splitlines(), start=1):
        if opening is None:
            opening = opener.match(line)
            body, start = [], number + 1
            continue
        fence, indent = opening.group("fence"), opening.group("indent")
        stripped = line.strip()
        if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            fences.append(_Fence(opening.group("info").lower(), start, "\n".join(body) + "\n"))
            opening = None
            continue
        body.append(line[len(indent) :] if line.startswith(indent) else line)
    return fences


# ---------------------------------------------------------------------------- checks


def _template_problem(data: Any, lines: dict[str, int]) -> tuple[str, int | None] | None:
    """Why ``data`` is not a template (message, line), or ``None`` when it is one."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        return f"not a CloudFormation template: the document is {kind}, not a mapping", 1
    resources = data.get("Resources")
    if resources is None:
        return "not a CloudFormation template: no top-level Resources section", 1
    if not isinstance(resources, dict) or not resources:
        return "not a CloudFormation template: Resources must be a non-empty mapping", 1
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            return f"resource {logical_id} has no Type", lines.get(str(logical_id))
    return None


def _parse(
    text: str, source: str, language: str, line_offset: int = 0
) -> tuple[Any, dict[str, int]]:
    if language == "json" or (language == "" and text.lstrip().startswith("{")):
        return _parse_json(text, source, line_offset)
    return _parse_yaml(text, source, line_offset)


def parse_template(
    text: str, source: str = "<template>", *, markdown: bool | None = None
) -> Template:
    """Parse template text; ``markdown=None`` detects fenced templates automatically."""
    fences = _fences(text) if markdown is not False else []
    if markdown:
        return _from_fences(fences, source)
    try:
        data, lines = _parse(text, source, "")
    except TemplateError:
        if fences:
            return _from_fences(fences, source)
        raise
    problem = _template_problem(data, lines)
    if problem is not None:
        if fences:
            return _from_fences(fences, source)
        message, line = problem
        raise TemplateError(message, source=source, line=line, column=1 if line else None)
    return Template(data, source=source, lines=lines)


def _from_fences(fences: list[_Fence], source: str) -> Template:
    candidates: list[tuple[int, Template]] = []
    first_error: TemplateError | None = None
    looked_at = [fence for fence in fences if fence.language in _TEMPLATE_LANGUAGES]
    for fence in looked_at:
        try:
            data, lines = _parse(fence.text, source, fence.language, fence.first_line - 1)
        except TemplateError as error:
            if first_error is None and _looks_like_template(fence.text):
                first_error = error
            continue
        if _template_problem(data, lines) is None:
            candidates.append((len(data["Resources"]), Template(data, source=source, lines=lines)))
    if candidates:
        # The block that is the template: the one declaring the most resources.
        return max(candidates, key=lambda candidate: candidate[0])[1]
    if first_error is not None:
        raise first_error
    line = looked_at[0].first_line if looked_at else None
    raise TemplateError(
        f"no fenced code block is a CloudFormation template "
        f"({len(looked_at)} yaml/json block(s) looked at, none has a Resources mapping "
        "whose entries all have a Type)",
        source=source,
        line=line,
    )


def _looks_like_template(text: str) -> bool:
    return bool(re.search(r"^\s*\"?(Resources|AWSTemplateFormatVersion)\"?\s*:", text, re.M))


def load_template(path: str | Path) -> Template:
    """Read a template file (JSON, YAML, or Markdown with a fenced template)."""
    file = Path(path)
    source = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError("file not found", source=source) from None
    except IsADirectoryError:
        raise TemplateError("is a directory, not a template file", source=source) from None
    except UnicodeDecodeError as error:
        raise TemplateError(
            f"not UTF-8 text (byte {error.start})", source=source, line=None
        ) from None
    except OSError as error:
        raise TemplateError(f"cannot read: {error.strerror}", source=source) from None
    markdown = True if file.suffix.lower() in _MARKDOWN_SUFFIXES else None
    template = parse_template(text, source, markdown=markdown)
    template.assembly = _assembly(file)
    return template


# -------------------------------------------------------------------- cloud assembly


def _assembly(template_file: Path) -> Assembly | None:
    manifest_file = template_file.parent / "manifest.json"
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    for name, artifact in (artifacts or {}).items():
        if not isinstance(artifact, dict) or artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties") or {}
        if properties.get("templateFile") != template_file.name:
            continue
        metadata: dict[str, Any] = dict(artifact.get("metadata") or {})
        extra = artifact.get("additionalMetadataFile")
        if isinstance(extra, str):
            with contextlib.suppress(OSError, ValueError):
                metadata.update(json.loads((template_file.parent / extra).read_text("utf-8")))
        protection = properties.get("terminationProtection")
        return Assembly(
            stack=str(name),
            termination_protection=protection if isinstance(protection, bool) else None,
            acknowledgments=_acknowledgments(metadata),
        )
    return None


def _acknowledgments(metadata: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Acknowledged findings per logical ID (an acknowledgment on a construct covers children)."""
    logical_ids: dict[str, str] = {}
    acknowledged: dict[str, dict[str, str]] = {}
    for path, entries in metadata.items():
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            if entry.get("type") == "aws:cdk:logicalId" and isinstance(entry.get("data"), str):
                logical_ids[path] = entry["data"]
            elif entry.get("type") == "aws:cdk:acknowledged-rules" and isinstance(
                entry.get("data"), dict
            ):
                acknowledged.setdefault(path, {}).update(
                    {str(rule): str(reason) for rule, reason in entry["data"].items()}
                )
    result: dict[str, dict[str, str]] = {}
    for construct_path, rules in acknowledged.items():
        for path, logical_id in logical_ids.items():
            if path == construct_path or path.startswith(construct_path + "/"):
                result.setdefault(logical_id, {}).update(rules)
    return result
