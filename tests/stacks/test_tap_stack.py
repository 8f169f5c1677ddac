"""TapStack (seed 002): every control of its SPEC 2.3 profile, snapshot, pinned IDs.

Every test reads the template that ``cdk synth`` writes (the session fixture), never a
re-synthesized copy, so what is proven here is what ships. The per-control assertions live in
``tests/stacks/control_assertions.py``; this module says what TapStack promises.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from controls.profiles import PROFILES
from tests.stacks.control_assertions import Expectations, check
from tests.stacks.queries import resources
from tests.stacks.snapshots import masked

Template = dict[str, Any]

#: Stateful resources whose logical IDs must never change by accident: a new ID replaces the
#: resource (a new, empty database or bucket). Renaming one is a migration, not a refactor.
PINNED_STATEFUL_IDS = {
    "AWS::KMS::Key": {"DataKey5CEB6F76"},
    "AWS::S3::Bucket": {
        "AccessLogsBucketFA218D2A",
        "AlbLogsBucket698B8C8C",
        "ConfigBucketE7CC15D9",
        "FlowLogsBucket9AC74A68",
        "TrailBucketFC732D74",
    },
    "AWS::RDS::DBInstance": {"DatabaseF44359DD"},
    "AWS::SecretsManager::Secret": {"DatabaseSecret3B817195"},
    "AWS::SQS::Queue": {
        "AlarmTopicDeadLetterQueueD25B3C4C",
        "NetworkDefaultSgHandlerDeadLetterQueue668E8BF0",
    },
    "AWS::Logs::LogGroup": {
        "AppFleetLogGroup7019B4FF",
        "AuditTrailLogGroup28BB9333",
        "DatabaseAuditLog0F81DE5F",
        "DatabaseErrorLog7CF11521",
        "DatabaseGeneralLog88AB7C89",
        "DatabaseSlowqueryLog5BF892D0",
        "NetworkDefaultSgHandlerLogGroup05C3597D",
        "NetworkFlowLogGroup4F8CEEEF",
        "WebAclLogs68403EB9",
    },
}


@pytest.fixture(scope="module")
def tap(templates: dict[str, Template]) -> Template:
    return templates["TapStack"]


# ---- snapshot and pinned identities -------------------------------------------------------------
def test_template_snapshot(tap: Template, snapshot: SnapshotAssertion) -> None:
    assert masked(tap) == snapshot


@pytest.mark.parametrize("resource_type", sorted(PINNED_STATEFUL_IDS))
def test_stateful_logical_ids_are_pinned(tap: Template, resource_type: str) -> None:
    assert set(resources(tap, resource_type)) == PINNED_STATEFUL_IDS[resource_type]


#: The 13 outputs seed 002's ideal template exports (SPEC 2.3).
TAP_STACK_OUTPUTS = (
    "VPCId",
    "PublicSubnet1Id",
    "PublicSubnet2Id",
    "PrivateSubnet1Id",
    "PrivateSubnet2Id",
    "ApplicationLoadBalancerDNS",
    "RDSInstanceEndpoint",
    "AutoScalingGroupName",
    "LaunchTemplateId",
    "KMSKeyId",
    "SNSTopicArn",
    "StackName",
    "EnvironmentSuffix",
)

EXPECTATIONS = Expectations(
    parameters=frozenset(
        {"EnvironmentSuffix", "InstanceCount", "CertificateArn", "AlertEmail", "AlertWebhookUrl"}
    ),
    conditions=frozenset({"HasCertificate", "HasAlertEmail", "HasAlertWebhook"}),
    outputs=frozenset(TAP_STACK_OUTPUTS),
    names={
        "AWS::EC2::VPC": "tap-vpc-${EnvironmentSuffix}",
        "AWS::RDS::DBInstance": "tap-db-${EnvironmentSuffix}",
        "AWS::ElasticLoadBalancingV2::LoadBalancer": "tap-alb-${EnvironmentSuffix}",
        "AWS::SNS::Topic": "tap-alarms-${EnvironmentSuffix}",
    },
    service_roles=frozenset(
        {
            "monitoring.rds.amazonaws.com",
            "vpc-flow-logs.amazonaws.com",
            "config.amazonaws.com",
            "cloudtrail.amazonaws.com",
        }
    ),
)


@pytest.mark.parametrize("control", PROFILES["TapStack"])
def test_control(tap: Template, control: str) -> None:
    check(control, tap, EXPECTATIONS)


def test_instance_count_parameter_drives_the_fleet(tap: Template) -> None:
    parameter = tap["Parameters"]["InstanceCount"]
    assert parameter["Type"] == "Number" and parameter["MinValue"] >= 2
    [group] = resources(tap, "AWS::AutoScaling::AutoScalingGroup").values()
    assert group["Properties"]["DesiredCapacity"] == {"Ref": "InstanceCount"}


def test_mysql_8_0_is_the_engine(tap: Template) -> None:
    [db] = resources(tap, "AWS::RDS::DBInstance").values()
    assert re.fullmatch(r"8\.0\.\d+", db["Properties"]["EngineVersion"])


def test_one_key_covers_every_store(tap: Template) -> None:
    """Seed 002 asks for one customer key for EBS, S3, CloudWatch Logs, SNS and RDS."""
    [key_id] = resources(tap, "AWS::KMS::Key")
    text = json.dumps(tap["Resources"])
    for store in ("AWS::RDS::DBInstance", "AWS::SNS::Topic", "AWS::Logs::LogGroup"):
        for resource in resources(tap, store).values():
            assert key_id in json.dumps(resource["Properties"]), store
    assert text.count(key_id) > 20
