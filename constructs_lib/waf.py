"""Regional WAFv2 web ACL with AWS managed rules, a per-IP rate limit and logging (EDGE-03, LOG-05).

``WebAcl`` creates a ``REGIONAL`` web ACL that allows by default and evaluates, in order:

0. ``AWSManagedRulesAmazonIpReputationList`` — known malicious sources, cheapest first;
1. ``RateLimitPerIp`` — blocks an IP above ``rate_limit`` requests per evaluation window;
2. ``AWSManagedRulesCommonRuleSet`` (OWASP-style core rules);
3. ``AWSManagedRulesKnownBadInputsRuleSet``;
4. ``AWSManagedRulesSQLiRuleSet``;
10+. ``extra_managed_rule_groups`` in the order given.

Every rule and the web ACL publish CloudWatch metrics and keep sampled requests. Requests are
logged to a CloudWatch log group named ``aws-waf-logs-<construct>-<stack-id suffix>`` (WAF requires
the ``aws-waf-logs-`` prefix; the stack-ID suffix keeps a retained group from blocking a
redeployment), encrypted with the caller's KMS key, with retention, retained on delete, and with
the ``authorization`` and ``cookie`` headers redacted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Duration, Fn, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from constructs_lib.encryption import allow_log_groups
from constructs_lib.validation import invalid, require_choice, require_range

_NAME = "WebAcl"

#: WAF's limits for a rate-based rule (requests per evaluation window, per key).
RATE_LIMIT_MIN = 10
RATE_LIMIT_MAX = 2_000_000_000
#: Evaluation windows WAF supports for rate-based rules, in seconds.
RATE_WINDOWS = (60, 120, 300, 600)
DEFAULT_RATE_WINDOW = Duration.minutes(5)

#: WAF only delivers to log groups whose name starts with this prefix.
LOG_GROUP_PREFIX = "aws-waf-logs-"

#: Headers whose values never reach the logs.
REDACTED_HEADERS = ("authorization", "cookie")

#: The AWS managed rule groups of EDGE-03, with their priorities (the rate rule sits at 1).
IP_REPUTATION = "AWSManagedRulesAmazonIpReputationList"
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
SQLI_RULE_SET = "AWSManagedRulesSQLiRuleSet"
RATE_RULE_NAME = "RateLimitPerIp"
_BASELINE: tuple[tuple[int, str], ...] = (
    (0, IP_REPUTATION),
    (2, COMMON_RULE_SET),
    (3, KNOWN_BAD_INPUTS),
    (4, SQLI_RULE_SET),
)
_RATE_PRIORITY = 1
_EXTRA_PRIORITY_START = 10

_ENTITY_NAME = re.compile(r"^[0-9A-Za-z_-]{1,128}$")


@dataclass(frozen=True, kw_only=True)
class ManagedRuleGroup:
    """A further managed rule group: ``ManagedRuleGroup(name="AWSManagedRulesLinuxRuleSet")``.

    :param name: the rule group's name.
    :param vendor: the vendor (``"AWS"`` for AWS managed rules).
    :param version: pin a version (``"Version_1.2"``); ``None`` follows the default version.
    """

    name: str
    vendor: str = "AWS"
    version: str | None = None


class WebAcl(Construct):
    """A regional web ACL with the EDGE-03 rule set, metrics and encrypted, redacted logging.

    :param encryption_key: CMK for the log group; the construct adds the CloudWatch Logs statement
        (scoped by the ``aws:logs:arn`` encryption context) to its key policy. An imported key gets
        no statement: its owner must allow ``logs.<region>.amazonaws.com`` for this log group.
    :param rate_limit: requests per ``rate_limit_window`` from one IP before it is blocked
        (WAF's limits: 10..2,000,000,000).
    :param rate_limit_window: evaluation window of the rate rule: 1, 2, 5 or 10 minutes.
    :param extra_managed_rule_groups: further managed groups, evaluated after the baseline.
    :param log_retention: retention of the WAF log group (``INFINITE`` is refused: LOG-03).
    :param associate_with: load balancers to protect; more can be added with :meth:`associate`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        rate_limit: int = 2000,
        rate_limit_window: Duration = DEFAULT_RATE_WINDOW,
        extra_managed_rule_groups: Sequence[ManagedRuleGroup] = (),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        associate_with: Sequence[elbv2.IApplicationLoadBalancer] = (),
    ) -> None:
        window = _validate(
            encryption_key=encryption_key,
            rate_limit=rate_limit,
            rate_limit_window=rate_limit_window,
            extra_managed_rule_groups=extra_managed_rule_groups,
            log_retention=log_retention,
        )
        super().__init__(scope, construct_id)
        self._associations = 0
        #: The web ACL's CloudWatch metric name (the ``WebACL`` dimension of ``AWS/WAFV2``).
        self.metric_name = Names.unique_resource_name(self, max_length=96, separator="-")

        rules = [
            _managed_rule(priority, ManagedRuleGroup(name=name)) for priority, name in _BASELINE
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name=RATE_RULE_NAME,
                priority=_RATE_PRIORITY,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=rate_limit,
                        evaluation_window_sec=window,
                    )
                ),
                visibility_config=_visibility(RATE_RULE_NAME),
            )
        )
        rules.extend(
            _managed_rule(_EXTRA_PRIORITY_START + index, group)
            for index, group in enumerate(extra_managed_rule_groups)
        )
        rules.sort(key=lambda rule: int(rule.priority))

        #: The web ACL (EDGE-03).
        self.web_acl = wafv2.CfnWebACL(
            self,
            "Resource",
            scope="REGIONAL",
            description="AWS managed rules: IP reputation, common, known bad inputs, SQLi, "
            "plus a per-IP rate limit",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(self.metric_name),
            rules=rules,
        )

        stack = Stack.of(self)
        # A unique, replacement-safe name: construct path + the last block of the stack's UUID.
        stack_suffix = Fn.select(4, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))
        name_stem = LOG_GROUP_PREFIX + Names.unique_resource_name(
            self, max_length=200, separator="-"
        )
        log_group_name = f"{name_stem}-{stack_suffix}"
        self._log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        allow_log_groups(
            encryption_key,
            self,
            f"CloudWatchLogsWafLogs{Names.unique_id(self)}"[:128],
            f"{name_stem}-*",
        )
        #: WAF request logs (LOG-05), CMK-encrypted with retention (LOG-03), retained on delete.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        #: Sends the web ACL's logs to :attr:`log_group`, sensitive headers redacted.
        self.logging_configuration = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[self._log_group_arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
        )
        # The destination is referenced by its formatted ARN (WAF rejects the ":*" of GetAtt Arn),
        # so the dependency on the log group has to be explicit.
        self.logging_configuration.node.add_dependency(self.log_group)
        #: One association per protected load balancer.
        self.associations: list[wafv2.CfnWebACLAssociation] = []
        for load_balancer in associate_with:
            self.associate(load_balancer)

    @property
    def arn(self) -> str:
        """The web ACL's ARN."""
        return self.web_acl.attr_arn

    @property
    def log_group_arn(self) -> str:
        """The log group's ARN in the form WAF expects (no ``:*`` suffix)."""
        return self._log_group_arn

    def associate(
        self, load_balancer: elbv2.IApplicationLoadBalancer
    ) -> wafv2.CfnWebACLAssociation:
        """Protect ``load_balancer`` with this web ACL (``AWS::WAFv2::WebACLAssociation``)."""
        if load_balancer is None or not hasattr(load_balancer, "load_balancer_arn"):
            raise invalid(
                _NAME, "load_balancer", load_balancer, "pass an ApplicationLoadBalancer (L2)"
            )
        self._associations += 1
        association_id = (
            "Association" if self._associations == 1 else f"Association{self._associations}"
        )
        association = wafv2.CfnWebACLAssociation(
            self,
            association_id,
            resource_arn=load_balancer.load_balancer_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )
        self.associations.append(association)
        return association

    def metric_blocked_requests(
        self, *, rule: str = "ALL", period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``BlockedRequests`` (Sum) of the whole web ACL or one rule (its metric name)."""
        return cloudwatch.Metric(
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            dimensions_map={"WebACL": self.metric_name, "Rule": rule, "Region": Aws.REGION},
            statistic="Sum",
            period=period or DEFAULT_RATE_WINDOW,
        )


def _validate(
    *,
    encryption_key: kms.IKey,
    rate_limit: int,
    rate_limit_window: Duration,
    extra_managed_rule_groups: Sequence[ManagedRuleGroup],
    log_retention: logs.RetentionDays,
) -> int:
    """Check the arguments; return the rate-rule window in seconds."""
    if encryption_key is None or not hasattr(encryption_key, "add_to_resource_policy"):
        raise invalid(
            _NAME, "encryption_key", encryption_key, "pass the KMS key (kms.IKey) for the log group"
        )
    require_range(_NAME, "rate_limit", rate_limit, RATE_LIMIT_MIN, RATE_LIMIT_MAX)
    if not isinstance(rate_limit, int):
        raise invalid(_NAME, "rate_limit", rate_limit, "pass a whole number of requests")
    if not isinstance(rate_limit_window, Duration):
        raise invalid(
            _NAME,
            "rate_limit_window",
            rate_limit_window,
            "pass a Duration of 1, 2, 5 or 10 minutes",
        )
    window = int(rate_limit_window.to_seconds())
    require_choice(_NAME, "rate_limit_window (seconds)", window, RATE_WINDOWS)
    if not isinstance(log_retention, logs.RetentionDays):
        raise invalid(_NAME, "log_retention", log_retention, "pass a logs.RetentionDays value")
    if log_retention == logs.RetentionDays.INFINITE:
        raise invalid(
            _NAME,
            "log_retention",
            log_retention,
            "set an explicit retention such as logs.RetentionDays.ONE_YEAR (LOG-03)",
        )
    baseline = {name for _, name in _BASELINE}
    seen: set[str] = set()
    for group in extra_managed_rule_groups:
        if not isinstance(group, ManagedRuleGroup):
            raise invalid(
                _NAME,
                "extra_managed_rule_groups",
                group,
                "pass ManagedRuleGroup(name=..., vendor=...) items",
            )
        if not _ENTITY_NAME.match(group.name) or not _ENTITY_NAME.match(group.vendor):
            raise invalid(
                _NAME,
                "extra_managed_rule_groups",
                group,
                "names and vendors use letters, digits, '_' and '-' (1..128 characters)",
            )
        if group.name in baseline or group.name in seen:
            raise invalid(
                _NAME,
                "extra_managed_rule_groups",
                group.name,
                "each rule group may appear once; the baseline groups are always present",
            )
        seen.add(group.name)
    return window


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric_name,
        sampled_requests_enabled=True,
    )


def _managed_rule(priority: int, group: ManagedRuleGroup) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=group.name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name=group.vendor,
                name=group.name,
                version=group.version,
            )
        ),
        visibility_config=_visibility(group.name),
    )
