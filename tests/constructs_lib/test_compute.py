"""HardenedFleet: CMP-01..07, IAM-05, LOG-03, LOG-07 and NET-06 on the synthesized template.

One app with three stacks is synthesized once for the module:

* ``Default``: only the required arguments;
* ``Full``: mixed instances (with Spot), every scaling method, lifecycle hooks, a load balancer,
  peer rules, secrets, X-Ray and non-default ports, paths and timeouts;
* ``Arm``: a single Graviton instance type with non-default capacity, volume and retention.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from cfnlint.api import ManualArgs, lint

from constructs_lib.compute import (
    AGENT_CONFIG_PATH,
    LAUNCH_HOOK_NAME,
    TERMINATE_HOOK_NAME,
    HardenedFleet,
)
from tests.support import nag_findings, new_app, new_stack

PRIVATE_SUBNETS = ["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"]
MIXED_TYPES = ["t3.medium", "t3.large", "m5.large"]
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111111111111:secret:app/api-AbCdEf"
SLR_SUFFIX = ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


# ---- scaffolding -----------------------------------------------------------------------------
def _vpc(stack: cdk.Stack) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a", "us-east-1b"],
        public_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        public_subnet_route_table_ids=["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
        private_subnet_ids=PRIVATE_SUBNETS,
        private_subnet_route_table_ids=["rtb-0cccccccccccccccc", "rtb-0dddddddddddddddd"],
    )


def _required(stack: cdk.Stack) -> dict[str, Any]:
    """The required arguments: imported VPC, a rotating key and a topic encrypted with it."""
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    return {
        "vpc": _vpc(stack),
        "subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        "encryption_key": key,
        "alarm_topic": sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True),
    }


def _build_default(stack: cdk.Stack) -> HardenedFleet:
    return HardenedFleet(stack, "Fleet", **_required(stack))


def _build_arm(stack: cdk.Stack) -> HardenedFleet:
    return HardenedFleet(
        stack,
        "Fleet",
        **_required(stack),
        instance_type="t4g.small",
        min_capacity=3,
        max_capacity=9,
        desired_capacity=3,
        root_volume_size_gib=30,
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )


def _build_full(stack: cdk.Stack, *, with_load_balancer: bool = True) -> HardenedFleet:
    required = _required(stack)
    vpc = required["vpc"]
    count = cdk.CfnParameter(
        stack, "InstanceCount", type="Number", default=2, min_value=2, max_value=8
    )
    fleet = HardenedFleet(
        stack,
        "Fleet",
        **required,
        mixed_instance_types=MIXED_TYPES,
        on_demand_percentage_above_base_capacity=50,
        max_capacity=8,
        desired_capacity=count.value_as_number,
        http_put_response_hop_limit=2,
        app_port=8080,
        health_check_path="/health/deep",
        app_log_path="/var/log/payflow/api.log",
        user_data_commands=["dnf install -y nginx", "systemctl enable --now nginx"],
        health_check_grace_period=cdk.Duration.minutes(3),
        signal_timeout=cdk.Duration.minutes(20),
        readiness_timeout=cdk.Duration.minutes(12),
        enable_xray=True,
    )
    balancer_group = ec2.SecurityGroup(
        stack, "BalancerSecurityGroup", vpc=vpc, description="Test ALB", allow_all_outbound=False
    )
    database_group = ec2.SecurityGroup(
        stack, "DatabaseSecurityGroup", vpc=vpc, description="Test DB", allow_all_outbound=False
    )
    target_group = elbv2.ApplicationTargetGroup(
        stack,
        "TargetGroup",
        vpc=vpc,
        port=8080,
        protocol=elbv2.ApplicationProtocol.HTTP,
        target_type=elbv2.TargetType.INSTANCE,
    )
    if with_load_balancer:
        balancer = elbv2.ApplicationLoadBalancer(
            stack, "Balancer", vpc=vpc, security_group=balancer_group
        )
        balancer.add_listener("Http", port=80, open=False, default_target_groups=[target_group])
    # Before attaching: CDK would otherwise open the port itself ("Load balancer to target").
    fleet.allow_from(balancer_group, description="Application traffic from the load balancer")
    fleet.attach_to_target_group(target_group)
    fleet.allow_to(database_group, ec2.Port.tcp(3306), description="MySQL to the database")
    secret = secretsmanager.Secret.from_secret_attributes(
        stack, "Secret", secret_complete_arn=SECRET_ARN, encryption_key=required["encryption_key"]
    )
    fleet.grant_secrets_read(secret)
    fleet.scale_on_cpu()
    if with_load_balancer:
        fleet.scale_on_request_count()
    fleet.add_step_scaling()
    fleet.add_predictive_scaling()
    fleet.add_lifecycle_hooks()
    return fleet


@dataclass
class Built:
    stack: cdk.Stack
    fleet: HardenedFleet
    json: dict[str, Any]

    def logical_id(self, construct: Any) -> str:
        element = (
            construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        )
        return self.stack.get_logical_id(element)

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource
            for name, resource in self.json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def one(self, resource_type: str) -> dict[str, Any]:
        (resource,) = self.resources(resource_type).values()
        return resource

    @property
    def group(self) -> dict[str, Any]:
        group: dict[str, Any] = self.json["Resources"][
            self.logical_id(self.fleet.auto_scaling_group)
        ]
        return group

    @property
    def launch_data(self) -> dict[str, Any]:
        launch_template = self.json["Resources"][self.logical_id(self.fleet.launch_template)]
        data: dict[str, Any] = launch_template["Properties"]["LaunchTemplateData"]
        return data

    @property
    def user_data(self) -> str:
        """The user data script; intrinsic functions rendered as ``<Ref:Id>`` placeholders."""
        body = self.launch_data["UserData"]["Fn::Base64"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        return "".join(part if isinstance(part, str) else _placeholder(part) for part in parts)

    @property
    def agent_config(self) -> dict[str, Any]:
        script = self.user_data
        start = script.index("<<'CWAGENTCONFIG'\n") + len("<<'CWAGENTCONFIG'\n")
        end = script.index("\nCWAGENTCONFIG\n", start)
        config: dict[str, Any] = json.loads(script[start:end])
        return config

    def policy_statements(self, construct: Any) -> list[dict[str, Any]]:
        policy = self.json["Resources"][self.logical_id(construct)]
        statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
        return statements


def _placeholder(token: dict[str, Any]) -> str:
    if "Ref" in token:
        return f"<Ref:{token['Ref']}>"
    if "Fn::GetAtt" in token:
        return f"<GetAtt:{'.'.join(token['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected intrinsic in user data: {token}")


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    """Synthesize the three variants once; also proves the app needs no context lookups."""
    outdir = Path(tempfile.mkdtemp(prefix="cdk-compute-"))
    app = new_app(str(outdir))
    builders = {"Default": _build_default, "Full": _build_full, "Arm": _build_arm}
    made = {}
    for name, build in builders.items():
        stack = new_stack(app, name)
        made[name] = (stack, build(stack))
    app.synth()
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert not manifest.get("missing"), "HardenedFleet must not need context lookups"
    return {
        name: Built(stack, fleet, json.loads((outdir / stack.template_file).read_text()))
        for name, (stack, fleet) in made.items()
    }


@pytest.fixture(scope="module")
def default(built: dict[str, Built]) -> Built:
    return built["Default"]


@pytest.fixture(scope="module")
def full(built: dict[str, Built]) -> Built:
    return built["Full"]


@pytest.fixture(scope="module")
def arm(built: dict[str, Built]) -> Built:
    return built["Arm"]


# ---- CMP-01: launch template, AL2023 AMI from the public SSM parameter ------------------------
def test_cmp01_launch_template_with_al2023_ami_from_ssm_parameter(default: Built):
    assert "Mappings" not in default.json
    assert default.resources("AWS::AutoScaling::LaunchConfiguration") == {}
    group = default.group["Properties"]
    assert group["LaunchTemplate"]["LaunchTemplateId"] == {
        "Ref": default.logical_id(default.fleet.launch_template)
    }
    image = default.launch_data["ImageId"]
    parameter = default.json["Parameters"][image["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert re.fullmatch(
        r"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-[0-9.a-z]+-x86_64",
        parameter["Default"],
    )
    assert not re.search(r"\bami-[0-9a-f]{8,17}\b", json.dumps(default.json))


# ---- CMP-02: IMDSv2 --------------------------------------------------------------------------
def test_cmp02_imdsv2_tokens_required_endpoint_enabled_hop_limit_1(default: Built):
    assert default.launch_data["MetadataOptions"] == {
        "HttpTokens": "required",
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 1,
    }


def test_cmp02_hop_limit_2_for_containers(full: Built):
    assert full.launch_data["MetadataOptions"] == {
        "HttpTokens": "required",
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 2,
    }


# ---- CMP-03: encrypted gp3 root volume --------------------------------------------------------
def test_cmp03_root_volume_gp3_encrypted_with_cmk_deleted_on_termination(default: Built):
    key_id = default.logical_id(default.stack.node.find_child("Key"))
    assert default.launch_data["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "DeleteOnTermination": True,
                "Encrypted": True,
                "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
                "VolumeSize": 20,
                "VolumeType": "gp3",
            },
        }
    ]


def test_cmp03_key_policy_lets_auto_scaling_use_the_key(default: Built):
    statements = default.one("AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    role_arn = {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, SLR_SUFFIX]]}
    # Matched by aws:PrincipalArn, not named as principal: KMS rejects a policy naming a role
    # that does not exist yet, and the service-linked role appears with the first group.
    by_principal = [
        s
        for s in statements
        if s["Principal"] == {"AWS": "*"}
        and s["Condition"].get("ArnEquals", {}).get("aws:PrincipalArn") == role_arn
    ]
    assert by_principal and all(
        s["Condition"]["StringEquals"]["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
        for s in by_principal
    )
    via = {
        s["Condition"]["StringEquals"]["kms:ViaService"]: s
        for s in by_principal
        if "kms:ViaService" in s["Condition"]["StringEquals"]
    }
    assert set(via) == {"ec2.us-east-1.amazonaws.com", "sns.us-east-1.amazonaws.com"}
    assert sorted(via["ec2.us-east-1.amazonaws.com"]["Action"]) == [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    # The alarm topic is encrypted with the same key: notifications go through SNS.
    assert sorted(via["sns.us-east-1.amazonaws.com"]["Action"]) == [
        "kms:Decrypt",
        "kms:GenerateDataKey*",
    ]
    (grant,) = [s for s in by_principal if s["Action"] == "kms:CreateGrant"]
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert len(by_principal) == 3


# ---- IAM-05: own role, managed policies, one policy per concern --------------------------------
def test_iam05_own_role_and_instance_profile_with_managed_policies(default: Built):
    role_id = default.logical_id(default.fleet.role)
    role = default.json["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
        }
    ]
    managed = sorted(arn["Fn::Join"][1][-1] for arn in role["ManagedPolicyArns"])
    assert managed == [
        ":iam::aws:policy/AmazonSSMManagedInstanceCore",
        ":iam::aws:policy/CloudWatchAgentServerPolicy",
    ]
    profile = default.one("AWS::IAM::InstanceProfile")
    assert profile["Properties"]["Roles"] == [{"Ref": role_id}]
    assert default.launch_data["IamInstanceProfile"] == {
        "Arn": {"Fn::GetAtt": [default.logical_id(default.fleet.instance_profile), "Arn"]}
    }


def test_iam05_separate_customer_managed_policies_and_no_inline_policy(default: Built):
    assert default.resources("AWS::IAM::Policy") == {}
    role_ref = [{"Ref": default.logical_id(default.fleet.role)}]
    policies = default.resources("AWS::IAM::ManagedPolicy")
    assert {
        default.logical_id(default.fleet.logs_policy),
        default.logical_id(default.fleet.signal_policy),
    } == set(policies)
    assert all(p["Properties"]["Roles"] == role_ref for p in policies.values())
    log_group_id = default.logical_id(default.fleet.log_group)
    assert default.policy_statements(default.fleet.logs_policy) == [
        {
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
            "Sid": "WriteFleetLogGroup",
        }
    ]
    assert default.policy_statements(default.fleet.signal_policy) == [
        {
            "Action": "cloudformation:SignalResource",
            "Effect": "Allow",
            "Resource": {"Ref": "AWS::StackId"},
            "Sid": "SignalThisStack",
        }
    ]


def test_iam05_grant_secrets_read_scopes_to_the_secrets(full: Built):
    assert full.fleet.secrets_policy is not None
    key_id = full.logical_id(full.stack.node.find_child("Key"))
    assert full.policy_statements(full.fleet.secrets_policy) == [
        {
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Effect": "Allow",
            "Resource": SECRET_ARN,
            "Sid": "ReadApplicationSecrets",
        },
        {
            "Action": "kms:Decrypt",
            "Condition": {
                "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
            },
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
            "Sid": "DecryptSecretsThroughSecretsManager",
        },
    ]


# ---- CMP-04: the group ------------------------------------------------------------------------
def test_cmp04_group_min_health_checks_metrics_notifications(default: Built):
    group = default.group["Properties"]
    assert group["MinSize"] == "2"
    assert group["MaxSize"] == "6"
    assert "DesiredCapacity" not in group
    assert group["VPCZoneIdentifier"] == PRIVATE_SUBNETS
    assert group["HealthCheckType"] == "EC2"
    assert group["HealthCheckGracePeriod"] == 300
    assert group["MetricsCollection"] == [{"Granularity": "1Minute"}]  # no list: all metrics
    topic_id = default.logical_id(default.stack.node.find_child("Topic"))
    assert group["NotificationConfigurations"] == [
        {
            "TopicARN": {"Ref": topic_id},
            "NotificationTypes": [
                "autoscaling:EC2_INSTANCE_LAUNCH",
                "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
                "autoscaling:EC2_INSTANCE_TERMINATE",
                "autoscaling:EC2_INSTANCE_TERMINATE_ERROR",
            ],
        }
    ]


def test_cmp04_attach_to_target_group_switches_to_elb_health_checks(full: Built):
    group = full.group["Properties"]
    target_group = full.stack.node.find_child("TargetGroup")
    assert group["TargetGroupARNs"] == [{"Ref": full.logical_id(target_group)}]
    assert group["HealthCheckType"] == "ELB"
    assert group["HealthCheckGracePeriod"] == 180
    assert group["DefaultInstanceWarmup"] == 180


def test_cmp04_capacity_arguments(arm: Built, full: Built):
    group = arm.group["Properties"]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == ("3", "9", "3")
    assert full.group["Properties"]["DesiredCapacity"] == {"Ref": "InstanceCount"}
    assert arm.group["CreationPolicy"]["ResourceSignal"]["Count"] == 3


# ---- CMP-05: signals ------------------------------------------------------------------------
def test_cmp05_rolling_update_and_creation_policy_wait_for_signals(default: Built, full: Built):
    assert default.group["CreationPolicy"] == {"ResourceSignal": {"Count": 2, "Timeout": "PT15M"}}
    rolling = default.group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert rolling["PauseTime"] == "PT15M"
    assert rolling["MinInstancesInService"] == 2
    assert rolling["MaxBatchSize"] == 1
    assert full.group["CreationPolicy"]["ResourceSignal"]["Timeout"] == "PT20M"
    assert full.group["UpdatePolicy"]["AutoScalingRollingUpdate"]["PauseTime"] == "PT20M"


def test_cmp05_user_data_signals_only_after_the_health_loop(default: Built):
    script = default.user_data
    group_id = default.logical_id(default.fleet.auto_scaling_group)
    lines = script.splitlines()
    # cfn-signal runs once, in the EXIT trap, with the script's exit code.
    assert script.count("cfn-signal") == 1
    assert (
        f"/opt/aws/bin/cfn-signal --stack Default --resource {group_id} --region us-east-1 "
        "-e $exitCode || echo 'Failed to send Cloudformation Signal'"
    ) in lines
    assert lines.index("trap exitTrap EXIT") < lines.index("set -euo pipefail")
    # The readiness loop comes after the application and exits 1 when it never succeeds.
    probe = "curl --fail --silent --show-error --output /dev/null --max-time 5 "
    probe += "'http://127.0.0.1:80/health'"
    loop = next(i for i, line in enumerate(lines) if line.startswith("for attempt in $(seq 1 60)"))
    assert lines.index("# Application") < loop
    assert f"  if {probe}; then" in lines[loop + 1]
    failure = lines.index('if [ "$ready" -ne 1 ]; then')
    assert failure > loop and lines[failure + 2] == "  exit 1"
    # Nothing but the (absent) lifecycle step follows the check.
    assert lines[failure + 3 :] == ["fi", "# no launch lifecycle hook"]


def test_cmp05_custom_port_path_and_readiness_timeout(full: Built):
    script = full.user_data
    assert "'http://127.0.0.1:8080/health/deep'" in script
    assert "for attempt in $(seq 1 72); do" in script  # 12 minutes / 10 s
    app = script.index("dnf install -y nginx\nsystemctl enable --now nginx\n")
    assert script.index("# Application") < app < script.index("for attempt in")


# ---- CMP-07 / LOG-03 / LOG-07: CloudWatch agent and log group --------------------------------
def test_cmp07_cloudwatch_agent_installed_and_configured(default: Built):
    script = default.user_data
    assert "dnf install -y amazon-cloudwatch-agent aws-cfn-bootstrap rsyslog" in script
    assert "systemctl enable --now rsyslog" in script
    assert (
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config "
        f"-m ec2 -s -c file:{AGENT_CONFIG_PATH}"
    ) in script
    config = default.agent_config
    collected = config["metrics"]["metrics_collected"]
    assert collected["mem"]["measurement"] == ["mem_used_percent"]
    assert "used_percent" in collected["disk"]["measurement"]
    assert collected["disk"]["resources"] == ["/"]
    log_group = f"<Ref:{default.logical_id(default.fleet.log_group)}>"
    files = config["logs"]["logs_collected"]["files"]["collect_list"]
    assert {f["file_path"] for f in files} >= {"/var/log/messages", "/var/log/app/app.log"}
    assert {f["log_group_name"] for f in files} == {log_group}
    assert "traces" not in config


def test_cmp07_app_log_path_and_xray(full: Built):
    config = full.agent_config
    files = config["logs"]["logs_collected"]["files"]["collect_list"]
    assert "/var/log/payflow/api.log" in {f["file_path"] for f in files}
    assert "install -d -m 0755 /var/log/payflow" in full.user_data
    assert config["traces"] == {"traces_collected": {"xray": {}}}
    assert full.fleet.xray_policy is not None
    (statement,) = full.policy_statements(full.fleet.xray_policy)
    assert statement["Action"] == [
        "xray:GetSamplingRules",
        "xray:GetSamplingStatisticSummaries",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]


def test_log03_log_group_encrypted_retained_with_key_policy(default: Built, arm: Built):
    key_id = default.logical_id(default.stack.node.find_child("Key"))
    log_group = default.json["Resources"][default.logical_id(default.fleet.log_group)]
    assert log_group["Properties"] == {
        "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "RetentionInDays": 365,
    }
    assert log_group["DeletionPolicy"] == "Retain"
    assert log_group["UpdateReplacePolicy"] == "Retain"
    arm_group = arm.json["Resources"][arm.logical_id(arm.fleet.log_group)]
    assert arm_group["Properties"]["RetentionInDays"] == 90
    statements = default.one("AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    (logs_statement,) = [
        s for s in statements if s["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    ]
    assert "kms:GenerateDataKey*" in logs_statement["Action"]
    condition = logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition["Fn::Join"][1][-1] == ":log-group:*"


# ---- NET-06: security group ------------------------------------------------------------------
def test_net06_security_group_has_only_https_egress_by_default(default: Built):
    group = default.json["Resources"][default.logical_id(default.fleet.security_group)]
    (egress,) = group["Properties"]["SecurityGroupEgress"]
    description = egress.pop("Description")
    assert egress == {"CidrIp": "0.0.0.0/0", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}
    assert description.startswith("HTTPS to AWS APIs")
    assert "SecurityGroupIngress" not in group["Properties"]
    assert default.resources("AWS::EC2::SecurityGroupIngress") == {}
    assert default.launch_data["SecurityGroupIds"] == [
        {"Fn::GetAtt": [default.logical_id(default.fleet.security_group), "GroupId"]}
    ]


def test_net06_peer_rules_are_separate_described_resources(full: Built):
    fleet_group = {"Fn::GetAtt": [full.logical_id(full.fleet.security_group), "GroupId"]}
    balancer = full.logical_id(full.stack.node.find_child("BalancerSecurityGroup"))
    database = full.logical_id(full.stack.node.find_child("DatabaseSecurityGroup"))
    ingress = [
        r["Properties"]
        for r in full.resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == fleet_group
    ]
    assert ingress == [
        {
            "Description": "Application traffic from the load balancer",
            "FromPort": 8080,
            "GroupId": fleet_group,
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [balancer, "GroupId"]},
            "ToPort": 8080,
        }
    ]
    egress = [
        r["Properties"]
        for r in full.resources("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == fleet_group
    ]
    assert egress == [
        {
            "Description": "MySQL to the database",
            "DestinationSecurityGroupId": {"Fn::GetAtt": [database, "GroupId"]},
            "FromPort": 3306,
            "GroupId": fleet_group,
            "IpProtocol": "tcp",
            "ToPort": 3306,
        }
    ]
    for rule in full.resources("AWS::EC2::SecurityGroupIngress").values():
        assert rule["Properties"].get("CidrIp") != "0.0.0.0/0"
        assert rule["Properties"]["Description"]


# ---- CMP-06: scaling -------------------------------------------------------------------------
def test_cmp06_no_scaling_policies_or_hooks_unless_asked(default: Built):
    assert default.resources("AWS::AutoScaling::ScalingPolicy") == {}
    assert default.resources("AWS::AutoScaling::LifecycleHook") == {}
    assert "MixedInstancesPolicy" not in default.group["Properties"]
    assert default.fleet.xray_policy is None and default.fleet.lifecycle_policy is None


def test_cmp06_mixed_instances_policy(full: Built, default: Built):
    group = full.group["Properties"]
    assert "LaunchTemplate" not in group
    policy = group["MixedInstancesPolicy"]
    assert policy["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"] == {
        "Ref": full.logical_id(full.fleet.launch_template)
    }
    assert policy["LaunchTemplate"]["Overrides"] == [{"InstanceType": t} for t in MIXED_TYPES]
    assert policy["InstancesDistribution"] == {
        "OnDemandAllocationStrategy": "prioritized",
        "OnDemandBaseCapacity": 2,
        "OnDemandPercentageAboveBaseCapacity": 50,
        "SpotAllocationStrategy": "price-capacity-optimized",
    }
    assert group["CapacityRebalance"] is True
    assert "InstanceType" not in full.launch_data
    assert default.launch_data["InstanceType"] == "t3.micro"


def _policies(built: Built, policy_type: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in built.resources("AWS::AutoScaling::ScalingPolicy").values()
        if r["Properties"]["PolicyType"] == policy_type
    ]


def test_cmp06_target_tracking_on_cpu_and_request_count(full: Built):
    group_ref = {"Ref": full.logical_id(full.fleet.auto_scaling_group)}
    configs = {
        p["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]: p
        for p in _policies(full, "TargetTrackingScaling")
    }
    assert set(configs) == {"ASGAverageCPUUtilization", "ALBRequestCountPerTarget"}
    cpu = configs["ASGAverageCPUUtilization"]
    assert cpu["AutoScalingGroupName"] == group_ref
    assert cpu["TargetTrackingConfiguration"]["TargetValue"] == 70
    requests = configs["ALBRequestCountPerTarget"]["TargetTrackingConfiguration"]
    assert requests["TargetValue"] == 1000
    assert "ResourceLabel" in requests["PredefinedMetricSpecification"]


def test_cmp06_step_scaling_for_cpu_spikes(full: Built):
    (policy,) = _policies(full, "StepScaling")
    assert policy["AdjustmentType"] == "ChangeInCapacity"
    assert policy["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 2},
        {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 4},
    ]
    (alarm,) = full.resources("AWS::CloudWatch::Alarm").values()
    props = alarm["Properties"]
    assert (props["MetricName"], props["Namespace"], props["Statistic"]) == (
        "CPUUtilization",
        "AWS/EC2",
        "Maximum",
    )
    assert (props["Threshold"], props["Period"], props["EvaluationPeriods"]) == (85, 60, 2)
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["Dimensions"] == [
        {
            "Name": "AutoScalingGroupName",
            "Value": {"Ref": full.logical_id(full.fleet.auto_scaling_group)},
        }
    ]


def test_cmp06_predictive_scaling(full: Built):
    (policy,) = _policies(full, "PredictiveScaling")
    assert policy["PredictiveScalingConfiguration"] == {
        "MaxCapacityBreachBehavior": "HonorMaxCapacity",
        "MetricSpecifications": [
            {
                "PredefinedMetricPairSpecification": {"PredefinedMetricType": "ASGCPUUtilization"},
                "TargetValue": 70,
            }
        ],
        "Mode": "ForecastAndScale",
        "SchedulingBufferTime": 300,
    }


def test_cmp06_lifecycle_hooks_for_launch_and_terminate(full: Built):
    hooks = {
        h["Properties"]["LifecycleTransition"]: h["Properties"]
        for h in full.resources("AWS::AutoScaling::LifecycleHook").values()
    }
    group_ref = {"Ref": full.logical_id(full.fleet.auto_scaling_group)}
    assert hooks["autoscaling:EC2_INSTANCE_LAUNCHING"] == {
        "AutoScalingGroupName": group_ref,
        "DefaultResult": "ABANDON",
        "HeartbeatTimeout": 1020,  # readiness 12 min + 5 min
        "LifecycleHookName": LAUNCH_HOOK_NAME,
        "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
    }
    assert hooks["autoscaling:EC2_INSTANCE_TERMINATING"] == {
        "AutoScalingGroupName": group_ref,
        "DefaultResult": "CONTINUE",
        "HeartbeatTimeout": 300,
        "LifecycleHookName": TERMINATE_HOOK_NAME,
        "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
    }


def test_cmp06_launch_hook_completed_by_user_data_after_readiness(full: Built):
    script = full.user_data
    complete = script.index("aws autoscaling complete-lifecycle-action --region us-east-1")
    assert script.index('if [ "$ready" -ne 1 ]; then') < complete
    assert f"--lifecycle-hook-name {LAUNCH_HOOK_NAME}" in script[complete:]
    assert 'if [ "$state" = "Pending:Wait" ]; then' in script
    assert full.fleet.lifecycle_policy is not None
    describe, complete_statement = full.policy_statements(full.fleet.lifecycle_policy)
    assert describe["Action"] == "autoscaling:DescribeAutoScalingInstances"
    assert complete_statement["Action"] == "autoscaling:CompleteLifecycleAction"
    assert complete_statement["Condition"] == {
        "StringEquals": {
            "autoscaling:ResourceTag/aws:cloudformation:stack-id": {"Ref": "AWS::StackId"},
            "autoscaling:ResourceTag/aws:cloudformation:logical-id": full.logical_id(
                full.fleet.auto_scaling_group
            ),
        }
    }


def test_metric_cpu_utilization(default: Built):
    metric = default.fleet.metric_cpu_utilization()
    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "AWS/EC2",
        "CPUUtilization",
        "Average",
    )
    assert metric.period.to_seconds() == 300
    assert set(metric.dimensions or {}) == {"AutoScalingGroupName"}


# ---- behaviour-changing arguments of the Arm variant ----------------------------------------
def test_instance_type_selects_type_and_ami_architecture(arm: Built):
    assert arm.launch_data["InstanceType"] == "t4g.small"
    parameter = arm.json["Parameters"][arm.launch_data["ImageId"]["Ref"]]
    assert parameter["Default"].endswith("-arm64")
    assert arm.launch_data["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 30


# ---- bad input -------------------------------------------------------------------------------
BAD_INPUT = [
    ({"min_capacity": 1}, r"min_capacity=1 is invalid; use a value between 2 and"),
    ({"http_put_response_hop_limit": 3}, r"http_put_response_hop_limit=3 is invalid; use 1, or 2"),
    ({"http_put_response_hop_limit": 0}, r"http_put_response_hop_limit=0 is invalid"),
    ({"mixed_instance_types": ["t3.medium", "t3.large"]}, r"mixed_instance_types=.*at least 3"),
    ({"instance_type": "huge"}, r"instance_type='huge' is invalid; pass an instance type"),
    ({"mixed_instance_types": ["t3.medium", "t3.large", "huge"]}, r"mixed_instance_types='huge'"),
    ({"mixed_instance_types": ["t3.large", "t3.large", "m5.large"]}, r"each instance type once"),
    ({"mixed_instance_types": ["t3.large", "m5.large", "m7g.large"]}, r"one CPU architecture"),
    (
        {"instance_type": "t3.large", "mixed_instance_types": MIXED_TYPES},
        r"instance_type='t3.large' is invalid; leave it unset",
    ),
    ({"max_capacity": 2}, r"max_capacity=2 is invalid"),
    ({"min_capacity": 4, "max_capacity": 4}, r"max_capacity=4 is invalid; use more than"),
    ({"desired_capacity": 7}, r"desired_capacity=7 is invalid; use a value between 2 and 6"),
    ({"root_volume_size_gib": 4}, r"root_volume_size_gib=4 is invalid"),
    ({"app_port": 0}, r"app_port=0 is invalid"),
    ({"health_check_path": "health"}, r"health_check_path='health' is invalid"),
    ({"health_check_path": "/x'; rm -rf /"}, r"health_check_path=.* is invalid"),
    ({"app_log_path": "app.log"}, r"app_log_path='app.log' is invalid"),
    ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.* finite retention"),
    ({"on_demand_percentage_above_base_capacity": 50}, r"Spot capacity needs mixed_instance"),
    ({"user_data_commands": "echo hi"}, r"user_data_commands='echo hi' is invalid"),
    (
        {"readiness_timeout": cdk.Duration.minutes(15)},
        r"readiness_timeout='15 minutes' is invalid; use less than signal_timeout",
    ),
    (
        {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)},
        r"subnets=.* select the private application subnets",
    ),
    (
        {
            "subnets": ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, availability_zones=["us-east-1a"]
            )
        },
        r"at least two availability zones",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_raises_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    arguments = {**_required(stack), **overrides}
    with pytest.raises(ValueError, match=message) as error:
        HardenedFleet(stack, "Fleet", **arguments)
    assert str(error.value).startswith("HardenedFleet: ")
    assert stack.node.try_find_child("Fleet") is None


@pytest.fixture
def fresh_fleet() -> HardenedFleet:
    stack = new_stack()
    return HardenedFleet(stack, "Fleet", **_required(stack))


def test_scale_on_request_count_needs_a_target_group(fresh_fleet: HardenedFleet):
    with pytest.raises(ValueError, match=r"target_group=None is invalid; call attach_to"):
        fresh_fleet.scale_on_request_count()


def test_bad_method_arguments(fresh_fleet: HardenedFleet):
    other = ec2.SecurityGroup(cdk.Stack.of(fresh_fleet), "Peer", vpc=_peer_vpc(fresh_fleet))
    with pytest.raises(ValueError, match=r"description='' is invalid"):
        fresh_fleet.allow_from(other, description="")
    with pytest.raises(ValueError, match=r"description='from \"alb\"' is invalid"):
        fresh_fleet.allow_from(other, description='from "alb"')
    with pytest.raises(ValueError, match=r"target_utilization_percent=95 is invalid"):
        fresh_fleet.scale_on_cpu(target_utilization_percent=95)
    with pytest.raises(ValueError, match=r"mode='Forecast' is invalid"):
        fresh_fleet.add_predictive_scaling(mode="Forecast")
    with pytest.raises(ValueError, match=r"surge_at_percent=80 is invalid"):
        fresh_fleet.add_step_scaling(scale_out_at_percent=85, surge_at_percent=80)
    with pytest.raises(ValueError, match=r"launch_heartbeat_timeout='5 minutes' is invalid"):
        fresh_fleet.add_lifecycle_hooks(launch_heartbeat_timeout=cdk.Duration.minutes(5))
    with pytest.raises(ValueError, match=r"secrets=\(\) is invalid"):
        fresh_fleet.grant_secrets_read()
    fresh_fleet.add_lifecycle_hooks()
    with pytest.raises(ValueError, match=r"add the lifecycle hooks once"):
        fresh_fleet.add_lifecycle_hooks()


def _peer_vpc(fleet: HardenedFleet) -> ec2.IVpc:
    return cast(ec2.IVpc, cdk.Stack.of(fleet).node.find_child("Vpc"))


def _target_groups(fleet: HardenedFleet, count: int) -> list[elbv2.ApplicationTargetGroup]:
    """``Group0``, ``Group1``, ... in the fleet's stack (not behind any listener)."""
    return [
        elbv2.ApplicationTargetGroup(
            cdk.Stack.of(fleet),
            f"Group{i}",
            vpc=_peer_vpc(fleet),
            port=80,
            target_type=elbv2.TargetType.INSTANCE,
        )
        for i in range(count)
    ]


