"""Result vocabulary shared by every check: status, severity, area, outcome.

A check never raises on odd input and never guesses: each resource it looks at ends up as
``ok``, ``fail`` or ``unknown`` (cannot decide, with the reason), and the control's status is
derived from those items (any fail → fail; else any unknown → unknown; else pass).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(enum.Enum):
    """Outcome of one control on one template."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        return {
            Status.PASS: "Pass",
            Status.FAIL: "Fail",
            Status.UNKNOWN: "Cannot decide",
            Status.NOT_APPLICABLE: "Not applicable",
        }[self]


class Severity(enum.IntEnum):
    """Severity of a failing control; ordered so ``--fail-on`` can compare."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; use one of: {names}") from None


class Area(enum.Enum):
    """Control areas in SPEC order; the member name is the ID prefix."""

    NET = "Network"
    ENC = "Encryption"
    IAM = "Identity and access"
    CMP = "Compute"
    DB = "Data"
    S3 = "Storage"
    LOG = "Audit and logging"
    EDGE = "Load balancing, TLS, DNS, WAF"
    DEP = "Blue/green delivery"
    MON = "Monitoring"
    RES = "Resilience and data safety"
    GOV = "Governance"

    @property
    def title(self) -> str:
        return self.value

    @classmethod
    def of(cls, control_id: str) -> Area:
        return cls[control_id.split("-", 1)[0]]


@dataclass(frozen=True)
class Item:
    """One observation: a resource (or the template, ``logical_id=None``) and what was seen."""

    status: Status
    logical_id: str | None
    message: str

    def render(self) -> str:
        return f"{self.logical_id}: {self.message}" if self.logical_id else self.message


@dataclass(frozen=True)
class Outcome:
    """What a check returns."""

    status: Status
    items: tuple[Item, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str = ""

    def of(self, status: Status) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.status is status)

    def logical_ids(self, status: Status) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for item in self.of(status):
            if item.logical_id:
                seen.setdefault(item.logical_id)
        return tuple(seen)


def not_applicable(reason: str) -> Outcome:
    """The template has nothing this control applies to."""
    return Outcome(Status.NOT_APPLICABLE, reason=reason)


@dataclass
class Assessment:
    """Collects per-resource observations and derives the control status."""

    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _add(self, item: Item) -> None:
        if item not in self.items:  # the same observation twice adds nothing
            self.items.append(item)

    def ok(self, logical_id: str | None, message: str) -> None:
        self._add(Item(Status.PASS, logical_id, message))

    def fail(self, logical_id: str | None, message: str) -> None:
        self._add(Item(Status.FAIL, logical_id, message))

    def unknown(self, logical_id: str | None, message: str) -> None:
        self._add(Item(Status.UNKNOWN, logical_id, message))

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def check(self, logical_id: str | None, holds: bool | None, good: str, bad: str) -> None:
        """Record ``good`` when ``holds``, ``bad`` when not, ``bad`` as unknown when ``None``."""
        if holds is None:
            self.unknown(logical_id, bad)
        elif holds:
            self.ok(logical_id, good)
        else:
            self.fail(logical_id, bad)

    @property
    def failed(self) -> bool:
        return any(item.status is Status.FAIL for item in self.items)

    def outcome(self, when_empty: str = "nothing to check") -> Outcome:
        statuses = {item.status for item in self.items}
        if Status.FAIL in statuses:
            status = Status.FAIL
        elif Status.UNKNOWN in statuses:
            status = Status.UNKNOWN
        elif Status.PASS in statuses:
            status = Status.PASS
        else:
            return Outcome(Status.NOT_APPLICABLE, notes=tuple(self.notes), reason=when_empty)
        return Outcome(status, tuple(self.items), tuple(self.notes))
