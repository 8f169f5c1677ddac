"""AuditTrail and ConfigRecorder, plus the nag/cfn-lint gate on the composed audit constructs.

Controls: LOG-01 (CloudTrail), LOG-02 (AWS Config), LOG-03 (log group CMK + retention), IAM-06
(service roles), S3-04 (service writes conditioned on the source).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_config as config
from aws_cdk.assertions import Template

from constructs_lib.acknowledgments import logical_id
from constructs_lib.audit import CATALOGUE_MANAGED_RULES, AuditTrail, ConfigRecorder
from constructs_lib.encryption import EncryptionKey
from constructs_lib.monitoring import (
    AlarmSpec,
    AlarmTopic,
    OperationsDashboard,
    error_rate_percent,
)
from constructs_lib.storage import SecureBucket
from tests.support import cdk_json_context, nag_findings, new_stack

SSE_S3_REASON = "S3 server access logging delivers only to buckets encrypted with SSE-S3"

TRAIL_ARNS = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":cloudtrail:*:",
            {"Ref": "AWS::AccountId"},
            ":trail/*",
        ],
    ]
}
THIS_ACCOUNT = {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def _fast_app() -> cdk.App:
    """The project's cdk.json context without the built-in CloudFormation validation."""
    return cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


@dataclass(frozen=True)
class AuditBase:
    key: EncryptionKey
    access_logs: SecureBucket
    trail_bucket: SecureBucket


def _audit_base(stack: cdk.Stack) -> AuditBase:
    key = EncryptionKey(stack, "Key", alias="audit", description="Audit logs", services=["s3"])
    access_logs = SecureBucket(
        stack,
        "AccessLogs",
        access_log_destination=True,
        s3_managed_encryption_reason=SSE_S3_REASON,
        immutable=True,
    )
    trail_bucket = SecureBucket(
        stack,
        "TrailBucket",
        encryption_key=key.key,
        server_access_logs_bucket=access_logs.bucket,
        immutable=True,
    )
    return AuditBase(key=key, access_logs=access_logs, trail_bucket=trail_bucket)


@dataclass(frozen=True)
class Built:
    resources: dict[str, Any]
    variants: dict[str, Any]
    ids: dict[str, str]

    def of_type(self, resource_type: str, variants: bool = False) -> dict[str, Any]:
        resources = self.variants if variants else self.resources
        return {k: r for k, r in resources.items() if r["Type"] == resource_type}

    def props(self, name: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resources[self.ids[name]]["Properties"]
        return properties

    def bucket_statement(self, sid: str) -> dict[str, Any]:
        (policy,) = [
            p["Properties"]["PolicyDocument"]
            for p in self.of_type("AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": self.ids["trail_bucket"]}
        ]
        statements: list[dict[str, Any]] = policy["Statement"]
        (statement,) = [s for s in statements if s.get("Sid") == sid]
        return statement


@pytest.fixture(scope="module")
def built() -> Built:
    app = _fast_app()
    stack = new_stack(app)
    base = _audit_base(stack)
    trail = AuditTrail(
        stack,
        "Trail",
        bucket=base.trail_bucket,
        encryption_key=base.key,
        lambda_data_events=True,
        dynamodb_data_events=True,
    )
    recorder = ConfigRecorder(stack, "Config", bucket=base.trail_bucket, encryption_key=base.key)
    assert recorder.recorder is not None and recorder.delivery_channel is not None
    assert recorder.role is not None and recorder.delivery_policy is not None
    assert base.trail_bucket.bucket.policy is not None

    variants = new_stack(app, "Variants")
    other = _audit_base(variants)
    AuditTrail(variants, "DefaultTrail", bucket=other.trail_bucket, encryption_key=other.key)
    AuditTrail(
        variants,
        "ManagementOnly",
        bucket=other.trail_bucket,
        encryption_key=other.key,
        s3_data_events=False,
    )
    ConfigRecorder(
        variants,
        "RulesOnly",
        bucket=other.trail_bucket,
        encryption_key=other.key,
        managed_rules=[config.ManagedRuleIdentifiers.CLOUD_TRAIL_ENABLED],
        create_recorder=False,
    )
    return Built(
        resources=Template.from_stack(stack).to_json()["Resources"],
        variants=Template.from_stack(variants).to_json()["Resources"],
        ids={
            "key": logical_id(base.key.key),
            "trail_bucket": logical_id(base.trail_bucket.bucket),
            "trail_bucket_policy": logical_id(base.trail_bucket.bucket.policy),
            "trail": logical_id(trail.trail),
            "log_group": logical_id(trail.log_group),
            "log_role": logical_id(trail.log_role),
            "log_policy": logical_id(trail.log_delivery_policy),
            "recorder": logical_id(recorder.recorder),
            "config_role": logical_id(recorder.role),
            "delivery_channel": logical_id(recorder.delivery_channel),
            "delivery_policy": logical_id(recorder.delivery_policy),
        },
    )


# ---- LOG-01 CloudTrail --------------------------------------------------------------------------
def test_trail_is_multi_region_global_validated_and_encrypted(built: Built) -> None:
    trail = built.props("trail")
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["EnableLogFileValidation"] is True
    assert trail["IsLogging"] is True
    assert trail["KMSKeyId"] == {"Fn::GetAtt": [built.ids["key"], "Arn"]}
    assert trail["S3BucketName"] == {"Ref": built.ids["trail_bucket"]}


def test_trail_streams_to_an_encrypted_retained_log_group(built: Built) -> None:
    trail = built.props("trail")
    assert trail["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [built.ids["log_group"], "Arn"]}
    assert trail["CloudWatchLogsRoleArn"] == {"Fn::GetAtt": [built.ids["log_role"], "Arn"]}
    log_group = built.resources[built.ids["log_group"]]
    assert log_group["Properties"] == {
        "KmsKeyId": {"Fn::GetAtt": [built.ids["key"], "Arn"]},
        "RetentionInDays": 365,
    }
    assert log_group["DeletionPolicy"] == log_group["UpdateReplacePolicy"] == "Retain"


def test_every_log_group_has_a_cmk_and_retention(built: Built) -> None:
    for resources in (built.resources, built.variants):
        groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
        assert groups
        for group in groups:
            assert "KmsKeyId" in group["Properties"]
            assert "RetentionInDays" in group["Properties"]


def test_log_role_is_for_cloudtrail_with_a_managed_policy_only(built: Built) -> None:
    role = built.props("log_role")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": THIS_ACCOUNT},
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
        }
    ]
    assert "Policies" not in role
    assert not built.of_type("AWS::IAM::Policy"), "inline policies"
    policy = built.props("log_policy")
    assert policy["Roles"] == [{"Ref": built.ids["log_role"]}]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [built.ids["log_group"], "Arn"]},
        }
    ]


