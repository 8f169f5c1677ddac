"""DEP-03 traffic shifter (inlined): shift / check_alarms / rollback for one listener rule.

Env: RULE_ARN, BLUE_TARGET_GROUP_ARN, GREEN_TARGET_GROUP_ARN, ALARM_NAMES (JSON list).
"""

import json
import os
from typing import Any

ACTIONS = ("shift", "check_alarms", "rollback")


def weight(value: Any) -> int:
    """The green weight, a whole number 0..100 (blue gets the rest)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"green_weight={value!r} is invalid; pass a whole number from 0 to 100")
    return value


def set_weights(elbv2: Any, rule: str, blue: str, green: str, green_weight: Any) -> dict[str, Any]:
    """Send green_weight % to green, the rest to blue; keep the rest of the rule's actions."""
    share = weight(green_weight)
    wanted = {blue: 100 - share, green: share}
    actions: list[dict[str, Any]] = []
    found = False
    for action in elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]:
        action = dict(action)
        groups = action.get("ForwardConfig", {}).get("TargetGroups", [])
        if action["Type"] == "forward" and {g["TargetGroupArn"] for g in groups} >= set(wanted):
            action["ForwardConfig"] = {
                **action["ForwardConfig"],
                "TargetGroups": [
                    {**g, "Weight": wanted.get(g["TargetGroupArn"], g.get("Weight", 0))}
                    for g in groups
                ],
            }
            action.pop("TargetGroupArn", None)  # only valid with a single target group
            found = True
        if action["Type"] == "authenticate-oidc":  # describe never returns the secret
            action["AuthenticateOidcConfig"] = {
                **action["AuthenticateOidcConfig"],
                "UseExistingClientSecret": True,
            }
        actions.append(action)
    if not found:
        raise ValueError(
            f"rule {rule} has no forward action listing both {blue} and {green}; "
            "forward to both target groups with weights"
        )
    elbv2.modify_rule(RuleArn=rule, Actions=actions)
    return {"blue": wanted[blue], "green": wanted[green]}


def check_alarms(cloudwatch: Any, names: list[str]) -> dict[str, Any]:
    """firing: an alarm is in ALARM or missing (a deleted alarm fails safe)."""
    states: dict[str, str] = {}
    request: dict[str, Any] = {
        "AlarmNames": names,
        "AlarmTypes": ["CompositeAlarm", "MetricAlarm"],
        "MaxRecords": 100,
    }
    while True:
        page = cloudwatch.describe_alarms(**request)
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            states[alarm["AlarmName"]] = alarm["StateValue"]
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    alarming = sorted(name for name, state in states.items() if state == "ALARM")
    missing = sorted(set(names) - set(states))
    return {"firing": bool(alarming or missing), "alarming": alarming, "missing": missing}


def handler(event: Any, context: Any) -> dict[str, Any]:
    import boto3

    action = event.get("action") if isinstance(event, dict) else None
    if action not in ACTIONS:
        raise ValueError(f"action={action!r} is invalid; use one of {', '.join(ACTIONS)}")
    if action == "check_alarms":
        names = json.loads(os.environ["ALARM_NAMES"])
        result = check_alarms(boto3.client("cloudwatch"), names)
    else:
        green_weight = weight(event.get("green_weight")) if action == "shift" else 0
        rule, blue, green = (
            os.environ[name]
            for name in ("RULE_ARN", "BLUE_TARGET_GROUP_ARN", "GREEN_TARGET_GROUP_ARN")
        )
        result = set_weights(boto3.client("elbv2"), rule, blue, green, green_weight)
    print(json.dumps({"action": action, **result}))
    return result