def _registered_in(fleet: HardenedFleet) -> list[Any]:
    """The group's ``TargetGroupARNs`` as they will be rendered (``[]`` when there is none)."""
    cfn = fleet.auto_scaling_group.node.default_child
    assert isinstance(cfn, autoscaling.CfnAutoScalingGroup)
    arns: list[Any] | None = cdk.Stack.of(fleet).resolve(cfn.target_group_arns)
    return arns or []


def test_attach_to_a_second_target_group_is_refused(fresh_fleet: HardenedFleet):
    groups = _target_groups(fresh_fleet, 2)
    fresh_fleet.attach_to_target_group(groups[0])
    with pytest.raises(ValueError, match=r"target_group=.* already attached"):
        fresh_fleet.attach_to_target_group(groups[1])


def test_additional_target_group_registers_the_group_and_scaling_follows_the_primary():
    """E.g. a canary ALB: the instances serve both, request-count scaling the primary only."""
    stack = new_stack()
    required = _required(stack)
    fleet = HardenedFleet(stack, "Fleet", **required)
    groups = {}
    for name in ("Primary", "Canary"):
        balancer = elbv2.ApplicationLoadBalancer(stack, f"{name}Balancer", vpc=required["vpc"])
        group = elbv2.ApplicationTargetGroup(
            stack,
            f"{name}Group",
            vpc=required["vpc"],
            port=80,
            target_type=elbv2.TargetType.INSTANCE,
        )
        listener = balancer.add_listener("Http", port=80, open=False, default_target_groups=[group])
        groups[name] = (listener, group)
    fleet.attach_to_target_group(groups["Primary"][1])
    # Registered before the scaling policy: the primary group must win even then.
    fleet.register_in_additional_target_group(groups["Canary"][1])
    fleet.scale_on_request_count()
    app = cast(cdk.App, stack.node.root)
    template = app.synth().get_stack_artifact(stack.artifact_id).template
    built = Built(stack, fleet, template)

    primary_listener, primary = groups["Primary"]
    canary_listener, canary = groups["Canary"]
    group = built.group["Properties"]
    assert group["TargetGroupARNs"] == [
        {"Ref": built.logical_id(primary)},
        {"Ref": built.logical_id(canary)},
    ]
    assert group["HealthCheckType"] == "ELB"
    (requests,) = _policies(built, "TargetTrackingScaling")
    specification = requests["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]
    assert specification["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    # app/<balancer>/<id> (from the primary listener's ARN) / the primary group's full name
    label = json.dumps(specification["ResourceLabel"])
    assert json.dumps({"Ref": built.logical_id(primary_listener)}) in label
    assert json.dumps({"Fn::GetAtt": [built.logical_id(primary), "TargetGroupFullName"]}) in label
    assert built.logical_id(canary) not in label
    assert built.logical_id(canary_listener) not in label


def test_additional_target_group_needs_the_primary_first(fresh_fleet: HardenedFleet):
    (group,) = _target_groups(fresh_fleet, 1)
    with pytest.raises(
        ValueError,
        match=r"^HardenedFleet: target_group='TestStack/Group0' is invalid; "
        r"call attach_to_target_group\(\) with the primary target group first$",
    ):
        fresh_fleet.register_in_additional_target_group(group)
    assert _registered_in(fresh_fleet) == []


@pytest.mark.parametrize("again", ["primary", "additional"])
def test_registering_in_the_same_target_group_again_is_refused(
    fresh_fleet: HardenedFleet, again: str
):
    primary, additional = _target_groups(fresh_fleet, 2)
    fresh_fleet.attach_to_target_group(primary)
    fresh_fleet.register_in_additional_target_group(additional)
    registered = _registered_in(fresh_fleet)
    assert len(registered) == 2
    group = primary if again == "primary" else additional
    with pytest.raises(
        ValueError,
        match=rf"^HardenedFleet: target_group='{re.escape(group.node.path)}' is invalid; "
        r"the fleet is already registered in this target group$",
    ):
        fresh_fleet.register_in_additional_target_group(group)
    assert _registered_in(fresh_fleet) == registered


# ---- gates -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [_build_arm, lambda stack: _build_full(stack, with_load_balancer=False)],
    ids=["single-type", "mixed-everything"],
)
def test_nag_clean(build: Any):
    assert nag_findings(build) == []


@pytest.mark.parametrize("variant", ["Default", "Full", "Arm"])
def test_cfn_lint_reports_nothing(built: dict[str, Built], variant: str):
    matches = lint(json.dumps(built[variant].json), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} ({m.path})" for m in matches] == []
