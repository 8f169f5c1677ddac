"""Route 53 canary DNS: a conditional public zone with weighted, health-checked records (EDGE-06).

:class:`WeightedDns` creates, all under the caller's ``condition`` (the stack's ``HasDomain``, so a
stack without a domain deploys without any of it):

* a **public hosted zone** for ``domain_name`` (a deploy-time parameter token in PayFlow), kept on
  stack deletion by default: deleting a zone whose name servers are still delegated at the
  registrar leaves a dangling delegation that someone else's new zone could take over;
* two **weighted alias A records** at the zone apex, ``production`` (weight 90) and ``canary``
  (weight 10), each aliasing its Application Load Balancer (``dualstack.<DNS name>``, the ALB's
  canonical hosted zone ID, ``EvaluateTargetHealth: true``) with its own ``SetIdentifier`` and
  ``HealthCheckId``. Weights are ints 0..255 or number tokens (a ``CfnParameter``);
* one **HTTPS health check per target** on a custom path (default ``/health/deep``), port 443,
  every 30 s, 3 failures, with SNI. The probed name defaults to the target ALB's DNS name, *not*
  the zone's domain: the domain resolves through the very weighted records the checks guard, so
  both checks would probe whichever target DNS happened to answer. Route 53 health checkers do not
  validate the certificate, so the ALB's default certificate is fine;
* one **CloudWatch alarm per health check** on ``AWS/Route53`` ``HealthCheckStatus`` (Minimum < 1
  for two one-minute periods), created through :class:`~constructs_lib.monitoring.AlarmTopic` so
  that it notifies on ALARM and on OK, with a description and missing data treated as breaching
  (no data from a health check means nobody knows the target is healthy; expect one short ALARM
  → OK cycle right after the zone is created, before the first data point arrives) (MON-02).

Route 53 publishes health-check metrics only in us-east-1, so the alarms work only in a stack
deployed there; the construct warns when the stack's region is known and is not us-east-1.

**Query logging** is opt-in (``query_log_group``): neither cdk-nag's four packs nor the control
catalogue ask for it, and it needs a log group in us-east-1 plus an account-level CloudWatch Logs
resource policy (at most 10 per region and account) that lets ``route53.amazonaws.com`` write.
When a group is given the construct writes that policy (scoped to the group, this account and
Route 53 hosted zones) and makes the zone wait for it; the group's encryption and retention stay
with its owner (LOG-03).

The stack keeps the parts it owns: the ``CfnParameter``s for domain and weights (``MinValue`` 0,
``MaxValue`` 255), the condition, the HTTPS listener on the ALBs (under the same condition), and a
conditional ``CfnOutput`` of :attr:`WeightedDns.name_servers` for the registrar delegation.
"""

from __future__ import annotations

import re
from typing import Final

