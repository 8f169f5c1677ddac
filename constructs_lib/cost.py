"""Budget and cost-anomaly alerts (GOV-06).

:class:`CostGuardrails` puts two independent nets under a workload's spend:

* an **AWS Budgets cost budget** (monthly, USD) that notifies when *actual* spend passes 80 % and
  100 % of the limit and when the *forecast* passes 100 % (percentages are arguments; forecasts
  need about five weeks of history before they fire);
* **Cost Anomaly Detection**: a monitor plus subscriptions that alert on spend that is unusual for
  the workload even while it is still below the budget (a scaling loop, a forgotten resource).

Scope. Both watch the spend carrying the project's **cost allocation tag** (``cost_allocation_tag``,
e.g. ``Project=payflow``, the GOV-01 tag every resource carries), so two workloads in one account
get separate guardrails. The tag must be *activated* as a cost allocation tag in the Billing
console of the paying account (it applies from then on and takes up to 24 hours to appear);
until then the budget sees no spend. ``cost_allocation_tag=None`` watches the whole account.

Anomaly monitor type. The default is a ``CUSTOM`` monitor over the cost allocation tag. A
``DIMENSIONAL``/``SERVICE`` monitor (``anomaly_monitor_scope=AnomalyMonitorScope.AWS_SERVICES``)
watches every AWS service of the account, but an account may have only **one** of those, and AWS
creates one automatically in many accounts, so a stack that creates another fails to deploy there.

Delivery. Budgets and Cost Anomaly Detection publish to the repo's :class:`AlarmTopic` (CMK
encrypted); the construct adds topic-policy and key-policy statements for
``budgets.amazonaws.com`` and ``costalerts.amazonaws.com``, each pinned to this account with
``aws:SourceAccount`` and to that service's resources of this account with ``aws:SourceArn``.
Anomaly alerts to SNS can only be sent individually (``IMMEDIATE``) and e-mail can only receive
``DAILY``/``WEEKLY`` summaries, so with both a topic and e-mail addresses there are two
subscriptions. E-mail addresses must always be set at deploy time; for an optional address,
subscribe it to the alarm topic instead (``AlarmTopic.add_email_subscription(condition=...)``).

Replacement. The budget has no physical name (CloudFormation generates one), because changing
its notifications replaces it. Monitor and subscription names end with the stack's UUID block,
so two deployments of one template never share a name.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Fn, Names, Stack, Token
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_ce as ce
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable

from constructs_lib.monitoring import AlarmTopic
from constructs_lib.validation import invalid, require_choice

_NAME = "CostGuardrails"

_TAG_KEY = re.compile(r"^[\w.:/=+\-@ ]{1,128}$")
_TAG_VALUE = re.compile(r"^[\w.:/=+\-@ ]{1,256}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+=?^_`{|}~-]+@[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")

#: AWS Budgets accepts at most this many notifications per budget, and 10 e-mail subscribers
#: (plus one SNS topic) per notification.
MAX_NOTIFICATIONS = 5
MAX_EMAIL_SUBSCRIBERS = 10
#: How often e-mail subscribers get anomaly summaries.
EMAIL_FREQUENCIES = ("DAILY", "WEEKLY")


class AnomalyMonitorScope(enum.Enum):
    """What the Cost Anomaly Detection monitor watches."""

    #: A CUSTOM monitor over the spend carrying ``cost_allocation_tag`` (default).
    COST_ALLOCATION_TAG = "COST_ALLOCATION_TAG"
    #: The account's DIMENSIONAL/SERVICE monitor: every AWS service; at most one per account.
    AWS_SERVICES = "AWS_SERVICES"


@dataclass(frozen=True, kw_only=True)
class CostAllocationTag:
    """A user-defined cost allocation tag and the values that identify the workload.

    ``values`` may contain deploy-time tokens (e.g. the project parameter).
    """

    key: str
    values: Sequence[str]


class CostGuardrails(Construct):
    """A monthly cost budget with alerts and Cost Anomaly Detection for one workload (GOV-06).

    :param monthly_limit_usd: the budget in USD per month, > 0 (a number or a Number
        parameter's token).
    :param cost_allocation_tag: the workload's tag, e.g. ``CostAllocationTag(key="Project",
        values=["payflow"])``; ``None`` watches the whole account (say so explicitly).
    :param alarm_topic: the topic budget and anomaly alerts go to (individual anomaly alerts).
    :param email_addresses: up to 10 addresses that get budget alerts directly and anomaly
        summaries (``anomaly_email_frequency``). At least a topic or one address is required.
    :param actual_alert_percentages: alert when actual spend exceeds these percentages of the
        limit (default 80 and 100).
    :param forecast_alert_percentages: alert when forecast spend exceeds these (default 100).
    :param anomaly_monitor_scope: what the anomaly monitor watches
        (:class:`AnomalyMonitorScope`; default the cost allocation tag).
    :param anomaly_threshold_usd: alert on anomalies whose total impact is at least this many USD
        (default 100; a number or a token).
    :param anomaly_threshold_percent: additionally require this impact in percent of the
        expected spend (both must hold); default none.
    :param anomaly_email_frequency: ``DAILY`` (default) or ``WEEKLY`` summaries for e-mail.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        monthly_limit_usd: float,
        cost_allocation_tag: CostAllocationTag | None,
        alarm_topic: AlarmTopic | None = None,
        email_addresses: Sequence[str] = (),
        actual_alert_percentages: Sequence[float] = (80, 100),
        forecast_alert_percentages: Sequence[float] = (100,),
        anomaly_monitor_scope: AnomalyMonitorScope = AnomalyMonitorScope.COST_ALLOCATION_TAG,
        anomaly_threshold_usd: float = 100,
        anomaly_threshold_percent: float | None = None,
        anomaly_email_frequency: str = "DAILY",
    ) -> None:
        emails = list(email_addresses)
        _validate(
            monthly_limit_usd=monthly_limit_usd,
            cost_allocation_tag=cost_allocation_tag,
            alarm_topic=alarm_topic,
            emails=emails,
            actual=list(actual_alert_percentages),
            forecast=list(forecast_alert_percentages),
            anomaly_monitor_scope=anomaly_monitor_scope,
            anomaly_threshold_usd=anomaly_threshold_usd,
            anomaly_threshold_percent=anomaly_threshold_percent,
            anomaly_email_frequency=anomaly_email_frequency,
        )
        super().__init__(scope, construct_id)
        self.alarm_topic = alarm_topic
        self.cost_allocation_tag = cost_allocation_tag

        if alarm_topic is not None:
            _allow_publish(
                alarm_topic,
                "AwsBudgetsPublish",
                "budgets.amazonaws.com",
                f"arn:{Aws.PARTITION}:budgets::{Aws.ACCOUNT_ID}:*",
            )
            _allow_publish(
                alarm_topic,
                "CostAnomalyDetectionPublish",
                "costalerts.amazonaws.com",
                f"arn:{Aws.PARTITION}:ce::{Aws.ACCOUNT_ID}:*",
            )

        # ---- the budget ---------------------------------------------------------------------
        subscribers = [
            budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=address)
            for address in emails
        ]
        if alarm_topic is not None:
            subscribers.insert(
                0,
                budgets.CfnBudget.SubscriberProperty(
                    subscription_type="SNS", address=alarm_topic.topic_arn
                ),
            )
        notifications = [
            budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percentage,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=subscribers,
            )
            for kind, percentages in (
                ("ACTUAL", actual_alert_percentages),
                ("FORECASTED", forecast_alert_percentages),
            )
            for percentage in percentages
        ]
        cost_filters = None
        if cost_allocation_tag is not None:
            cost_filters = {
                "TagKeyValue": [
                    f"user:{cost_allocation_tag.key}${value}"
                    for value in cost_allocation_tag.values
                ]
            }
        #: The monthly cost budget (GOV-06).
        self.budget = budgets.CfnBudget(
            self,
            "Resource",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=monthly_limit_usd, unit="USD"),
                cost_filters=cost_filters,
                # Credits and refunds would hide real usage until they run out.
                cost_types=budgets.CfnBudget.CostTypesProperty(
                    include_credit=False, include_refund=False
                ),
            ),
            notifications_with_subscribers=notifications,
        )

        # ---- Cost Anomaly Detection ---------------------------------------------------------
        monitor_specification = None
        if anomaly_monitor_scope is AnomalyMonitorScope.COST_ALLOCATION_TAG:
            assert cost_allocation_tag is not None  # checked by _validate
            tag = {"Key": cost_allocation_tag.key, "Values": list(cost_allocation_tag.values)}
            monitor_specification = Stack.of(self).to_json_string({"Tags": tag})
        services = anomaly_monitor_scope is AnomalyMonitorScope.AWS_SERVICES
        #: The anomaly monitor.
        self.anomaly_monitor = ce.CfnAnomalyMonitor(
            self,
            "AnomalyMonitor",
            monitor_name=self._name("monitor"),
            monitor_type="DIMENSIONAL" if services else "CUSTOM",
            monitor_dimension="SERVICE" if services else None,
            monitor_specification=monitor_specification,
        )
        threshold = self._threshold_expression(anomaly_threshold_usd, anomaly_threshold_percent)

        #: Individual anomaly alerts to the topic (``None`` without ``alarm_topic``).
        self.anomaly_alerts: ce.CfnAnomalySubscription | None = None
        if alarm_topic is not None:
            self.anomaly_alerts = ce.CfnAnomalySubscription(
                self,
                "AnomalyAlerts",
                subscription_name=self._name("alerts"),
                frequency="IMMEDIATE",
                monitor_arn_list=[self.anomaly_monitor.attr_monitor_arn],
                subscribers=[
                    ce.CfnAnomalySubscription.SubscriberProperty(
                        type="SNS", address=alarm_topic.topic_arn
                    )
                ],
                threshold_expression=threshold,
            )
        #: Anomaly summaries by e-mail (``None`` without ``email_addresses``).
        self.anomaly_summaries: ce.CfnAnomalySubscription | None = None
        if emails:
            self.anomaly_summaries = ce.CfnAnomalySubscription(
                self,
                "AnomalySummaries",
                subscription_name=self._name("summaries"),
                frequency=anomaly_email_frequency,
                monitor_arn_list=[self.anomaly_monitor.attr_monitor_arn],
                subscribers=[
                    ce.CfnAnomalySubscription.SubscriberProperty(type="EMAIL", address=address)
                    for address in emails
                ],
                threshold_expression=threshold,
            )

        if alarm_topic is not None:
            # Alerts must not be created before the policies that let the services publish: the
            # topic policy (a child of the topic) and the key policy (part of the key).
            policies: list[IDependable] = [alarm_topic.encryption_key.key]
            topic_policy = alarm_topic.topic.node.try_find_child("Policy")
            if topic_policy is not None:
                policies.append(topic_policy)
            for resource in (self.budget, self.anomaly_alerts):
                assert resource is not None
                resource.node.add_dependency(*policies)

    def _name(self, role: str) -> str:
        """``<construct path>-<role>-<last block of the stack UUID>``."""
        readable = Names.unique_resource_name(self, max_length=80, separator="-")
        stack_suffix = Fn.select(4, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))
        return Fn.join("-", [readable, role, stack_suffix])

    def _threshold_expression(self, usd: float, percent: float | None) -> str:
        """Anomalies whose total impact is ≥ ``usd`` (and ≥ ``percent`` % when given)."""
        dimensions = [("ANOMALY_TOTAL_IMPACT_ABSOLUTE", usd)]
        if percent is not None:
            dimensions.append(("ANOMALY_TOTAL_IMPACT_PERCENTAGE", percent))
        expressions = [
            {
                "Dimensions": {
                    "Key": key,
                    "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
                    "Values": [_number_text(value)],
                }
            }
            for key, value in dimensions
        ]
        expression = expressions[0] if len(expressions) == 1 else {"And": expressions}
        return Stack.of(self).to_json_string(expression)

    @property
    def budget_name(self) -> str:
        """Name CloudFormation gave the budget."""
        return self.budget.ref

    @property
    def anomaly_monitor_arn(self) -> str:
        """ARN of the anomaly monitor."""
        return self.anomaly_monitor.attr_monitor_arn


