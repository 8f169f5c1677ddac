"""The control catalogue of SPEC section 3 and the ``audit`` command.

``controls`` reads CloudFormation templates only — it never imports CDK — so it can audit any
template, ours or not::

    from controls import evaluate, load_template

    report = evaluate(load_template("cdk.out/TapStack.template.json"), "TapStack")
    print(report.exit_code, [r.control.id for r in report.blocking])

Layout: :mod:`controls.loader` (JSON/YAML/Markdown → :class:`Template`),
:mod:`controls.resolve` (static intrinsic evaluation), :mod:`controls.analysis` (shared
whole-template views), :mod:`controls.checks` (one function per control ID),
:mod:`controls.profiles` (stack profiles as data), :mod:`controls.engine` (evaluation),
:mod:`controls.report` (Markdown/JSON), :mod:`controls.matrix` (``docs/controls.md``),
:mod:`controls.cli` (``hardened-stacks``).
"""

from __future__ import annotations

from controls.catalogue import Control, Settings
from controls.checks import CATALOGUE
from controls.engine import Report, Result, UnknownProfileError, evaluate
from controls.loader import TemplateError, load_template, parse_template
from controls.model import Area, Outcome, Severity, Status
from controls.profiles import PROFILE_SETTINGS, PROFILES
from controls.template import Template

__all__ = [
    "CATALOGUE",
    "PROFILES",
    "PROFILE_SETTINGS",
    "Area",
    "Control",
    "Outcome",
    "Report",
    "Result",
    "Settings",
    "Severity",
    "Status",
    "Template",
    "TemplateError",
    "UnknownProfileError",
    "evaluate",
    "load_template",
    "parse_template",
]
