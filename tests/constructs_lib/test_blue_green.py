"""BlueGreenService: DEP-01, DEP-02, EDGE-04, EDGE-05, CMP-02 and CMP-06 on synthesized templates.

One app with three stacks is synthesized once for the module:

* ``Default``: only the required arguments, an ALB without certificate (HTTP listener);
* ``Parameters``: weights from validated Number parameters, a conditional certificate, a
  KMS-encrypted revision bucket; otherwise defaults (the audit runs on this one);
* ``Custom``: an unconditional certificate and every setting changed.

``serve_colour_through`` has its own app (``Canary``: the default service with green also served
by a second load balancer); its refusals build a fresh service each.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from cfnlint.api import ManualArgs, lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.blue_green import BlueGreenService
from constructs_lib.load_balancing import SecureLoadBalancer
from constructs_lib.waf import WebAcl
from controls.engine import evaluate
from controls.model import Status
from controls.profiles import PROFILE_SETTINGS
from controls.template import Template as AuditTemplate
from tests.support import nag_findings, new_app, new_stack

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
DEFAULT_TYPES = ["t3.medium", "t3.large", "m5.large"]
REVISION_BUCKET = "payflow-deployment-revisions"
CUSTOM_TYPES = ["m5.large", "m5a.large", "m6i.large", "c5.large"]


# ---- scaffolding -----------------------------------------------------------------------------
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


def _required(stack: cdk.Stack, certificate: str = "none") -> dict[str, Any]:
    """VPC, key, topic, an ALB (``none`` / ``certificate`` / ``conditional``) and one alarm."""
    vpc = _vpc(stack)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    options: dict[str, Any] = {}
    if certificate == "certificate":
        options["certificate_arn"] = CERTIFICATE
    elif certificate == "conditional":
        arn = cdk.CfnParameter(stack, "CertificateArn", type="String", default="")
        options["certificate_arn"] = arn.value_as_string
        options["certificate_condition"] = cdk.CfnCondition(
            stack,
            "HasCertificate",
            expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(arn.value_as_string, "")),
        )
    load_balancer = SecureLoadBalancer(
        stack,
        "Alb",
        vpc=vpc,
        access_log_bucket=s3.Bucket.from_bucket_name(stack, "AlbLogs", "caller-alb-logs"),
        health_check_path="/health/deep",
        **options,
    )
    topic = sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)
    alarm = cloudwatch.Alarm(
        stack,
        "ErrorRateAlarm",
        metric=cloudwatch.Metric(namespace="PayFlow", metric_name="ErrorRate"),
        threshold=1,
        evaluation_periods=2,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return {
        "vpc": vpc,
        "subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        "load_balancer": load_balancer,
        "encryption_key": key,
        "alarm_topic": topic,
        "rollback_alarms": [alarm],
    }


def build_default(stack: cdk.Stack) -> BlueGreenService:
    return BlueGreenService(stack, "Api", **_required(stack))


def _weight(stack: cdk.Stack, name: str, default: int) -> float:
    return cdk.CfnParameter(
        stack, name, type="Number", default=default, min_value=0, max_value=100
    ).value_as_number


def build_parameters(stack: cdk.Stack) -> BlueGreenService:
    revision_key = kms.Key(stack, "RevisionKey", enable_key_rotation=True)
    revisions = s3.Bucket.from_bucket_attributes(
        stack, "Revisions", bucket_name=REVISION_BUCKET, encryption_key=revision_key
    )
    return BlueGreenService(
        stack,
        "Api",
        **_required(stack, "conditional"),
        blue_weight=_weight(stack, "BlueWeight", 100),
        green_weight=_weight(stack, "GreenWeight", 0),
        revision_bucket=revisions,
    )


def build_custom(stack: cdk.Stack) -> BlueGreenService:
    return BlueGreenService(
        stack,
        "Api",
        **_required(stack, "certificate"),
        blue_weight=90,
        green_weight=10,
        path_patterns=["/api/*", "/v2/*"],
        priority=20,
        instance_types=CUSTOM_TYPES,
        min_capacity=3,
        max_capacity=9,
        http_put_response_hop_limit=2,
        app_port=8080,
        health_check_path="/ready",
        health_check_interval=cdk.Duration.seconds(15),
        health_check_timeout=cdk.Duration.seconds(10),
        healthy_threshold=3,
        unhealthy_threshold=4,
        healthy_http_codes="200-299",
        deregistration_delay=cdk.Duration.seconds(45),
        cpu_target_percent=60,
        requests_per_target=500,
        deployment_config=codedeploy.ServerDeploymentConfig.HALF_AT_A_TIME,
        user_data_commands=["dnf install -y nginx", "systemctl enable --now nginx"],
        enable_xray=True,
    )


BUILDERS = {"Default": build_default, "Parameters": build_parameters, "Custom": build_custom}


@dataclass
class Built:
    stack: cdk.Stack
    service: BlueGreenService
    json: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == resource_type}

    def props(self, construct: Any) -> dict[str, Any]:
        properties: dict[str, Any] = self.json["Resources"][logical_id(construct)]["Properties"]
        return properties

    @property
    def rule(self) -> dict[str, Any]:
        (rule,) = self.resources("AWS::ElasticLoadBalancingV2::ListenerRule").values()
        properties: dict[str, Any] = rule["Properties"]
        return properties

    def user_data(self, colour: str) -> str:
        fleet = getattr(self.service, colour)
        data = self.props(fleet.launch_template)["LaunchTemplateData"]["UserData"]["Fn::Base64"]
        parts = data["Fn::Join"][1] if isinstance(data, dict) else [data]
        return "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    outdir = Path(tempfile.mkdtemp(prefix="cdk-blue-green-"))
    app = new_app(str(outdir))
    made = {}
    for name, build in BUILDERS.items():
        stack = new_stack(app, name)
        made[name] = (stack, build(stack))
    app.synth()
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert not manifest.get("missing"), "BlueGreenService must not need context lookups"
    return {
        name: Built(stack, service, json.loads((outdir / stack.template_file).read_text()))
        for name, (stack, service) in made.items()
    }


@pytest.fixture(scope="module")
def default(built: dict[str, Built]) -> Built:
    return built["Default"]


@pytest.fixture(scope="module")
def parameters(built: dict[str, Built]) -> Built:
    return built["Parameters"]


@pytest.fixture(scope="module")
def custom(built: dict[str, Built]) -> Built:
    return built["Custom"]


def _ref(construct: Any) -> dict[str, str]:
    return {"Ref": logical_id(construct)}


# ---- DEP-01 / EDGE-05: the weighted, path-based rule ------------------------------------------
def test_dep01_rule_forwards_to_blue_and_green_with_default_weights(default: Built):
    service = default.service
    assert default.rule["Actions"] == [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": _ref(service.blue_target_group), "Weight": 100},
                    {"TargetGroupArn": _ref(service.green_target_group), "Weight": 0},
                ]
            },
        }
    ]
    assert logical_id(service.rule) == logical_id(service.cfn_rule)


def test_dep01_token_weights_are_parameter_refs(parameters: Built):
    groups = parameters.rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert [g["Weight"] for g in groups] == [{"Ref": "BlueWeight"}, {"Ref": "GreenWeight"}]
    for name, default in (("BlueWeight", 100), ("GreenWeight", 0)):
        assert parameters.json["Parameters"][name] == {
            "Type": "Number",
            "Default": default,
            "MinValue": 0,
            "MaxValue": 100,
        }


def test_dep01_literal_weights(custom: Built):
    groups = custom.rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert [g["Weight"] for g in groups] == [90, 10]


def test_dep01_each_target_group_is_registered_by_its_own_fleet(default: Built):
    service = default.service
    for fleet, group in (
        (service.blue, service.blue_target_group),
        (service.green, service.green_target_group),
    ):
        assert default.props(fleet.auto_scaling_group)["TargetGroupARNs"] == [_ref(group)]
        assert default.props(fleet.auto_scaling_group)["HealthCheckType"] == "ELB"


def test_edge05_default_path_pattern_and_priority(default: Built):
    assert default.rule["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}
    ]
    assert default.rule["Priority"] == 10


def test_edge05_custom_path_patterns_and_priority(custom: Built):
    assert default_values(custom.rule) == ["/api/*", "/v2/*"]
    assert custom.rule["Priority"] == 20


def default_values(rule: dict[str, Any]) -> list[str]:
    (condition,) = rule["Conditions"]
    values: list[str] = condition["PathPatternConfig"]["Values"]
    return values


def test_rule_without_certificate_sits_on_the_http_listener(default: Built):
    listener = default.service.load_balancer.http_listener
    assert default.rule["ListenerArn"] == _ref(listener)
    assert default.service.listener is listener


def test_rule_with_certificate_sits_on_the_https_listener(custom: Built):
    listener = custom.service.load_balancer.https_listener
    assert listener is not None
    assert custom.rule["ListenerArn"] == _ref(listener)
    assert custom.service.listener is listener


def test_rule_with_conditional_certificate_follows_the_condition(parameters: Built):
    balancer = parameters.service.load_balancer
    assert balancer.https_listener is not None
    assert parameters.rule["ListenerArn"] == {
        "Fn::If": ["HasCertificate", _ref(balancer.https_listener), _ref(balancer.http_listener)]
    }
    # The rule itself is unconditional: the fleets' scaling policies depend on it.
    (rule,) = parameters.resources("AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert "Condition" not in rule


# ---- EDGE-04: target groups ----------------------------------------------------------------
def _target_group(built: Built, group: Any) -> dict[str, Any]:
    properties = built.props(group)
    attributes = {a["Key"]: a["Value"] for a in properties.pop("TargetGroupAttributes")}
    return {**properties, "Attributes": attributes}


@pytest.mark.parametrize("colour", ["blue", "green"])
def test_edge04_deep_health_checks_and_30s_deregistration_delay(default: Built, colour: str):
    group = _target_group(default, getattr(default.service, f"{colour}_target_group"))
    assert group["HealthCheckPath"] == "/health/deep"
    assert group["HealthCheckIntervalSeconds"] == 30
    assert group["HealthCheckTimeoutSeconds"] == 5
    assert group["HealthCheckProtocol"] == group["Protocol"] == "HTTP"
    assert group["HealthyThresholdCount"] == 2
    assert group["UnhealthyThresholdCount"] == 3
    assert group["Matcher"] == {"HttpCode": "200"}
    assert group["Port"] == 80
    assert group["TargetType"] == "instance"
    assert group["Attributes"]["deregistration_delay.timeout_seconds"] == "30"


def test_edge04_custom_health_check_settings(custom: Built):
    group = _target_group(custom, custom.service.green_target_group)
    assert group["HealthCheckPath"] == "/ready"
    assert group["HealthCheckIntervalSeconds"] == 15
    assert group["HealthCheckTimeoutSeconds"] == 10
    assert group["HealthyThresholdCount"] == 3
    assert group["UnhealthyThresholdCount"] == 4
    assert group["Matcher"] == {"HttpCode": "200-299"}
    assert group["Port"] == 8080
    assert group["Attributes"]["deregistration_delay.timeout_seconds"] == "45"


# ---- CMP-02 / CMP-06: fleets ---------------------------------------------------------------
@pytest.mark.parametrize("colour", ["blue", "green"])
def test_cmp06_mixed_instances_policy_with_default_types(default: Built, colour: str):
    fleet = getattr(default.service, colour)
    policy = default.props(fleet.auto_scaling_group)["MixedInstancesPolicy"]
    overrides = policy["LaunchTemplate"]["Overrides"]
    assert [o["InstanceType"] for o in overrides] == DEFAULT_TYPES
    assert policy["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"] == _ref(
        fleet.launch_template
    )


def test_cmp06_custom_instance_types_and_capacity(custom: Built):
    group = custom.props(custom.service.blue.auto_scaling_group)
    overrides = group["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
    assert [o["InstanceType"] for o in overrides] == CUSTOM_TYPES
    assert (group["MinSize"], group["MaxSize"]) == ("3", "9")


def test_cmp02_imdsv2_with_hop_limit_1_by_default_and_2_for_containers(
    default: Built, custom: Built
):
    for built, hops in ((default, 1), (custom, 2)):
        for fleet in (built.service.blue, built.service.green):
            data = built.props(fleet.launch_template)["LaunchTemplateData"]
            assert data["MetadataOptions"] == {
                "HttpTokens": "required",
                "HttpEndpoint": "enabled",
                "HttpPutResponseHopLimit": hops,
            }


def _policies(built: Built, fleet: Any) -> list[dict[str, Any]]:
    group = _ref(fleet.auto_scaling_group)
    return [
        p["Properties"]
        for p in built.resources("AWS::AutoScaling::ScalingPolicy").values()
        if p["Properties"]["AutoScalingGroupName"] == group
    ]


def _tracking(policies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        p["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]: p
        for p in policies
        if p["PolicyType"] == "TargetTrackingScaling"
    }


@pytest.mark.parametrize("colour", ["blue", "green"])
def test_cmp06_scaling_policies_of_each_fleet(default: Built, colour: str):
    service = default.service
    fleet = getattr(service, colour)
    policies = _policies(default, fleet)
    assert sorted(p["PolicyType"] for p in policies) == [
        "PredictiveScaling",
        "StepScaling",
        "TargetTrackingScaling",
        "TargetTrackingScaling",
    ]
    tracking = _tracking(policies)
    assert tracking["ASGAverageCPUUtilization"]["TargetTrackingConfiguration"]["TargetValue"] == 70
    requests = tracking["ALBRequestCountPerTarget"]["TargetTrackingConfiguration"]
    assert requests["TargetValue"] == 1000
    label = json.dumps(requests["PredefinedMetricSpecification"]["ResourceLabel"])
    own_group = logical_id(getattr(service, f"{colour}_target_group"))
    assert own_group in label
    (predictive,) = [p for p in policies if p["PolicyType"] == "PredictiveScaling"]
    specification = predictive["PredictiveScalingConfiguration"]["MetricSpecifications"][0]
    assert specification["TargetValue"] == 70
    (step,) = [p for p in policies if p["PolicyType"] == "StepScaling"]
    assert step["AdjustmentType"] == "ChangeInCapacity"


def test_cmp06_custom_scaling_targets(custom: Built):
    tracking = _tracking(_policies(custom, custom.service.green))
    cpu = tracking["ASGAverageCPUUtilization"]["TargetTrackingConfiguration"]
    assert cpu["TargetValue"] == 60
    requests = tracking["ALBRequestCountPerTarget"]["TargetTrackingConfiguration"]
    assert requests["TargetValue"] == 500


def test_cmp06_request_count_policy_waits_for_the_rule(default: Built):
    """ALBRequestCountPerTarget needs the target group behind a listener: the rule."""
    rule = logical_id(default.service.cfn_rule)
    policies = [
        resource
        for resource in default.resources("AWS::AutoScaling::ScalingPolicy").values()
        if "ALBRequestCountPerTarget" in json.dumps(resource["Properties"])
    ]
    assert len(policies) == 2
    assert all(rule in p.get("DependsOn", []) for p in policies)


@pytest.mark.parametrize("colour", ["blue", "green"])
def test_cmp06_launch_and_terminate_lifecycle_hooks(default: Built, colour: str):
    group = _ref(getattr(default.service, colour).auto_scaling_group)
    transitions = sorted(
        hook["Properties"]["LifecycleTransition"]
        for hook in default.resources("AWS::AutoScaling::LifecycleHook").values()
        if hook["Properties"]["AutoScalingGroupName"] == group
    )
    assert transitions == [
        "autoscaling:EC2_INSTANCE_LAUNCHING",
        "autoscaling:EC2_INSTANCE_TERMINATING",
    ]


def test_net06_load_balancer_reaches_each_fleet_on_the_app_port(custom: Built):
    service = custom.service
    alb_group = {"Fn::GetAtt": [logical_id(service.load_balancer.security_group), "GroupId"]}
    for fleet in (service.blue, service.green):
        fleet_group = {"Fn::GetAtt": [logical_id(fleet.security_group), "GroupId"]}
        ingress = [
            r["Properties"]
            for r in custom.resources("AWS::EC2::SecurityGroupIngress").values()
            if r["Properties"]["GroupId"] == fleet_group
        ]
        assert [(r["SourceSecurityGroupId"], r["FromPort"], r["ToPort"]) for r in ingress] == [
            (alb_group, 8080, 8080)
        ]
        egress = [
            r["Properties"]
            for r in custom.resources("AWS::EC2::SecurityGroupEgress").values()
            if r["Properties"].get("DestinationSecurityGroupId") == fleet_group
        ]
        assert [(r["GroupId"], r["FromPort"]) for r in egress] == [(alb_group, 8080)]


# ---- DEP-02: CodeDeploy ----------------------------------------------------------------------
def test_dep02_one_application_and_a_deployment_group_per_colour(default: Built):
    service = default.service
    assert len(default.resources("AWS::CodeDeploy::Application")) == 1
    assert default.props(service.application) == {"ComputePlatform": "Server"}
    assert len(default.resources("AWS::CodeDeploy::DeploymentGroup")) == 2
    for colour in ("blue", "green"):
        group = default.props(getattr(service, f"{colour}_deployment_group"))
        assert group["ApplicationName"] == _ref(service.application)
        assert group["AutoScalingGroups"] == [_ref(getattr(service, colour).auto_scaling_group)]
        assert group["DeploymentStyle"] == {
            "DeploymentType": "IN_PLACE",
            "DeploymentOption": "WITH_TRAFFIC_CONTROL",
        }
        target_group = logical_id(getattr(service, f"{colour}_target_group"))
        assert group["LoadBalancerInfo"] == {
            "TargetGroupInfoList": [{"Name": {"Fn::GetAtt": [target_group, "TargetGroupName"]}}]
        }
        assert group["DeploymentConfigName"] == "CodeDeployDefault.OneAtATime"
        assert group["ServiceRoleArn"] == {
            "Fn::GetAtt": [logical_id(service.deployment_role), "Arn"]
        }
        assert "DeploymentGroupName" not in group


@pytest.mark.parametrize("colour", ["blue", "green"])
def test_dep02_rolls_back_on_failure_and_on_the_caller_and_own_alarms(default: Built, colour: str):
    service = default.service
    group = default.props(getattr(service, f"{colour}_deployment_group"))
    assert group["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    caller_alarm = default.stack.node.find_child("ErrorRateAlarm")
    own_alarm = getattr(service, f"{colour}_unhealthy_alarm")
    assert group["AlarmConfiguration"] == {
        "Enabled": True,
        "IgnorePollAlarmFailure": False,
        "Alarms": [{"Name": _ref(caller_alarm)}, {"Name": _ref(own_alarm)}],
    }


def test_dep02_deployment_config_argument(custom: Built):
    for group in custom.resources("AWS::CodeDeploy::DeploymentGroup").values():
        assert group["Properties"]["DeploymentConfigName"] == "CodeDeployDefault.HalfAtATime"


def test_dep02_service_role_with_the_aws_managed_codedeploy_policy(default: Built):
    role = default.props(default.service.deployment_role)
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "codedeploy.amazonaws.com"},
        }
    ]
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::aws:policy/service-role/AWSCodeDeployRole",
                ],
            ]
        }
    ]
    assert "Policies" not in role
    assert len(default.resources("AWS::IAM::Role")) == 3  # blue, green, CodeDeploy


@pytest.mark.parametrize("colour", ["blue", "green"])
def test_own_unhealthy_host_alarm_notifies_on_alarm_and_ok(default: Built, colour: str):
    service = default.service
    alarm = default.props(getattr(service, f"{colour}_unhealthy_alarm"))
    topic = _ref(default.stack.node.find_child("Topic"))
    assert alarm["MetricName"] == "UnHealthyHostCount"
    assert alarm["Namespace"] == "AWS/ApplicationELB"
    assert alarm["Statistic"] == "Maximum"
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    target_group = logical_id(getattr(service, f"{colour}_target_group"))
    assert target_group in json.dumps(dimensions["TargetGroup"])
    assert "LoadBalancer" in dimensions
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 3)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == alarm["OKActions"] == [topic]
    assert colour in alarm["AlarmDescription"]


@pytest.mark.parametrize("colour", ["blue", "green"])
def test_dep02_codedeploy_agent_installed_before_the_readiness_probe(
    default: Built, custom: Built, colour: str
):
    script = default.user_data(colour)
    agent = script.index("systemctl enable --now codedeploy-agent")
    assert script.index("dnf install -y ruby") < agent
    assert "https://aws-codedeploy-us-east-1.s3.us-east-1." in script
    assert '"$codedeploy_installer" auto' in script
    assert script.index("set -euo pipefail") < agent < script.index("# CMP-05: readiness")
    # CDK's install_agent script (full yum update, set +e) is not used.
    assert "update -y" not in script
    assert "set +e" not in script
    custom_script = custom.user_data(colour)
    assert (
        custom_script.index("codedeploy-agent")
        < custom_script.index("dnf install -y nginx")
        < custom_script.index("# CMP-05: readiness")
    )
    assert "http://127.0.0.1:8080/ready" in custom_script


def test_dep02_no_instance_permission_without_revision_bucket(default: Built):
    assert default.service.revision_policy is None
    assert not any(
        "codedeploy" in json.dumps(r).lower()
        for r in default.resources("AWS::IAM::ManagedPolicy").values()
    )


def test_dep02_revision_bucket_read_by_both_fleets(parameters: Built):
    service = parameters.service
    assert service.revision_policy is not None
    policy = parameters.props(service.revision_policy)
    assert policy["Roles"] == [_ref(service.blue.role), _ref(service.green.role)]
    key = logical_id(parameters.stack.node.find_child("RevisionKey"))
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "ReadDeploymentRevisions",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Effect": "Allow",
            "Resource": f"arn:aws:s3:::{REVISION_BUCKET}/*",
        },
        {
            "Sid": "DecryptRevisionsThroughS3",
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key, "Arn"]},
        },
    ]


# ---- metrics ---------------------------------------------------------------------------------
def _render(built: Built, metric: cloudwatch.IMetric) -> dict[str, Any]:
    config = metric.to_metric_config().metric_stat
    assert config is not None
    dimensions = built.stack.resolve(config.dimensions)
    return {
        "name": config.metric_name,
        "namespace": config.namespace,
        "statistic": config.statistic,
        "period": config.period.to_seconds(),
        "target_group": json.dumps([d["value"] for d in dimensions if d["name"] == "TargetGroup"]),
    }


def test_metrics_per_colour(default: Built):
    service = default.service
    green = logical_id(service.green_target_group)
    for method, name, statistic in (
        (service.metric_target_5xx_count, "HTTPCode_Target_5XX_Count", "Sum"),
        (service.metric_request_count, "RequestCount", "Sum"),
        (service.metric_p99_latency, "TargetResponseTime", "p99"),
        (service.metric_unhealthy_host_count, "UnHealthyHostCount", "Maximum"),
    ):
        rendered = _render(default, method("green"))
        assert (rendered["name"], rendered["statistic"], rendered["period"]) == (
            name,
            statistic,
            60,
        )
        assert rendered["namespace"] == "AWS/ApplicationELB"
        assert green in rendered["target_group"]
    assert (
        _render(default, service.metric_p99_latency("blue", period=cdk.Duration.minutes(5)))[
            "period"
        ]
        == 300
    )


def test_metric_error_rate_is_zero_safe_over_both_colours(default: Built):
    expression = default.service.metric_error_rate_percent()
    assert expression.expression == "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    errors = expression.using_metrics["errors"]
    assert isinstance(errors, cloudwatch.MathExpression)
    assert errors.expression == "FILL(blue5xx, 0) + FILL(green5xx, 0)"


def test_metric_of_an_unknown_colour_is_refused(default: Built):
    with pytest.raises(ValueError, match=r"BlueGreenService: colour='red' is invalid"):
        default.service.metric_p99_latency("red")


# ---- audit -----------------------------------------------------------------------------------
AUDITED = ("DEP-01", "DEP-02", "EDGE-04", "EDGE-05", "CMP-01", "CMP-02", "CMP-03", "CMP-05")


def _audit(built: Built) -> dict[str, Any]:
    # PayFlow's thresholds (/health/deep, 30 s, 30 s); /webhooks/* is the stack's other rule.
    settings = dataclasses.replace(
        PROFILE_SETTINGS["PayFlowStack"], required_path_patterns=("/api/*",)
    )
    report = evaluate(AuditTemplate(built.json), settings=settings)
    return {r.control.id: r.outcome for r in report.results}


def test_audit_passes_the_service_controls_with_parameter_weights(parameters: Built):
    outcomes = _audit(parameters)
    failing = {
        control: [item.message for item in outcomes[control].items if item.status != Status.PASS]
        for control in (*AUDITED, "CMP-06", "CMP-07")
        if outcomes[control].status != Status.PASS
    }
    assert failing == {}


def test_audit_rejects_fixed_weights(default: Built):
    """DEP-01 wants deploy-time weights: the literal defaults are not enough for the stack."""
    outcome = _audit(default)["DEP-01"]
    assert outcome.status == Status.FAIL
    assert any("is fixed" in item.message for item in outcome.items)


# ---- bad input -------------------------------------------------------------------------------
BAD_INPUT = [
    ({"blue_weight": 150}, r"blue_weight=150 is invalid; use a whole number between 0 and 100"),
    ({"green_weight": -1}, r"green_weight=-1 is invalid"),
    ({"blue_weight": 50.5}, r"blue_weight=50.5 is invalid"),
    ({"blue_weight": "100"}, r"blue_weight='100' is invalid"),
    ({"blue_weight": 0, "green_weight": 0}, r"green_weight=0 is invalid; with blue_weight=0"),
    (
        {"instance_types": ["t3.medium", "t3.large"]},
        r"instance_types=\[.*\] is invalid; pass at least 3",
    ),
    ({"instance_types": "t3.medium"}, r"instance_types='t3.medium' is invalid"),
    (
        {"path_patterns": ["api/*"]},
        r"path_patterns='api/\*' is invalid; start each pattern with '/'",
    ),
    ({"path_patterns": ["/a b"]}, r"path_patterns='/a b' is invalid"),
    ({"path_patterns": []}, r"path_patterns=\[\] is invalid; pass 1 to 5 patterns"),
    (
        {"path_patterns": [f"/p{i}/*" for i in range(6)]},
        r"path_patterns=\[.*\] is invalid; pass 1 to 5",
    ),
    (
        {"path_patterns": ["/api/*", "/api/*"]},
        r"path_patterns=\[.*\] is invalid; list each pattern once",
    ),
    ({"path_patterns": "/api/*"}, r"path_patterns='/api/\*' is invalid; pass a list"),
    ({"priority": 0}, r"priority=0 is invalid"),
    ({"priority": 50001}, r"priority=50001 is invalid"),
    ({"rollback_alarms": []}, r"rollback_alarms=\[\] is invalid; pass at least one alarm"),
    ({"rollback_alarms": ["arn:aws:cloudwatch:x"]}, r"rollback_alarms='arn:aws:cloudwatch:x'"),
    ({"http_put_response_hop_limit": 3}, r"http_put_response_hop_limit=3 is invalid"),
    ({"cpu_target_percent": 95}, r"cpu_target_percent=95 is invalid"),
    ({"requests_per_target": 0}, r"requests_per_target=0 is invalid"),
    ({"health_check_path": "health"}, r"health_check_path='health' is invalid"),
    ({"health_check_interval": cdk.Duration.seconds(4)}, r"health_check_interval='4 seconds'"),
    (
        {"health_check_timeout": cdk.Duration.seconds(30)},
        r"health_check_timeout='30s' is invalid; use less than health_check_interval \(30s\)",
    ),
    ({"healthy_threshold": 1}, r"healthy_threshold=1 is invalid"),
    ({"unhealthy_threshold": 11}, r"unhealthy_threshold=11 is invalid"),
    ({"healthy_http_codes": "ok"}, r"healthy_http_codes='ok' is invalid"),
    ({"healthy_http_codes": "500"}, r"healthy_http_codes='500' is invalid; use codes between 200"),
    ({"deregistration_delay": cdk.Duration.hours(2)}, r"deregistration_delay='2 hours'"),
    ({"app_port": 70000}, r"app_port=70000 is invalid"),
    ({"user_data_commands": "dnf install -y nginx"}, r"user_data_commands='dnf"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_raises_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack(new_app())
    arguments = {**_required(stack), **overrides}
    children = len(arguments["load_balancer"].node.children)
    with pytest.raises(ValueError, match=rf"^BlueGreenService: {message}"):
        BlueGreenService(stack, "Api", **arguments)
    assert stack.node.try_find_child("Api") is None
    assert len(arguments["load_balancer"].node.children) == children


def test_too_many_rollback_alarms():
    stack = new_stack(new_app())
    arguments = _required(stack)
    alarm = arguments["rollback_alarms"][0]
    arguments["rollback_alarms"] = [alarm] * 10
    with pytest.raises(ValueError, match=r"rollback_alarms='10 alarms' is invalid; pass at most 9"):
        BlueGreenService(stack, "Api", **arguments)


def test_token_weights_pass_validation():
    """Validation must leave tokens alone: the parameter's MinValue/MaxValue bound them."""
    stack = new_stack(new_app())
    service = BlueGreenService(
        stack,
        "Api",
        **_required(stack),
        blue_weight=_weight(stack, "BlueWeight", 100),
        green_weight=_weight(stack, "GreenWeight", 0),
    )
    assert cdk.Token.is_unresolved(service.cfn_rule.actions)


