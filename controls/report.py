"""Render an audit :class:`~controls.engine.Report` as Markdown (seed-document shape) or JSON.

Markdown follows the failure analyses in ``shared/seeds``: executive summary, failures grouped
by area with requirement / finding / impact / fix and the offending logical IDs, then a
severity assessment table. JSON carries the same data with stable keys (``SCHEMA``).
"""

from __future__ import annotations

import json
from typing import Any

from controls.engine import Report, Result
from controls.model import Area, Severity, Status

SCHEMA = "hardened-stacks/audit-report/v1"
MAX_FINDINGS = 12
MAX_IDS = 25


def _scope(report: Report) -> str:
    if report.profile:
        return f"the {report.profile} profile ({len(report.results)} controls)"
    return f"the full catalogue ({len(report.results)} controls, no profile)"


def _verdict(report: Report) -> str:
    failures = report.with_status(Status.FAIL)
    if not failures:
        return "The template meets every applicable control that can be decided statically."
    worst = max(r.control.severity for r in failures)
    return (
        f"The template fails {len(failures)} control(s); the most severe is "
        f"{worst.label}. It should not be deployed to production before the "
        f"{worst.label}-severity findings are fixed."
    )


def _ids(ids: tuple[str, ...], lines: dict[str, int]) -> str:
    shown = ", ".join(f"`{i}` (line {lines[i]})" if i in lines else f"`{i}`" for i in ids[:MAX_IDS])
    return shown + (f" (+{len(ids) - MAX_IDS} more)" if len(ids) > MAX_IDS else "")


def _block(result: Result, status: Status, lines: list[str], where: dict[str, int]) -> None:
    control, outcome = result.control, result.outcome
    lines.append(f"**{control.id} {control.title}** (severity: {control.severity.label})")
    lines.append("")
    lines.append(f"- **Requirement**: {control.requirement}")
    items = outcome.of(status)
    label = "Finding" if status is Status.FAIL else "Reason"
    if len(items) == 1:
        lines.append(f"- **{label}**: {items[0].render()}")
    else:
        lines.append(f"- **{label}**:")
        lines += [f"  - {item.render()}" for item in items[:MAX_FINDINGS]]
        if len(items) > MAX_FINDINGS:
            lines.append(f"  - … {len(items) - MAX_FINDINGS} more (see `--format json`)")
    lines.append(f"- **Impact**: {control.impact}")
    lines.append(f"- **Fix**: {control.fix}")
    ids = outcome.logical_ids(status)
    lines.append(f"- **Logical IDs**: {_ids(ids, where) if ids else '(template-wide)'}")
    if control.limits:
        lines.append(f"- **Static limits**: {control.limits}")
    for note in outcome.notes:
        lines.append(f"- **Note**: {note}")
    lines.append("")


def _grouped(report: Report, status: Status, lines: list[str]) -> None:
    for number, (area, results) in enumerate(report.by_area(status).items(), start=1):
        lines.append(f"### {number}. {area.name} — {area.title}")
        lines.append("")
        for result in results:
            _block(result, status, lines, report.template.lines)


def render_markdown(report: Report) -> str:
    counts = report.counts
    template = report.template
    lines = [f"# Control Audit: {template.source}", "", "## Executive Summary", ""]
    lines.append(
        f"{_verdict(report)} Evaluated {_scope(report)} against `{template.source}` "
        f"({len(template.resources)} resources). Values come from the template alone: "
        "parameters take their defaults and conditions are evaluated from them; whatever "
        "depends on deploy-time values is reported as *cannot decide*."
    )
    lines += ["", "| Result | Controls |", "|---|---|"]
    lines += [f"| {status.label} | {counts[status]} |" for status in Status]
    blocking = report.blocking
    lines += [
        "",
        f"**Score**: {report.score:g} % of applicable controls pass. "
        f"**Failures at or above `{report.fail_on.label}`**: {len(blocking)} "
        f"(exit code {report.exit_code}).",
        "",
    ]
    lines += ["## Failures by Area", ""]
    if report.with_status(Status.FAIL):
        _grouped(report, Status.FAIL, lines)
    else:
        lines += ["No control fails.", ""]
    if report.with_status(Status.UNKNOWN):
        lines += [
            "## Cannot Decide",
            "",
            "These controls depend on values the template does not fix; review them by hand.",
            "",
        ]
        _grouped(report, Status.UNKNOWN, lines)
    not_applicable = report.with_status(Status.NOT_APPLICABLE)
    if not_applicable:
        lines += ["## Not Applicable", "", "| Control | Title | Reason |", "|---|---|---|"]
        lines += [
            f"| {r.control.id} | {r.control.title} | {r.outcome.reason} |" for r in not_applicable
        ]
        lines.append("")
    passed = report.with_status(Status.PASS)
    if passed:
        lines += ["## Passed", "", "| Control | Title | Evidence |", "|---|---|---|"]
        for result in passed:
            evidence = result.outcome.of(Status.PASS)
            text = "; ".join(item.render() for item in evidence[:3])
            if len(evidence) > 3:
                text += f"; … {len(evidence) - 3} more"
            lines.append(
                f"| {result.control.id} | {result.control.title} | {text.replace('|', '/')} |"
            )
        lines.append("")
    lines += _severity_tables(report)
    return "\n".join(lines).rstrip() + "\n"


