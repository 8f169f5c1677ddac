"""MON — monitoring controls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from controls.analysis import databases, is_cmk_reference
from controls.catalogue import Context, control
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import as_list
from controls.template import Resource, Template

ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")


def alert_topics(t: Template) -> list[Resource]:
    """Topics that alarms notify (all topics when no alarm points at one)."""
    topics = t.of_type("AWS::SNS::Topic")
    used: set[str] = set()
    for alarm in t.of_type(*ALARM_TYPES, include_disabled=True):
        for prop in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            used |= t.references(alarm.properties.get(prop))
    alerting = [x for x in topics if x.logical_id in used]
    return alerting or topics


@control(
    "MON-01",
    title="Encrypted alert topic with email and HTTPS subscriptions and a DLQ",
    severity=Severity.MEDIUM,
    requirement="""Alert topic encrypted with a CMK; email and HTTPS subscriptions; dead-letter
    queue for failed deliveries.""",
    impact="""Alerts that are readable by anyone with SNS access, reach only one channel, or are
    silently dropped when the endpoint fails mean incidents go unnoticed.""",
    fix="""Encrypt the alert topic with a CMK (KmsMasterKeyId), add AWS::SNS::Subscription
    resources for https (e.g. PagerDuty) and email, each with a RedrivePolicy to an SQS DLQ.""",
)
def mon_01(ctx: Context) -> Outcome:
    """Requires an SNS topic; each alert topic (those alarms notify) needs a CMK
    KmsMasterKeyId and subscriptions with protocols https and email (conditional ones count),
    each an AWS::SNS::Subscription with a RedrivePolicy deadLetterTargetArn (inline Subscription
    entries cannot have one)."""
    t = ctx.template
    a = Assessment()
    topics = alert_topics(t)
    if not topics:
        a.fail(None, "no SNS alert topic")
    subscriptions = t.of_type("AWS::SNS::Subscription", include_disabled=True)
    for topic in topics:
        lid = topic.logical_id
        a.check(
            lid,
            is_cmk_reference(t, topic.properties.get("KmsMasterKeyId")),
            "encrypted with a CMK",
            "topic not encrypted with a customer-managed key",
        )
        mine = [s for s in subscriptions if t.target(s.properties.get("TopicArn")) == lid]
        protocols = {str(t.get(s, "Protocol")) for s in mine}
        inline = [x for x in as_list(t.get(topic, "Subscription")) if isinstance(x, dict)]
        protocols |= {str(x.get("Protocol")) for x in inline}
        for protocol in ("https", "email"):
            a.check(
                lid,
                protocol in protocols,
                f"{protocol} subscription",
                f"no {protocol} subscription",
            )
        if inline:
            a.fail(lid, "inline Subscription entries cannot have a dead-letter queue")
        for subscription in mine:
            target = t.get(subscription, "RedrivePolicy")
            has_dlq = (isinstance(target, dict) and bool(target.get("deadLetterTargetArn"))) or (
                "deadLetterTargetArn" in t.text(subscription.properties.get("RedrivePolicy"))
            )
            a.check(
                subscription.logical_id,
                has_dlq,
                "dead-letter queue",
                "subscription without RedrivePolicy (failed deliveries are lost)",
            )
    return a.outcome()


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    statistic: str


def alarm_metrics(t: Template, alarm: Resource) -> list[Metric]:
    found: list[Metric] = []
    name = t.get(alarm, "MetricName")
    if isinstance(name, str):
        statistic = t.get(alarm, "ExtendedStatistic") or t.get(alarm, "Statistic") or ""
        found.append(Metric(str(t.get(alarm, "Namespace")), name, str(statistic)))
    for query in as_list(t.get(alarm, "Metrics")):
        if not isinstance(query, dict):
            continue
        stat = query.get("MetricStat")
        metric = stat.get("Metric") if isinstance(stat, dict) else None
        if isinstance(metric, dict):
            found.append(
                Metric(
                    str(metric.get("Namespace")),
                    str(metric.get("MetricName")),
                    str(stat.get("Stat", "")) if isinstance(stat, dict) else "",
                )
            )
    return found


def _expressions(t: Template, alarm: Resource) -> str:
    return " ".join(
        str(q.get("Expression", ""))
        for q in as_list(t.get(alarm, "Metrics"))
        if isinstance(q, dict)
    )


_GREATER = re.compile(r"Greater", re.I)
_LESS = re.compile(r"Less", re.I)
_ZERO_SAFE = re.compile(r"\bIF\s*\(|\bFILL\s*\(", re.I)


def _coverage(t: Template) -> list[tuple[str, Any]]:
    """(alarm kind, predicate over (alarm, metrics)) required by what the template contains."""
    kinds: list[tuple[str, Any]] = []

    def has(namespace: str, metric: str, comparison: re.Pattern[str] | None = None) -> Any:
        def predicate(alarm: Resource, metrics: list[Metric]) -> bool:
            matches = any(m.namespace == namespace and m.name == metric for m in metrics)
            if comparison is None or not matches:
                return matches
            return bool(comparison.search(str(t.get(alarm, "ComparisonOperator"))))

        return predicate

    def five_xx(alarm: Resource, metrics: list[Metric]) -> bool:
        names = {m.name for m in metrics if m.namespace == "AWS/ApplicationELB"}
        return bool(names & {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count"}) and bool(
            _ZERO_SAFE.search(_expressions(t, alarm))
        )

    def p99(alarm: Resource, metrics: list[Metric]) -> bool:
        return any(m.name == "TargetResponseTime" and m.statistic.lower() == "p99" for m in metrics)

    if t.has("AWS::AutoScaling::AutoScalingGroup", "AWS::EC2::Instance"):
        kinds += [
            ("EC2 CPU high", has("AWS/EC2", "CPUUtilization", _GREATER)),
            ("EC2 CPU low", has("AWS/EC2", "CPUUtilization", _LESS)),
        ]
    if t.has("AWS::ElasticLoadBalancingV2::TargetGroup"):
        kinds.append(("unhealthy hosts", has("AWS/ApplicationELB", "UnHealthyHostCount")))
    if t.has("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        kinds += [("5xx rate (zero-safe metric math)", five_xx), ("p99 latency", p99)]
    dbs = databases(t)
    if dbs:
        storage = "FreeLocalStorage" if all(d.aurora for d in dbs) else "FreeStorageSpace"
        kinds += [
            ("DB CPU", has("AWS/RDS", "CPUUtilization")),
            ("DB free storage", has("AWS/RDS", storage)),
            ("DB connections", has("AWS/RDS", "DatabaseConnections")),
        ]
    if t.has("AWS::Lambda::Function"):
        kinds.append(("Lambda errors", has("AWS/Lambda", "Errors")))
    return kinds


SCALING_POLICIES = ("AWS::AutoScaling::ScalingPolicy", "AWS::ApplicationAutoScaling::ScalingPolicy")


def _scaling_alarm(t: Template, alarm: Resource) -> bool:
    """An alarm whose only actions are scaling policies (CDK step scaling creates these)."""
    actions = as_list(alarm.properties.get("AlarmActions"))
    targets = [t.target(action) for action in actions]
    return bool(actions) and all(
        target is not None and t.resources[target].type in SCALING_POLICIES for target in targets
    )


@control(
    "MON-02",
    title="Complete, actionable alarms",
    severity=Severity.HIGH,
    requirement="""Alarms (CPU high/low, unhealthy hosts, 5xx rate with zero-safe metric math, p99
    latency, DB CPU, free storage, connections, Lambda errors), each with alarm and OK actions, a
    description and missing-data handling.""",
    impact="""Missing alarms mean outages are found by customers; alarms without actions,
    descriptions or missing-data handling page nobody, confuse responders or flap.""",
    fix="""Add the missing alarms for the resources present; give every alarm AlarmActions and
    OKActions to the alert topic, an AlarmDescription and TreatMissingData; compute the 5xx rate
    with IF/FILL so zero requests do not divide by zero.""",
)
def mon_02(ctx: Context) -> Outcome:
    """Every AWS::CloudWatch::Alarm needs AlarmActions, OKActions, AlarmDescription and
    TreatMissingData (alarms that only drive scaling policies need actions and a description).
    Coverage follows the template: EC2 CPU high and low (ASG/instances),
    UnHealthyHostCount (target groups), a 5xx metric-math rate using IF/FILL and p99
    TargetResponseTime (ALB), RDS CPUUtilization, FreeStorageSpace (FreeLocalStorage for Aurora)
    and DatabaseConnections, Lambda Errors."""
    t = ctx.template
    kinds = _coverage(t)
    alarms = t.of_type("AWS::CloudWatch::Alarm", include_disabled=True)
    if not kinds and not alarms:
        return not_applicable("nothing to alarm on (no EC2, ALB, RDS or Lambda) and no alarm")
    a = Assessment()
    for alarm in alarms:
        lid = alarm.logical_id
        a.check(lid, bool(as_list(t.get(alarm, "AlarmActions"))), "AlarmActions", "no AlarmActions")
        a.check(lid, bool(t.get(alarm, "AlarmDescription")), "described", "no AlarmDescription")
        if _scaling_alarm(t, alarm):
            a.note(
                f"{lid} drives a scaling policy: OK actions and missing-data handling not required"
            )
            continue
        a.check(lid, bool(as_list(t.get(alarm, "OKActions"))), "OKActions", "no OKActions")
        a.check(
            lid,
            t.get(alarm, "TreatMissingData") is not None,
            "missing data handled",
            "no TreatMissingData",
        )
    metrics = {alarm.logical_id: alarm_metrics(t, alarm) for alarm in alarms}
    for label, predicate in kinds:
        covering = [x for x in alarms if predicate(x, metrics[x.logical_id])]
        a.check(
            covering[0].logical_id if covering else None,
            bool(covering),
            f"{label} alarm",
            f"no {label} alarm",
        )
    return a.outcome()


@control(
    "MON-03",
    title="Composite alarms with OK actions",
    severity=Severity.MEDIUM,
    requirement="""Composite alarms with OK actions.""",
    impact="""Without composite alarms every symptom pages separately (alert fatigue), and without
    OK actions nobody learns that an incident is over.""",
    fix="""Add AWS::CloudWatch::CompositeAlarm resources combining the service alarms, with
    AlarmActions and OKActions to the alert topic.""",
)
def mon_03(ctx: Context) -> Outcome:
    """Requires an AWS::CloudWatch::CompositeAlarm; each needs an AlarmRule, AlarmActions and
    OKActions."""
    t = ctx.template
    a = Assessment()
    composites = t.of_type("AWS::CloudWatch::CompositeAlarm", include_disabled=True)
    if not composites:
        a.fail(None, "no AWS::CloudWatch::CompositeAlarm")
    for alarm in composites:
        lid = alarm.logical_id
        a.check(lid, bool(t.text(alarm.properties.get("AlarmRule"))), "alarm rule", "no AlarmRule")
        for prop in ("AlarmActions", "OKActions"):
            a.check(lid, bool(as_list(t.get(alarm, prop))), prop, f"no {prop}")
    return a.outcome()


@control(
    "MON-04",
    title="A dashboard per stack",
    severity=Severity.LOW,
    requirement="""A dashboard per stack.""",
    impact="""Without a dashboard responders assemble metrics by hand during an incident.""",
    fix="""Add an AWS::CloudWatch::Dashboard with the stack's key metrics.""",
)
def mon_04(ctx: Context) -> Outcome:
    """Requires an AWS::CloudWatch::Dashboard with a DashboardBody."""
    t = ctx.template
    a = Assessment()
    dashboards = t.of_type("AWS::CloudWatch::Dashboard", include_disabled=True)
    if not dashboards:
        a.fail(None, "no AWS::CloudWatch::Dashboard")
    for dashboard in dashboards:
        a.check(
            dashboard.logical_id,
            dashboard.properties.get("DashboardBody") is not None,
            "dashboard with widgets",
            "dashboard without DashboardBody",
        )
    return a.outcome()


__all__ = ["alarm_metrics", "alert_topics"]