# ---- a second load balancer serving one colour (DNS canary) ---------------------------------
def _second_load_balancer(stack: cdk.Stack, vpc: ec2.IVpc) -> SecureLoadBalancer:
    """``CanaryAlb``, with the service's deep health check on its default target group."""
    return SecureLoadBalancer(
        stack,
        "CanaryAlb",
        vpc=vpc,
        access_log_bucket=s3.Bucket.from_bucket_name(stack, "CanaryAlbLogs", "caller-alb-logs"),
        health_check_path="/health/deep",
    )


@pytest.fixture(scope="module")
def canary() -> Built:
    """The default service, its green colour also served by ``CanaryAlb``'s target group."""
    app = new_app()
    stack = new_stack(app, "Canary")
    arguments = _required(stack)
    service = BlueGreenService(stack, "Api", **arguments)
    second = _second_load_balancer(stack, arguments["vpc"])
    service.serve_colour_through("green", second, second.target_group)
    template = app.synth().get_stack_artifact(stack.artifact_id).template
    return Built(stack, service, template)


def _canary_alb(built: Built) -> SecureLoadBalancer:
    second = built.stack.node.find_child("CanaryAlb")
    assert isinstance(second, SecureLoadBalancer)
    return second


def test_serve_colour_through_registers_only_that_colour(canary: Built):
    service = canary.service
    second = _canary_alb(canary)
    assert canary.props(service.green.auto_scaling_group)["TargetGroupARNs"] == [
        _ref(service.green_target_group),
        _ref(second.target_group),
    ]
    assert canary.props(service.blue.auto_scaling_group)["TargetGroupARNs"] == [
        _ref(service.blue_target_group)
    ]
    # Request-count scaling still follows the colour's own group.
    requests = _tracking(_policies(canary, service.green))["ALBRequestCountPerTarget"]
    label = json.dumps(
        requests["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"]
    )
    assert logical_id(service.green_target_group) in label
    assert logical_id(second.target_group) not in label


