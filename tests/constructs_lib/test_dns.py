"""WeightedDns: conditional zone, weighted health-checked records, alarms (EDGE-06, MON-02).

One app with two stacks is synthesized once for the module: ``Defaults`` (domain parameter,
imported ALBs, default arguments) and ``Variants`` (literal domain, weight parameters, a
SecureLoadBalancer target, query logging and every other behaviour-changing argument), plus one
gated synth for cdk-nag.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.dns import WeightedDns
from constructs_lib.encryption import EncryptionKey, allow_log_groups
from constructs_lib.load_balancing import SecureLoadBalancer
from constructs_lib.monitoring import AlarmTopic
from controls.checks import CATALOGUE
from controls.engine import evaluate
from controls.model import Status
from controls.template import Template as AuditTemplate
from tests.support import cdk_json_context, nag_findings, new_app, new_stack

CONDITION = "HasDomain"
PRODUCTION_DNS = "prod-123.us-east-1.elb.amazonaws.com"
CANARY_DNS = "canary-456.us-east-1.elb.amazonaws.com"
ALB_ZONE = "Z35SXDOTRQ7X7K"


@dataclass
class Built:
    stack: cdk.Stack
    template: dict[str, Any]
    dns: WeightedDns

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.template["Resources"][logical_id(construct)])

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.resource(construct)["Properties"])

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}


def _imported_alb(
    stack: cdk.Stack, construct_id: str, dns_name: str
) -> elbv2.IApplicationLoadBalancer:
    return elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
        stack,
        construct_id,
        load_balancer_arn=(
            f"arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/{construct_id}/1"
        ),
        security_group_id="sg-0123456789abcdef0",
        load_balancer_dns_name=dns_name,
        load_balancer_canonical_hosted_zone_id=ALB_ZONE,
    )


def _domain_and_condition(stack: cdk.Stack) -> tuple[str, cdk.CfnCondition]:
    """What PayFlowStack declares: an optional DomainName parameter and HasDomain."""
    domain = cdk.CfnParameter(stack, "DomainName", type="String", default="")
    condition = cdk.CfnCondition(
        stack,
        CONDITION,
        expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(domain.value_as_string, "")),
    )
    return domain.value_as_string, condition


def _topic(stack: cdk.Stack) -> AlarmTopic:
    key = EncryptionKey(stack, "TopicKey", alias="alarms", description="alarm topic")
    return AlarmTopic(stack, "Alarms", encryption_key=key)


def build_defaults(stack: cdk.Stack) -> WeightedDns:
    domain, condition = _domain_and_condition(stack)
    return WeightedDns(
        stack,
        "Dns",
        domain_name=domain,
        condition=condition,
        production=_imported_alb(stack, "Production", PRODUCTION_DNS),
        canary=_imported_alb(stack, "Canary", CANARY_DNS),
        alarm_topic=_topic(stack),
    )


def _query_log_group(stack: cdk.Stack) -> logs.LogGroup:
    key = EncryptionKey(stack, "LogKey", alias="dns-logs", description="DNS query logs")
    allow_log_groups(key.key, stack, "CloudWatchLogsQueryLogs")
    return logs.LogGroup(
        stack,
        "QueryLogs",
        encryption_key=key.key,
        retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def _secure_alb(stack: cdk.Stack) -> SecureLoadBalancer:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a", "us-east-1b"],
        public_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        public_subnet_route_table_ids=["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
    )
    bucket = s3.Bucket.from_bucket_name(stack, "AccessLogs", "caller-alb-access-logs")
    return SecureLoadBalancer(stack, "Alb", vpc=vpc, access_log_bucket=bucket)


def build_variants(stack: cdk.Stack) -> WeightedDns:
    condition = cdk.CfnCondition(
        stack, CONDITION, expression=cdk.Fn.condition_equals(cdk.Aws.REGION, "us-east-1")
    )
    production_weight = cdk.CfnParameter(
        stack, "ProductionWeight", type="Number", default=100, min_value=0, max_value=255
    )
    canary_weight = cdk.CfnParameter(
        stack, "CanaryWeight", type="Number", default=0, min_value=0, max_value=255
    )
    return WeightedDns(
        stack,
        "Dns",
        domain_name="api.payflow.io",
        condition=condition,
        production=_secure_alb(stack),
        canary=_imported_alb(stack, "Canary", CANARY_DNS),
        alarm_topic=_topic(stack),
        production_weight=production_weight.value_as_number,
        canary_weight=canary_weight.value_as_number,
        health_check_path="/healthz/ready",
        health_check_interval=cdk.Duration.seconds(10),
        failure_threshold=2,
        health_check_port=8443,
        canary_health_check_fqdn="canary.api.payflow.io",
        alarm_evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        query_log_group=_query_log_group(stack),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


@pytest.fixture(scope="module")
def stacks() -> dict[str, Built]:
    app = cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )
    built = {
        name: (stack, build(stack))
        for name, build in (("defaults", build_defaults), ("variants", build_variants))
        for stack in [new_stack(app, name.capitalize())]
    }
    return {
        name: Built(stack, dict(Template.from_stack(stack).to_json()), dns)
        for name, (stack, dns) in built.items()
    }


@pytest.fixture(scope="module")
def defaults(stacks: dict[str, Built]) -> Built:
    return stacks["defaults"]


@pytest.fixture(scope="module")
def variants(stacks: dict[str, Built]) -> Built:
    return stacks["variants"]


# ---- the zone ----------------------------------------------------------------------------------
def test_zone_is_public_named_after_the_domain_parameter_and_retained(defaults: Built):
    dns = defaults.dns
    assert dns.hosted_zone.node.id == "Resource"
    zone = defaults.resource(dns.hosted_zone)
    assert zone["Type"] == "AWS::Route53::HostedZone"
    assert zone["Properties"]["Name"] == {"Ref": "DomainName"}
    assert "VPCs" not in zone["Properties"]  # public zone
    assert "QueryLoggingConfig" not in zone["Properties"]
    assert zone["DeletionPolicy"] == "Retain"
    assert zone["UpdateReplacePolicy"] == "Retain"
    assert len(defaults.of_type("AWS::Route53::HostedZone")) == 1
    assert defaults.of_type("AWS::Logs::ResourcePolicy") == {}


@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_every_resource_of_the_construct_carries_the_condition(
    stacks: dict[str, Built], variant: str
):
    built = stacks[variant]
    mine = {
        logical_id(child)
        for child in built.dns.node.find_all()
        if isinstance(child, cdk.CfnResource)
    }
    # zone, 2 records, 2 health checks, 2 alarms (+ the query-logging policy in variants)
    assert len(mine) == (8 if variant == "variants" else 7)
    for lid in mine:
        assert built.template["Resources"][lid].get("Condition") == CONDITION, lid
    assert built.stack.resolve(built.dns.condition.logical_id) == CONDITION


# ---- weighted records --------------------------------------------------------------------------
def test_weighted_alias_records_with_default_weights(defaults: Built):
    dns = defaults.dns
    assert set(dns.records) == {"production", "canary"}
    expected = {
        "production": (90, PRODUCTION_DNS),
        "canary": (10, CANARY_DNS),
    }
    for name, (weight, alb_dns) in expected.items():
        record = defaults.props(dns.records[name])
        assert record == {
            "HostedZoneId": {"Fn::GetAtt": [logical_id(dns.hosted_zone), "Id"]},
            "Name": {"Ref": "DomainName"},
            "Type": "A",
            "SetIdentifier": name,
            "Weight": weight,
            "HealthCheckId": {"Fn::GetAtt": [logical_id(dns.health_checks[name]), "HealthCheckId"]},
            "AliasTarget": {
                "DNSName": f"dualstack.{alb_dns}",
                "HostedZoneId": ALB_ZONE,
                "EvaluateTargetHealth": True,
            },
        }


def test_weights_as_parameter_tokens(variants: Built):
    dns = variants.dns
    assert variants.props(dns.records["production"])["Weight"] == {"Ref": "ProductionWeight"}
    assert variants.props(dns.records["canary"])["Weight"] == {"Ref": "CanaryWeight"}
    assert variants.props(dns.records["production"])["Name"] == "api.payflow.io"


def test_secure_load_balancer_target_is_aliased_through_its_alb(variants: Built):
    dns = variants.dns
    alb = variants.stack.node.find_child("Alb")
    assert isinstance(alb, SecureLoadBalancer)
    alb_id = logical_id(alb.load_balancer)
    alias = variants.props(dns.records["production"])["AliasTarget"]
    assert alias == {
        "DNSName": {"Fn::Join": ["", ["dualstack.", {"Fn::GetAtt": [alb_id, "DNSName"]}]]},
        "HostedZoneId": {"Fn::GetAtt": [alb_id, "CanonicalHostedZoneID"]},
        "EvaluateTargetHealth": True,
    }


# ---- health checks -----------------------------------------------------------------------------
def test_https_health_checks_on_the_deep_path_probe_each_alb(defaults: Built):
    dns = defaults.dns
    for name, alb_dns in (("production", PRODUCTION_DNS), ("canary", CANARY_DNS)):
        props = defaults.props(dns.health_checks[name])
        assert props["HealthCheckConfig"] == {
            "Type": "HTTPS",
            "FullyQualifiedDomainName": alb_dns,
            "Port": 443,
            "ResourcePath": "/health/deep",
            "RequestInterval": 30,
            "FailureThreshold": 3,
            "EnableSNI": True,
        }
        assert props["HealthCheckTags"] == [
            {"Key": "Name", "Value": {"Fn::Join": ["", [{"Ref": "DomainName"}, f" {name}"]]}}
        ]
    assert len(defaults.of_type("AWS::Route53::HealthCheck")) == 2


def test_health_check_arguments(variants: Built):
    dns = variants.dns
    canary = variants.props(dns.health_checks["canary"])["HealthCheckConfig"]
    assert canary == {
        "Type": "HTTPS",
        "FullyQualifiedDomainName": "canary.api.payflow.io",
        "Port": 8443,
        "ResourcePath": "/healthz/ready",
        "RequestInterval": 10,
        "FailureThreshold": 2,
        "EnableSNI": True,
    }
    production = variants.props(dns.health_checks["production"])["HealthCheckConfig"]
    alb = variants.stack.node.find_child("Alb")
    assert isinstance(alb, SecureLoadBalancer)
    assert production["FullyQualifiedDomainName"] == {
        "Fn::GetAtt": [logical_id(alb.load_balancer), "DNSName"]
    }


# ---- alarms ------------------------------------------------------------------------------------
def test_one_alarm_per_health_check_notifying_on_alarm_and_ok(defaults: Built):
    dns = defaults.dns
    topic = defaults.stack.node.find_child("Alarms")
    assert isinstance(topic, AlarmTopic)
    topic_ref = {"Ref": logical_id(topic.topic)}
    assert len(defaults.of_type("AWS::CloudWatch::Alarm")) == 2
    for name in ("production", "canary"):
        props = defaults.props(dns.alarms[name])
        assert props["Namespace"] == "AWS/Route53"
        assert props["MetricName"] == "HealthCheckStatus"
        assert props["Dimensions"] == [
            {
                "Name": "HealthCheckId",
                "Value": {"Fn::GetAtt": [logical_id(dns.health_checks[name]), "HealthCheckId"]},
            }
        ]
        assert props["Statistic"] == "Minimum"
        assert props["Period"] == 60
        assert props["ComparisonOperator"] == "LessThanThreshold"
        assert props["Threshold"] == 1
        assert props["EvaluationPeriods"] == 2
        assert props["DatapointsToAlarm"] == 2
        assert props["TreatMissingData"] == "breaching"
        assert props["AlarmActions"] == [topic_ref]
        assert props["OKActions"] == [topic_ref]
        description = json.dumps(props["AlarmDescription"])
        assert f"health check of the {name} target" in description
        assert "/health/deep" in description


def test_alarm_arguments(variants: Built):
    props = variants.props(variants.dns.alarms["canary"])
    assert props["EvaluationPeriods"] == 1
    assert props["TreatMissingData"] == "missing"


def test_name_servers_join_the_zone_attribute(defaults: Built):
    dns = defaults.dns
    assert defaults.stack.resolve(dns.name_servers) == {
        "Fn::Join": [",", {"Fn::GetAtt": [logical_id(dns.hosted_zone), "NameServers"]}]
    }
    assert defaults.stack.resolve(dns.hosted_zone_id) == {
        "Fn::GetAtt": [logical_id(dns.hosted_zone), "Id"]
    }


# ---- behaviour-changing arguments --------------------------------------------------------------
def test_query_logging_with_its_resource_policy(variants: Built):
    dns = variants.dns
    assert dns.query_logging_policy is not None
    zone = variants.resource(dns.hosted_zone)
    group = {"Fn::GetAtt": [logical_id(variants.stack.node.find_child("QueryLogs")), "Arn"]}
    assert zone["Properties"]["QueryLoggingConfig"] == {"CloudWatchLogsLogGroupArn": group}
    assert logical_id(dns.query_logging_policy) in zone["DependsOn"]
    policy = variants.props(dns.query_logging_policy)
    document = json.dumps(policy["PolicyDocument"])
    for expected in (
        '\\"Service\\":\\"route53.amazonaws.com\\"',
        '\\"Action\\":[\\"logs:CreateLogStream\\",\\"logs:PutLogEvents\\"]',
        '\\"aws:SourceAccount\\":\\"',
        ":route53:::hostedzone/*",
        logical_id(variants.stack.node.find_child("QueryLogs")),
    ):
        assert expected in document, expected
    assert "AWS::StackName" in json.dumps(policy["PolicyName"])


def test_removal_policy_argument(variants: Built):
    zone = variants.resource(variants.dns.hosted_zone)
    assert zone["DeletionPolicy"] == "Delete"


def test_region_warning_outside_us_east_1():
    stack = cdk.Stack(new_app(), "Elsewhere", env=cdk.Environment(region="eu-west-1"))
    build_defaults(stack)
    Annotations.from_stack(stack).has_warning(
        "/Elsewhere/Dns", Match.string_like_regexp("only in us-east-1")
    )


@pytest.mark.parametrize("region", ["us-east-1", None])
def test_no_region_warning_in_us_east_1_or_when_agnostic(region: str | None):
    env = cdk.Environment(region=region) if region else None
    stack = cdk.Stack(new_app(), "Here", env=env)
    build_defaults(stack)
    warnings = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert [w for w in warnings if "us-east-1" in json.dumps(w.entry.data)] == []


def test_query_logging_outside_us_east_1_is_refused():
    stack = cdk.Stack(new_app(), "Elsewhere", env=cdk.Environment(region="eu-west-1"))
    domain, condition = _domain_and_condition(stack)
    with pytest.raises(ValueError, match=r"query_log_group=.*needs the log group .* in us-east-1"):
        WeightedDns(
            stack,
            "Dns",
            domain_name=domain,
            condition=condition,
            production=_imported_alb(stack, "Production", PRODUCTION_DNS),
            canary=_imported_alb(stack, "Canary", CANARY_DNS),
            alarm_topic=_topic(stack),
            query_log_group=logs.LogGroup.from_log_group_name(stack, "Logs", "dns"),
        )
    assert stack.node.try_find_child("Dns") is None


# ---- bad input ---------------------------------------------------------------------------------
BAD = [
    ({"production_weight": 300}, r"^WeightedDns: production_weight=300 is invalid; use a value"),
    ({"canary_weight": -1}, r"canary_weight=-1 is invalid; use a value between 0 and 255"),
    ({"canary_weight": 2.5}, r"canary_weight=2.5 is invalid; pass a whole number"),
    ({"canary_weight": "10"}, r"canary_weight='10' is invalid; pass a number"),
    (
        {"production_weight": 0, "canary_weight": 0},
        r"canary_weight=0 is invalid; production_weight is 0 too",
    ),
    ({"health_check_path": "health/deep"}, r"health_check_path='health/deep' is invalid; start"),
    ({"health_check_path": "/"}, r"health_check_path='/' is invalid; use a custom deep-health"),
    ({"health_check_path": ""}, r"health_check_path='' is invalid; pass a non-empty"),
    ({"health_check_path": "/a b"}, r"health_check_path='/a b' is invalid; .*no whitespace"),
    (
        {"health_check_interval": cdk.Duration.seconds(20)},
        r"health_check_interval='20 seconds' is invalid; use Duration.seconds\(30\)",
    ),
    ({"health_check_interval": 30}, r"health_check_interval=30 is invalid"),
    ({"failure_threshold": 0}, r"failure_threshold=0 is invalid"),
    ({"failure_threshold": 11}, r"failure_threshold=11 is invalid"),
    ({"health_check_port": 70000}, r"health_check_port=70000 is invalid"),
    ({"alarm_evaluation_periods": 0}, r"alarm_evaluation_periods=0 is invalid"),
    ({"domain_name": "Not A Domain"}, r"domain_name='Not A Domain' is invalid; pass a lower-case"),
    ({"domain_name": ""}, r"domain_name='' is invalid; pass a non-empty"),
    ({"canary_health_check_fqdn": "bad name"}, r"canary_health_check_fqdn='bad name' is invalid"),
    ({"condition": None}, r"condition=None is invalid; pass the stack's cdk.CfnCondition"),
    ({"canary": "arn:aws:elasticloadbalancing:x"}, r"canary='arn:.*' is invalid; pass an elbv2"),
    ({"alarm_topic": "arn:aws:sns:x"}, r"alarm_topic='arn:aws:sns:x' is invalid"),
    ({"treat_missing_data": "breaching"}, r"treat_missing_data='breaching' is invalid"),
    ({"query_log_group": "dns-logs"}, r"query_log_group='dns-logs' is invalid; pass a logs"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_input_is_rejected_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    domain, condition = _domain_and_condition(stack)
    arguments: dict[str, Any] = {
        "domain_name": domain,
        "condition": condition,
        "production": _imported_alb(stack, "Production", PRODUCTION_DNS),
        "canary": _imported_alb(stack, "Canary", CANARY_DNS),
        "alarm_topic": _topic(stack),
        **overrides,
    }
    with pytest.raises(ValueError, match=message):
        WeightedDns(stack, "Dns", **arguments)
    assert stack.node.try_find_child("Dns") is None


def test_one_literal_zero_weight_is_fine():
    stack = new_stack()
    domain, condition = _domain_and_condition(stack)
    dns = WeightedDns(
        stack,
        "Dns",
        domain_name=domain,
        condition=condition,
        production=_imported_alb(stack, "Production", PRODUCTION_DNS),
        canary=_imported_alb(stack, "Canary", CANARY_DNS),
        alarm_topic=_topic(stack),
        production_weight=255,
        canary_weight=0,
    )
    assert stack.resolve(dns.records["canary"].weight) == 0


# ---- gates -------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_audit_edge06_passes_and_the_alarms_meet_mon02(stacks: dict[str, Built], variant: str):
    built = stacks[variant]
    report = evaluate(
        AuditTemplate(built.template), controls=[CATALOGUE["EDGE-06"], CATALOGUE["MON-02"]]
    )
    outcomes = {r.control.id: r.outcome for r in report.results}
    assert outcomes["EDGE-06"].status is Status.PASS, outcomes["EDGE-06"]
    # MON-02 also asks for ALB alarms in ``variants`` (it has a SecureLoadBalancer); only the
    # items about this construct's alarms are its business.
    alarms = {logical_id(alarm) for alarm in built.dns.alarms.values()}
    mine = [item for item in outcomes["MON-02"].items if item.logical_id in alarms]
    assert {item.logical_id for item in mine} == alarms
    assert [item for item in mine if item.status is not Status.PASS] == []
    assert len(mine) == 4 * len(alarms)  # actions, description, OK actions, missing data
    if variant == "defaults":
        assert outcomes["MON-02"].status is Status.PASS, outcomes["MON-02"]


def test_nag_clean():
    def build(stack: cdk.Stack) -> None:
        build_defaults(stack)
        domain = stack.node.find_child("DomainName")
        assert isinstance(domain, cdk.CfnParameter)
        condition = stack.node.find_child(CONDITION)
        assert isinstance(condition, cdk.CfnCondition)
        topic = stack.node.find_child("Alarms")
        assert isinstance(topic, AlarmTopic)
        WeightedDns(
            stack,
            "LoggedDns",
            domain_name=domain.value_as_string,
            condition=condition,
            production=_imported_alb(stack, "Blue", PRODUCTION_DNS),
            canary=_imported_alb(stack, "Green", CANARY_DNS),
            alarm_topic=topic,
            query_log_group=_query_log_group(stack),
        )

    assert nag_findings(build) == []


@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_cfn_lint_clean(stacks: dict[str, Built], variant: str):
    matches = lint(json.dumps(stacks[variant].template), regions=["us-east-1"])
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
