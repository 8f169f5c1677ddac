"""SecureLoadBalancer: EDGE-01, EDGE-04, ENC-04 (ALB), LOG-04, NET-06 (ALB security group).

One app with a stack per certificate mode (none / certificate / conditional certificate) plus a
stack with relaxed and custom settings is synthesized once for the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cfnlint.api import ManualArgs, lint

from constructs_lib.load_balancing import DEFAULT_TLS_POLICY, SecureLoadBalancer
from constructs_lib.waf import WebAcl
from tests.support import nag_findings, new_app, new_stack

MODES = ("none", "certificate", "conditional")
CONDITION = "HasCertificate"
#: ELB log-delivery account of us-east-1 (the test stacks' region).
ELB_ACCOUNT_US_EAST_1 = "127311923021"


@dataclass
class Built:
    stack: cdk.Stack
    alb: SecureLoadBalancer
    template: Template

    def resources(self, resource_type: str) -> dict[str, Any]:
        return dict(self.template.find_resources(resource_type))

    def logical_id(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)


def _vpc(stack: cdk.Stack) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a", "us-east-1b"],
        public_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        public_subnet_route_table_ids=["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
        private_subnet_ids=["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"],
        private_subnet_route_table_ids=["rtb-0cccccccccccccccc", "rtb-0dddddddddddddddd"],
    )


def _log_bucket(stack: cdk.Stack, *, imported: bool) -> s3.IBucket:
    if imported:
        return s3.Bucket.from_bucket_name(stack, "AccessLogs", "caller-alb-access-logs")
    return s3.Bucket(
        stack,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        versioned=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def _certificate_parameter(stack: cdk.Stack) -> str:
    """What a stack declares: a CertificateArn parameter, empty for HTTP only."""
    parameter = stack.node.try_find_child("CertificateArn") or cdk.CfnParameter(
        stack,
        "CertificateArn",
        type="String",
        default="",
        description="ACM certificate ARN; empty for HTTP only",
    )
    assert isinstance(parameter, cdk.CfnParameter)
    return parameter.value_as_string


def _certificate_condition(stack: cdk.Stack) -> cdk.CfnCondition:
    """The stack's HasCertificate condition: the CertificateArn parameter is not empty."""
    condition = stack.node.try_find_child(CONDITION) or cdk.CfnCondition(
        stack,
        CONDITION,
        expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(_certificate_parameter(stack), "")),
    )
    assert isinstance(condition, cdk.CfnCondition)
    return condition