def _severity_tables(report: Report) -> list[str]:
    lines = [
        "## Severity Assessment",
        "",
        "| Category | Failure Count | Severity Level |",
        "|---|---|---|",
    ]
    failures = report.by_area(Status.FAIL)
    for area in Area:
        results = failures.get(area, [])
        if results:
            worst = max(r.control.severity for r in results)
            lines.append(
                f"| {area.name} — {area.title} | {len(results)} | {worst.label.capitalize()} |"
            )
    if not failures:
        lines.append("| (none) | 0 | — |")
    lines += ["", "| Severity | Failures | Controls |", "|---|---|---|"]
    for severity, results in report.failures_by_severity().items():
        listed = ", ".join(r.control.id for r in results) or "—"
        lines.append(f"| {severity.label.capitalize()} | {len(results)} | {listed} |")
    lines += ["", f"**Overall Assessment**: {_verdict(report)}"]
    priorities = [
        (label, [r.control.id for r in report.failures_by_severity()[severity]])
        for severity, label in (
            (Severity.CRITICAL, "Immediate actions"),
            (Severity.HIGH, "High priority"),
            (Severity.MEDIUM, "Medium priority"),
            (Severity.LOW, "Low priority"),
        )
    ]
    due = [(label, ids) for label, ids in priorities if ids]
    if due:
        lines += ["", "## Recommended Remediation", ""]
        lines += [f"{n}. **{label}**: {', '.join(ids)}" for n, (label, ids) in enumerate(due, 1)]
    return lines


def _result_json(result: Result, where: dict[str, int]) -> dict[str, Any]:
    control, outcome = result.control, result.outcome
    flagged = Status.FAIL if result.status is Status.FAIL else Status.UNKNOWN
    ids = outcome.logical_ids(flagged)
    return {
        "id": control.id,
        "title": control.title,
        "area": control.area.name,
        "area_title": control.area.title,
        "severity": control.severity.label,
        "status": result.status.value,
        "requirement": control.requirement,
        "impact": control.impact,
        "fix": control.fix,
        "how_checked": control.how,
        "static_limits": control.limits,
        "reason": outcome.reason,
        "logical_ids": list(ids),
        "lines": {i: where[i] for i in ids if i in where},
        "findings": [
            {"status": item.status.value, "logical_id": item.logical_id, "message": item.message}
            for item in outcome.items
            if item.status in (Status.FAIL, Status.UNKNOWN)
        ],
        "evidence": [item.render() for item in outcome.of(Status.PASS)],
        "notes": list(outcome.notes),
    }


def report_data(report: Report) -> dict[str, Any]:
    counts = report.counts
    return {
        "schema": SCHEMA,
        "template": report.template.source,
        "profile": report.profile,
        "fail_on": report.fail_on.label,
        "exit_code": report.exit_code,
        "summary": {
            "controls": len(report.results),
            "resources": len(report.template.resources),
            "pass": counts[Status.PASS],
            "fail": counts[Status.FAIL],
            "unknown": counts[Status.UNKNOWN],
            "not_applicable": counts[Status.NOT_APPLICABLE],
            "score": report.score,
            "blocking_failures": [r.control.id for r in report.blocking],
            "failures_by_severity": {
                severity.label: [r.control.id for r in results]
                for severity, results in report.failures_by_severity().items()
            },
            "failures_by_area": {
                area.name: [r.control.id for r in results]
                for area, results in report.by_area(Status.FAIL).items()
            },
        },
        "results": [_result_json(result, report.template.lines) for result in report.results],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False) + "\n"


__all__ = ["SCHEMA", "render_json", "render_markdown", "report_data"]
