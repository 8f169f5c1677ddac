"""DEP — blue/green delivery controls."""

from __future__ import annotations

import re
from typing import Any

from controls.analysis import identity_statements
from controls.catalogue import Context, control
from controls.model import Assessment, Outcome, Severity
from controls.resolve import as_bool, as_list
from controls.template import Template


def weighted_forwards(t: Template) -> list[tuple[str, list[dict[str, Any]]]]:
    """(owner, raw target-group entries) of every forward action with ≥ 2 weighted groups."""
    found: list[tuple[str, list[dict[str, Any]]]] = []
    for owner in t.of_type(
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        include_disabled=True,
    ):
        actions = owner.properties.get("DefaultActions", owner.properties.get("Actions"))
        for action in as_list(actions):
            if not isinstance(action, dict):
                continue
            config = action.get("ForwardConfig")
            groups = config.get("TargetGroups") if isinstance(config, dict) else None
            entries = [g for g in as_list(groups) if isinstance(g, dict)]
            if len(entries) >= 2 and all("Weight" in g for g in entries):
                found.append((owner.logical_id, entries))
    return found


@control(
    "DEP-01",
    title="Blue/green target groups with deploy-time weights",
    severity=Severity.MEDIUM,
    requirement="""Blue and green target groups + fleets; weighted forward actions whose weights
    are deploy-time parameters.""",
    impact="""Without two fleets behind weighted forwarding, releases replace the running fleet in
    place; hard-coded weights cannot be shifted without editing the template.""",
    fix="""Forward to blue and green target groups (each registered by its own ASG) with Weight
    values from validated Number parameters (MinValue 0, MaxValue 100; defaults 100/0).""",
)
def dep_01(ctx: Context) -> Outcome:
    """Requires a listener or rule whose forward action lists ≥ 2 target groups with Weight; each
    weight must be a Ref to a parameter with MinValue/MaxValue or AllowedValues; each target
    group must be registered by an Auto Scaling group (TargetGroupARNs)."""
    t = ctx.template
    a = Assessment()
    forwards = weighted_forwards(t)
    if not forwards:
        a.fail(None, "no forward action with weighted blue/green target groups")
    fleets = {
        group
        for asg in t.of_type("AWS::AutoScaling::AutoScalingGroup")
        for group in t.targets(asg.properties.get("TargetGroupARNs"))
    }
    for owner, entries in forwards:
        for entry in entries:
            group = t.target(entry.get("TargetGroupArn"))
            parameters = t.resolver.parameters_used(entry.get("Weight"))
            if not parameters:
                a.fail(owner, f"weight of {group} is fixed ({t.text(entry.get('Weight'))})")
            for name in sorted(parameters):
                definition = t.parameters.get(name, {})
                validated = ("MinValue" in definition and "MaxValue" in definition) or (
                    "AllowedValues" in definition
                )
                a.check(
                    owner,
                    validated,
                    f"weight of {group} from parameter {name}",
                    f"weight parameter {name} is not bounded (MinValue/MaxValue)",
                )
            a.check(
                owner,
                group in fleets,
                f"{group} has a fleet",
                f"target group {group} is not registered by an Auto Scaling group",
            )
    return a.outcome()