def build(
    stack: cdk.Stack, mode: str, *, imported_bucket: bool = False, construct_id: str = "Alb"
) -> SecureLoadBalancer:
    vpc = cast(ec2.IVpc, stack.node.try_find_child("Vpc") or _vpc(stack))
    bucket = cast(
        s3.IBucket,
        stack.node.try_find_child("AccessLogs") or _log_bucket(stack, imported=imported_bucket),
    )
    options: dict[str, Any] = {}
    if mode != "none":
        options["certificate_arn"] = _certificate_parameter(stack)
    if mode == "conditional":
        options["certificate_condition"] = _certificate_condition(stack)
    fleet = ec2.SecurityGroup(
        stack,
        f"{construct_id}Fleet",
        vpc=vpc,
        description="Stand-in for the fleet behind the ALB",
        allow_all_outbound=False,
    )
    alb = SecureLoadBalancer(
        stack,
        construct_id,
        vpc=vpc,
        access_log_bucket=bucket,
        access_log_prefix=f"{construct_id.lower()}-logs",
        **options,
    )
    alb.connect_to(fleet)
    return alb


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    app = new_app()
    stacks: dict[str, tuple[cdk.Stack, SecureLoadBalancer]] = {}
    for mode in MODES:
        stack = new_stack(app, f"Alb-{mode}")
        alb = build(stack, mode)
        # Stands in for an Auto Scaling group: whatever attaches to the target group depends on
        # `load_balancer_attached`; it must never depend on a conditional resource.
        attached = cdk.CfnWaitConditionHandle(stack, "AttachedToTargetGroup")
        attached.node.add_dependency(alb.target_group.load_balancer_attached)
        stacks[mode] = (stack, alb)
    custom = new_stack(app, "Alb-custom")
    vpc = _vpc(custom)
    certificate_arn = (
        "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    )
    custom_alb = SecureLoadBalancer(
        custom,
        "Alb",
        vpc=vpc,
        access_log_bucket=_log_bucket(custom, imported=True),
        deletion_protection=False,
        certificate_arn=certificate_arn,
        tls_policy=elbv2.SslPolicy.TLS13_13,
        idle_timeout=cdk.Duration.seconds(120),
        target_port=8080,
        health_check_path="/healthz",
        health_check_interval=cdk.Duration.seconds(15),
        health_check_timeout=cdk.Duration.seconds(10),
        healthy_threshold=3,
        unhealthy_threshold=4,
        healthy_http_codes="200-299",
        deregistration_delay=cdk.Duration.seconds(60),
        ingress_cidr="198.51.100.0/24",
    )
    custom_alb.add_target_group(
        "GreenTargetGroup", health_check_path="/ready", deregistration_delay=cdk.Duration.seconds(5)
    )
    stacks["custom"] = (custom, custom_alb)
    assembly = app.synth()
    return {
        mode: Built(
            stack=stack,
            alb=alb,
            template=Template.from_json(assembly.get_stack_by_name(stack.stack_name).template),
        )
        for mode, (stack, alb) in stacks.items()
    }


def _listener(built: Built, port: int) -> dict[str, Any]:
    listeners = built.resources("AWS::ElasticLoadBalancingV2::Listener")
    matching = [res for res in listeners.values() if res["Properties"]["Port"] == port]
    assert len(matching) == 1, listeners
    listener: dict[str, Any] = matching[0]
    return listener


def _attributes(built: Built) -> dict[str, str]:
    (load_balancer,) = built.resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    return {a["Key"]: a["Value"] for a in load_balancer["Properties"]["LoadBalancerAttributes"]}


# ---------------------------------------------------------------- EDGE-01 attributes
@pytest.mark.parametrize("mode", MODES)
def test_edge01_hardened_attributes(built: dict[str, Built], mode: str) -> None:
    attributes = _attributes(built[mode])
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.preserve_host_header.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["waf.fail_open.enabled"] == "false"
    assert attributes["idle_timeout.timeout_seconds"] == "60"


def test_edge01_internet_facing_in_public_subnets(built: dict[str, Built]) -> None:
    built["none"].template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "Type": "application",
            "Subnets": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        },
    )


def test_edge01_relaxed_settings_are_explicit(built: dict[str, Built]) -> None:
    attributes = _attributes(built["custom"])
    assert attributes["deletion_protection.enabled"] == "false"
    assert attributes["idle_timeout.timeout_seconds"] == "120"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


# ---------------------------------------------------------------- LOG-04 access logs
def test_log04_access_logs_to_the_callers_bucket(built: dict[str, Built]) -> None:
    target = built["certificate"]
    attributes = _attributes(target)
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.prefix"] == "alb-logs"
    bucket_id = target.logical_id(target.stack.node.find_child("AccessLogs"))
    (load_balancer,) = target.resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    bucket_attribute = next(
        a
        for a in load_balancer["Properties"]["LoadBalancerAttributes"]
        if a["Key"] == "access_logs.s3.bucket"
    )
    assert bucket_attribute["Value"] == {"Ref": bucket_id}


def test_log04_bucket_policy_lets_elb_log_delivery_write_the_prefix(
    built: dict[str, Built],
) -> None:
    target = built["certificate"]
    bucket_id = target.logical_id(target.stack.node.find_child("AccessLogs"))
    target.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "AlbAccessLogDelivery",
                            "Action": "s3:PutObject",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ELB_ACCOUNT_US_EAST_1}:root"},
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [
                                        {"Fn::GetAtt": [bucket_id, "Arn"]},
                                        "/alb-logs/AWSLogs/",
                                        {"Ref": "AWS::AccountId"},
                                        "/*",
                                    ],
                                ]
                            },
                        }
                    ]
                )
            },
        },
    )
    # Only the ELB account may write: no unconditioned delivery.logs grant (S3-04).
    (policy,) = target.resources("AWS::S3::BucketPolicy").values()
    assert "delivery.logs.amazonaws.com" not in json.dumps(policy)
    # The load balancer validates log delivery at creation: it must wait for the bucket policy.
    (policy_id,) = target.resources("AWS::S3::BucketPolicy")
    (load_balancer,) = target.resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert policy_id in load_balancer["DependsOn"]