def _allow_publish(topic: AlarmTopic, sid: str, service_principal: str, source_arn: str) -> None:
    """Let a global billing service publish to ``topic`` (topic policy and key policy).

    ``AlarmTopic.allow_publish_from`` builds a *regional* ``aws:SourceArn``
    (``arn:<partition>:<service>:<region>:<account>:...``); budgets and Cost Explorer ARNs have
    no region (``arn:aws:budgets::<account>:...``), so such a condition would never match and
    the alerts would be dropped. The statements are otherwise the same.
    """
    conditions: dict[str, dict[str, object]] = {
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": source_arn},
    }
    topic.topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(service_principal)],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=conditions,
        )
    )
    topic.encryption_key.allow_service_principal(
        f"{sid}Encrypted",
        service_principal,
        actions=["kms:GenerateDataKey*", "kms:Decrypt"],
        conditions=conditions,
    )


def _number_text(value: float) -> str:
    if Token.is_unresolved(value):
        return Token.as_string(value)
    return f"{value:g}"


def _positive(argument: str, value: object, fix: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(_NAME, argument, value, fix)
    if not Token.is_unresolved(value) and not value > 0:
        raise invalid(_NAME, argument, value, fix)


def _validate(
    *,
    monthly_limit_usd: object,
    cost_allocation_tag: object,
    alarm_topic: object,
    emails: Sequence[object],
    actual: Sequence[object],
    forecast: Sequence[object],
    anomaly_monitor_scope: object,
    anomaly_threshold_usd: object,
    anomaly_threshold_percent: object,
    anomaly_email_frequency: object,
) -> None:
    """Reject bad arguments before anything is created."""
    _positive(
        "monthly_limit_usd",
        monthly_limit_usd,
        "pass the monthly budget in USD as a number above 0 (or a Number parameter's value)",
    )
    if cost_allocation_tag is not None:
        if not isinstance(cost_allocation_tag, CostAllocationTag):
            raise invalid(
                _NAME,
                "cost_allocation_tag",
                cost_allocation_tag,
                "pass CostAllocationTag(key=..., values=[...]) or None for the whole account",
            )
        key = cost_allocation_tag.key
        if not isinstance(key, str) or not _TAG_KEY.match(key) or key.lower().startswith("aws:"):
            raise invalid(
                _NAME,
                "cost_allocation_tag.key",
                key,
                "use a user-defined tag key (1-128 letters, digits, spaces and _ . : / = + - @, "
                "not aws:)",
            )
        values = cost_allocation_tag.values
        if isinstance(values, str) or not values:
            raise invalid(
                _NAME, "cost_allocation_tag.values", values, "pass a non-empty list of tag values"
            )
        for value in values:
            if not isinstance(value, str) or (
                not Token.is_unresolved(value) and not _TAG_VALUE.match(value)
            ):
                raise invalid(
                    _NAME,
                    "cost_allocation_tag.values",
                    value,
                    "use 1-256 letters, digits, spaces and _ . : / = + - @",
                )
    if alarm_topic is not None and not isinstance(alarm_topic, AlarmTopic):
        raise invalid(
            _NAME,
            "alarm_topic",
            alarm_topic,
            "pass the stack's AlarmTopic (its CMK and topic policy are extended for Budgets and "
            "Cost Anomaly Detection)",
        )
    if alarm_topic is None and not emails:
        raise invalid(
            _NAME,
            "alarm_topic",
            None,
            "GOV-06 alerts need a destination; pass alarm_topic and/or email_addresses",
        )
    if len(emails) > MAX_EMAIL_SUBSCRIBERS:
        raise invalid(
            _NAME,
            "email_addresses",
            len(emails),
            f"use at most {MAX_EMAIL_SUBSCRIBERS} addresses (or a distribution list)",
        )
    for address in emails:
        if not isinstance(address, str) or (
            not Token.is_unresolved(address) and not _EMAIL.match(address)
        ):
            raise invalid(_NAME, "email_addresses", address, "pass e-mail addresses")
    if len(set(map(str, emails))) != len(emails):
        raise invalid(_NAME, "email_addresses", emails, "list each address once")
    for argument, percentages in (
        ("actual_alert_percentages", actual),
        ("forecast_alert_percentages", forecast),
    ):
        for percentage in percentages:
            if (
                isinstance(percentage, bool)
                or not isinstance(percentage, int | float)
                or not 1 <= percentage <= 1000
            ):
                raise invalid(
                    _NAME, argument, percentage, "use percentages of the limit between 1 and 1000"
                )
        if len(set(percentages)) != len(percentages):
            raise invalid(_NAME, argument, percentages, "list each percentage once")
    if not actual and not forecast:
        raise invalid(
            _NAME,
            "actual_alert_percentages",
            [],
            "GOV-06 needs budget alerts; pass at least one actual or forecast percentage",
        )
    if len(actual) + len(forecast) > MAX_NOTIFICATIONS:
        raise invalid(
            _NAME,
            "actual_alert_percentages",
            [*actual, *forecast],
            f"AWS Budgets allows at most {MAX_NOTIFICATIONS} notifications per budget",
        )
    if not isinstance(anomaly_monitor_scope, AnomalyMonitorScope):
        raise invalid(
            _NAME, "anomaly_monitor_scope", anomaly_monitor_scope, "pass an AnomalyMonitorScope"
        )
    if (
        anomaly_monitor_scope is AnomalyMonitorScope.COST_ALLOCATION_TAG
        and cost_allocation_tag is None
    ):
        raise invalid(
            _NAME,
            "anomaly_monitor_scope",
            anomaly_monitor_scope.name,
            "a cost-allocation-tag monitor needs cost_allocation_tag; pass it, or "
            "anomaly_monitor_scope=AnomalyMonitorScope.AWS_SERVICES (one per account)",
        )
    _positive(
        "anomaly_threshold_usd",
        anomaly_threshold_usd,
        "pass the total impact in USD that is worth an alert, above 0",
    )
    if anomaly_threshold_percent is not None:
        _positive(
            "anomaly_threshold_percent",
            anomaly_threshold_percent,
            "pass the impact in percent of expected spend, above 0, or None",
        )
    require_choice(_NAME, "anomaly_email_frequency", anomaly_email_frequency, EMAIL_FREQUENCIES)


__all__ = [
    "EMAIL_FREQUENCIES",
    "MAX_EMAIL_SUBSCRIBERS",
    "MAX_NOTIFICATIONS",
    "AnomalyMonitorScope",
    "CostAllocationTag",
    "CostGuardrails",
]
