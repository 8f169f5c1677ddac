"""Helpers shared by the tests: apps built with the project's real context and gates."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk

ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict[str, Any]:
    """The context ``cdk synth`` applies from ``cdk.json`` (feature flags, environment default)."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(outdir: str | None = None, **context: Any) -> cdk.App:
    """A ``cdk.App`` with the project's ``cdk.json`` context, optionally overridden."""
    return cdk.App(
        context={**cdk_json_context(), **context},
        outdir=outdir or tempfile.mkdtemp(prefix="cdk-test-"),
    )


def new_stack(app: cdk.App | None = None, stack_id: str = "TestStack") -> cdk.Stack:
    """A throwaway stack in ``us-east-1`` for construct tests."""
    return cdk.Stack(app or new_app(), stack_id, env=cdk.Environment(region="us-east-1"))


def nag_findings(build: Callable[[cdk.Stack], Any]) -> list[str]:
    """Synthesize ``build(stack)`` under the four cdk-nag packs; return unacknowledged findings.

    Each finding is ``"<rule> at <construct path>"``. An empty list means the construct is clean
    on its own, with its acknowledgments living inside it.
    """
    from app import register_nag_packs

    outdir = tempfile.mkdtemp(prefix="cdk-nag-")
    app = new_app(outdir)
    register_nag_packs(app)
    build(new_stack(app))
    try:
        app.synth()
    except RuntimeError as error:
        if "alidation" not in str(error):
            raise
    report = json.loads((Path(outdir) / "validation-report.json").read_text())
    return [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


@dataclass(frozen=True)
class SynthesizedApp:
    """The reference app after a gated synth: the app tree and its cloud assembly directory."""

    app: cdk.App
    outdir: Path
    stacks: list[cdk.Stack]

    @property
    def template_paths(self) -> dict[str, Path]:
        """Template file of every stack by stack name."""
        return {stack.stack_name: self.outdir / stack.template_file for stack in self.stacks}

    def validation_report(self) -> dict[str, Any]:
        """The validation report the gates wrote."""
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report


def synthesize_reference_app(outdir: str, **context: Any) -> SynthesizedApp:
    """Build the app with ``app.build_app`` (as ``cdk synth`` does) and synthesize it, gated."""
    from app import build_app

    app = new_app(outdir, **context)
    stacks = build_app(app)
    try:
        app.synth()
    except RuntimeError as error:
        report = Path(outdir) / "validation-report.json"
        details = report.read_text() if report.exists() else ""
        raise AssertionError(f"gated synth failed: {error}\n{details[:20000]}") from error
    return SynthesizedApp(app=app, outdir=Path(outdir), stacks=stacks)
