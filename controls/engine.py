"""Evaluate the catalogue (or one stack's profile) on a template."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from controls.catalogue import Context, Control, Settings
from controls.checks import CATALOGUE
from controls.model import Area, Item, Outcome, Severity, Status
from controls.profiles import PROFILES, settings_for
from controls.template import Template


class UnknownProfileError(ValueError):
    """The profile name is not one of :data:`controls.profiles.PROFILES`."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown profile {name!r}; profiles: {', '.join(PROFILES)}")
        self.name = name


@dataclass(frozen=True)
class Result:
    control: Control
    outcome: Outcome

    @property
    def status(self) -> Status:
        return self.outcome.status


@dataclass(frozen=True)
class Report:
    template: Template
    profile: str | None
    results: tuple[Result, ...]
    fail_on: Severity = Severity.LOW

    def with_status(self, status: Status) -> list[Result]:
        return [r for r in self.results if r.status is status]

    @property
    def counts(self) -> dict[Status, int]:
        counter = Counter(r.status for r in self.results)
        return {status: counter.get(status, 0) for status in Status}

    @property
    def score(self) -> float:
        """Percentage of applicable controls that pass (cannot-decide counts as not passing)."""
        counts = self.counts
        applicable = counts[Status.PASS] + counts[Status.FAIL] + counts[Status.UNKNOWN]
        return 100.0 if applicable == 0 else round(100.0 * counts[Status.PASS] / applicable, 1)

    @property
    def blocking(self) -> list[Result]:
        """Failures at or above the ``fail_on`` severity."""
        return [r for r in self.with_status(Status.FAIL) if r.control.severity >= self.fail_on]

    @property
    def exit_code(self) -> int:
        return 1 if self.blocking else 0

    def failures_by_severity(self) -> dict[Severity, list[Result]]:
        grouped: dict[Severity, list[Result]] = {s: [] for s in sorted(Severity, reverse=True)}
        for result in self.with_status(Status.FAIL):
            grouped[result.control.severity].append(result)
        return grouped

    def by_area(self, status: Status) -> dict[Area, list[Result]]:
        grouped: dict[Area, list[Result]] = {}
        for result in self.with_status(status):
            grouped.setdefault(result.control.area, []).append(result)
        return grouped


def select(profile: str | None) -> list[Control]:
    """The controls of a profile (SPEC order), or the whole catalogue."""
    if profile is None:
        return list(CATALOGUE.values())
    if profile not in PROFILES:
        raise UnknownProfileError(profile)
    return [CATALOGUE[control_id] for control_id in PROFILES[profile]]


def run_control(control: Control, context: Context) -> Outcome:
    """Run one check; a crash becomes a cannot-decide outcome naming the error."""
    try:
        return control.check(context)
    except Exception as error:  # a check must never take the whole audit down
        message = f"the check could not evaluate this template ({type(error).__name__}: {error})"
        return Outcome(Status.UNKNOWN, (Item(Status.UNKNOWN, None, message),))


def evaluate(
    template: Template,
    profile: str | None = None,
    *,
    fail_on: Severity = Severity.LOW,
    controls: Iterable[Control] | None = None,
    settings: Settings | None = None,
) -> Report:
    """Evaluate ``profile``'s controls (all controls without one) on ``template``."""
    chosen = list(controls) if controls is not None else select(profile)
    context = Context(template, settings or settings_for(profile))
    results = tuple(Result(control, run_control(control, context)) for control in chosen)
    return Report(template, profile, results, fail_on)