def test_serve_colour_through_adds_the_group_to_that_colours_traffic_control(canary: Built):
    service = canary.service

    def target_groups(colour: str) -> list[dict[str, Any]]:
        group = canary.props(getattr(service, f"{colour}_deployment_group"))
        assert group["DeploymentStyle"] == {
            "DeploymentType": "IN_PLACE",
            "DeploymentOption": "WITH_TRAFFIC_CONTROL",
        }
        assert list(group["LoadBalancerInfo"]) == ["TargetGroupInfoList"]
        info: list[dict[str, Any]] = group["LoadBalancerInfo"]["TargetGroupInfoList"]
        return info

    def name(target_group: Any) -> dict[str, Any]:
        return {"Name": {"Fn::GetAtt": [logical_id(target_group), "TargetGroupName"]}}

    assert target_groups("green") == [
        name(service.green_target_group),
        name(_canary_alb(canary).target_group),
    ]
    assert target_groups("blue") == [name(service.blue_target_group)]


def test_serve_colour_through_opens_the_second_alb_to_that_colour_only(canary: Built):
    service = canary.service
    second = {"Fn::GetAtt": [logical_id(_canary_alb(canary).security_group), "GroupId"]}
    for colour, expected in (("green", 1), ("blue", 0)):
        fleet = {"Fn::GetAtt": [logical_id(getattr(service, colour).security_group), "GroupId"]}
        ingress = [
            r["Properties"]
            for r in canary.resources("AWS::EC2::SecurityGroupIngress").values()
            if r["Properties"]["GroupId"] == fleet
            and r["Properties"]["SourceSecurityGroupId"] == second
        ]
        egress = [
            r["Properties"]
            for r in canary.resources("AWS::EC2::SecurityGroupEgress").values()
            if r["Properties"]["GroupId"] == second
            and r["Properties"].get("DestinationSecurityGroupId") == fleet
        ]
        rule = {
            "IpProtocol": "tcp",
            "FromPort": 80,
            "ToPort": 80,
            "Description": "ALB to its targets on the target port 80",
        }
        assert ingress == [{**rule, "GroupId": fleet, "SourceSecurityGroupId": second}] * expected
        assert (
            egress == [{**rule, "GroupId": second, "DestinationSecurityGroupId": fleet}] * expected
        )


def test_serve_colour_through_template_passes_cfn_lint(canary: Built):
    matches = lint(json.dumps(canary.json), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []


#: case -> (serve_colour_through arguments from (service, CanaryAlb), expected message)
SERVE_REFUSALS: dict[
    str, tuple[Callable[[BlueGreenService, SecureLoadBalancer], tuple[Any, ...]], str]
] = {
    "unknown-colour": (
        lambda service, second: ("purple", second, second.target_group),
        r"colour='purple' is invalid; use one of \['blue', 'green'\]",
    ),
    "own-load-balancer": (
        lambda service, second: (
            "green",
            service.load_balancer,
            service.load_balancer.target_group,
        ),
        r"load_balancer='TestStack/Alb' is invalid; pass another SecureLoadBalancer than the "
        r"service's own",
    ),
    "not-a-secure-load-balancer": (
        lambda service, second: ("green", second.load_balancer, second.target_group),
        r"load_balancer='TestStack/CanaryAlb/Resource' is invalid; pass another "
        r"SecureLoadBalancer than the service's own",
    ),
    "other-port": (
        lambda service, second: ("green", second, second.add_target_group("Other", port=8080)),
        r"target_group='TestStack/CanaryAlb/Other' is invalid; targets on port 8080, not the "
        r"service's app_port 80; give the group the service's port",
    ),
    "group-of-the-own-alb": (
        lambda service, second: ("green", second, service.load_balancer.target_group),
        r"target_group='TestStack/Alb/TargetGroup' is invalid; pass a target group of that "
        r"load balancer",
    ),
    "shallow-health-check": (
        lambda service, second: (
            "green",
            second,
            second.add_target_group("Shallow", health_check_path="/health"),
        ),
        r"target_group='TestStack/CanaryAlb/Shallow' is invalid; health-check '/health', not "
        r"the service's '/health/deep'; give the group the same deep health check",
    ),
}


@pytest.mark.parametrize("case", list(SERVE_REFUSALS))
def test_serve_colour_through_refuses_bad_input_before_changing_anything(case: str):
    app = new_app()
    stack = new_stack(app)
    arguments = _required(stack)
    service = BlueGreenService(stack, "Api", **arguments)
    second = _second_load_balancer(stack, arguments["vpc"])
    make_arguments, message = SERVE_REFUSALS[case]
    serve_arguments = make_arguments(service, second)

    def template() -> dict[str, Any]:
        # force: without it a second synth returns the first (cached) assembly.
        synthesized: dict[str, Any] = (
            app.synth(force=True).get_stack_artifact(stack.artifact_id).template
        )
        return synthesized

    before = template()
    with pytest.raises(ValueError, match=rf"^BlueGreenService: {message}"):
        service.serve_colour_through(*serve_arguments)
    assert template() == before


# ---- gates -----------------------------------------------------------------------------------
def _with_web_acl(build: Any) -> Any:
    """The service on an ALB with its web ACL, as a stack has it (ALBWAFEnabled stays on)."""

    def build_with_waf(stack: cdk.Stack) -> None:
        service = build(stack)
        key = kms.Key(stack, "WafLogsKey", enable_key_rotation=True)
        WebAcl(
            stack, "Waf", encryption_key=key, associate_with=[service.load_balancer.load_balancer]
        )

    return build_with_waf


@pytest.mark.parametrize("variant", list(BUILDERS))
def test_nag_clean(variant: str):
    assert nag_findings(_with_web_acl(BUILDERS[variant])) == []


@pytest.mark.parametrize("variant", list(BUILDERS))
def test_cfn_lint_reports_nothing(built: dict[str, Built], variant: str):
    matches = lint(json.dumps(built[variant].json), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []
