"""The traffic-shifter handler (DEP-03), run without AWS.

The Elastic Load Balancing and CloudWatch clients are real botocore clients behind a ``Stubber``:
every call's operation and exact parameters are checked against the API model and the expected
values, and any call that was not expected fails the test. ``boto3.client`` is replaced so that
:func:`handler` gets these clients.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from constructs_lib.handlers import traffic_shifter
from constructs_lib.handlers.traffic_shifter import check_alarms, handler, set_weights

RULE = (
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/web/"
    "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
)
BLUE = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/blue/1111111111111111"
GREEN = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/green/2222222222222222"
ALARMS = ["api-5xx-rate", "api-health"]
ENVIRONMENT = {
    "RULE_ARN": RULE,
    "BLUE_TARGET_GROUP_ARN": BLUE,
    "GREEN_TARGET_GROUP_ARN": GREEN,
    "ALARM_NAMES": json.dumps(ALARMS),
}

#: Everything of the rule's actions besides the two weights, which shifting must keep.
OIDC: dict[str, Any] = {
    "Type": "authenticate-oidc",
    "Order": 1,
    "AuthenticateOidcConfig": {
        "Issuer": "https://idp.example.com",
        "AuthorizationEndpoint": "https://idp.example.com/authorize",
        "TokenEndpoint": "https://idp.example.com/token",
        "UserInfoEndpoint": "https://idp.example.com/userinfo",
        "ClientId": "payflow",
        "OnUnauthenticatedRequest": "authenticate",
    },
}
STICKINESS = {"Enabled": True, "DurationSeconds": 300}


def forward(blue: int, green: int) -> dict[str, Any]:
    return {
        "Type": "forward",
        "Order": 2,
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": BLUE, "Weight": blue},
                {"TargetGroupArn": GREEN, "Weight": green},
            ],
            "TargetGroupStickinessConfig": STICKINESS,
        },
    }


def rule_response(*actions: dict[str, Any]) -> dict[str, Any]:
    """A DescribeRules answer for RULE with these actions (default: OIDC, then 100/0)."""
    return {
        "Rules": [
            {
                "RuleArn": RULE,
                "Priority": "10",
                "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
                "Actions": copy.deepcopy(list(actions) or [OIDC, forward(100, 0)]),
                "IsDefault": False,
            }
        ]
    }


def expect_shift(elbv2: Stubber, blue: int, green: int, before: tuple[int, int] = (100, 0)) -> None:
    """Queue the describe/modify pair that moves the rule from ``before`` to blue/green."""
    elbv2.add_response(
        "describe_rules", rule_response(OIDC, forward(*before)), {"RuleArns": [RULE]}
    )
    kept_secret = {
        **OIDC,
        "AuthenticateOidcConfig": {
            **OIDC["AuthenticateOidcConfig"],
            "UseExistingClientSecret": True,
        },
    }
    elbv2.add_response(
        "modify_rule",
        {"Rules": []},
        {"RuleArn": RULE, "Actions": [kept_secret, forward(blue, green)]},
    )


def alarm_states(**states: str) -> dict[str, Any]:
    """A DescribeAlarms answer; names ending in 'composite' are composite alarms."""
    return {
        "MetricAlarms": [
            {"AlarmName": n, "StateValue": s} for n, s in states.items() if "composite" not in n
        ],
        "CompositeAlarms": [
            {"AlarmName": n, "StateValue": s} for n, s in states.items() if "composite" in n
        ],
    }


def expect_alarms(cloudwatch: Stubber, names: list[str], answer: dict[str, Any]) -> None:
    cloudwatch.add_response(
        "describe_alarms",
        answer,
        {"AlarmNames": names, "AlarmTypes": ["CompositeAlarm", "MetricAlarm"], "MaxRecords": 100},
    )


def _client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def elbv2() -> Iterator[Stubber]:
    with Stubber(_client("elbv2")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def cloudwatch() -> Iterator[Stubber]:
    with Stubber(_client("cloudwatch")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, elbv2: Stubber, cloudwatch: Stubber) -> list[str]:
    """The function's environment, and ``boto3.client`` handing out the stubbed clients.

    Returns the services the handler asked for, in order.
    """
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    clients = {"elbv2": elbv2.client, "cloudwatch": cloudwatch.client}
    asked: list[str] = []

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(service)
        return clients[service]

    monkeypatch.setattr(boto3, "client", client)
    return asked


# ---- shift ---------------------------------------------------------------------------------------
def test_shift_sets_exact_weights_and_keeps_every_other_field(elbv2: Stubber):
    expect_shift(elbv2, blue=75, green=25)
    assert set_weights(elbv2.client, RULE, BLUE, GREEN, 25) == {"blue": 75, "green": 25}


def test_shift_keeps_the_weight_of_a_third_group_and_drops_the_single_group_arn(elbv2: Stubber):
    other = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/canary/33"
    action = forward(100, 0)
    action["ForwardConfig"]["TargetGroups"].append({"TargetGroupArn": other, "Weight": 5})
    action["TargetGroupArn"] = BLUE  # ModifyRule rejects it next to several target groups
    elbv2.add_response("describe_rules", rule_response(action), {"RuleArns": [RULE]})
    shifted = forward(50, 50)
    shifted["ForwardConfig"]["TargetGroups"].append({"TargetGroupArn": other, "Weight": 5})
    elbv2.add_response("modify_rule", {"Rules": []}, {"RuleArn": RULE, "Actions": [shifted]})
    assert set_weights(elbv2.client, RULE, BLUE, GREEN, 50) == {"blue": 50, "green": 50}


def test_rule_without_both_groups_is_refused_and_left_alone(elbv2: Stubber):
    only_blue = {"Type": "forward", "Order": 1, "TargetGroupArn": BLUE}
    elbv2.add_response("describe_rules", rule_response(only_blue), {"RuleArns": [RULE]})
    with pytest.raises(ValueError, match=r"has no forward action listing both .*blue.*green"):
        set_weights(elbv2.client, RULE, BLUE, GREEN, 10)
    # no modify_rule was queued: the Stubber would have failed on the call


@pytest.mark.parametrize("bad", [120, -1, 12.5, "50", True, None])
def test_invalid_weight_is_refused_before_any_call(elbv2: Stubber, bad: Any):
    with pytest.raises(ValueError, match=r"green_weight=.* is invalid; pass a whole number"):
        set_weights(elbv2.client, RULE, BLUE, GREEN, bad)


# ---- check_alarms --------------------------------------------------------------------------------
def test_check_alarms_reports_the_alarm_in_alarm(cloudwatch: Stubber):
    names = ["api-5xx-rate", "service-composite"]
    expect_alarms(
        cloudwatch, names, alarm_states(**{"api-5xx-rate": "OK", "service-composite": "ALARM"})
    )
    assert check_alarms(cloudwatch.client, names) == {
        "firing": True,
        "alarming": ["service-composite"],
        "missing": [],
    }


def test_check_alarms_ok_and_insufficient_data_are_not_firing(cloudwatch: Stubber):
    expect_alarms(
        cloudwatch,
        ALARMS,
        alarm_states(**{"api-5xx-rate": "OK", "api-health": "INSUFFICIENT_DATA"}),
    )
    assert check_alarms(cloudwatch.client, ALARMS) == {
        "firing": False,
        "alarming": [],
        "missing": [],
    }


def test_a_missing_alarm_fails_safe(cloudwatch: Stubber):
    expect_alarms(cloudwatch, ALARMS, alarm_states(**{"api-5xx-rate": "OK"}))
    result = check_alarms(cloudwatch.client, ALARMS)
    assert result == {"firing": True, "alarming": [], "missing": ["api-health"]}


def test_check_alarms_follows_pages(cloudwatch: Stubber):
    expect_alarms(cloudwatch, ALARMS, {**alarm_states(**{"api-5xx-rate": "OK"}), "NextToken": "t"})
    cloudwatch.add_response(
        "describe_alarms",
        alarm_states(**{"api-health": "ALARM"}),
        {
            "AlarmNames": ALARMS,
            "AlarmTypes": ["CompositeAlarm", "MetricAlarm"],
            "MaxRecords": 100,
            "NextToken": "t",
        },
    )
    assert check_alarms(cloudwatch.client, ALARMS)["alarming"] == ["api-health"]


# ---- the state machine's path through the handler ------------------------------------------------
def run_like_the_state_machine(steps: list[int]) -> list[dict[str, Any]]:
    """shift → (wait) → check_alarms → choice for each step; a firing alarm → rollback → stop."""
    results: list[dict[str, Any]] = []
    for percent in steps:
        results.append(handler({"action": "shift", "green_weight": percent}, None))
        check = handler({"action": "check_alarms"}, None)
        results.append(check)
        if check["firing"]:
            results.append(handler({"action": "rollback"}, None))
            break
    return results


def test_a_failing_alarm_leads_to_rollback(aws: list[str], elbv2: Stubber, cloudwatch: Stubber):
    expect_shift(elbv2, blue=90, green=10)
    expect_alarms(cloudwatch, ALARMS, alarm_states(**{"api-5xx-rate": "OK", "api-health": "OK"}))
    expect_shift(elbv2, blue=75, green=25, before=(90, 10))
    expect_alarms(cloudwatch, ALARMS, alarm_states(**{"api-5xx-rate": "ALARM", "api-health": "OK"}))
    expect_shift(elbv2, blue=100, green=0, before=(75, 25))  # the rollback
    results = run_like_the_state_machine([10, 25, 50, 100])
    assert results == [
        {"blue": 90, "green": 10},
        {"firing": False, "alarming": [], "missing": []},
        {"blue": 75, "green": 25},
        {"firing": True, "alarming": ["api-5xx-rate"], "missing": []},
        {"blue": 100, "green": 0},
    ]
    assert aws == ["elbv2", "cloudwatch", "elbv2", "cloudwatch", "elbv2"]


def test_quiet_alarms_take_all_traffic_to_green(
    aws: list[str], elbv2: Stubber, cloudwatch: Stubber
):
    before = (100, 0)
    for percent in (50, 100):
        expect_shift(elbv2, blue=100 - percent, green=percent, before=before)
        expect_alarms(cloudwatch, ALARMS, alarm_states(**dict.fromkeys(ALARMS, "OK")))
        before = (100 - percent, percent)
    results = run_like_the_state_machine([50, 100])
    assert results[-2] == {"blue": 0, "green": 100}
    assert not any(r.get("firing") for r in results)


# ---- bad events ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"action": "shift", "green_weight": 120}, r"green_weight=120 is invalid"),
        ({"action": "shift"}, r"green_weight=None is invalid"),
        ({"action": "promote"}, r"action='promote' is invalid; use one of shift, check_alarms"),
        ({}, r"action=None is invalid"),
        ("shift", r"action=None is invalid"),
    ],
)
def test_invalid_event_raises_a_clear_error_and_calls_nothing(
    aws: list[str], event: Any, message: str
):
    with pytest.raises(ValueError, match=message):
        handler(event, None)
    assert aws == []  # not even a client was created


# ---- packaging -----------------------------------------------------------------------------------
def test_handler_fits_cloudformation_zipfile_and_needs_only_stdlib_and_boto3():
    source = Path(traffic_shifter.__file__).read_text(encoding="utf-8")
    assert len(source) <= 4096
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= {"json", "os", "typing", "boto3"}
