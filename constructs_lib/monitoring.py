"""Alerting and dashboards (MON-01, MON-02, MON-04).

``AlarmTopic`` is the one place alarms go: an SNS topic encrypted with a customer key, TLS-only,
with e-mail and HTTPS subscriptions whose failed deliveries land in an encrypted dead-letter
queue. Every alarm created through it notifies on ALARM *and* on OK, carries a description and
says how missing data is treated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, CfnCondition, Duration, RemovalPolicy, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.encryption import EncryptionKey
from constructs_lib.validation import invalid, require_non_empty, require_range


class AlarmTopic(Construct):
    """CMK-encrypted SNS topic for alarms, with a dead-letter queue for failed deliveries."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: EncryptionKey,
        display_name: str = "Infrastructure alarms",
    ) -> None:
        super().__init__(scope, construct_id)
        require_non_empty("AlarmTopic", "display_name", display_name)
        self.encryption_key = encryption_key
        self.topic = sns.Topic(
            self,
            "Resource",
            display_name=display_name,
            master_key=encryption_key.key,
            enforce_ssl=True,
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.RETAIN,
        )
        for finding in ("AwsSolutions-SQS3",):
            acknowledge(
                self.dead_letter_queue,
                finding,
                "This queue is itself the dead-letter queue for failed alarm notifications; a "
                "dead-letter queue of a dead-letter queue would only move the same messages.",
            )
        self.allow_publish_from(
            "CloudWatchAlarms", "cloudwatch.amazonaws.com", "cloudwatch", "alarm:*"
        )
        encryption_key.allow_service_principal(
            "SnsDeliveryToDeadLetterQueue",
            "sns.amazonaws.com",
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )

    @property
    def topic_arn(self) -> str:
        """ARN of the topic."""
        return self.topic.topic_arn

    def allow_publish_from(
        self, sid: str, service_principal: str, arn_service: str, resource_pattern: str
    ) -> None:
        """Let an AWS service publish (e.g. CloudWatch alarms, EventBridge rules of this account).

        Both the topic policy and the key policy are scoped to this account's resources of that
        service (``aws:SourceArn`` ``arn:<partition>:<arn_service>:<region>:<account>:<pattern>``).
        """
        source = (
            f"arn:{Aws.PARTITION}:{arn_service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource_pattern}"
        )
        conditions: dict[str, dict[str, object]] = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": source},
        }
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service_principal)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=conditions,
            )
        )
        self.encryption_key.allow_service_principal(
            f"{sid}PublishEncrypted",
            service_principal,
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            conditions=conditions,
        )

    def add_email_subscription(
        self, email: str, *, condition: CfnCondition | None = None
    ) -> sns.Subscription:
        """Subscribe an e-mail address; ``condition`` makes it optional at deploy time."""
        require_non_empty("AlarmTopic", "email", email)
        return self._subscribe(
            subscriptions.EmailSubscription(email, dead_letter_queue=self.dead_letter_queue),
            condition,
        )

    def add_https_subscription(
        self, url: str, *, condition: CfnCondition | None = None
    ) -> sns.Subscription:
        """Subscribe an HTTPS endpoint (e.g. PagerDuty); plain HTTP is refused."""
        require_non_empty("AlarmTopic", "url", url)
        if not Token.is_unresolved(url) and not url.startswith("https://"):
            raise invalid("AlarmTopic", "url", url, "use an https:// endpoint")
        return self._subscribe(
            subscriptions.UrlSubscription(
                url,
                protocol=sns.SubscriptionProtocol.HTTPS,
                dead_letter_queue=self.dead_letter_queue,
            ),
            condition,
        )

    def _subscribe(
        self, subscription: sns.ITopicSubscription, condition: CfnCondition | None
    ) -> sns.Subscription:
        before = {child.node.id for child in self.topic.node.children}
        self.topic.add_subscription(subscription)
        added = [c for c in self.topic.node.children if c.node.id not in before]
        created = next(c for c in added if isinstance(c, sns.Subscription))
        if condition is not None:
            cfn = created.node.default_child
            assert isinstance(cfn, sns.CfnSubscription)
            cfn.cfn_options.condition = condition
        return created

    def notify(self, alarm: cloudwatch.IAlarm) -> None:
        """Send both the ALARM and the OK transition of ``alarm`` to the topic."""
        action = cloudwatch_actions.SnsAction(self.topic)
        if isinstance(alarm, cloudwatch.AlarmBase):
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        else:
            raise invalid(
                "AlarmTopic", "alarm", alarm, "pass a cloudwatch.Alarm or cloudwatch.CompositeAlarm"
            )

    def create_alarm(
        self,
        scope: Construct,
        construct_id: str,
        spec: AlarmSpec,
    ) -> cloudwatch.Alarm:
        """Create an alarm from ``spec`` that notifies this topic on ALARM and OK."""
        spec.validate()
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            metric=spec.metric,
            alarm_description=spec.description,
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm or spec.evaluation_periods,
            treat_missing_data=spec.treat_missing_data,
        )
        self.notify(alarm)
        return alarm


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """What an alarm watches and when it fires (MON-02)."""

    metric: cloudwatch.IMetric
    threshold: float
    description: str
    comparison: cloudwatch.ComparisonOperator = (
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    )
    evaluation_periods: int = 2
    datapoints_to_alarm: int | None = None
    treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING

    def validate(self) -> None:
        """Raise ``ValueError`` on a spec that cannot alarm sensibly."""
        if len(self.description.strip()) < 15:
            raise invalid(
                "AlarmSpec",
                "description",
                self.description,
                "say what is wrong and what to check (15 characters or more)",
            )
        require_range("AlarmSpec", "evaluation_periods", self.evaluation_periods, 1, 100)
        if self.datapoints_to_alarm is not None:
            require_range(
                "AlarmSpec",
                "datapoints_to_alarm",
                self.datapoints_to_alarm,
                1,
                self.evaluation_periods,
            )


#: Default period of :func:`error_rate_percent` (``Duration`` is immutable, so sharing is safe).
_ONE_MINUTE = Duration.minutes(1)


def error_rate_percent(
    errors: cloudwatch.IMetric,
    requests: cloudwatch.IMetric,
    *,
    label: str = "Error rate (%)",
    period: Duration = _ONE_MINUTE,
) -> cloudwatch.MathExpression:
    """Errors as a percentage of requests, defined as 0 when there are no requests.

    A plain ``100 * errors / requests`` is undefined at zero traffic, which leaves an alarm in
    INSUFFICIENT_DATA exactly when a quiet service is healthy; ``IF`` makes it zero-safe.
    """
    return cloudwatch.MathExpression(
        expression="IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)",
        using_metrics={"errors": errors, "requests": requests},
        label=label,
        period=period,
    )


class OperationsDashboard(Construct):
    """A CloudWatch dashboard: one graph per metric group and the state of every alarm (MON-04)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        graphs: dict[str, Sequence[cloudwatch.IMetric]],
        alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        if not graphs:
            raise invalid(
                "OperationsDashboard", "graphs", graphs, "pass at least one titled group of metrics"
            )
        self.dashboard = cloudwatch.Dashboard(self, "Resource")
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(title=title, left=list(metrics), width=12)
            for title, metrics in graphs.items()
        ]
        if alarms:
            widgets.append(
                cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24)
            )
        self.dashboard.add_widgets(*widgets)

    @property
    def dashboard_name(self) -> str:
        """Name CloudFormation gave the dashboard."""
        return self.dashboard.dashboard_name

    @property
    def url(self) -> str:
        """Console URL of the dashboard."""
        return (
            f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )
