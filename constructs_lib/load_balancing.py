"""Internet-facing Application Load Balancer, secure by default (EDGE-01, EDGE-04, ENC-04, LOG-04).

``SecureLoadBalancer`` creates the ALB, its own security group, a default target group and the
listeners. The TLS certificate is optional so that a stack deploys with or without a domain:

* **no certificate** (``certificate_arn=None``): one HTTP listener forwarding to the target group;
* **certificate** (``certificate_arn`` given, ``certificate_condition=None``): an HTTPS listener
  with a TLS 1.3 policy forwarding to the target group, and an HTTP listener that redirects (301)
  to HTTPS;
* **conditional certificate** (``certificate_arn`` *and* ``certificate_condition``): the stack's
  ``CertificateArn`` parameter may be empty. The HTTPS listener (and its certificate) carries the
  CloudFormation condition, and the HTTP listener's default action is
  ``Fn::If(condition, redirect-to-HTTPS, forward)``. Nothing unconditional references or depends
  on the conditional listener (the target group is attached through the HTTP listener), so the
  template is valid whichever way the condition evaluates.

Access logs go to the caller's bucket (ALB log delivery requires SSE-S3). The construct writes
the bucket statement itself instead of the L2's ``log_access_logs``, which also grants
``delivery.logs.amazonaws.com`` without source conditions (S3-04): in regions that have an ELB
log-delivery account the statement names that account, elsewhere the
``logdelivery.elasticloadbalancing.amazonaws.com`` service pinned to this account. The load
balancer depends on the bucket policy. An imported bucket gets no policy: its owner must grant
``s3:PutObject`` on the prefix.

The web ACL is *not* part of this construct: associate one with ``WebAcl.associate`` (EDGE-03).
cdk-nag's ``ALBWAFEnabled`` rules deliberately stay unacknowledged here so that a stack that
forgets the association fails the gate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from aws_cdk import CfnCondition, Duration, Fn, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge, acknowledge_deploy_time_rule
from constructs_lib.validation import invalid, require_cidr, require_non_empty, require_range

_NAME = "SecureLoadBalancer"
#: The default ingress source: a public site.
ANYWHERE = "0.0.0.0/0"

HTTP_PORT = 80
HTTPS_PORT = 443

#: cdk-nag packs (besides AwsSolutions) whose ELB rules this construct answers.
_RULE_PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")

#: The egress rule CDK uses to match no traffic: with it inline, CloudFormation revokes the
#: default allow-all egress rule of a new security group.
NO_TRAFFIC_EGRESS: dict[str, Any] = {
    "CidrIp": "255.255.255.255/32",
    "Description": "Disallow all traffic",
    "IpProtocol": "icmp",
    "FromPort": 252,
    "ToPort": 86,
}

#: TLS policies whose minimum protocol is TLS 1.2 or newer (ENC-04). Policies that still accept
#: TLS 1.0/1.1 (``RECOMMENDED``, ``TLS13_10``, ``FORWARD_SECRECY``, ``LEGACY``, ...) are refused.
MODERN_TLS_POLICIES: frozenset[elbv2.SslPolicy] = frozenset(
    {
        elbv2.SslPolicy.TLS13_12_PQ,
        elbv2.SslPolicy.TLS13_13_PQ,
        elbv2.SslPolicy.TLS13_12_RES_PQ,
        elbv2.SslPolicy.TLS13_12_EXT1_PQ,
        elbv2.SslPolicy.TLS13_12_EXT2_PQ,
        elbv2.SslPolicy.RECOMMENDED_TLS,
        elbv2.SslPolicy.TLS13_RES,
        elbv2.SslPolicy.TLS13_EXT1,
        elbv2.SslPolicy.TLS13_EXT2,
        elbv2.SslPolicy.TLS13_13,
        elbv2.SslPolicy.FIPS_TLS13_12,
        elbv2.SslPolicy.FIPS_TLS13_12_PQ,
        elbv2.SslPolicy.FIPS_TLS13_12_RES,
        elbv2.SslPolicy.FIPS_TLS13_12_RES_PQ,
        elbv2.SslPolicy.FIPS_TLS13_12_EXT0,
        elbv2.SslPolicy.FIPS_TLS13_12_EXT0_PQ,
        elbv2.SslPolicy.FIPS_TLS13_12_EXT1,
        elbv2.SslPolicy.FIPS_TLS13_12_EXT1_PQ,
        elbv2.SslPolicy.FIPS_TLS13_12_EXT2,
        elbv2.SslPolicy.FIPS_TLS13_12_EXT2_PQ,
        elbv2.SslPolicy.FIPS_TLS13_13,
        elbv2.SslPolicy.FIPS_TLS13_13_PQ,
        elbv2.SslPolicy.FORWARD_SECRECY_TLS12,
        elbv2.SslPolicy.FORWARD_SECRECY_TLS12_RES,
        elbv2.SslPolicy.FORWARD_SECRECY_TLS12_RES_GCM,
        elbv2.SslPolicy.TLS12,
        elbv2.SslPolicy.TLS12_EXT,
    }
)

#: Default: TLS 1.3 + 1.2 with hybrid post-quantum key exchange
#: (``ELBSecurityPolicy-TLS13-1-2-PQ-2025-09``).
DEFAULT_TLS_POLICY = elbv2.SslPolicy.TLS13_12_PQ
DEFAULT_IDLE_TIMEOUT = Duration.seconds(60)
DEFAULT_HEALTH_CHECK_INTERVAL = Duration.seconds(30)
DEFAULT_HEALTH_CHECK_TIMEOUT = Duration.seconds(5)
DEFAULT_DEREGISTRATION_DELAY = Duration.seconds(30)

_CERTIFICATE_ARN = re.compile(
    r"^arn:aws[a-z-]*:(acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+"
    r"|iam::\d{12}:server-certificate/[\w+=,.@/-]+)$"
)
_HTTP_CODES = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")
_LOG_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")


def _seconds(argument: str, value: Duration, low: int, high: int) -> int:
    if not isinstance(value, Duration):
        raise invalid(_NAME, argument, value, f"pass a Duration between {low} and {high} seconds")
    seconds = int(value.to_seconds())
    if not low <= seconds <= high:
        raise invalid(
            _NAME, argument, f"{seconds}s", f"use a Duration between {low} and {high} seconds"
        )
    return seconds


@dataclass(frozen=True, kw_only=True)
class _TargetSettings:
    """Settings shared by the default and additional target groups (EDGE-04)."""

    port: int
    protocol: elbv2.ApplicationProtocol
    target_type: elbv2.TargetType
    health_check_path: str
    health_check_interval: Duration
    health_check_timeout: Duration
    healthy_threshold: int
    unhealthy_threshold: int
    healthy_http_codes: str
    deregistration_delay: Duration

    def validate(self) -> None:
        require_range(_NAME, "target_port", self.port, 1, 65535)
        path = self.health_check_path
        if not isinstance(path, str) or Token.is_unresolved(path):
            raise invalid(_NAME, "health_check_path", path, "pass a literal path")
        if not path.startswith("/") or len(path) > 1024:
            raise invalid(
                _NAME,
                "health_check_path",
                path,
                "start the path with '/' (e.g. '/health'), at most 1024 characters",
            )
        interval = _seconds("health_check_interval", self.health_check_interval, 5, 300)
        timeout = _seconds("health_check_timeout", self.health_check_timeout, 2, 120)
        if timeout >= interval:
            raise invalid(
                _NAME,
                "health_check_timeout",
                f"{timeout}s",
                f"the timeout must be shorter than health_check_interval ({interval}s)",
            )
        require_range(_NAME, "healthy_threshold", self.healthy_threshold, 2, 10)
        require_range(_NAME, "unhealthy_threshold", self.unhealthy_threshold, 2, 10)
        codes = self.healthy_http_codes
        if not isinstance(codes, str) or not _HTTP_CODES.match(codes):
            raise invalid(
                _NAME,
                "healthy_http_codes",
                codes,
                "use HTTP codes such as '200', '200-299' or '200,302'",
            )
        if not all(200 <= int(code) <= 499 for code in re.split(r"[,-]", codes)):
            raise invalid(_NAME, "healthy_http_codes", codes, "use codes between 200 and 499")
        _seconds("deregistration_delay", self.deregistration_delay, 0, 3600)

    @property
    def health_check_protocol(self) -> elbv2.Protocol:
        if self.protocol == elbv2.ApplicationProtocol.HTTPS:
            return elbv2.Protocol.HTTPS
        return elbv2.Protocol.HTTP


class SecureLoadBalancer(Construct):
    """Internet-facing ALB: TLS 1.3, hardened attributes, access logs, a default target group.

    :param vpc: the VPC of the load balancer and its target groups.
    :param subnets: where the ALB lives; must select public subnets in at least two AZs.
    :param access_log_bucket: the caller's SSE-S3 bucket for access logs (LOG-04; the bucket's
        lifecycle belongs to the bucket).
    :param access_log_prefix: key prefix for the logs (no leading/trailing ``/``, no ``AWSLogs``).
    :param deletion_protection: ``False`` only for throwaway environments.
    :param certificate_arn: ACM (or IAM server) certificate ARN, or a token from a ``CfnParameter``.
    :param certificate_condition: the stack's condition under which ``certificate_arn`` is usable.
    :param tls_policy: a TLS 1.2+ policy; default TLS 1.3/1.2 with post-quantum key exchange.
    :param idle_timeout: connection idle timeout (1..4000 s).
    :param target_port: port the targets listen on (HTTP unless ``target_protocol`` says HTTPS).
    :param health_check_path: path of the health check; starts with ``/``.
    :param health_check_interval: 5..300 s; must exceed ``health_check_timeout`` (2..120 s).
    :param healthy_threshold: consecutive successes before a target is healthy (2..10).
    :param unhealthy_threshold: consecutive failures before a target is unhealthy (2..10).
    :param healthy_http_codes: matcher, e.g. ``"200"`` or ``"200-299"``.
    :param deregistration_delay: connection draining time (0..3600 s).
    :param ingress_cidr: the IPv4 range allowed to reach ports 80/443, e.g. a validated
        ``CorporateIPRange`` parameter's value (NET-08); default ``0.0.0.0/0`` (a public site).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        access_log_bucket: s3.IBucket,
        subnets: ec2.SubnetSelection | None = None,
        access_log_prefix: str = "alb",
        deletion_protection: bool = True,
        certificate_arn: str | None = None,
        certificate_condition: CfnCondition | None = None,
        tls_policy: elbv2.SslPolicy = DEFAULT_TLS_POLICY,
        idle_timeout: Duration = DEFAULT_IDLE_TIMEOUT,
        target_port: int = 80,
        target_protocol: elbv2.ApplicationProtocol = elbv2.ApplicationProtocol.HTTP,
        target_type: elbv2.TargetType = elbv2.TargetType.INSTANCE,
        health_check_path: str = "/health",
        health_check_interval: Duration = DEFAULT_HEALTH_CHECK_INTERVAL,
        health_check_timeout: Duration = DEFAULT_HEALTH_CHECK_TIMEOUT,
        healthy_threshold: int = 2,
        unhealthy_threshold: int = 3,
        healthy_http_codes: str = "200",
        deregistration_delay: Duration = DEFAULT_DEREGISTRATION_DELAY,
        ingress_cidr: str = ANYWHERE,
    ) -> None:
        subnet_selection = subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
        self._validate(
            scope=scope,
            vpc=vpc,
            subnets=subnet_selection,
            access_log_bucket=access_log_bucket,
            access_log_prefix=access_log_prefix,
            deletion_protection=deletion_protection,
            certificate_arn=certificate_arn,
            certificate_condition=certificate_condition,
            tls_policy=tls_policy,
            idle_timeout=idle_timeout,
        )
        require_cidr(_NAME, "ingress_cidr", ingress_cidr, allow_world=True)
        self._ingress_cidr = ingress_cidr
        self._target_defaults = _TargetSettings(
            port=target_port,
            protocol=target_protocol,
            target_type=target_type,
            health_check_path=health_check_path,
            health_check_interval=health_check_interval,
            health_check_timeout=health_check_timeout,
            healthy_threshold=healthy_threshold,
            unhealthy_threshold=unhealthy_threshold,
            healthy_http_codes=healthy_http_codes,
            deregistration_delay=deregistration_delay,
        )
        self._target_defaults.validate()
        super().__init__(scope, construct_id)
        self._vpc = vpc
        #: The ALB's own security group: 80/443 from the internet, egress only to targets.
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=(
                "Internet-facing ALB: HTTP/HTTPS from anywhere, egress only to targets"
                if ingress_cidr == ANYWHERE
                else "Internet-facing ALB: HTTP/HTTPS from the allowed range, egress to targets"
            ),
            allow_all_outbound=False,
            disable_inline_rules=True,
        )
        _pin_no_traffic_egress(self.security_group)
        #: The internet-facing ALB (EDGE-01).
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Resource",
            vpc=vpc,
            vpc_subnets=subnet_selection,
            internet_facing=True,
            security_group=self.security_group,
            deletion_protection=deletion_protection,
            drop_invalid_header_fields=True,
            preserve_host_header=True,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.STRICTEST,
            http2_enabled=True,
            waf_fail_open=False,
            idle_timeout=idle_timeout,
        )
        # The L2 renders WAF fail-open only when enabled; state the secure value explicitly.
        self.load_balancer.set_attribute("waf.fail_open.enabled", "false")
        self._log_access_logs(access_log_bucket, access_log_prefix)

        #: The default target group; both listeners lead to it.
        self.target_group = self.add_target_group("TargetGroup")

        self.http_ingress = self._world_ingress(
            "HttpIngress",
            HTTP_PORT,
            "HTTP from the internet; redirected to HTTPS whenever a certificate is configured",
        )
        self.https_ingress: ec2.CfnSecurityGroupIngress | None = None
        self.https_listener: elbv2.ApplicationListener | None = None
        if certificate_arn is None:
            self.http_listener = self._forwarding_http_listener()
            redirect_reason = (
                "No certificate was given (EDGE-02: the stack deploys without a domain), so "
                "port 80 forwards to the targets; the HTTPS listener and the redirect appear "
                "once a certificate is configured"
            )
        elif certificate_condition is None:
            self.https_ingress = self._world_ingress(
                "HttpsIngress", HTTPS_PORT, "HTTPS from the internet to the TLS listener"
            )
            self.https_listener = self._https_listener(certificate_arn, tls_policy, None)
            self.http_listener = self.load_balancer.add_listener(
                "Http",
                port=HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_action=elbv2.ListenerAction.redirect(
                    protocol="HTTPS", port=str(HTTPS_PORT), permanent=True
                ),
            )
            redirect_reason = ""
        else:
            self.https_ingress = self._world_ingress(
                "HttpsIngress", HTTPS_PORT, "HTTPS from the internet to the TLS listener"
            )
            # Port 443 is open only while the HTTPS listener exists.
            self.https_ingress.cfn_options.condition = certificate_condition
            self.https_listener = self._https_listener(
                certificate_arn, tls_policy, certificate_condition
            )
            self.http_listener = self._forwarding_http_listener()
            cfn_http = self.http_listener.node.default_child
            assert isinstance(cfn_http, elbv2.CfnListener)
            cfn_http.default_actions = [
                Fn.condition_if(
                    certificate_condition.logical_id,
                    _REDIRECT_ACTION,
                    {"Type": "forward", "TargetGroupArn": self.target_group.target_group_arn},
                )
            ]
            redirect_reason = (
                "The HTTP listener's default action is Fn::If(certificate condition, 301 redirect "
                "to HTTPS, forward): it redirects whenever the CertificateArn parameter is set and "
                "serves plain HTTP only while the stack has no certificate (EDGE-02)"
            )
        for pack in _RULE_PACKS:
            if redirect_reason:
                acknowledge(
                    self.http_listener, f"{pack}-ALBHttpToHttpsRedirection", redirect_reason
                )
            acknowledge(
                self.http_listener,
                f"{pack}-ELBv2ACMCertificateRequired",
                "Port 80 is the plain-HTTP listener by design: it redirects to the HTTPS listener "
                "(which carries the ACM certificate) or serves HTTP while no certificate exists; "
                "an HTTP listener cannot hold a certificate",
            )

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _validate(
        *,
        scope: Construct,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        access_log_bucket: s3.IBucket,
        access_log_prefix: str,
        deletion_protection: bool,
        certificate_arn: str | None,
        certificate_condition: CfnCondition | None,
        tls_policy: elbv2.SslPolicy,
        idle_timeout: Duration,
    ) -> None:
        if Token.is_unresolved(Stack.of(scope).region):
            raise invalid(
                _NAME,
                "scope",
                Stack.of(scope).stack_name,
                "ALB access logging needs the region's log-delivery principal; give the stack an "
                "env with a region",
            )
        if vpc is None:
            raise invalid(_NAME, "vpc", vpc, "pass the VPC (ec2.IVpc) of the load balancer")
        if access_log_bucket is None:
            raise invalid(
                _NAME, "access_log_bucket", access_log_bucket, "pass an SSE-S3 bucket (s3.IBucket)"
            )
        selected = vpc.select_subnets(
            availability_zones=subnets.availability_zones,
            one_per_az=subnets.one_per_az,
            subnet_filters=subnets.subnet_filters,
            subnet_group_name=subnets.subnet_group_name,
            subnets=subnets.subnets,
            subnet_type=subnets.subnet_type,
        )
        if not selected.has_public:
            raise invalid(
                _NAME,
                "subnets",
                subnets,
                "an internet-facing ALB needs public subnets, e.g. "
                "ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)",
            )
        if len(selected.subnet_ids) < 2:
            raise invalid(
                _NAME,
                "subnets",
                subnets,
                f"the selection has {len(selected.subnet_ids)} subnet(s); an ALB needs public "
                "subnets in at least two AZs",
            )
        if not Token.is_unresolved(access_log_prefix) and (
            not isinstance(access_log_prefix, str)
            or not _LOG_PREFIX.match(access_log_prefix)
            or "AWSLogs" in access_log_prefix
        ):
            raise invalid(
                _NAME,
                "access_log_prefix",
                access_log_prefix,
                "use a key prefix such as 'alb' or 'web/alb' without leading or trailing '/' "
                "and without 'AWSLogs'",
            )
        if not isinstance(deletion_protection, bool):
            raise invalid(_NAME, "deletion_protection", deletion_protection, "pass True or False")
        if certificate_arn is not None:
            require_non_empty(_NAME, "certificate_arn", certificate_arn)
            if not Token.is_unresolved(certificate_arn) and not _CERTIFICATE_ARN.match(
                certificate_arn
            ):
                raise invalid(
                    _NAME,
                    "certificate_arn",
                    certificate_arn,
                    "pass an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"
                    " or a CfnParameter value",
                )
        if certificate_condition is not None:
            if not isinstance(certificate_condition, CfnCondition):
                raise invalid(
                    _NAME,
                    "certificate_condition",
                    certificate_condition,
                    "pass the stack's CfnCondition (e.g. HasCertificate)",
                )
            if certificate_arn is None:
                raise invalid(
                    _NAME,
                    "certificate_condition",
                    certificate_condition.node.id,
                    "a certificate condition needs certificate_arn (the CertificateArn parameter "
                    "value) as well",
                )
        if tls_policy not in MODERN_TLS_POLICIES:
            raise invalid(
                _NAME,
                "tls_policy",
                tls_policy,
                "use a TLS 1.2+ policy such as elbv2.SslPolicy.TLS13_12_PQ or RECOMMENDED_TLS",
            )
        _seconds("idle_timeout", idle_timeout, 1, 4000)

    # ------------------------------------------------------------------ children
    def _log_access_logs(self, bucket: s3.IBucket, prefix: str) -> None:
        """LOG-04: access logs to ``bucket/prefix`` with a least-privilege delivery statement."""
        stack = Stack.of(self)
        region = stack.region
        objects = bucket.arn_for_objects(f"{prefix}/AWSLogs/{stack.account}/*")
        elb_account = None if Token.is_unresolved(region) else RegionInfo.get(region).elbv2_account
        if elb_account is not None:
            principal: iam.IPrincipal = iam.AccountPrincipal(elb_account)
            conditions: dict[str, Any] | None = None
        else:
            principal = iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com")
            conditions = {"StringEquals": {"aws:SourceAccount": stack.account}}
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlbAccessLogDelivery",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions=conditions,
            )
        )
        for key, value in (
            ("access_logs.s3.enabled", "true"),
            ("access_logs.s3.bucket", bucket.bucket_name),
            ("access_logs.s3.prefix", prefix),
        ):
            self.load_balancer.set_attribute(key, value)
        if bucket.policy is not None:
            # ELB checks write access when logging is turned on.
            self.load_balancer.node.add_dependency(bucket.policy)

    def _world_ingress(
        self, rule_id: str, port: int, description: str
    ) -> ec2.CfnSecurityGroupIngress:
        restricted = self._ingress_cidr != ANYWHERE
        rule = ec2.CfnSecurityGroupIngress(
            self,
            rule_id,
            group_id=self.security_group.security_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ip=self._ingress_cidr,
            description=description.replace("the internet", "the allowed range")
            if restricted
            else description,
        )
        if restricted:
            if Token.is_unresolved(self._ingress_cidr):
                acknowledge_deploy_time_rule(
                    rule,
                    f"port {port} only (no admin port), from ingress_cidr: a deploy-time value "
                    "the composing stack validates (e.g. a CorporateIPRange parameter whose "
                    "pattern refuses 0.0.0.0/0)",
                )
            return rule
        acknowledge(
            rule,
            "AwsSolutions-EC23",
            f"Port {port} of the internet-facing ALB is open to 0.0.0.0/0 by design: it is the "
            "public entry point (NET-06 allows world ingress only here), protected by WAF",
        )
        return rule

    def _forwarding_http_listener(self) -> elbv2.ApplicationListener:
        return self.load_balancer.add_listener(
            "Http",
            port=HTTP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=elbv2.ListenerAction.forward([self.target_group]),
        )

    def _https_listener(
        self,
        certificate_arn: str,
        tls_policy: elbv2.SslPolicy,
        condition: CfnCondition | None,
    ) -> elbv2.ApplicationListener:
        if condition is None:
            return self.load_balancer.add_listener(
                "Https",
                port=HTTPS_PORT,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                open=False,
                certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
                ssl_policy=tls_policy,
                default_target_groups=[self.target_group],
            )
        # Conditional listener: the target group must not be registered with it, or everything
        # attached to the target group (an Auto Scaling group, ...) would get a DependsOn on a
        # resource that does not exist when the condition is false. The L2 default action is a
        # placeholder; the L1 forwards to the target group.
        listener = self.load_balancer.add_listener(
            "Https",
            port=HTTPS_PORT,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            open=False,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=tls_policy,
            default_action=elbv2.ListenerAction.fixed_response(404),
        )
        cfn = listener.node.default_child
        assert isinstance(cfn, elbv2.CfnListener)
        cfn.default_actions = [
            elbv2.CfnListener.ActionProperty(
                type="forward", target_group_arn=self.target_group.target_group_arn
            )
        ]
        cfn.cfn_options.condition = condition
        return listener

    # ------------------------------------------------------------------ public API
    def add_target_group(
        self,
        target_group_id: str,
        *,
        port: int | None = None,
        protocol: elbv2.ApplicationProtocol | None = None,
        target_type: elbv2.TargetType | None = None,
        health_check_path: str | None = None,
        health_check_interval: Duration | None = None,
        health_check_timeout: Duration | None = None,
        healthy_threshold: int | None = None,
        unhealthy_threshold: int | None = None,
        healthy_http_codes: str | None = None,
        deregistration_delay: Duration | None = None,
    ) -> elbv2.ApplicationTargetGroup:
        """Add a target group with explicit health checks and draining (EDGE-04).

        Unset settings default to the ones given to the construct. The group is not attached to a
        listener; use it in weighted forward actions (blue/green) or listener rules.
        """
        overrides: dict[str, Any] = {
            "port": port,
            "protocol": protocol,
            "target_type": target_type,
            "health_check_path": health_check_path,
            "health_check_interval": health_check_interval,
            "health_check_timeout": health_check_timeout,
            "healthy_threshold": healthy_threshold,
            "unhealthy_threshold": unhealthy_threshold,
            "healthy_http_codes": healthy_http_codes,
            "deregistration_delay": deregistration_delay,
        }
        settings = replace(
            self._target_defaults, **{k: v for k, v in overrides.items() if v is not None}
        )
        settings.validate()
        return elbv2.ApplicationTargetGroup(
            self,
            target_group_id,
            vpc=self._vpc,
            port=settings.port,
            protocol=settings.protocol,
            target_type=settings.target_type,
            deregistration_delay=settings.deregistration_delay,
            health_check=elbv2.HealthCheck(
                enabled=True,
                path=settings.health_check_path,
                protocol=settings.health_check_protocol,
                port="traffic-port",
                interval=settings.health_check_interval,
                timeout=settings.health_check_timeout,
                healthy_threshold_count=settings.healthy_threshold,
                unhealthy_threshold_count=settings.unhealthy_threshold,
                healthy_http_codes=settings.healthy_http_codes,
            ),
        )

    def connect_to(self, fleet_security_group: ec2.ISecurityGroup, port: int | None = None) -> None:
        """Allow the ALB to reach ``fleet_security_group`` on ``port`` (default the target port).

        Creates an egress rule on the ALB's group and an ingress rule on the fleet's group, each a
        separate resource with a description (NET-06).
        """
        target_port = self._target_defaults.port if port is None else port
        require_range(_NAME, "port", target_port, 1, 65535)
        self.security_group.connections.allow_to(
            fleet_security_group,
            ec2.Port.tcp(target_port),
            f"ALB to its targets on the target port {target_port}",
        )

    @property
    def connections(self) -> ec2.Connections:
        """The ALB's security-group connections (for ``allow_to``/``allow_from`` by peers)."""
        return self.load_balancer.connections

    def metric_http_5xx_count(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """5xx responses generated by the targets (``HTTPCode_Target_5XX_Count``, Sum)."""
        return self.load_balancer.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=period, statistic=statistic
        )

    def metric_elb_5xx_count(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """5xx responses generated by the load balancer itself (``HTTPCode_ELB_5XX_Count``)."""
        return self.load_balancer.metrics.http_code_elb(
            elbv2.HttpCodeElb.ELB_5XX_COUNT, period=period, statistic=statistic
        )

    def metric_request_count(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """Requests processed by the load balancer (``RequestCount``, Sum)."""
        return self.load_balancer.metrics.request_count(period=period, statistic=statistic)

    def metric_target_response_time(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """Target response time in seconds (``TargetResponseTime``, Average; pass ``"p99"``)."""
        return self.load_balancer.metrics.target_response_time(period=period, statistic=statistic)

    def metric_unhealthy_host_count(
        self,
        *,
        target_group: elbv2.ApplicationTargetGroup | None = None,
        period: Duration | None = None,
        statistic: str | None = None,
    ) -> cloudwatch.Metric:
        """Unhealthy targets of ``target_group`` (default the default group; Average)."""
        group = target_group or self.target_group
        return group.metrics.unhealthy_host_count(period=period, statistic=statistic)


#: Permanent redirect to the same host, path and query on HTTPS:443 (CloudFormation casing).
_REDIRECT_ACTION: dict[str, Any] = {
    "Type": "redirect",
    "RedirectConfig": {
        "Protocol": "HTTPS",
        "Port": str(HTTPS_PORT),
        "Host": "#{host}",
        "Path": "/#{path}",
        "Query": "#{query}",
        "StatusCode": "HTTP_301",
    },
}


def _pin_no_traffic_egress(security_group: ec2.SecurityGroup) -> None:
    """Keep the match-no-traffic egress rule inline for the life of ``security_group``.

    CDK removes its inline "Disallow all traffic" placeholder as soon as an egress rule is added,
    even when that rule is a separate ``AWS::EC2::SecurityGroupEgress`` resource (every rule of a
    group with ``disable_inline_rules``, and every rule to another security group). The group is
    then declared without ``SecurityGroupEgress`` and EC2's default allow-all egress rule stays.
    Pinning the placeholder inline makes CloudFormation revoke the default; the real rules are
    separate resources. CDK's separate copy of the placeholder is dropped (it would duplicate it).
    """
    for child in list(security_group.node.children):
        if isinstance(child, ec2.CfnSecurityGroupEgress) and child.cidr_ip == "255.255.255.255/32":
            security_group.node.try_remove_child(child.node.id)
    cfn = security_group.node.default_child
    assert isinstance(cfn, ec2.CfnSecurityGroup)
    cfn.add_property_override("SecurityGroupEgress", [NO_TRAFFIC_EGRESS])
