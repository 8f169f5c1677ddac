"""End-to-end tests of ``hardened-stacks audit`` (``controls.cli:main``, ``python -m controls``)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from controls import CATALOGUE, PROFILES
from controls.cli import main

DATA = Path(__file__).parent / "data"
WEAK = DATA / "weak_web_stack.yaml"
ROOT = Path(__file__).resolve().parents[2]

# The weak template's failures, with the control each must be reported under.
EXPECTED_FAILURES = {
    "DB-01": ["Database"],  # plaintext (NoEcho) password parameter
    "CMP-02": ["WebLaunchTemplate"],  # IMDSv1 allowed
    "NET-03": ["PrivateRouteTable", "PrivateSubnet2"],  # one NAT for two private subnets
    "NET-01": ["PublicSubnet1", "PrivateSubnet2"],  # hard-coded AZ names
    "S3-01": ["AssetsBucket"],  # public bucket
    "LOG-01": ["Trail"],  # no log file validation
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code, out, _ = run(capsys, "audit", *argv, "--format", "json")
    return code, json.loads(out)


def test_weak_template_names_each_failure_and_exits_1(capsys):
    code, report = _json(capsys, str(WEAK))
    assert code == 1
    results = {r["id"]: r for r in report["results"]}
    for control_id, logical_ids in EXPECTED_FAILURES.items():
        assert results[control_id]["status"] == "fail", control_id
        assert set(logical_ids) <= set(results[control_id]["logical_ids"]), control_id
    messages = " ".join(f["message"] for f in results["LOG-01"]["findings"])
    assert "EnableLogFileValidation is not true" in messages
    assert "HttpTokens optional" in " ".join(f["message"] for f in results["CMP-02"]["findings"])
    assert "DBPassword" in " ".join(f["message"] for f in results["DB-01"]["findings"])
    assert results["NET-01"]["lines"]["PublicSubnet1"] == 31


def test_weak_template_markdown_report_has_the_seed_shape(capsys):
    code, out, _ = run(capsys, "audit", str(WEAK))
    assert code == 1
    for heading in (
        "## Executive Summary",
        "## Failures by Area",
        "### 1. NET — Network",
        "## Severity Assessment",
        "| Category | Failure Count | Severity Level |",
        "**Overall Assessment**",
        "## Recommended Remediation",
        "1. **Immediate actions**: ",
    ):
        assert heading in out
    for field in (
        "- **Requirement**:",
        "- **Finding**",
        "- **Impact**:",
        "- **Fix**:",
        "- **Logical IDs**:",
    ):
        assert field in out
    for control_id, logical_ids in EXPECTED_FAILURES.items():
        block = out.split(f"**{control_id} ", 1)[1].split("\n\n**", 1)[0]
        for logical_id in logical_ids:
            assert f"`{logical_id}`" in block, (control_id, logical_id)
    assert "## Not Applicable" in out  # e.g. DB-10 without a DynamoDB table
    assert "| DB-10 |" in out


def test_fail_on_threshold(capsys):
    code, report = _json(capsys, str(WEAK), "--fail-on", "critical")
    assert code == 1
    assert set(report["summary"]["blocking_failures"]) == set(
        report["summary"]["failures_by_severity"]["critical"]
    )
    fragment = DATA / "no_critical.yaml"
    code, report = _json(capsys, str(fragment), "--fail-on", "critical")
    assert (
        report["summary"]["fail"] > 0 and not report["summary"]["failures_by_severity"]["critical"]
    )
    assert code == 0 and report["exit_code"] == 0
    assert run(capsys, "audit", str(fragment), "--fail-on", "HIGH")[0] == 1
    assert run(capsys, "audit", str(fragment))[0] == 1


def test_profile_limits_the_controls(capsys):
    code, report = _json(capsys, str(WEAK), "--profile", "TapStack")
    assert report["profile"] == "TapStack"
    assert [r["id"] for r in report["results"]] == PROFILES["TapStack"]
    assert code == 1


def test_json_output_has_stable_keys(capsys):
    _, report = _json(capsys, str(WEAK))
    assert list(report) == [
        "schema",
        "template",
        "profile",
        "fail_on",
        "exit_code",
        "summary",
        "results",
    ]
    assert report["schema"] == "hardened-stacks/audit-report/v1"
    assert list(report["summary"]) == [
        "controls",
        "resources",
        "pass",
        "fail",
        "unknown",
        "not_applicable",
        "score",
        "blocking_failures",
        "failures_by_severity",
        "failures_by_area",
    ]
    keys = [
        "id",
        "title",
        "area",
        "area_title",
        "severity",
        "status",
        "requirement",
        "impact",
        "fix",
        "how_checked",
        "static_limits",
        "reason",
        "logical_ids",
        "lines",
        "findings",
        "evidence",
        "notes",
    ]
    assert all(list(r) == keys for r in report["results"])
    assert [r["id"] for r in report["results"]] == list(CATALOGUE)
    statuses = {r["status"] for r in report["results"]}
    assert statuses <= {"pass", "fail", "unknown", "not_applicable"}
    assert {r["severity"] for r in report["results"]} <= {"critical", "high", "medium", "low"}


def test_markdown_fenced_template(tmp_path, capsys):
    answer = tmp_path / "model_response.md"
    answer.write_text(
        "# Model response\n\nHere is the template:\n\n```bash\necho deploy\n```\n\n"
        "```yaml\n" + WEAK.read_text() + "```\n\nThat's all.\n"
    )
    code, report = _json(capsys, str(answer))
    assert code == 1
    assert report["summary"]["resources"] == 23
    results = {r["id"]: r for r in report["results"]}
    assert results["NET-01"]["lines"]["PublicSubnet1"] == 31 + 9  # offset by the prose above


def test_yaml_syntax_error_exits_2_with_the_line(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n   Properties: {}\n")
    code, out, err = run(capsys, "audit", str(broken))
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert f"{broken}:4:" in err and "line 4" in err and "YAML syntax error" in err


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.yaml", "file not found"),
        ("just: a mapping\n", "plain.yaml", "no top-level Resources section"),
        ("# Notes\n\n```yaml\na: 1\n```\n", "notes.md", "no fenced code block is a CloudFormation"),
        ('{"Resources": {"B": {"Type": "AWS::S3::Bucket",}}}', "bad.json", "JSON syntax error"),
    ],
)
def test_unusable_input_exits_2(tmp_path, capsys, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "audit", str(path))
    assert code == 2 and out == ""
    assert message in err and err.startswith("hardened-stacks: error: ")


def test_unknown_profile_exits_2_listing_profiles(capsys):
    code, _, err = run(capsys, "audit", str(WEAK), "--profile", "NoSuchStack")
    assert code == 2
    assert "unknown profile 'NoSuchStack'" in err
    for profile in PROFILES:
        assert profile in err


def test_bad_fail_on_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["audit", str(WEAK), "--fail-on", "severe"])
    assert exited.value.code == 2
    assert "unknown severity 'severe'" in capsys.readouterr().err


def test_controls_listing(capsys):
    code, out, _ = run(capsys, "controls", "--profile", "PayFlowStack")
    assert code == 0
    assert len(out.splitlines()) == len(PROFILES["PayFlowStack"])
    assert out.startswith("NET-01")


def test_python_dash_m_controls_and_entry_point():
    completed = subprocess.run(
        [sys.executable, "-m", "controls", "audit", str(WEAK), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 1
    assert json.loads(completed.stdout)["exit_code"] == 1
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["hardened-stacks"] == "controls.cli:main"


def test_controls_never_imports_cdk():
    code = (
        "import sys, controls, controls.cli, controls.matrix; "
        "cdk = ('aws_cdk', 'constructs', 'cdk_nag', 'jsii'); "
        "bad = [m for m in sys.modules if m.startswith(cdk)]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