# ---------------------------------------------------------------- ENC-04 / EDGE-01 TLS
def test_enc04_https_listener_uses_a_tls13_policy_and_the_certificate(
    built: dict[str, Built],
) -> None:
    https = _listener(built["certificate"], 443)["Properties"]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09"
    assert DEFAULT_TLS_POLICY == elbv2.SslPolicy.TLS13_12_PQ
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    target_group_id = built["certificate"].logical_id(built["certificate"].alb.target_group)
    assert https["DefaultActions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": target_group_id}}
    ]


def test_enc04_custom_tls_policy(built: dict[str, Built]) -> None:
    https = _listener(built["custom"], 443)["Properties"]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"


def test_enc04_http_redirects_permanently_to_https(built: dict[str, Built]) -> None:
    http = _listener(built["certificate"], 80)["Properties"]
    assert http["Protocol"] == "HTTP"
    assert http["DefaultActions"] == [
        {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }
    ]


def test_edge02_without_certificate_http_forwards_and_no_https(built: dict[str, Built]) -> None:
    target = built["none"]
    assert target.alb.https_listener is None
    assert target.alb.https_ingress is None
    listeners = target.resources("AWS::ElasticLoadBalancingV2::Listener")
    assert len(listeners) == 1
    http = _listener(target, 80)["Properties"]
    assert http["DefaultActions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": target.logical_id(target.alb.target_group)}}
    ]


# ---------------------------------------------------------------- conditional certificate
def test_edge02_conditional_https_listener_carries_the_condition(built: dict[str, Built]) -> None:
    https = _listener(built["conditional"], 443)
    assert https["Condition"] == CONDITION
    assert https["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert https["Properties"]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09"
    # The HTTP listener is unconditional; port 443 opens only together with the HTTPS listener.
    http = _listener(built["conditional"], 80)
    assert "Condition" not in http
    world_rules = {
        r["Properties"]["FromPort"]: r.get("Condition")
        for r in built["conditional"].resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("CidrIp") == "0.0.0.0/0"
    }
    assert world_rules == {80: None, 443: CONDITION}


def test_edge02_conditional_http_listener_is_fn_if_redirect_or_forward(
    built: dict[str, Built],
) -> None:
    target = built["conditional"]
    (action,) = _listener(target, 80)["Properties"]["DefaultActions"]
    condition, redirect, forward = action["Fn::If"]
    assert condition == CONDITION
    assert redirect == {
        "Type": "redirect",
        "RedirectConfig": {
            "Protocol": "HTTPS",
            "Port": "443",
            "Host": "#{host}",
            "Path": "/#{path}",
            "Query": "#{query}",
            "StatusCode": "HTTP_301",
        },
    }
    assert forward == {
        "Type": "forward",
        "TargetGroupArn": {"Ref": target.logical_id(target.alb.target_group)},
    }


def _resolve_conditions(node: Any, value: bool) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            assert name == CONDITION
            return _resolve_conditions(when_true if value else when_false, value)
        return {key: _resolve_conditions(item, value) for key, item in node.items()}
    if isinstance(node, list):
        return [_resolve_conditions(item, value) for item in node]
    return node


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, item in node.items():
            if key == "Ref":
                yield item
            elif key == "Fn::GetAtt":
                yield item[0] if isinstance(item, list) else item.split(".")[0]
            else:
                yield from _references(item)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


@pytest.mark.parametrize("has_certificate", [True, False])
def test_edge02_conditional_template_is_valid_either_way(
    built: dict[str, Built], has_certificate: bool
) -> None:
    """Evaluate HasCertificate both ways: every Ref, GetAtt and DependsOn must still resolve."""
    template = built["conditional"].template.to_json()
    parameters = set(template["Parameters"])
    present = {
        logical_id: _resolve_conditions(resource, has_certificate)
        for logical_id, resource in template["Resources"].items()
        if resource.get("Condition") is None or has_certificate
    }
    for logical_id, resource in present.items():
        for reference in _references(resource.get("Properties", {})):
            assert (
                reference in present or reference in parameters or reference.startswith("AWS::")
            ), f"{logical_id} references {reference}, absent when {CONDITION}={has_certificate}"
        depends_on = resource.get("DependsOn", [])
        for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
            assert dependency in present, (
                f"{logical_id} depends on {dependency}, absent when {CONDITION}={has_certificate}"
            )
    http = next(
        r
        for r in present.values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener" and r["Properties"]["Port"] == 80
    )
    (action,) = http["Properties"]["DefaultActions"]
    assert action["Type"] == ("redirect" if has_certificate else "forward")
    https_listeners = [
        r
        for r in present.values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener" and r["Properties"]["Port"] == 443
    ]
    assert len(https_listeners) == (1 if has_certificate else 0)


def test_edge02_target_group_consumers_never_depend_on_the_conditional_listener(
    built: dict[str, Built],
) -> None:
    target = built["conditional"]
    assert target.alb.https_listener is not None
    https_id = target.logical_id(target.alb.https_listener)
    http_id = target.logical_id(target.alb.http_listener)
    attached = target.template.to_json()["Resources"][
        target.stack.get_logical_id(target.stack.node.find_child("AttachedToTargetGroup"))  # type: ignore[arg-type]
    ]
    assert http_id in attached["DependsOn"]
    assert https_id not in attached["DependsOn"]


# ---------------------------------------------------------------- EDGE-04 target groups
def test_edge04_default_target_group_health_check_is_explicit(built: dict[str, Built]) -> None:
    built["none"].template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "Port": 80,
            "Protocol": "HTTP",
            "TargetType": "instance",
            "HealthCheckEnabled": True,
            "HealthCheckPath": "/health",
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPort": "traffic-port",
            "HealthCheckIntervalSeconds": 30,
            "HealthCheckTimeoutSeconds": 5,
            "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": 3,
            "Matcher": {"HttpCode": "200"},
        },
    )


