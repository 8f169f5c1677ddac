"""SecureBucket and LifecyclePolicy: the storage controls hold by default.

Controls: S3-01 (public access, ownership, versioning, encryption), S3-02 (access logging), S3-03
(lifecycle), S3-04 (immutable log buckets, conditioned service writes), ENC-03, ENC-04 (TLS-only
bucket policies), RES-02 (Retain).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import CfnElement
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib.acknowledgments import logical_id
from constructs_lib.encryption import EncryptionKey
from constructs_lib.storage import LifecyclePolicy, SecureBucket
from tests.support import cdk_json_context, new_stack

SSE_S3_REASON = "S3 server access logging delivers only to buckets encrypted with SSE-S3"
DEPLOYER_ARN = "arn:aws:iam::111122223333:role/Deployer"
SOURCE_ARN = "arn:aws:logs:us-east-1:111122223333:*"


@dataclass(frozen=True)
class Built:
    template: Template
    resources: dict[str, Any]
    key: str
    logs: str
    data: str
    plain: str
    locked: str
    reader: str

    def bucket(self, bucket_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resources[bucket_id]["Properties"]
        return properties

    def policy(self, bucket_id: str) -> list[dict[str, Any]]:
        (policy,) = [
            r["Properties"]["PolicyDocument"]["Statement"]
            for r in self.resources.values()
            if r["Type"] == "AWS::S3::BucketPolicy"
            and r["Properties"]["Bucket"] == {"Ref": bucket_id}
        ]
        statements: list[dict[str, Any]] = policy
        return statements

    def statement(self, bucket_id: str, sid: str) -> dict[str, Any]:
        (statement,) = [s for s in self.policy(bucket_id) if s.get("Sid") == sid]
        return statement


def _fast_app() -> cdk.App:
    """The project's cdk.json context without the built-in CloudFormation validation."""
    return cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


def _arn(bucket_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [bucket_id, "Arn"]}


def _objects(bucket_id: str, suffix: str = "/*") -> dict[str, Any]:
    return {"Fn::Join": ["", [_arn(bucket_id), suffix]]}


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


@pytest.fixture(scope="module")
def built() -> Built:
    stack = new_stack(_fast_app())
    key = EncryptionKey(stack, "Key", alias="data", description="Bucket key", services=["s3"])
    logs = SecureBucket(
        stack,
        "AccessLogs",
        access_log_destination=True,
        s3_managed_encryption_reason=SSE_S3_REASON,
        immutable=True,
    )
    data = SecureBucket(
        stack,
        "Data",
        encryption_key=key.key,
        server_access_logs_bucket=logs.bucket,
        server_access_logs_prefix="data/",
        lifecycle=LifecyclePolicy(
            glacier_after_days=180,
            expire_after_days=365,
            noncurrent_expire_after_days=60,
            abort_multipart_after_days=3,
        ),
    )
    data.allow_service_write(
        "LogDelivery", "delivery.logs.amazonaws.com", source_arn=SOURCE_ARN, key_prefix="AWSLogs/*"
    )
    plain = SecureBucket(
        stack, "Plain", encryption_key=key.key, server_access_logs_bucket=logs.bucket
    )
    plain.allow_service_write("Config", "config.amazonaws.com", read_acl=False)
    locked = SecureBucket(
        stack,
        "Locked",
        encryption_key=key.key,
        server_access_logs_bucket=logs.bucket,
        immutable=True,
        policy_administrator_arns=[DEPLOYER_ARN],
        object_lock_retention_days=365,
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    data.grant_read(reader)
    template = Template.from_stack(stack)
    return Built(
        template=template,
        resources=template.to_json()["Resources"],
        key=logical_id(key.key),
        logs=logical_id(logs.bucket),
        data=logical_id(data.bucket),
        plain=logical_id(plain.bucket),
        locked=logical_id(locked.bucket),
        reader=logical_id(reader),
    )


# ---- S3-01 --------------------------------------------------------------------------------------
def test_every_bucket_blocks_all_public_access(built: Built) -> None:
    built.template.resource_count_is("AWS::S3::Bucket", 4)
    built.template.all_resources_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }
        },
    )


def test_every_bucket_enforces_ownership_and_versions(built: Built) -> None:
    built.template.all_resources_properties(
        "AWS::S3::Bucket",
        {
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
        },
    )


def test_sse_kms_with_the_key_and_a_bucket_key(built: Built) -> None:
    for bucket_id in (built.data, built.plain, built.locked):
        assert built.bucket(bucket_id)["BucketEncryption"] == {
            "ServerSideEncryptionConfiguration": [
                {
                    "BucketKeyEnabled": True,
                    "ServerSideEncryptionByDefault": {
                        "KMSMasterKeyID": {"Fn::GetAtt": [built.key, "Arn"]},
                        "SSEAlgorithm": "aws:kms",
                    },
                }
            ]
        }


def test_sse_s3_only_where_a_reason_was_given(built: Built) -> None:
    sse_s3 = [
        bucket_id
        for bucket_id, resource in built.resources.items()
        if resource["Type"] == "AWS::S3::Bucket"
        and resource["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "AES256"
    ]
    assert sse_s3 == [built.logs]


# ---- ENC-04 -------------------------------------------------------------------------------------
def test_every_bucket_policy_denies_plain_http_and_old_tls(built: Built) -> None:
    for bucket_id in (built.logs, built.data, built.plain, built.locked):
        everything = [_arn(bucket_id), _objects(bucket_id)]
        denies = [s for s in built.policy(bucket_id) if s["Effect"] == "Deny"]
        assert {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": everything,
        } in denies, bucket_id
        assert {
            "Action": "s3:*",
            "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": everything,
        } in denies, bucket_id


# ---- S3-02 --------------------------------------------------------------------------------------
def test_server_access_logs_go_to_the_log_bucket(built: Built) -> None:
    assert built.bucket(built.data)["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": built.logs},
        "LogFilePrefix": "data/",
    }
    for bucket_id in (built.plain, built.locked):
        assert built.bucket(bucket_id)["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": built.logs}
        }
    assert "LoggingConfiguration" not in built.bucket(built.logs)


def test_log_bucket_accepts_access_logs_only_from_the_logged_buckets(built: Built) -> None:
    deliveries = [
        s
        for s in built.policy(built.logs)
        if s["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    ]
    for delivery in deliveries:
        assert delivery["Effect"] == "Allow"
        assert delivery["Action"] == "s3:PutObject"
        assert delivery["Condition"]["StringEquals"] == {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
        }
    sources = [d["Condition"]["ArnLike"]["aws:SourceArn"] for d in deliveries]
    assert sorted(map(str, sources)) == sorted(
        str(_arn(bucket_id)) for bucket_id in (built.data, built.plain, built.locked)
    )


# ---- S3-03 --------------------------------------------------------------------------------------
def test_default_lifecycle_tiers_expires_noncurrent_and_aborts_uploads(built: Built) -> None:
    for bucket_id in (built.logs, built.plain, built.locked):
        assert built.bucket(bucket_id)["LifecycleConfiguration"] == {
            "Rules": [
                {
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                    "Id": "TierExpireAndCleanUp",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                    "Status": "Enabled",
                    "Transitions": [
                        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
                        {"StorageClass": "GLACIER", "TransitionInDays": 90},
                    ],
                }
            ]
        }


def test_custom_lifecycle(built: Built) -> None:
    (rule,) = built.bucket(built.data)["LifecycleConfiguration"]["Rules"]
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        {"StorageClass": "GLACIER", "TransitionInDays": 180},
    ]
    assert rule["ExpirationInDays"] == 365
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 60}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}


def test_lifecycle_without_glacier_has_one_transition() -> None:
    (rule,) = LifecyclePolicy(glacier_after_days=None).rules()
    assert rule.transitions is not None
    assert [t.storage_class.value for t in rule.transitions] == [
        s3.StorageClass.INFREQUENT_ACCESS.value
    ]
    assert rule.expiration is None


# ---- RES-02 -------------------------------------------------------------------------------------
def test_buckets_are_retained(built: Built) -> None:
    built.template.all_resources(
        "AWS::S3::Bucket", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )


# ---- S3-04 --------------------------------------------------------------------------------------
def test_immutable_bucket_denies_deletion_to_everyone(built: Built) -> None:
    for bucket_id in (built.logs, built.locked):
        deny = built.statement(bucket_id, "DenyLogDeletion")
        assert deny["Effect"] == "Deny"
        assert deny["Principal"] == {"AWS": "*"}
        assert _actions(deny) == {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"}
        assert deny["Resource"] == [_arn(bucket_id), _objects(bucket_id)]
        assert "Condition" not in deny


def test_immutable_bucket_denies_policy_and_lifecycle_changes_except_administrators(
    built: Built,
) -> None:
    default_admin = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":iam::",
                {"Ref": "AWS::AccountId"},
                ":role/cdk-*-cfn-exec-role-",
                {"Ref": "AWS::AccountId"},
                "-*",
            ],
        ]
    }
    for bucket_id, administrators in (
        (built.logs, [default_admin]),
        (built.locked, [DEPLOYER_ARN]),
    ):
        deny = built.statement(bucket_id, "DenyRetentionTampering")
        assert deny["Effect"] == "Deny"
        assert deny["Principal"] == {"AWS": "*"}
        assert {
            "s3:PutBucketPolicy",
            "s3:DeleteBucketPolicy",
            "s3:PutLifecycleConfiguration",
            "s3:PutBucketVersioning",
        } <= _actions(deny)
        assert deny["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": administrators}}


def test_mutable_bucket_has_no_tamper_denies(built: Built) -> None:
    sids = {s.get("Sid") for s in built.policy(built.plain)}
    assert not {"DenyLogDeletion", "DenyRetentionTampering"} & sids


def test_service_write_is_conditioned_on_account_and_source(built: Built) -> None:
    conditions = {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": SOURCE_ARN},
    }
    principal = {"Service": "delivery.logs.amazonaws.com"}
    acl = built.statement(built.data, "LogDeliveryAclCheck")
    assert acl == {
        "Action": "s3:GetBucketAcl",
        "Condition": conditions,
        "Effect": "Allow",
        "Principal": principal,
        "Resource": _arn(built.data),
        "Sid": "LogDeliveryAclCheck",
    }
    write = built.statement(built.data, "LogDeliveryWrite")
    assert write == {
        "Action": "s3:PutObject",
        "Condition": conditions,
        "Effect": "Allow",
        "Principal": principal,
        "Resource": _objects(built.data, "/AWSLogs/*"),
        "Sid": "LogDeliveryWrite",
    }


def test_service_write_without_source_arn_or_acl_check(built: Built) -> None:
    sids = {s.get("Sid") for s in built.policy(built.plain)}
    assert "ConfigAclCheck" not in sids
    write = built.statement(built.plain, "ConfigWrite")
    assert write["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert write["Resource"] == _objects(built.plain)


def test_object_lock_with_governance_default_retention(built: Built) -> None:
    locked = built.bucket(built.locked)
    assert locked["ObjectLockEnabled"] is True
    assert locked["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Days": 365, "Mode": "GOVERNANCE"}},
    }
    for bucket_id in (built.logs, built.data, built.plain):
        assert "ObjectLockEnabled" not in built.bucket(bucket_id)


