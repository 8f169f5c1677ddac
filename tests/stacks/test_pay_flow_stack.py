"""PayFlowStack (seed 004): every control of its SPEC 2.5 profile, snapshot, pinned IDs.

The per-control assertions live in ``tests/stacks/control_assertions.py``. This module adds what
the stack promises on top:
* three AZs from ``VpcCidr``;
* weighted ``/api/*`` and ``/webhooks/*`` routing;
* the canary load balancer serving only green, with CodeDeploy draining it;
* Aurora's 80 % connection alarm;
* the composite of error rate, latency and connections;
* thresholds and weights as validated parameters;
* the template staying under CloudFormation's limits.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from controls.profiles import PROFILES
from stacks.base import IPV4_CIDR_PATTERN
from stacks.pay_flow_stack import CONNECTIONS_ALARM_PERCENT
from tests.stacks.control_assertions import Expectations, check
from tests.stacks.queries import as_list, mentions, properties, ref, rendered, resources, the
from tests.stacks.snapshots import masked

Template = dict[str, Any]
STACK = "PayFlowStack"

#: Stateful resources whose logical IDs must never change by accident (a new ID replaces them).
PINNED_STATEFUL_IDS = {
    "AWS::KMS::Key": {
        "AlertsKeyB38A053B",
        "BackupKey57137946",
        "ComputeKey953A3236",
        "DatabaseKey01218F75",
        "LogsKey195F8DFC",
        "S3Key62461993",
        "TrafficShifterFunctionEnvironmentKey7C44C950",
        "TrailKey37E679A9",
    },
    "AWS::S3::Bucket": {
        "AccessLogsBucketFA218D2A",
        "AlbLogsBucket698B8C8C",
        "ConfigBucketE7CC15D9",
        "FlowLogsBucket9AC74A68",
        "TrailBucketFC732D74",
    },
    "AWS::RDS::DBCluster": {"DatabaseF44359DD"},
    "AWS::RDS::DBInstance": {
        "DatabaseReader147AC11D6",
        "DatabaseReader252626ABD",
        "DatabaseWriterB8C10E1D",
    },
    "AWS::SecretsManager::Secret": {"DatabaseSecret3B817195"},
    "AWS::SQS::Queue": {
        "AlarmTopicDeadLetterQueueD25B3C4C",
        "DefaultVpcCleanupDeadLetterQueue4B1DB3DF",
        "NetworkDefaultSgHandlerDeadLetterQueue668E8BF0",
        "TrafficShifterFunctionDeadLetterQueueC8EDDE17",
        "TrafficShifterNotificationDeadLetterQueueD0BB327A",
    },
    "AWS::Backup::BackupVault": {"BackupVaultADF21B19"},
    "AWS::Route53::HostedZone": {"Dns94489CFC"},
    "AWS::Logs::LogGroup": {
        "ApiBlueLogGroup92E87E7B",
        "ApiGreenLogGroupC312CB83",
        "AuditTrailLogGroup28BB9333",
        "DatabasePostgresqlLog95349A1F",
        "DefaultVpcCleanupLogGroup2A21D7C7",
        "NetworkDefaultSgHandlerLogGroup05C3597D",
        "NetworkFlowLogGroup4F8CEEEF",
        "TrafficShifterFunctionLogGroupEE796CF8",
        "TrafficShifterLogGroupF5DD1666",
        "WebAclLogs68403EB9",
        "WebhookFleetLogGroup77DBD97D",
    },
}

REQUIRED_OUTPUTS = (
    "VPCId",
    "LoadBalancerDNS",
    "CanaryLoadBalancerDNS",
    "ApplicationUrl",
    "BlueTargetGroupArn",
    "GreenTargetGroupArn",
    "WebhookTargetGroupArn",
    "BlueAutoScalingGroupName",
    "GreenAutoScalingGroupName",
    "WebhookAutoScalingGroupName",
    "CodeDeployApplicationName",
    "BlueDeploymentGroupName",
    "GreenDeploymentGroupName",
    "TrafficShifterStateMachineArn",
    "DatabaseEndpoint",
    "DatabaseReaderEndpoint",
    "DatabaseSecretArn",
    "AlarmTopicArn",
    "CompositeAlarmArn",
    "DashboardUrl",
    "AppParametersPath",
    "BudgetName",
    "HostedZoneId",
    "NameServers",
    "CloudTrailArn",
)

PARAMETERS = frozenset(
    {
        "VpcCidr",
        "IngressCidr",
        "CertificateArn",
        "BlueWeight",
        "GreenWeight",
        "DomainName",
        "ProductionWeight",
        "CanaryWeight",
        "ErrorRateThreshold",
        "LatencyThresholdMs",
        "AlertEmail",
        "AlertWebhookUrl",
        "MonthlyBudgetUsd",
    }
)

EXPECTATIONS = Expectations(
    azs=3,
    region="us-east-1",
    min_keys=8,
    database_port=5433,
    ingress_parameter="IngressCidr",
    public_ingress=True,
    vpc_cidr_parameter="VpcCidr",
    fleets=("ApiBlue", "ApiGreen", "WebhookFleet"),
    health_check_path="/health/deep",
    health_check_interval=30,
    path_patterns=("/api/*", "/webhooks/*"),
    weight_parameters=("BlueWeight", "GreenWeight"),
    data_event_types=frozenset({"AWS::S3::Object", "AWS::Lambda::Function"}),
    parameters=PARAMETERS,
    conditions=frozenset({"HasCertificate", "HasDomain", "HasAlertEmail", "HasAlertWebhook"}),
    outputs=frozenset(REQUIRED_OUTPUTS),
    names={
        "AWS::EC2::VPC": "payflow-prod-vpc",
        "AWS::RDS::DBCluster": "payflow-prod-aurora",
        "AWS::CloudTrail::Trail": "payflow-prod-cloudtrail",
        "AWS::WAFv2::WebACL": "payflow-prod-waf",
        "AWS::SNS::Topic": "payflow-prod-alarms",
    },
    service_roles=frozenset(
        {
            "monitoring.rds.amazonaws.com",
            "vpc-flow-logs.amazonaws.com",
            "backup.amazonaws.com",
            "config.amazonaws.com",
            "cloudtrail.amazonaws.com",
            "codedeploy.amazonaws.com",
            "states.amazonaws.com",
        }
    ),
)


@pytest.fixture(scope="module")
def pay(templates: dict[str, Template]) -> Template:
    return templates[STACK]


def _alarm(pay: Template, construct_id: str) -> dict[str, Any]:
    [alarm] = [
        resource["Properties"]
        for logical_id, resource in resources(pay, "AWS::CloudWatch::Alarm").items()
        if re.fullmatch(construct_id + r"[0-9A-F]{8}", logical_id)
    ]
    return alarm


# ---- snapshot, pinned identities, the profile, limits -------------------------------------------
def test_template_snapshot(pay: Template, snapshot: SnapshotAssertion) -> None:
    assert masked(pay) == snapshot


@pytest.mark.parametrize("resource_type", sorted(PINNED_STATEFUL_IDS))
def test_stateful_logical_ids_are_pinned(pay: Template, resource_type: str) -> None:
    assert set(resources(pay, resource_type)) == PINNED_STATEFUL_IDS[resource_type]


@pytest.mark.parametrize("control", PROFILES[STACK])
def test_control(pay: Template, control: str) -> None:
    check(control, pay, EXPECTATIONS)


def test_template_stays_within_cloudformation_limits(pay: Template) -> None:
    """500 resources, 200 parameters and outputs, 1 MB of template (uploaded through S3)."""
    assert len(pay["Resources"]) <= 450, "keep headroom below the 500-resource limit"
    assert len(pay["Parameters"]) <= 200 and len(pay["Outputs"]) <= 200
    assert len(json.dumps(pay, indent=1).encode()) < 1_000_000


# ---- routing: /api/* weighted, /webhooks/* to the webhook fleet (EDGE-05, DEP-01) ---------------
def test_paths_route_to_their_fleets(pay: Template) -> None:
    rules = {
        tuple(r["Conditions"][0]["PathPatternConfig"]["Values"]): r
        for r in properties(pay, "AWS::ElasticLoadBalancingV2::ListenerRule")
    }
    assert set(rules) == {("/api/*",), ("/webhooks/*",)}
    api = rules[("/api/*",)]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert [g["TargetGroupArn"]["Ref"] for g in api] == [
        "LoadBalancerApiBlue7781E3E3",
        "LoadBalancerApiGreenA6DD62F4",
    ]
    webhooks = rules[("/webhooks/*",)]["Actions"][0]
    assert webhooks["TargetGroupArn"] == ref("LoadBalancerTargetGroup2D943C35")
    [fleet] = [
        g["Properties"]
        for logical_id, g in resources(pay, "AWS::AutoScaling::AutoScalingGroup").items()
        if logical_id.startswith("WebhookFleet")
    ]
    assert fleet["TargetGroupARNs"] == [ref("LoadBalancerTargetGroup2D943C35")]
    # Both rules sit on the listener that serves: HTTPS whenever the certificate exists.
    for rule in rules.values():
        assert rule["ListenerArn"]["Fn::If"][0] == "HasCertificate"


def test_weight_parameters_default_to_all_blue(pay: Template) -> None:
    for name, default in (("BlueWeight", 100), ("GreenWeight", 0)):
        parameter = pay["Parameters"][name]
        assert parameter["Type"] == "Number" and parameter["Default"] == default
        assert (parameter["MinValue"], parameter["MaxValue"]) == (0, 100)


def test_every_fleet_runs_the_mixed_instance_types(pay: Template) -> None:
    for group in properties(pay, "AWS::AutoScaling::AutoScalingGroup"):
        overrides = group["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
        assert [o["InstanceType"] for o in overrides] == ["t3.medium", "t3.large", "m5.large"]


# ---- the canary load balancer (EDGE-06) ---------------------------------------------------------
def test_canary_load_balancer_serves_green_only(pay: Template) -> None:
    green_groups = {
        json.dumps(arn)
        for logical_id, group in resources(pay, "AWS::AutoScaling::AutoScalingGroup").items()
        if logical_id.startswith("ApiGreen")
        for arn in group["Properties"]["TargetGroupARNs"]
    }
    assert green_groups == {
        json.dumps(ref("LoadBalancerApiGreenA6DD62F4")),
        json.dumps(ref("CanaryLoadBalancerTargetGroupFDC12664")),
    }
    others = [
        arn
        for logical_id, group in resources(pay, "AWS::AutoScaling::AutoScalingGroup").items()
        if not logical_id.startswith("ApiGreen")
        for arn in group["Properties"]["TargetGroupARNs"]
    ]
    assert not [arn for arn in others if mentions(arn, "CanaryLoadBalancer")]
    records = {r["SetIdentifier"]: r for r in properties(pay, "AWS::Route53::RecordSet")}
    assert mentions(records["canary"]["AliasTarget"], "CanaryLoadBalancer")
    assert not mentions(records["production"]["AliasTarget"], "CanaryLoadBalancer")


def test_codedeploy_drains_green_from_both_load_balancers(pay: Template) -> None:
    groups = {
        logical_id: g["Properties"]
        for logical_id, g in resources(pay, "AWS::CodeDeploy::DeploymentGroup").items()
    }
    [green] = [g for logical_id, g in groups.items() if logical_id.startswith("ApiGreen")]
    names = [i["Name"]["Fn::GetAtt"][0] for i in green["LoadBalancerInfo"]["TargetGroupInfoList"]]
    assert names == ["LoadBalancerApiGreenA6DD62F4", "CanaryLoadBalancerTargetGroupFDC12664"]
    [blue] = [g for logical_id, g in groups.items() if logical_id.startswith("ApiBlue")]
    assert len(blue["LoadBalancerInfo"]["TargetGroupInfoList"]) == 1


def test_dns_needs_a_domain_and_a_certificate(pay: Template) -> None:
    condition = pay["Conditions"]["HasDomain"]["Fn::And"]
    assert mentions(condition, "CertificateArn") and mentions(condition, "DomainName")
    for name in ("HostedZoneId", "NameServers"):
        assert pay["Outputs"][name]["Condition"] == "HasDomain"


# ---- alarms (MON-02, MON-03) --------------------------------------------------------------------
def test_error_rate_alarm_is_zero_safe_over_two_periods(pay: Template) -> None:
    alarm = _alarm(pay, "Http5xxRateAlarm")
    assert alarm["Threshold"] == ref("ErrorRateThreshold")
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 2
    assert "IF(requests > 0" in json.dumps(alarm["Metrics"])
    assert pay["Parameters"]["ErrorRateThreshold"]["Default"] == 1


def test_latency_alarm_is_p99_in_milliseconds(pay: Template) -> None:
    alarm = _alarm(pay, "LatencyP99Alarm")
    assert alarm["Threshold"] == ref("LatencyThresholdMs")
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    metrics = json.dumps(alarm["Metrics"])
    assert '"p99 * 1000"' in metrics and '"Stat": "p99"' in metrics
    assert pay["Parameters"]["LatencyThresholdMs"]["Default"] == 500


def test_connections_alarm_at_eighty_percent_of_max_connections(pay: Template) -> None:
    [group] = properties(pay, "AWS::RDS::DBParameterGroup")
    maximum = int(group["Parameters"]["max_connections"])
    alarm = _alarm(pay, "DatabaseConnectionsAlarm")
    assert alarm["Threshold"] == maximum * CONNECTIONS_ALARM_PERCENT / 100 == 320
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_composite_combines_errors_latency_and_connections(pay: Template) -> None:
    (_, composite) = the(pay, "AWS::CloudWatch::CompositeAlarm")
    rule = rendered(composite["Properties"]["AlarmRule"])
    for member in ("Http5xxRateAlarm", "LatencyP99Alarm", "DatabaseConnectionsAlarm"):
        assert member in rule, member
    topic = ref(next(iter(resources(pay, "AWS::SNS::Topic"))))
    assert composite["Properties"]["AlarmActions"] == composite["Properties"]["OKActions"]
    assert composite["Properties"]["OKActions"] == [topic]


def test_releases_roll_back_on_the_service_alarms(pay: Template) -> None:
    for group in properties(pay, "AWS::CodeDeploy::DeploymentGroup"):
        names = json.dumps(group["AlarmConfiguration"]["Alarms"])
        assert "Http5xxRateAlarm" in names and "LatencyP99Alarm" in names
    [policy] = [
        p
        for p in properties(pay, "AWS::IAM::ManagedPolicy")
        if any(
            "cloudwatch:DescribeAlarms" in as_list(s["Action"])
            for s in p["PolicyDocument"]["Statement"]
        )
        and mentions(p.get("Roles"), "TrafficShifter")
    ]
    gates = json.dumps(policy["PolicyDocument"])
    for alarm in ("Http5xxRateAlarm", "LatencyP99Alarm", "GreenErrorRateAlarm"):
        assert alarm in gates, alarm


# ---- parameters ----------------------------------------------------------------------------------
def test_ingress_parameter_accepts_any_cidr_but_only_reaches_80_and_443(pay: Template) -> None:
    pattern = re.compile(IPV4_CIDR_PATTERN)
    for good in ("0.0.0.0/0", "203.0.113.0/24", "198.51.100.7/32"):
        assert pattern.fullmatch(good), good
    for bad in ("0.0.0.0", "10.0.0.0/33", "300.0.0.0/8", "::/0"):
        assert not pattern.fullmatch(bad), bad
    rules = [
        r
        for r in properties(pay, "AWS::EC2::SecurityGroupIngress")
        if r.get("CidrIp") == ref("IngressCidr")
    ]
    assert sorted(r["FromPort"] for r in rules) == [80, 80, 443, 443], "two ALBs"


def test_threshold_and_budget_parameters_are_bounded(pay: Template) -> None:
    for name in ("ErrorRateThreshold", "LatencyThresholdMs", "MonthlyBudgetUsd"):
        parameter = pay["Parameters"][name]
        assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"], name


def test_configuration_lives_under_payflow_environment_component(pay: Template) -> None:
    names = [rendered(p["Name"]) for p in properties(pay, "AWS::SSM::Parameter")]
    assert names and all(re.fullmatch(r"/payflow/prod/(api|webhooks)/[a-z-]+", n) for n in names)


def test_every_name_tag_follows_payflow_environment_component(pay: Template) -> None:
    names = [
        rendered(tag["Value"])
        for resource in pay["Resources"].values()
        for tag in (
            resource.get("Properties", {}).get("Tags")
            if isinstance(resource.get("Properties", {}).get("Tags"), list)
            else []
        )
        if isinstance(tag, dict) and tag.get("Key") == "Name"
    ]
    assert len(names) > 100
    assert [n for n in names if not re.fullmatch(r"payflow-prod-[a-z0-9]+(-[a-z0-9]+)*", n)] == []