def test_edge04_deregistration_delay_is_set(built: dict[str, Built]) -> None:
    built["none"].template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "TargetGroupAttributes": Match.array_with(
                [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
            )
        },
    )


def test_edge04_custom_settings_and_additional_target_group(built: dict[str, Built]) -> None:
    target = built["custom"]
    groups = target.resources("AWS::ElasticLoadBalancingV2::TargetGroup")
    assert len(groups) == 2
    by_path = {g["Properties"]["HealthCheckPath"]: g["Properties"] for g in groups.values()}
    default, green = by_path["/healthz"], by_path["/ready"]
    for group in (default, green):
        assert group["Port"] == 8080
        assert group["HealthCheckIntervalSeconds"] == 15
        assert group["HealthCheckTimeoutSeconds"] == 10
        assert group["HealthyThresholdCount"] == 3
        assert group["UnhealthyThresholdCount"] == 4
        assert group["Matcher"] == {"HttpCode": "200-299"}
    delays = {
        path: {a["Key"]: a["Value"] for a in props["TargetGroupAttributes"]}[
            "deregistration_delay.timeout_seconds"
        ]
        for path, props in by_path.items()
    }
    assert delays == {"/healthz": "60", "/ready": "5"}


# ---------------------------------------------------------------- NET-06 security group
def test_net06_world_ingress_only_on_80_and_443_with_descriptions(built: dict[str, Built]) -> None:
    target = built["certificate"]
    sg_id = target.logical_id(target.alb.security_group)
    rules = [
        r["Properties"]
        for r in target.resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert sorted((r["FromPort"], r["ToPort"], r["CidrIp"]) for r in rules) == [
        (80, 80, "0.0.0.0/0"),
        (443, 443, "0.0.0.0/0"),
    ]
    assert all(r["Description"].strip() for r in rules)
    (group,) = [r for lid, r in target.resources("AWS::EC2::SecurityGroup").items() if lid == sg_id]
    assert "SecurityGroupIngress" not in group["Properties"]


def test_net08_ingress_cidr_restricts_both_ports_without_a_world_acknowledgment(
    built: dict[str, Built],
) -> None:
    target = built["custom"]
    rules = [r["Properties"] for r in target.resources("AWS::EC2::SecurityGroupIngress").values()]
    assert sorted((r["FromPort"], r["CidrIp"]) for r in rules) == [
        (80, "198.51.100.0/24"),
        (443, "198.51.100.0/24"),
    ]
    assert all("allowed range" in r["Description"] for r in rules)
    assert "0.0.0.0/0" not in json.dumps(target.template.to_json())


def test_net06_no_https_ingress_without_certificate(built: dict[str, Built]) -> None:
    target = built["none"]
    ports = [
        r["Properties"]["FromPort"]
        for r in target.resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("CidrIp") == "0.0.0.0/0"
    ]
    assert ports == [80]


@pytest.mark.parametrize("mode", MODES)
def test_net06_egress_only_to_the_fleet_on_the_target_port(
    built: dict[str, Built], mode: str
) -> None:
    target = built[mode]
    sg_id = target.logical_id(target.alb.security_group)
    fleet_id = target.logical_id(target.stack.node.find_child("AlbFleet"))
    egress = [
        r["Properties"]
        for r in target.resources("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert egress == [
        {
            "GroupId": {"Fn::GetAtt": [sg_id, "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 80,
            "ToPort": 80,
            "DestinationSecurityGroupId": {"Fn::GetAtt": [fleet_id, "GroupId"]},
            "Description": "ALB to its targets on the target port 80",
        }
    ]
    # The inline match-no-traffic rule makes CloudFormation revoke EC2's default allow-all egress.
    (group,) = [r for lid, r in target.resources("AWS::EC2::SecurityGroup").items() if lid == sg_id]
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "IpProtocol": "icmp",
            "FromPort": 252,
            "ToPort": 86,
        }
    ]
    rendered = json.dumps(target.template.to_json())
    assert '"CidrIp": "0.0.0.0/0", "Description": "Allow all outbound' not in rendered
    # The fleet accepts the ALB only, on the target port, through a separate described rule.
    target.template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "GroupId": {"Fn::GetAtt": [fleet_id, "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": [sg_id, "GroupId"]},
            "FromPort": 80,
            "ToPort": 80,
            "Description": Match.string_like_regexp(".+"),
        },
    )


# ---------------------------------------------------------------- attributes and metrics
def test_public_attributes_and_primary_id(built: dict[str, Built]) -> None:
    alb = built["certificate"].alb
    assert alb.load_balancer.node.id == "Resource"
    assert isinstance(alb.load_balancer, elbv2.ApplicationLoadBalancer)
    assert isinstance(alb.security_group, ec2.SecurityGroup)
    assert isinstance(alb.http_listener, elbv2.ApplicationListener)
    assert isinstance(alb.https_listener, elbv2.ApplicationListener)
    assert isinstance(alb.target_group, elbv2.ApplicationTargetGroup)


def test_metrics_delegate_to_the_load_balancer_and_target_group(built: dict[str, Built]) -> None:
    target = built["certificate"]
    alb = target.alb
    stack = target.stack
    metrics = {
        "target_5xx": alb.metric_http_5xx_count(),
        "elb_5xx": alb.metric_elb_5xx_count(),
        "requests": alb.metric_request_count(period=cdk.Duration.minutes(1)),
        "latency": alb.metric_target_response_time(statistic="p99"),
        "unhealthy": alb.metric_unhealthy_host_count(),
    }
    assert {name: m.metric_name for name, m in metrics.items()} == {
        "target_5xx": "HTTPCode_Target_5XX_Count",
        "elb_5xx": "HTTPCode_ELB_5XX_Count",
        "requests": "RequestCount",
        "latency": "TargetResponseTime",
        "unhealthy": "UnHealthyHostCount",
    }
    assert all(m.namespace == "AWS/ApplicationELB" for m in metrics.values())
    assert metrics["requests"].period.to_seconds() == 60
    assert metrics["latency"].statistic == "p99"
    assert "LoadBalancer" in stack.resolve(metrics["target_5xx"].dimensions)
    assert "TargetGroup" in stack.resolve(metrics["unhealthy"].dimensions)


# ---------------------------------------------------------------- bad input
def _new_vpc_stack() -> tuple[cdk.Stack, ec2.IVpc, s3.IBucket]:
    stack = new_stack()
    return stack, _vpc(stack), _log_bucket(stack, imported=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"health_check_path": "health"}, r"health_check_path='health' is invalid; start the path"),
        (
            {
                "health_check_interval": cdk.Duration.seconds(5),
                "health_check_timeout": cdk.Duration.seconds(10),
            },
            r"health_check_timeout='10s' is invalid; the timeout must be shorter than "
            r"health_check_interval \(5s\)",
        ),
        ({"healthy_threshold": 1}, r"healthy_threshold=1 is invalid"),
        ({"healthy_http_codes": "ok"}, r"healthy_http_codes='ok' is invalid"),
        ({"healthy_http_codes": "200,600"}, r"healthy_http_codes='200,600' is invalid"),
        ({"deregistration_delay": cdk.Duration.hours(2)}, r"deregistration_delay='7200s'"),
        ({"idle_timeout": cdk.Duration.seconds(0)}, r"idle_timeout='0s' is invalid"),
        ({"target_port": 70000}, r"target_port=70000 is invalid"),
        ({"access_log_prefix": "/alb/"}, r"access_log_prefix='/alb/' is invalid"),
        (
            {"access_log_prefix": "x/AWSLogs"},
            r"access_log_prefix='x/AWSLogs' is invalid; .* without 'AWSLogs'",
        ),
        ({"tls_policy": elbv2.SslPolicy.TLS11}, r"tls_policy=.*TLS11.* use a TLS 1.2\+ policy"),
        ({"tls_policy": elbv2.SslPolicy.RECOMMENDED}, r"tls_policy=.*RECOMMENDED.* is invalid"),
        ({"ingress_cidr": "corporate"}, r"ingress_cidr='corporate' is invalid; pass an IPv4 CIDR"),
        ({"certificate_arn": "not-an-arn"}, r"certificate_arn='not-an-arn' is invalid"),
        ({"certificate_arn": " "}, r"certificate_arn=' ' is invalid; pass a non-empty value"),
        (
            {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)},
            r"subnets=.* an internet-facing ALB needs public subnets",
        ),
        (
            {
                "subnets": ec2.SubnetSelection(
                    subnet_type=ec2.SubnetType.PUBLIC,
                    one_per_az=True,
                    availability_zones=["us-east-1a"],
                )
            },
            r"subnets=.* needs public subnets in at least two AZs",
        ),
    ],
)
def test_bad_input_raises_before_anything_is_created(
    overrides: dict[str, Any], message: str
) -> None:
    stack, vpc, bucket = _new_vpc_stack()
    with pytest.raises(ValueError, match=f"^SecureLoadBalancer: {message}"):
        SecureLoadBalancer(stack, "Alb", vpc=vpc, access_log_bucket=bucket, **overrides)
    assert stack.node.try_find_child("Alb") is None


