"""Log groups on their own key (a logs data domain) while data stays on the data key.

``HardenedFleet``, ``Bastion`` and ``SecureDatabase`` take ``log_encryption_key``;
``AuditTrail`` takes ``log_group_key``. Without them everything stays on the one key (the other
construct tests cover that default).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from constructs_lib.audit import AuditTrail
from constructs_lib.bastion import Bastion
from constructs_lib.compute import HardenedFleet
from constructs_lib.database import SecureDatabase
from constructs_lib.encryption import EncryptionKey
from constructs_lib.storage import SecureBucket
from tests.support import new_stack


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, Any], str, str]:
    stack = new_stack()
    data = EncryptionKey(
        stack, "DataKey", alias="data", description="data", services=["ec2", "rds"]
    )
    logs = EncryptionKey(stack, "LogsKey", alias="logs", description="logs", services=["s3"])
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    app = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
    HardenedFleet(
        stack,
        "Fleet",
        vpc=vpc,
        subnets=app,
        encryption_key=data.key,
        log_encryption_key=logs.key,
        alarm_topic=sns.Topic(stack, "Topic"),
    )
    Bastion(stack, "Bastion", vpc=vpc, encryption_key=data.key, log_encryption_key=logs.key)
    SecureDatabase(
        stack,
        "Db",
        vpc=vpc,
        encryption_key=data.key,
        log_encryption_key=logs.key,
        rotation_subnets=app,
    )
    access = SecureBucket(
        stack,
        "AccessLogs",
        access_log_destination=True,
        s3_managed_encryption_reason="S3 server access logging needs SSE-S3 buckets",
    )
    bucket = SecureBucket(
        stack, "TrailBucket", encryption_key=logs.key, server_access_logs_bucket=access.bucket
    )
    AuditTrail(stack, "Trail", bucket=bucket, encryption_key=data, log_group_key=logs)
    template = dict(Template.from_stack(stack).to_json())
    resolve = stack.resolve
    return (
        template,
        json.dumps(resolve(data.key.node.default_child.logical_id)),  # type: ignore[union-attr]
        json.dumps(resolve(logs.key.node.default_child.logical_id)),  # type: ignore[union-attr]
    )


def _of_type(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type]


def test_every_log_group_uses_the_logs_key(built: tuple[dict[str, Any], str, str]) -> None:
    template, data_id, logs_id = built
    groups = _of_type(template, "AWS::Logs::LogGroup")
    assert len(groups) >= 7  # fleet, bastion, four database exports, trail
    for group in groups:
        assert logs_id in json.dumps(group["KmsKeyId"]) and data_id not in json.dumps(group)


def test_data_stays_on_the_data_key(built: tuple[dict[str, Any], str, str]) -> None:
    template, data_id, _ = built
    for launch_template in _of_type(template, "AWS::EC2::LaunchTemplate"):
        for mapping in launch_template["LaunchTemplateData"]["BlockDeviceMappings"]:
            assert data_id in json.dumps(mapping["Ebs"]["KmsKeyId"])
    [db] = _of_type(template, "AWS::RDS::DBInstance")
    assert data_id in json.dumps(db["KmsKeyId"])
    [trail] = _of_type(template, "AWS::CloudTrail::Trail")
    assert data_id in json.dumps(trail["KMSKeyId"])


def test_only_the_logs_key_admits_cloudwatch_logs(built: tuple[dict[str, Any], str, str]) -> None:
    template, _, logs_id = built
    for key_id, key in template["Resources"].items():
        if key["Type"] != "AWS::KMS::Key":
            continue
        admits_logs = "logs.us-east-1.amazonaws.com" in json.dumps(key["Properties"]["KeyPolicy"])
        assert admits_logs == (json.dumps(key_id) == logs_id), key_id