@control(
    "DEP-02",
    title="CodeDeploy with automatic rollback",
    severity=Severity.MEDIUM,
    requirement="""CodeDeploy application and deployment groups with automatic rollback on failure
    and on alarms.""",
    impact="""Without automatic rollback a failed or alarming release stays live until someone
    notices and reverts by hand.""",
    fix="""Declare an AWS::CodeDeploy::Application and DeploymentGroups with
    AutoRollbackConfiguration (DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM) and an enabled
    AlarmConfiguration listing the service alarms.""",
)
def dep_02(ctx: Context) -> Outcome:
    """Requires an AWS::CodeDeploy::Application and DeploymentGroups with
    AutoRollbackConfiguration Enabled and Events DEPLOYMENT_FAILURE and DEPLOYMENT_STOP_ON_ALARM,
    plus an enabled AlarmConfiguration with alarms."""
    t = ctx.template
    a = Assessment()
    if not t.has("AWS::CodeDeploy::Application"):
        a.fail(None, "no AWS::CodeDeploy::Application")
    groups = t.of_type("AWS::CodeDeploy::DeploymentGroup")
    if not groups:
        a.fail(None, "no AWS::CodeDeploy::DeploymentGroup")
    for group in groups:
        lid = group.logical_id
        rollback = t.get(group, "AutoRollbackConfiguration")
        rollback = rollback if isinstance(rollback, dict) else {}
        events = {str(e) for e in as_list(rollback.get("Events"))}
        a.check(
            lid,
            as_bool(rollback.get("Enabled")) is True
            and {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= events,
            "rolls back on failure and alarms",
            f"automatic rollback incomplete (events: {', '.join(sorted(events)) or 'none'})",
        )
        alarms = t.get(group, "AlarmConfiguration")
        alarms = alarms if isinstance(alarms, dict) else {}
        a.check(
            lid,
            as_bool(alarms.get("Enabled")) is True and bool(as_list(alarms.get("Alarms"))),
            "alarm-driven stop",
            "no enabled AlarmConfiguration with alarms",
        )
    return a.outcome()


@control(
    "DEP-03",
    title="Traffic-shifting automation with alarm checks and notifications",
    severity=Severity.MEDIUM,
    requirement="""Traffic shifting automation: Step Functions state machine + Lambda that shift
    weights in steps, check alarms between steps, roll back; EventBridge rules publish deployment
    state to SNS.""",
    impact="""Manual weight changes are slow and error-prone; without alarm gates a bad release
    reaches all users, and nobody is told when a deployment changes state.""",
    fix="""Add a Step Functions state machine invoking a Lambda that sets listener weights, with
    Wait and Choice states that read alarm state and a rollback branch; add an AWS::Events::Rule
    for the deployment events targeting the alert topic.""",
    limits="""The state machine's behaviour is judged from its definition text (Lambda task, Wait,
    Choice, alarm and rollback references).""",
)
def dep_03(ctx: Context) -> Outcome:
    """Requires an AWS::StepFunctions::StateMachine whose definition invokes a Lambda of the
    template and has Wait and Choice states plus alarm and rollback references, a function
    allowed elasticloadbalancing:ModifyListener/ModifyRule, and an AWS::Events::Rule on
    aws.states/aws.codedeploy events with an SNS topic target."""
    t = ctx.template
    a = Assessment()
    machines = t.of_type("AWS::StepFunctions::StateMachine")
    if not machines:
        a.fail(None, "no AWS::StepFunctions::StateMachine")
    functions = {f.logical_id for f in t.of_type("AWS::Lambda::Function")}
    for machine in machines:
        lid = machine.logical_id
        raw = machine.properties.get("DefinitionString", machine.properties.get("Definition"))
        text = t.text(raw)
        invokes = bool(t.references(raw) & functions) or "lambda:invoke" in text.lower()
        a.check(lid, invokes, "invokes a Lambda", "definition invokes no Lambda of the template")
        for pattern, label in (
            (r'"?Type"?\s*[:=]\s*"?Wait', "Wait state"),
            (r'"?Type"?\s*[:=]\s*"?Choice', "Choice state"),
            (r"alarm", "alarm check"),
            (r"rollback|roll back|revert", "rollback"),
        ):
            a.check(lid, bool(re.search(pattern, text, re.I)), label, f"definition has no {label}")
    shifting = any(
        any(x.lower().startswith("elasticloadbalancing:modify") for x in s.actions)
        for s in identity_statements(t)
    )
    a.check(
        None,
        shifting,
        "a role may shift listener weights",
        "no role may call elasticloadbalancing:ModifyListener/ModifyRule",
    )
    topics = {x.logical_id for x in t.of_type("AWS::SNS::Topic")}
    rules = [
        r
        for r in t.of_type("AWS::Events::Rule")
        if re.search(r"aws\.(states|codedeploy)", t.text(r.properties.get("EventPattern")))
    ]
    notified = [r for r in rules if t.references(r.properties.get("Targets")) & topics]
    a.check(
        notified[0].logical_id if notified else None,
        bool(notified),
        "deployment state published to SNS",
        "no EventBridge rule sends deployment state (aws.states/aws.codedeploy) to SNS",
    )
    return a.outcome()


__all__ = ["weighted_forwards"]