def test_grant_read_covers_objects_and_key(built: Built) -> None:
    (policy,) = [
        r["Properties"]
        for r in built.resources.values()
        if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"] == [{"Ref": built.reader}]
    ]
    statements = policy["PolicyDocument"]["Statement"]
    s3_read = next(s for s in statements if "s3:GetObject*" in _actions(s))
    assert s3_read["Resource"] == [_arn(built.data), _objects(built.data)]
    kms_read = next(s for s in statements if "kms:Decrypt" in _actions(s))
    assert kms_read["Resource"] == {"Fn::GetAtt": [built.key, "Arn"]}


# ---- bad input ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scratch() -> tuple[cdk.Stack, EncryptionKey, SecureBucket]:
    """A stack that is never synthesized, for arguments that must fail early."""
    stack = new_stack(_fast_app())
    key = EncryptionKey(stack, "Key", alias="scratch", description="scratch key")
    logs = SecureBucket(
        stack, "Logs", access_log_destination=True, s3_managed_encryption_reason=SSE_S3_REASON
    )
    return stack, key, logs


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"encryption_key": None}, r"SecureBucket: encryption_key=None is invalid; pass a custom"),
        (
            {"encryption_key": None, "s3_managed_encryption_reason": "ALB needs it"},
            r"SecureBucket: s3_managed_encryption_reason='ALB needs it' is invalid; say which",
        ),
        (
            {"server_access_logs_bucket": None},
            r"SecureBucket: server_access_logs_bucket=None is invalid; pass the dedicated",
        ),
        (
            {"access_log_destination": True},
            r"SecureBucket: access_log_destination=True is invalid; .*drop one argument",
        ),
        (
            {
                "server_access_logs_bucket": None,
                "access_log_destination": True,
                "object_lock_retention_days": 30,
            },
            r"SecureBucket: object_lock_retention_days=30 is invalid; S3 server access logging",
        ),
        (
            {"object_lock_retention_days": 0},
            r"SecureBucket: object_lock_retention_days=0 is invalid; use a value between 1 and",
        ),
        (
            {"immutable": True, "policy_administrator_arns": []},
            r"SecureBucket: policy_administrator_arns=\[\] is invalid; name at least the role",
        ),
        (
            {"lifecycle": LifecyclePolicy(glacier_after_days=45)},
            r"LifecyclePolicy: glacier_after_days=45 is invalid; use at least 30 days more",
        ),
    ],
)
def test_bad_bucket_arguments_raise_before_anything_is_created(
    scratch: tuple[cdk.Stack, EncryptionKey, SecureBucket],
    arguments: dict[str, Any],
    message: str,
) -> None:
    stack, key, logs = scratch
    settings: dict[str, Any] = {
        "encryption_key": key.key,
        "server_access_logs_bucket": logs.bucket,
        **arguments,
    }
    construct_id = f"Bad{len(stack.node.children)}"
    with pytest.raises(ValueError, match=message):
        SecureBucket(stack, construct_id, **settings)
    created = stack.node.find_child(construct_id).node.find_all()
    assert not [c for c in created if isinstance(c, CfnElement)], "created before validating"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"glacier_after_days": 59},
            r"LifecyclePolicy: glacier_after_days=59 is invalid; use at least 30 days more than",
        ),
        (
            {"expire_after_days": 60},
            r"LifecyclePolicy: expire_after_days=60 is invalid; use more than 90 days",
        ),
        (
            {"glacier_after_days": None, "expire_after_days": 30},
            r"LifecyclePolicy: expire_after_days=30 is invalid; use more than 30 days",
        ),
        (
            {"infrequent_access_after_days": 10},
            r"LifecyclePolicy: infrequent_access_after_days=10 is invalid; use a value between 30",
        ),
        (
            {"noncurrent_expire_after_days": 0},
            r"LifecyclePolicy: noncurrent_expire_after_days=0 is invalid",
        ),
        (
            {"abort_multipart_after_days": 31},
            r"LifecyclePolicy: abort_multipart_after_days=31 is invalid",
        ),
    ],
)
def test_impossible_lifecycle_raises(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LifecyclePolicy(**arguments).validate()