from aws_cdk import (
    Annotations,
    Aws,
    CfnCondition,
    CfnResource,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from constructs import Construct

from constructs_lib.load_balancing import SecureLoadBalancer
from constructs_lib.monitoring import AlarmSpec, AlarmTopic
from constructs_lib.validation import invalid, require_non_empty, require_range

_NAME = "WeightedDns"

#: The only region where Route 53 publishes health-check metrics and accepts query-log groups.
ROUTE53_METRICS_REGION: Final = "us-east-1"

#: Set identifiers of the two weighted records (and keys of the public dictionaries).
PRODUCTION: Final = "production"
CANARY: Final = "canary"

DEFAULT_HEALTH_CHECK_PATH: Final = "/health/deep"
#: Route 53 offers standard (30 s) and fast (10 s) health checks, nothing in between.
HEALTH_CHECK_INTERVALS: Final = (10, 30)
MAX_WEIGHT: Final = 255

_DNS_NAME = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$")


def _check_dns_name(argument: str, value: str) -> None:
    require_non_empty(_NAME, argument, value)
    if Token.is_unresolved(value):
        return
    if len(value) > 253 or not _DNS_NAME.match(value):
        raise invalid(_NAME, argument, value, "pass a lower-case DNS name such as api.example.com")


def _check_weight(argument: str, value: float) -> None:
    require_range(_NAME, argument, value, 0, MAX_WEIGHT)
    if not Token.is_unresolved(value) and not isinstance(value, int):
        raise invalid(_NAME, argument, value, f"pass a whole number between 0 and {MAX_WEIGHT}")


def _check_path(path: str) -> None:
    require_non_empty(_NAME, "health_check_path", path)
    if Token.is_unresolved(path):
        return
    if not path.startswith("/"):
        raise invalid(_NAME, "health_check_path", path, f"start the path with '/', e.g. '/{path}'")
    if path == "/":
        raise invalid(
            _NAME,
            "health_check_path",
            path,
            "use a custom deep-health path such as /health/deep; '/' only proves the web server "
            "answers (EDGE-06)",
        )
    if len(path) > 255 or any(c.isspace() for c in path):
        raise invalid(
            _NAME, "health_check_path", path, "use at most 255 characters and no whitespace"
        )


def _unwrap(
    argument: str, value: elbv2.IApplicationLoadBalancer | SecureLoadBalancer
) -> elbv2.IApplicationLoadBalancer:
    if isinstance(value, SecureLoadBalancer):
        return value.load_balancer
    if not all(
        hasattr(value, attribute)
        for attribute in ("load_balancer_dns_name", "load_balancer_canonical_hosted_zone_id")
    ):
        raise invalid(
            _NAME,
            argument,
            value,
            "pass an elbv2.IApplicationLoadBalancer (or a SecureLoadBalancer)",
        )
    return value


class WeightedDns(Construct):
    """Conditional public hosted zone with production/canary weighted, health-checked records.

    :param domain_name: the zone's domain and the records' name, e.g. ``api.payflow.io`` (a
        parameter token is fine).
    :param condition: every resource of the construct carries it (the stack's ``HasDomain``).
    :param production: load balancer of the production target.
    :param canary: load balancer of the canary target (may be the same ALB as ``production``
        when the ALB itself splits traffic; then pass distinct ``*_health_check_fqdn`` values or
        the two checks are identical).
    :param alarm_topic: where the health-check alarms send ALARM and OK notifications.
    :param production_weight: relative weight 0..255 or a number token (default 90).
    :param canary_weight: relative weight 0..255 or a number token (default 10); two literal
        zeros are refused (Route 53 would then answer with both records equally).
    :param health_check_path: custom path the health checks request (default ``/health/deep``).
    :param health_check_interval: 30 seconds (standard) or 10 seconds (fast, extra charge).
    :param failure_threshold: consecutive failures before a target counts as unhealthy (1..10).
    :param health_check_port: HTTPS port (default 443).
    :param production_health_check_fqdn: name the production health check probes (also its SNI
        and Host header); default the production ALB's DNS name.
    :param canary_health_check_fqdn: the same for the canary; default the canary ALB's DNS name.
    :param alarm_evaluation_periods: one-minute periods the status must be unhealthy before the
        alarm fires (1..10, default 2).
    :param treat_missing_data: how the alarms treat missing data (default ``BREACHING``).
    :param query_log_group: opt-in DNS query logging to this log group (in us-east-1).
    :param removal_policy: what happens to the zone when it leaves the stack (default ``RETAIN``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        condition: CfnCondition,
        production: elbv2.IApplicationLoadBalancer | SecureLoadBalancer,
        canary: elbv2.IApplicationLoadBalancer | SecureLoadBalancer,
        alarm_topic: AlarmTopic,
        production_weight: float = 90,
        canary_weight: float = 10,
        health_check_path: str = DEFAULT_HEALTH_CHECK_PATH,
        health_check_interval: Duration | None = None,
        failure_threshold: int = 3,
        health_check_port: int = 443,
        production_health_check_fqdn: str | None = None,
        canary_health_check_fqdn: str | None = None,
        alarm_evaluation_periods: int = 2,
        treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.BREACHING,
        query_log_group: logs.ILogGroup | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        # ---- validation, before anything is created ----------------------------------------
        interval = health_check_interval or Duration.seconds(30)
        region = Stack.of(scope).region
        _check_dns_name("domain_name", domain_name)
        if not isinstance(condition, CfnCondition):
            raise invalid(
                _NAME,
                "condition",
                condition,
                "pass the stack's cdk.CfnCondition (e.g. HasDomain); the zone must be optional",
            )
        targets = {
            PRODUCTION: _unwrap("production", production),
            CANARY: _unwrap("canary", canary),
        }
        if not isinstance(alarm_topic, AlarmTopic):
            raise invalid(_NAME, "alarm_topic", alarm_topic, "pass the stack's AlarmTopic")
        _check_weight("production_weight", production_weight)
        _check_weight("canary_weight", canary_weight)
        literal_weights = not any(
            Token.is_unresolved(w) for w in (production_weight, canary_weight)
        )
        if literal_weights and production_weight == 0 and canary_weight == 0:
            raise invalid(
                _NAME,
                "canary_weight",
                canary_weight,
                "production_weight is 0 too; give at least one record a weight above 0",
            )
        _check_path(health_check_path)
        if not isinstance(interval, Duration) or interval.to_seconds() not in (
            HEALTH_CHECK_INTERVALS
        ):
            raise invalid(
                _NAME,
                "health_check_interval",
                interval.to_human_string() if isinstance(interval, Duration) else interval,
                "use Duration.seconds(30) (standard) or Duration.seconds(10) (fast)",
            )
        require_range(_NAME, "failure_threshold", failure_threshold, 1, 10)
        require_range(_NAME, "health_check_port", health_check_port, 1, 65535)
        fqdns = {PRODUCTION: production_health_check_fqdn, CANARY: canary_health_check_fqdn}
        for name, fqdn in fqdns.items():
            if fqdn is not None:
                _check_dns_name(f"{name}_health_check_fqdn", fqdn)
        require_range(_NAME, "alarm_evaluation_periods", alarm_evaluation_periods, 1, 10)
        if not isinstance(treat_missing_data, cloudwatch.TreatMissingData):
            raise invalid(
                _NAME, "treat_missing_data", treat_missing_data, "pass a TreatMissingData member"
            )
        if query_log_group is not None:
            if not hasattr(query_log_group, "log_group_arn"):
                raise invalid(_NAME, "query_log_group", query_log_group, "pass a logs.ILogGroup")
            if not Token.is_unresolved(region) and region != ROUTE53_METRICS_REGION:
                raise invalid(
                    _NAME,
                    "query_log_group",
                    query_log_group.node.path,
                    f"Route 53 query logging needs the log group and its resource policy in "
                    f"{ROUTE53_METRICS_REGION}, but this stack is in {region}; deploy the zone "
                    f"from a {ROUTE53_METRICS_REGION} stack or leave query logging off",
                )

        super().__init__(scope, construct_id)
        self.condition = condition
        self.domain_name = domain_name

        if not Token.is_unresolved(region) and region != ROUTE53_METRICS_REGION:
            Annotations.of(self).add_warning_v2(
                "hardened-stacks:WeightedDns:region",
                f"Route 53 publishes health-check metrics only in {ROUTE53_METRICS_REGION}; the "
                f"HealthCheckStatus alarms of this stack in {region} will never see data (with "
                "missing data treated as breaching they stay in ALARM); deploy the DNS part in "
                f"{ROUTE53_METRICS_REGION}",
            )

        # ---- opt-in query logging ----------------------------------------------------------
        #: CloudWatch Logs resource policy that lets Route 53 write query logs (or ``None``).
        self.query_logging_policy: logs.CfnResourcePolicy | None = None
        if query_log_group is not None:
            # The zone's own ARN cannot be named: the zone waits for this policy.
            any_hosted_zone = f"arn:{Aws.PARTITION}:route53:::hostedzone/*"
            self.query_logging_policy = logs.CfnResourcePolicy(
                self,
                "QueryLoggingPolicy",
                # Resource policies need a name; stack name + construct address is unique per
                # account and region and changes only together with the logical ID.
                policy_name=f"{Aws.STACK_NAME}-{self.node.addr[:12]}-dns-query-logs",
                policy_document=Stack.of(self).to_json_string(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "Route53QueryLogs",
                                "Effect": "Allow",
                                "Principal": {"Service": "route53.amazonaws.com"},
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": query_log_group.log_group_arn,
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                                    "ArnLike": {"aws:SourceArn": any_hosted_zone},
                                },
                            }
                        ],
                    }
                ),
            )

        # ---- the zone ----------------------------------------------------------------------
        self.hosted_zone = route53.CfnHostedZone(
            self,
            "Resource",
            name=domain_name,
            hosted_zone_config=route53.CfnHostedZone.HostedZoneConfigProperty(
                comment="Public zone with production/canary weighted, health-checked records"
            ),
            query_logging_config=(
                route53.CfnHostedZone.QueryLoggingConfigProperty(
                    cloud_watch_logs_log_group_arn=query_log_group.log_group_arn
                )
                if query_log_group is not None
                else None
            ),
        )
        self.hosted_zone.apply_removal_policy(removal_policy)
        if self.query_logging_policy is not None:
            # Route 53 checks that it may write to the group when query logging is configured.
            self.hosted_zone.add_dependency(self.query_logging_policy)

        # ---- health checks, records and alarms per target ----------------------------------
        weights = {PRODUCTION: production_weight, CANARY: canary_weight}
        #: Health check per target name (``"production"``, ``"canary"``).
        self.health_checks: dict[str, route53.CfnHealthCheck] = {}
        #: Weighted alias record per target name.
        self.records: dict[str, route53.CfnRecordSet] = {}
        #: HealthCheckStatus alarm per target name.
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, load_balancer in targets.items():
            label = name.capitalize()
            probed = fqdns[name] or load_balancer.load_balancer_dns_name
            health_check = route53.CfnHealthCheck(
                self,
                f"{label}HealthCheck",
                health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                    type="HTTPS",
                    fully_qualified_domain_name=probed,
                    port=health_check_port,
                    resource_path=health_check_path,
                    request_interval=int(interval.to_seconds()),
                    failure_threshold=failure_threshold,
                    enable_sni=True,
                ),
                health_check_tags=[
                    route53.CfnHealthCheck.HealthCheckTagProperty(
                        key="Name", value=f"{domain_name} {name}"
                    )
                ],
            )
            self.health_checks[name] = health_check

            self.records[name] = route53.CfnRecordSet(
                self,
                f"{label}Record",
                hosted_zone_id=self.hosted_zone.attr_id,
                name=domain_name,
                type="A",
                set_identifier=name,
                weight=weights[name],
                health_check_id=health_check.attr_health_check_id,
                alias_target=route53.CfnRecordSet.AliasTargetProperty(
                    dns_name=f"dualstack.{load_balancer.load_balancer_dns_name}",
                    hosted_zone_id=load_balancer.load_balancer_canonical_hosted_zone_id,
                    evaluate_target_health=True,
                ),
            )

            # The description names no load-balancer attribute: an audit cannot read a
            # description that only resolves at deploy time (Fn::GetAtt).
            alarm = alarm_topic.create_alarm(
                self,
                f"{label}HealthAlarm",
                AlarmSpec(
                    metric=cloudwatch.Metric(
                        namespace="AWS/Route53",
                        metric_name="HealthCheckStatus",
                        dimensions_map={"HealthCheckId": health_check.attr_health_check_id},
                        statistic=cloudwatch.Stats.MINIMUM,
                        period=Duration.minutes(1),
                    ),
                    threshold=1,
                    comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                    evaluation_periods=alarm_evaluation_periods,
                    treat_missing_data=treat_missing_data,
                    description=(
                        f"Route 53 health check of the {name} target of {domain_name} is failing: "
                        f"HTTPS {health_check_path} on port {health_check_port} of its load "
                        "balancer does not answer 2xx/3xx. DNS withdraws the record while it "
                        "fails; check the target's load balancer and deep health endpoint."
                    ),
                ),
            )
            self.alarms[name] = alarm

        for child in self.node.find_all():
            if isinstance(child, CfnResource):
                child.cfn_options.condition = condition

    @property
    def hosted_zone_id(self) -> str:
        """ID of the hosted zone (only meaningful where the condition holds)."""
        return self.hosted_zone.attr_id

    @property
    def name_servers(self) -> str:
        """The zone's name servers, comma-separated, for a (conditional) stack output."""
        return Fn.join(",", self.hosted_zone.attr_name_servers)
