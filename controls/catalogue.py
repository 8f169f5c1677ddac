"""The control registry: one small check function per control ID, with its report texts.

A check is registered with :func:`control`; its docstring's first line says how the control
is checked (it feeds ``docs/controls.md``), ``limits`` says what a template alone cannot show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from controls.model import Area, Outcome, Severity
from controls.template import Template


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Stack-specific thresholds from SPEC section 2 (defaults: the catalogue's own bar)."""

    min_azs: int = 2
    min_backup_retention_days: int = 7
    separate_key_domains: tuple[str, ...] = ()  # e.g. ("s3", "rds", "logs")
    name_pattern: str | None = None  # regex every Name tag must match
    compliance_terms: tuple[str, ...] = ()  # tag keys/values every resource must mention
    required_condition_topics: tuple[str, ...] = ()  # "monitoring", "environment", ...
    required_outputs: tuple[str, ...] = ()
    db_port_parameter: bool = False
    alb_log_expiration_days: int | None = None
    health_check_path: str | None = None
    health_check_interval: int | None = None
    deregistration_delay: int | None = None
    required_path_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    template: Template
    settings: Settings = field(default_factory=Settings)


Check = Callable[[Context], Outcome]


@dataclass(frozen=True, kw_only=True)
class Control:
    id: str
    title: str
    severity: Severity
    requirement: str
    impact: str
    fix: str
    limits: str
    check: Check

    @property
    def area(self) -> Area:
        return Area.of(self.id)

    @property
    def how(self) -> str:
        """How the control is checked (first paragraph of the check's docstring)."""
        doc = (self.check.__doc__ or "").strip()
        return " ".join(doc.split("\n\n", 1)[0].split())

    @property
    def number(self) -> int:
        return int(self.id.rsplit("-", 1)[1])


_REGISTRY: dict[str, Control] = {}


def control(
    control_id: str,
    *,
    title: str,
    severity: Severity,
    requirement: str,
    impact: str,
    fix: str,
    limits: str = "",
) -> Callable[[Check], Check]:
    """Register ``check`` as the implementation of ``control_id``."""

    def register(check: Check) -> Check:
        if control_id in _REGISTRY:
            raise ValueError(f"control {control_id} is registered twice")
        if not (check.__doc__ or "").strip():
            raise ValueError(f"control {control_id}: the check needs a docstring (how it checks)")
        _REGISTRY[control_id] = Control(
            id=control_id,
            title=title,
            severity=severity,
            requirement=" ".join(requirement.split()),
            impact=" ".join(impact.split()),
            fix=" ".join(fix.split()),
            limits=" ".join(limits.split()),
            check=check,
        )
        return check

    return register


def registry() -> dict[str, Control]:
    """Every registered control, in SPEC order (area, then number)."""
    areas = list(Area)
    ordered = sorted(_REGISTRY.values(), key=lambda c: (areas.index(c.area), c.number))
    return {c.id: c for c in ordered}
