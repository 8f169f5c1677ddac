"""``hardened-stacks`` command line: ``audit`` a template, list the ``controls``.

Exit codes of ``audit``: 0 no failure at or above ``--fail-on``; 1 failures; 2 unusable input
(missing file, not a template, YAML/JSON error — one line naming the position) or an unknown
profile (the line lists the profiles).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from controls.engine import UnknownProfileError, evaluate, select
from controls.loader import TemplateError, load_template
from controls.model import Severity
from controls.profiles import PROFILES
from controls.report import render_json, render_markdown

PROG = "hardened-stacks"
EXIT_OK, EXIT_FAILURES, EXIT_UNUSABLE = 0, 1, 2


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Hardened reference stacks: audit CloudFormation templates."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    audit = commands.add_parser(
        "audit",
        help="check a template against the control catalogue",
        description="Evaluate the control catalogue (or one stack's profile) on a template "
        "(JSON, YAML with short tags, or a Markdown file with a fenced template).",
    )
    audit.add_argument("template", metavar="TEMPLATE", help="template file (.json/.yaml/.md)")
    audit.add_argument(
        "--profile",
        metavar="NAME",
        help=f"evaluate one stack's controls: {', '.join(PROFILES)} (default: all controls)",
    )
    audit.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="report format (default: markdown)",
    )
    audit.add_argument(
        "--fail-on",
        type=_severity,
        default=Severity.LOW,
        metavar="SEVERITY",
        help="exit 1 when a control of this severity or higher fails: critical, high, medium, "
        "low (default: low, i.e. any failure)",
    )
    listing = commands.add_parser("controls", help="list the control catalogue")
    listing.add_argument("--profile", metavar="NAME", help="only this stack's controls")
    return parser


def _error(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_UNUSABLE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "controls":
            for control in select(args.profile):
                print(f"{control.id:8} {control.severity.label:8} {control.title}")
            return EXIT_OK
        select(args.profile)  # reject an unknown profile before reading anything
        template = load_template(args.template)
    except UnknownProfileError as error:
        return _error(str(error))
    except TemplateError as error:
        return _error(str(error))
    report = evaluate(template, args.profile, fail_on=args.fail_on)
    output = render_json(report) if args.format == "json" else render_markdown(report)
    sys.stdout.write(output)
    return report.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