def test_bad_input_condition_without_certificate() -> None:
    stack, vpc, bucket = _new_vpc_stack()
    condition = cdk.CfnCondition(stack, CONDITION, expression=cdk.Fn.condition_equals("a", "a"))
    with pytest.raises(
        ValueError,
        match=r"certificate_condition='HasCertificate' is invalid; a certificate condition needs "
        r"certificate_arn",
    ):
        SecureLoadBalancer(
            stack, "Alb", vpc=vpc, access_log_bucket=bucket, certificate_condition=condition
        )


def test_bad_input_environment_agnostic_stack() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Agnostic")
    with pytest.raises(ValueError, match=r"give the stack an env with a region"):
        SecureLoadBalancer(
            stack,
            "Alb",
            vpc=_vpc(stack),
            access_log_bucket=_log_bucket(stack, imported=True),
        )


def test_bad_input_in_add_target_group(built: dict[str, Built]) -> None:
    with pytest.raises(ValueError, match=r"health_check_path='ready' is invalid"):
        built["custom"].alb.add_target_group("Broken", health_check_path="ready")


# ---------------------------------------------------------------- gates
def _nag_build_all_modes(stack: cdk.Stack) -> None:
    albs = [
        build(stack, mode, imported_bucket=True, construct_id=f"Alb{mode.title()}")
        for mode in MODES
    ]
    key = kms.Key(stack, "WafLogsKey", enable_key_rotation=True)
    WebAcl(stack, "Waf", encryption_key=key, associate_with=[a.load_balancer for a in albs])


def test_nag_clean_in_every_certificate_mode_with_the_web_acl() -> None:
    assert nag_findings(_nag_build_all_modes) == []


def test_nag_flags_a_load_balancer_left_without_web_acl() -> None:
    """ALBWAFEnabled stays unacknowledged on purpose: forgetting the WAF must fail the gate."""
    findings = nag_findings(lambda stack: build(stack, "certificate", imported_bucket=True))
    assert sorted(findings) == [
        "NIST.800.53.R5-ALBWAFEnabled at TestStack/Alb/Resource/Resource",
        "PCI.DSS.321-ALBWAFEnabled at TestStack/Alb/Resource/Resource",
    ]


@pytest.mark.parametrize("mode", [*MODES, "custom"])
def test_cfn_lint_reports_nothing(built: dict[str, Built], mode: str) -> None:
    template = json.dumps(built[mode].template.to_json())
    matches = lint(template, config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []
