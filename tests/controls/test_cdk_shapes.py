"""The checks on real CDK output shapes.

``data/cdk_shape.template.json`` was synthesized once with aws-cdk-lib 2.275.0 and this repo's
``cdk.json`` context from a throwaway stack (it is data, no CDK runs in these tests)::

    key = kms.Key(st, "Key", enable_key_rotation=True, alias="alias/shape")
    vpc = ec2.Vpc(st, "Vpc", max_azs=2, nat_gateways=2, subnet_configuration=[public, app, data])
    vpc.add_flow_log(... to_cloud_watch_logs(encrypted log group) ...); ... to_s3(bucket) ...
    rds.DatabaseInstance(..., Credentials.from_generated_secret(encryption_key=key),
                         parameters={"require_secure_transport": "ON"}, multi_az=True, ...)
    db.add_rotation_single_user(); db.connections.allow_default_port_from(app_sg)
    ec2.LaunchTemplate(..., require_imdsv2=True, http_endpoint=True, hop limit 1, gp3+CMK)
    autoscaling.AutoScalingGroup(..., health_check=HealthCheck.elb(...), signals=..., ...)
    elbv2.ApplicationLoadBalancer(...).add_listener("Http", port=80); cloudtrail.Trail(...)
    lambda_.Function(..., environment_encryption=key, tracing=ACTIVE); BackupPlan...

Auditing the synthesized reference stacks against their profiles belongs to ``tests/stacks``
(a session fixture synthesizes every stack), not here: a test that skips when ``cdk.out`` is
missing can never fail in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controls import evaluate, load_template
from controls.model import Status

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def report():
    return {
        r.control.id: r for r in evaluate(load_template(DATA / "cdk_shape.template.json")).results
    }


def _messages(result) -> str:
    return "\n".join(item.render() for item in result.outcome.items)


@pytest.mark.parametrize(
    "control_id",
    [
        "NET-01",
        "NET-02",
        "NET-03",
        "NET-04",
        "ENC-01",
        "CMP-01",
        "CMP-02",
        "CMP-03",
        "CMP-04",
        "DB-01",
        "DB-02",
        "DB-03",
        "DB-05",
        "DB-06",
        "DB-08",
        "DB-09",
        "IAM-05",
        "IAM-06",
    ],
)
def test_cdk_defaults_that_meet_the_control(report, control_id):
    assert report[control_id].status is Status.PASS, _messages(report[control_id])


def test_cdk_shapes_read_correctly(report):
    # AZs via Fn::Select/Fn::GetAZs, NAT per AZ, isolated tables, Fn::Join secretsmanager refs
    assert "AZ GetAZs[1]" in _messages(report["NET-01"])
    assert "same AZ (GetAZs[1])" in _messages(report["NET-03"])
    assert "rotated automatically" in _messages(report["DB-01"])
    assert "ImageId from SSM public parameter /aws/service/" in _messages(report["CMP-01"])


def test_findings_on_cdk_defaults(report):
    # allow_all_outbound=False plus a separate egress rule: no inline egress, so CloudFormation
    # keeps the default allow-all rule
    assert "AppSg898BCA4E: app-tier group declares no SecurityGroupEgress" in _messages(
        report["NET-06"]
    )
    assert "grants kms:* to AWS: arn:aws:iam::${AWS::AccountId}:root" in _messages(report["ENC-02"])
    assert "delivery.logs.amazonaws.com may s3:PutObject without" in _messages(report["S3-04"])
    assert "TrailS30071F172: no default encryption configured" in _messages(report["ENC-03"])
    assert "DeletionPolicy Delete" in _messages(report["RES-02"])  # generated DB secret
    assert report["IAM-01"].status is Status.UNKNOWN  # acknowledgments live in the assembly