def _selectors(trail: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {s["Name"]: s["FieldSelectors"] for s in trail["Properties"]["AdvancedEventSelectors"]}


def test_event_selectors_management_s3_lambda_dynamodb(built: Built) -> None:
    selectors = _selectors(built.resources[built.ids["trail"]])
    data = {"Field": "eventCategory", "Equals": ["Data"]}
    assert selectors == {
        "Management events": [{"Field": "eventCategory", "Equals": ["Management"]}],
        "S3 object events except the trail's own bucket": [
            data,
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {
                "Field": "resources.ARN",
                "NotStartsWith": [
                    {"Fn::Join": ["", [{"Fn::GetAtt": [built.ids["trail_bucket"], "Arn"]}, "/"]]}
                ],
            },
        ],
        "Lambda invocations": [
            data,
            {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]},
        ],
        "DynamoDB item events": [
            data,
            {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]},
        ],
    }


def test_event_selectors_follow_the_flags(built: Built) -> None:
    by_trail = {
        logical: sorted(_selectors(trail))
        for logical, trail in built.of_type("AWS::CloudTrail::Trail", variants=True).items()
    }
    assert sorted(by_trail.values()) == [
        ["Management events"],
        ["Management events", "S3 object events except the trail's own bucket"],
    ]


def test_trail_waits_for_bucket_policy_and_log_delivery_policy(built: Built) -> None:
    depends = built.resources[built.ids["trail"]]["DependsOn"]
    assert built.ids["trail_bucket_policy"] in depends
    assert built.ids["log_policy"] in depends


def test_bucket_policy_lets_only_this_accounts_trails_write(built: Built) -> None:
    conditions = {"StringEquals": THIS_ACCOUNT, "ArnLike": {"aws:SourceArn": TRAIL_ARNS}}
    acl = built.bucket_statement("CloudTrailAclCheck")
    assert acl["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert acl["Action"] == "s3:GetBucketAcl"
    assert acl["Condition"] == conditions
    write = built.bucket_statement("CloudTrailWrite")
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Action"] == "s3:PutObject"
    assert write["Condition"] == conditions
    assert write["Resource"] == {
        "Fn::Join": [
            "",
            [
                {"Fn::GetAtt": [built.ids["trail_bucket"], "Arn"]},
                "/AWSLogs/",
                {"Ref": "AWS::AccountId"},
                "/*",
            ],
        ]
    }


def test_key_policy_lets_cloudtrail_encrypt_only_for_this_accounts_trails(built: Built) -> None:
    statements = built.props("key")["KeyPolicy"]["Statement"]
    (encrypt,) = [s for s in statements if s.get("Sid") == "CloudTrailEncryptLogs"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Condition"] == {
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": TRAIL_ARNS},
        "StringEquals": THIS_ACCOUNT,
    }
    assert "CloudWatchLogs" in {s.get("Sid") for s in statements}


# ---- LOG-02 AWS Config --------------------------------------------------------------------------
def test_recorder_records_all_supported_and_global_types(built: Built) -> None:
    assert built.props("recorder") == {
        "RecordingGroup": {"AllSupported": True, "IncludeGlobalResourceTypes": True},
        "RoleARN": {"Fn::GetAtt": [built.ids["config_role"], "Arn"]},
    }


def test_config_role_uses_aws_config_role(built: Built) -> None:
    role = built.props("config_role")
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWS_ConfigRole"],
            ]
        }
    ]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "config.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": THIS_ACCOUNT}
    assert "Policies" not in role
    delivery = built.props("delivery_policy")
    assert delivery["Roles"] == [{"Ref": built.ids["config_role"]}]


