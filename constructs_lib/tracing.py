"""X-Ray sampling and trace insights for one service (LOG-07).

:class:`TracingSampling` creates an ``AWS::XRay::SamplingRule`` that decides how much of a
service's traffic is traced (a per-second reservoir, then a fixed rate), optionally narrowed to a
host, URL path and HTTP method, and (by default) an ``AWS::XRay::Group`` for the service with
X-Ray Insights and its notifications on, so latency and fault anomalies are detected without a
hand-written alarm. The tracing itself comes from the workloads: ``SecureFunction`` turns on
active tracing; instances need the X-Ray daemon or the CloudWatch agent's traces section.

Names: X-Ray rule and group names are unique per account and region and at most 32 characters.
They are ``<construct id>-<path hash>-<last block of the stack's UUID>`` (completed at deploy
time), so two deployments of one template never collide; renaming them does not replace the
resources.

Encryption: X-Ray encrypts traces at rest with an AWS-owned key. Choosing a customer-managed key
is an account-and-region-wide setting made with the ``PutEncryptionConfig`` API; CloudFormation
has no resource type for it (there is no ``AWS::XRay::EncryptionConfig``), and neither the LOG-07
check nor the cdk-nag packs ask for it. A custom resource could call the API, but it would
silently change the setting for every application in the account and could not restore it
reliably on delete, so it is left to account-level configuration (e.g. the landing zone).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, Fn, Token
from aws_cdk import aws_xray as xray
from constructs import Construct

from constructs_lib.validation import invalid, require_range

_NAME = "TracingSampling"

#: What X-Ray accepts in a service name; ``*`` and ``?`` are wildcards in a sampling rule.
_SERVICE = re.compile(r"^[\w.:/%&#=+\\@*? -]{1,64}$")
_HTTP_METHODS = ("*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT")
_HOST = re.compile(r"^[A-Za-z0-9.*?-]{1,64}$")
_URL_PATH = re.compile(r"^[\x21-\x7e]{1,128}$")
_SERVICE_TYPE = re.compile(r"^(\*|AWS::[A-Za-z0-9]+::[A-Za-z0-9*]+)$")


class TracingSampling(Construct):
    """An X-Ray sampling rule for one service, and an X-Ray group with Insights (LOG-07).

    :param service_name: the name the service reports in its segments (e.g. the function name or
        ``AWS_XRAY_TRACING_NAME`` of the app); ``*`` and ``?`` are wildcards.
    :param fixed_rate: share of matching requests traced after the reservoir is used, 0..1
        (default 0.05, X-Ray's own default).
    :param reservoir_size: requests per second traced before ``fixed_rate`` applies, shared by
        all instances of the service (default 1).
    :param priority: 1..9999; lower numbers are evaluated first (default 1000; X-Ray's default
        rule is always last).
    :param host: host header to match (default ``*``).
    :param url_path: URL path to match, e.g. ``/api/*`` (default ``*``).
    :param http_method: ``GET``, ``POST``, ... or ``*`` (default).
    :param service_type: origin such as ``AWS::EC2::Instance`` or ``AWS::Lambda::Function``
        (default ``*``).
    :param attributes: segment annotations that must match (at most 5).
    :param insights: create :attr:`group` with X-Ray Insights and its notifications (sent
        through EventBridge, where a rule can forward them to an alarm topic); default ``True``.
    :param group_filter_expression: the group's filter; default ``service("<service_name>")``.
        Required when ``service_name`` has wildcards.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service_name: str,
        fixed_rate: float = 0.05,
        reservoir_size: int = 1,
        priority: int = 1000,
        host: str = "*",
        url_path: str = "*",
        http_method: str = "*",
        service_type: str = "*",
        attributes: Mapping[str, str] | None = None,
        insights: bool = True,
        group_filter_expression: str | None = None,
    ) -> None:
        _validate(
            service_name=service_name,
            fixed_rate=fixed_rate,
            reservoir_size=reservoir_size,
            priority=priority,
            host=host,
            url_path=url_path,
            http_method=http_method,
            service_type=service_type,
            attributes=dict(attributes or {}),
            insights=insights,
            group_filter_expression=group_filter_expression,
        )
        super().__init__(scope, construct_id)
        self.service_name = service_name

        #: The sampling rule (LOG-07).
        self.rule = xray.CfnSamplingRule(
            self,
            "Resource",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=deployment_unique_name(self),
                service_name=service_name,
                service_type=service_type,
                host=host,
                http_method=http_method,
                url_path=url_path,
                resource_arn="*",
                fixed_rate=fixed_rate,
                reservoir_size=reservoir_size,
                priority=priority,
                attributes=dict(attributes) if attributes else None,
                version=1,
            ),
        )

        #: The X-Ray group with Insights (``None`` with ``insights=False``).
        self.group: xray.CfnGroup | None = None
        if insights:
            self.group = xray.CfnGroup(
                self,
                "Group",
                group_name=deployment_unique_name(self, "group"),
                filter_expression=group_filter_expression or f'service("{service_name}")',
                insights_configuration=xray.CfnGroup.InsightsConfigurationProperty(
                    insights_enabled=True,
                    notifications_enabled=True,
                ),
            )

    @property
    def rule_arn(self) -> str:
        """ARN of the sampling rule."""
        return self.rule.attr_rule_arn

    @property
    def group_arn(self) -> str | None:
        """ARN of the group (``None`` without Insights)."""
        return self.group.attr_group_arn if self.group is not None else None


def deployment_unique_name(scope: Construct, role: str = "", max_length: int = 32) -> str:
    """``<id>-<hash>-<stack UUID block>``: unique per construct and deployed stack, stable.

    The readable part is the construct ID (lower case, letters/digits/hyphens), the hash tells
    constructs with the same ID apart, the last block (12 hex digits) of the stack's UUID tells
    two deployments of one template apart.
    """
    stack_suffix = Fn.select(4, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))
    digest = hashlib.sha256(f"{scope.node.path}/{role}".encode()).hexdigest()[:6]
    room = max_length - len(digest) - 12 - 2
    readable = re.sub(r"[^a-z0-9]+", "-", scope.node.id.lower()).strip("-")[:room].strip("-")
    return Fn.join("-", [part for part in (readable, digest, stack_suffix) if part])


def _validate(
    *,
    service_name: object,
    fixed_rate: object,
    reservoir_size: object,
    priority: object,
    host: object,
    url_path: object,
    http_method: object,
    service_type: object,
    attributes: Mapping[Any, Any],
    insights: bool,
    group_filter_expression: object,
) -> None:
    """Reject bad arguments before anything is created."""
    if not isinstance(service_name, str) or not _SERVICE.match(service_name):
        raise invalid(
            _NAME,
            "service_name",
            service_name,
            "use the 1-64 character name the service reports in its segments (letters, digits, "
            "spaces and _ . : / % & # = + \\ - @; * and ? as wildcards)",
        )
    if isinstance(fixed_rate, bool) or not isinstance(fixed_rate, int | float):
        raise invalid(_NAME, "fixed_rate", fixed_rate, "pass a number between 0 and 1")
    if not Token.is_unresolved(fixed_rate) and not 0 <= fixed_rate <= 1:
        raise invalid(
            _NAME, "fixed_rate", fixed_rate, "use a share between 0 and 1 (0.05 traces 5 %)"
        )
    for argument, value, low, high in (
        ("reservoir_size", reservoir_size, 0, 100_000),
        ("priority", priority, 1, 9999),
    ):
        if isinstance(value, float) and not Token.is_unresolved(value):
            raise invalid(_NAME, argument, value, "pass a whole number")
        require_range(_NAME, argument, value, low, high)  # type: ignore[arg-type]
    if not isinstance(host, str) or not _HOST.match(host):
        raise invalid(
            _NAME, "host", host, "use a host name of up to 64 characters ('*' and '?' wildcards)"
        )
    if not isinstance(url_path, str) or not _URL_PATH.match(url_path):
        raise invalid(
            _NAME, "url_path", url_path, "use a URL path of up to 128 characters, e.g. '/api/*'"
        )
    if http_method not in _HTTP_METHODS:
        raise invalid(_NAME, "http_method", http_method, f"use one of {list(_HTTP_METHODS)}")
    if not isinstance(service_type, str) or not _SERVICE_TYPE.match(service_type):
        raise invalid(
            _NAME,
            "service_type",
            service_type,
            "use '*' or a segment origin such as 'AWS::EC2::Instance' or 'AWS::Lambda::Function'",
        )
    if len(attributes) > 5:
        raise invalid(_NAME, "attributes", sorted(map(str, attributes)), "match at most 5")
    for key, value in attributes.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key or len(key) > 32:
            raise invalid(
                _NAME,
                "attributes",
                {key: value},
                "use string keys of 1-32 characters and string values",
            )
    if insights and group_filter_expression is None and any(c in service_name for c in "*?"):
        raise invalid(
            _NAME,
            "group_filter_expression",
            None,
            f"service_name={service_name!r} has wildcards; pass the group's filter expression "
            "or insights=False",
        )
    if group_filter_expression is not None:
        if not insights:
            raise invalid(
                _NAME,
                "group_filter_expression",
                group_filter_expression,
                "the filter belongs to the Insights group; drop it or set insights=True",
            )
        if not isinstance(group_filter_expression, str) or not group_filter_expression.strip():
            raise invalid(
                _NAME,
                "group_filter_expression",
                group_filter_expression,
                "pass an X-Ray filter expression such as 'service(\"payflow-api\")'",
            )


__all__ = ["TracingSampling", "deployment_unique_name"]
