"""EnterpriseWebAppStack (seed 000): every control of its SPEC 2.1 profile, snapshot, pinned IDs.

The per-control assertions live in ``tests/stacks/control_assertions.py``; this module says what
the stack promises: ``webapp-<component>`` names, an SSM bastion, a backup plan covering the
database and EC2 volumes, and the outputs and conditions seed 000's ideal template has.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from controls.profiles import PROFILES
from tests.stacks.control_assertions import Expectations, check
from tests.stacks.queries import properties, rendered, resources, tag_value, the
from tests.stacks.snapshots import masked

Template = dict[str, Any]
STACK = "EnterpriseWebAppStack"

#: Stateful resources whose logical IDs must never change by accident (a new ID replaces them).
PINNED_STATEFUL_IDS = {
    "AWS::KMS::Key": {"BackupKey57137946", "DataKey5CEB6F76", "DatabaseKey01218F75"},
    "AWS::S3::Bucket": {
        "AccessLogsBucketFA218D2A",
        "AlbLogsBucket698B8C8C",
        "AppLogsBucketD029A9AD",
        "FlowLogsBucket9AC74A68",
    },
    "AWS::RDS::DBInstance": {"DatabaseF44359DD"},
    "AWS::SecretsManager::Secret": {"DatabaseSecret3B817195"},
    "AWS::SQS::Queue": {
        "AlarmTopicDeadLetterQueueD25B3C4C",
        "NetworkDefaultSgHandlerDeadLetterQueue668E8BF0",
    },
    "AWS::Backup::BackupVault": {"BackupVaultADF21B19"},
    "AWS::Logs::LogGroup": {
        "AppFleetLogGroup7019B4FF",
        "BastionLogGroup702D4ECA",
        "DatabaseAuditLog0F81DE5F",
        "DatabaseErrorLog7CF11521",
        "DatabaseGeneralLog88AB7C89",
        "DatabaseSlowqueryLog5BF892D0",
        "NetworkDefaultSgHandlerLogGroup05C3597D",
        "NetworkFlowLogGroup4F8CEEEF",
        "WebAclLogs68403EB9",
    },
}

#: SPEC 2.1: VPC, every subnet, ALB DNS/ARN/URL, buckets, DB endpoint/port/secret, bastion ID and
#: SSM command, ASG, launch template ID/version, every security group, topic, dashboard, backup.
REQUIRED_OUTPUTS = (
    "VPCId",
    "PublicSubnet1Id",
    "PublicSubnet2Id",
    "PrivateSubnet1Id",
    "PrivateSubnet2Id",
    "DataSubnet1Id",
    "DataSubnet2Id",
    "LoadBalancerDNS",
    "LoadBalancerArn",
    "LoadBalancerUrl",
    "AppLogsBucketName",
    "FlowLogsBucketName",
    "AlbLogsBucketName",
    "AccessLogsBucketName",
    "DatabaseEndpoint",
    "DatabasePort",
    "DatabaseSecretArn",
    "BastionInstanceId",
    "BastionSessionCommand",
    "AutoScalingGroupName",
    "LaunchTemplateId",
    "LaunchTemplateVersion",
    "LoadBalancerSecurityGroupId",
    "AppSecurityGroupId",
    "DatabaseSecurityGroupId",
    "BastionSecurityGroupId",
    "EndpointSecurityGroupId",
    "AlarmTopicArn",
    "DashboardUrl",
    "BackupVaultName",
    "BackupPlanId",
)

EXPECTATIONS = Expectations(
    min_keys=3,
    parameters=frozenset(
        {
            "DesiredCapacity",
            "CertificateArn",
            "KeyPairName",
            "AlertEmail",
            "AlertWebhookUrl",
            "CreateDashboard",
        }
    ),
    conditions=frozenset(
        {
            "HasCertificate",
            "HasKeyPair",
            "HasAlertEmail",
            "HasAlertWebhook",
            "CreateMonitoringDashboard",
        }
    ),
    outputs=frozenset(REQUIRED_OUTPUTS),
    names={
        "AWS::EC2::VPC": "webapp-vpc",
        "AWS::RDS::DBInstance": "webapp-database",
        "AWS::ElasticLoadBalancingV2::LoadBalancer": "webapp-alb",
        "AWS::SNS::Topic": "webapp-alarms",
        "AWS::EC2::Instance": "webapp-bastion",
    },
    service_roles=frozenset(
        {"monitoring.rds.amazonaws.com", "vpc-flow-logs.amazonaws.com", "backup.amazonaws.com"}
    ),
)


@pytest.fixture(scope="module")
def ewa(templates: dict[str, Template]) -> Template:
    return templates[STACK]


def test_template_snapshot(ewa: Template, snapshot: SnapshotAssertion) -> None:
    assert masked(ewa) == snapshot


@pytest.mark.parametrize("resource_type", sorted(PINNED_STATEFUL_IDS))
def test_stateful_logical_ids_are_pinned(ewa: Template, resource_type: str) -> None:
    assert set(resources(ewa, resource_type)) == PINNED_STATEFUL_IDS[resource_type]


@pytest.mark.parametrize("control", PROFILES[STACK])
def test_control(ewa: Template, control: str) -> None:
    check(control, ewa, EXPECTATIONS)


def test_every_taggable_resource_follows_webapp_naming(ewa: Template) -> None:
    names = [
        rendered(tag_value(resource, "Name"))
        for resource in ewa["Resources"].values()
        if isinstance(resource.get("Properties", {}).get("Tags"), list)
        and tag_value(resource, "Name") is not None
    ]
    assert len(names) > 60
    assert all(name.startswith("webapp-") for name in names), [
        n for n in names if not n.startswith("webapp-")
    ]


def test_fleet_defaults_to_t3_micro_with_at_least_two_instances(ewa: Template) -> None:
    (_, group) = the(ewa, "AWS::AutoScaling::AutoScalingGroup")
    props = group["Properties"]
    overrides = props["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
    assert overrides[0]["InstanceType"] == "t3.micro"
    assert int(props["MinSize"]) >= 2 and ewa["Parameters"]["DesiredCapacity"]["MinValue"] >= 2


def test_app_logs_and_flow_logs_have_separate_buckets(ewa: Template) -> None:
    flow_destinations = json.dumps(
        [f.get("LogDestination") for f in properties(ewa, "AWS::EC2::FlowLog")]
    )
    assert "FlowLogsBucket" in flow_destinations and "AppLogsBucket" not in flow_destinations
    [write] = [
        p
        for p in properties(ewa, "AWS::IAM::ManagedPolicy")
        if "AppLogsBucket" in json.dumps(p["PolicyDocument"])
    ]
    [put] = [s for s in write["PolicyDocument"]["Statement"] if s["Action"] == "s3:PutObject"]
    assert rendered(put["Resource"]).endswith("/app/*")


def test_bastion_key_pair_and_dashboard_are_optional(ewa: Template) -> None:
    key_names = [
        t["LaunchTemplateData"].get("KeyName")
        for t in properties(ewa, "AWS::EC2::LaunchTemplate")
        if t["LaunchTemplateData"].get("KeyName")
    ]
    assert key_names == [
        {"Fn::If": ["HasKeyPair", {"Ref": "KeyPairName"}, {"Ref": "AWS::NoValue"}]}
    ]
    (_, dashboard) = the(ewa, "AWS::CloudWatch::Dashboard")
    assert dashboard["Condition"] == "CreateMonitoringDashboard"
    assert ewa["Outputs"]["DashboardUrl"]["Condition"] == "CreateMonitoringDashboard"


def test_backup_covers_the_database_and_tagged_volumes(ewa: Template) -> None:
    selections = properties(ewa, "AWS::Backup::BackupSelection")
    text = json.dumps(selections)
    assert "DatabaseF44359DD" in text and "Bastion2B4CEC30" in text
    assert '"ConditionKey": "Backup"' in text or "ListOfTags" in text
    launch_templates = properties(ewa, "AWS::EC2::LaunchTemplate")
    for template in launch_templates:
        volume_tags = [
            spec
            for spec in template["LaunchTemplateData"].get("TagSpecifications", [])
            if spec["ResourceType"] == "volume"
        ]
        assert any({"Key": "Backup", "Value": "true"} in s["Tags"] for s in volume_tags)