def test_delivery_channel_encrypts_with_the_key(built: Built) -> None:
    channel = built.resources[built.ids["delivery_channel"]]
    assert channel["Properties"]["S3KmsKeyArn"] == {"Fn::GetAtt": [built.ids["key"], "Arn"]}
    assert channel["Properties"]["S3BucketName"] == {"Ref": built.ids["trail_bucket"]}
    assert built.ids["recorder"] in channel["DependsOn"]
    assert built.ids["trail_bucket_policy"] in channel["DependsOn"]


def test_bucket_policy_lets_config_write_from_this_account(built: Built) -> None:
    write = built.bucket_statement("AwsConfigWrite")
    assert write["Principal"] == {"Service": "config.amazonaws.com"}
    assert write["Condition"] == {"StringEquals": THIS_ACCOUNT}
    assert built.bucket_statement("AwsConfigAclCheck")["Condition"] == {
        "StringEquals": THIS_ACCOUNT
    }


def test_catalogue_rules_depend_on_the_recorder(built: Built) -> None:
    rules = built.of_type("AWS::Config::ConfigRule")
    identifiers = sorted(r["Properties"]["Source"]["SourceIdentifier"] for r in rules.values())
    assert identifiers == sorted(CATALOGUE_MANAGED_RULES)
    for rule in rules.values():
        assert rule["Properties"]["Source"]["Owner"] == "AWS"
        assert rule["DependsOn"] == [built.ids["recorder"]]


def test_without_recorder_only_the_rules_remain(built: Built) -> None:
    assert not built.of_type("AWS::Config::ConfigurationRecorder", variants=True)
    assert not built.of_type("AWS::Config::DeliveryChannel", variants=True)
    (rule,) = built.of_type("AWS::Config::ConfigRule", variants=True).values()
    assert rule["Properties"]["Source"]["SourceIdentifier"] == "CLOUD_TRAIL_ENABLED"
    assert "DependsOn" not in rule
    roles = built.of_type("AWS::IAM::Role", variants=True).values()
    assert all(
        "config" not in json.dumps(r["Properties"]["AssumeRolePolicyDocument"]) for r in roles
    )
    assert "AwsConfig" not in json.dumps(built.of_type("AWS::S3::BucketPolicy", variants=True))


def test_rules_only_without_rules_is_refused() -> None:
    stack = new_stack(_fast_app())
    base = _audit_base(stack)
    with pytest.raises(
        ValueError, match=r"ConfigRecorder: managed_rules=\[\] is invalid; with create_recorder"
    ):
        ConfigRecorder(
            stack,
            "Nothing",
            bucket=base.trail_bucket,
            encryption_key=base.key,
            managed_rules=(),
            create_recorder=False,
        )


# ---- gates on the composed audit and alerting constructs ---------------------------------------
def _compose(stack: cdk.Stack) -> None:
    base = _audit_base(stack)
    AuditTrail(stack, "Trail", bucket=base.trail_bucket, encryption_key=base.key)
    ConfigRecorder(stack, "Config", bucket=base.trail_bucket, encryption_key=base.key)
    topic = AlarmTopic(stack, "Alarms", encryption_key=base.key)
    topic.add_email_subscription("ops@example.com")
    errors = cloudwatch.Metric(
        namespace="AWS/ApplicationELB", metric_name="HTTPCode_Target_5XX_Count", statistic="Sum"
    )
    requests = cloudwatch.Metric(
        namespace="AWS/ApplicationELB", metric_name="RequestCount", statistic="Sum"
    )
    alarm = topic.create_alarm(
        stack,
        "ErrorRate",
        AlarmSpec(
            metric=error_rate_percent(errors, requests),
            threshold=5,
            description="More than 5% of requests fail with 5xx; check the targets' logs",
        ),
    )
    OperationsDashboard(stack, "Dashboard", graphs={"Traffic": [requests, errors]}, alarms=[alarm])


@pytest.fixture(scope="module")
def gated() -> tuple[list[str], str]:
    """Nag findings of the composed stack and its synthesized template (one gated synth)."""
    stacks: list[cdk.Stack] = []

    def build(stack: cdk.Stack) -> None:
        stacks.append(stack)
        _compose(stack)

    findings = nag_findings(build)
    (stack,) = stacks
    stage = cdk.Stage.of(stack)
    assert stage is not None
    template = (Path(stage.outdir) / stack.template_file).read_text()
    return findings, template


def test_composed_audit_stack_has_no_nag_findings(gated: tuple[list[str], str]) -> None:
    findings, _ = gated
    assert findings == []


def test_composed_audit_stack_passes_cfn_lint(gated: tuple[list[str], str]) -> None:
    from cfnlint.api import lint_all

    _, template = gated
    problems = [
        f"{match.rule.id} {match.message} at {'/'.join(map(str, match.path))}"
        for match in lint_all(template)
        if match.rule.severity in ("error", "warning")
    ]
    assert problems == []
