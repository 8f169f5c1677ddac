"""EncryptionKey: rotation, alias, retention and a separated, conditioned key policy.

Controls: ENC-01 (rotating CMK with an alias), ENC-02 (no ``kms:*`` beyond administration, usage
only through AWS services, conditioned service principals), RES-02 (Retain).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from constructs_lib.acknowledgments import logical_id
from constructs_lib.encryption import USAGE_ACTIONS, EncryptionKey
from tests.support import cdk_json_context, new_stack

#: Concrete cryptographic operations; an administrator must match none of them.
CRYPTO_OPERATIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
)

ADMIN_ROLE_ARN = "arn:aws:iam::111122223333:role/KeyAdministrators"


@dataclass(frozen=True)
class Built:
    template: Template
    resources: dict[str, Any]
    key_id: str
    bare_key_id: str
    alias_id: str
    user_role_id: str

    def statements(self, key_id: str) -> list[dict[str, Any]]:
        statements: list[dict[str, Any]] = self.resources[key_id]["Properties"]["KeyPolicy"][
            "Statement"
        ]
        return statements

    def statement(self, key_id: str, sid: str) -> dict[str, Any]:
        matches = [s for s in self.statements(key_id) if s.get("Sid") == sid]
        assert len(matches) == 1, f"{sid}: {matches}"
        return matches[0]


def _fast_app() -> cdk.App:
    """The project's cdk.json context without the built-in CloudFormation validation."""
    return cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _region_service(service: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [f"{service}.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}


@pytest.fixture(scope="module")
def built() -> Built:
    stack = new_stack(_fast_app())
    key = EncryptionKey(
        stack, "DataKey", alias="app/data", description="Application data", services=["s3", "rds"]
    )
    key.allow_cloudwatch_logs()
    key.allow_cloudwatch_logs()  # a second log-group owner on the same key adds nothing
    key.allow_service_principal(
        "CloudTrailEncrypt",
        "cloudtrail.amazonaws.com",
        actions=["kms:GenerateDataKey*"],
        conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
    )
    bare = EncryptionKey(
        stack,
        "BareKey",
        alias="bare",
        description="Key without service usage",
        administrators=[iam.ArnPrincipal(ADMIN_ROLE_ARN)],
        pending_window_days=7,
    )
    user = iam.Role(stack, "User", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    key.grant_encrypt_decrypt(user)
    template = Template.from_stack(stack)
    return Built(
        template=template,
        resources=template.to_json()["Resources"],
        key_id=logical_id(key.key),
        bare_key_id=logical_id(bare.key),
        alias_id=logical_id(key.alias),
        user_role_id=logical_id(user),
    )


# ---- ENC-01 / RES-02 ----------------------------------------------------------------------------
def test_rotation_enabled_on_every_key(built: Built) -> None:
    built.template.resource_count_is("AWS::KMS::Key", 2)
    built.template.all_resources_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_alias_is_scoped_to_the_stack_through_fn_join(built: Built) -> None:
    assert built.resources[built.alias_id]["Properties"] == {
        "AliasName": {"Fn::Join": ["/", ["alias", {"Ref": "AWS::StackName"}, "app/data"]]},
        "TargetKeyId": {"Fn::GetAtt": [built.key_id, "Arn"]},
    }


def test_keys_are_retained(built: Built) -> None:
    built.template.all_resources(
        "AWS::KMS::Key", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )


def test_pending_window_default_and_override(built: Built) -> None:
    assert built.resources[built.key_id]["Properties"]["PendingWindowInDays"] == 30
    assert built.resources[built.bare_key_id]["Properties"]["PendingWindowInDays"] == 7


# ---- ENC-02 -------------------------------------------------------------------------------------
def test_no_statement_grants_kms_star_or_star(built: Built) -> None:
    for key_id in (built.key_id, built.bare_key_id):
        for statement in built.statements(key_id):
            assert not {"*", "kms:*"} & set(_actions(statement)), statement


def test_administration_statement_cannot_use_the_key(built: Built) -> None:
    admin = built.statement(built.key_id, "KeyAdministration")
    assert admin["Effect"] == "Allow"
    for pattern in _actions(admin):
        used = [op for op in CRYPTO_OPERATIONS if fnmatchcase(op, pattern)]
        assert not used, f"administration action {pattern} allows {used}"
    assert "kms:ScheduleKeyDeletion" in _actions(admin)


def test_administrators_default_to_the_account_and_can_be_named(built: Built) -> None:
    account_root = {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}
    assert built.statement(built.key_id, "KeyAdministration")["Principal"] == {"AWS": account_root}
    assert built.statement(built.bare_key_id, "KeyAdministration")["Principal"] == {
        "AWS": ADMIN_ROLE_ARN
    }


def test_usage_only_through_listed_services_of_this_account(built: Built) -> None:
    usage = built.statement(built.key_id, "KeyUsageThroughAwsServices")
    assert sorted(_actions(usage)) == sorted(USAGE_ACTIONS)
    scoped = usage["Condition"]["StringEquals"]
    assert scoped["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
    assert scoped["kms:ViaService"] == [_region_service("s3"), _region_service("rds")]

    grants = built.statement(built.key_id, "GrantsForAwsResources")
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert grants["Condition"]["StringEquals"] == scoped


def test_key_without_services_has_only_administration(built: Built) -> None:
    assert [s.get("Sid") for s in built.statements(built.bare_key_id)] == [
        "KeyAdministration",
        "DenyInsecureTransport",
        "DenyKeyDeletionWithoutMfa",
    ]


def test_explicit_denies_refuse_plain_http_and_deletion_without_mfa(built: Built) -> None:
    transport = built.statement(built.key_id, "DenyInsecureTransport")
    assert transport["Effect"] == "Deny" and transport["Principal"] == {"AWS": "*"}
    assert transport["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"kms:Decrypt", "kms:Encrypt", "kms:Put*"} <= set(transport["Action"])
    deletion = built.statement(built.key_id, "DenyKeyDeletionWithoutMfa")
    assert deletion["Effect"] == "Deny"
    assert "kms:ScheduleKeyDeletion" in deletion["Action"]
    assert deletion["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def test_cloudwatch_logs_is_pinned_to_this_accounts_log_groups(built: Built) -> None:
    logs = built.statement(built.key_id, "CloudWatchLogs")
    assert logs["Principal"] == {"Service": _region_service("logs")}
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":logs:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":log-group:*",
            ],
        ]
    }
    describe = built.statement(built.key_id, "CloudWatchLogsDescribe")
    assert describe["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


def test_allow_cloudwatch_logs_twice_adds_each_statement_once(built: Built) -> None:
    sids = [s.get("Sid") for s in built.statements(built.key_id)]
    assert sids.count("CloudWatchLogs") == 1
    assert sids.count("CloudWatchLogsDescribe") == 1


def test_every_service_principal_statement_has_conditions(built: Built) -> None:
    service_statements = [
        s for s in built.statements(built.key_id) if "Service" in s.get("Principal", {})
    ]
    assert {s["Sid"] for s in service_statements} == {
        "CloudWatchLogs",
        "CloudWatchLogsDescribe",
        "CloudTrailEncrypt",
    }
    for statement in service_statements:
        assert statement.get("Condition"), statement


def test_grant_goes_to_the_identity_not_the_key_policy(built: Built) -> None:
    policies = [
        resource["Properties"]
        for resource in built.resources.values()
        if resource["Type"] == "AWS::IAM::Policy"
    ]
    assert len(policies) == 1
    assert policies[0]["Roles"] == [{"Ref": built.user_role_id}]
    (statement,) = policies[0]["PolicyDocument"]["Statement"]
    assert {"kms:Decrypt", "kms:Encrypt"} <= set(_actions(statement))
    assert statement["Resource"] == {"Fn::GetAtt": [built.key_id, "Arn"]}
    for key_statement in built.statements(built.key_id):
        assert built.user_role_id not in str(key_statement["Principal"])


# ---- bad input ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scratch() -> cdk.Stack:
    """A stack that is never synthesized, for arguments that must fail early."""
    return new_stack(_fast_app())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"alias": "alias/x"}, r"EncryptionKey: alias='alias/x' is invalid; .*without 'alias/'"),
        ({"alias": "aws/x"}, r"EncryptionKey: alias='aws/x' is invalid"),
        ({"alias": "my key"}, r"EncryptionKey: alias='my key' is invalid; pass a suffix"),
        ({"alias": ""}, r"EncryptionKey: alias='' is invalid"),
        (
            {"services": ["s3.amazonaws.com"]},
            r"EncryptionKey: services='s3.amazonaws.com' is invalid; pass bare service names",
        ),
        (
            {"pending_window_days": 3},
            r"EncryptionKey: pending_window_days=3 is invalid; use a value between 7 and 30",
        ),
        ({"pending_window_days": 31}, r"pending_window_days=31 is invalid"),
    ],
)
def test_bad_arguments_raise(scratch: cdk.Stack, arguments: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"alias": "ok", "description": "test key", **arguments}
    construct_id = f"Bad{len(scratch.node.children)}"
    with pytest.raises(ValueError, match=message):
        EncryptionKey(scratch, construct_id, **settings)
    assert not scratch.node.find_child(construct_id).node.children, "created before validating"


@pytest.fixture(scope="module")
def scratch_key(scratch: cdk.Stack) -> EncryptionKey:
    return EncryptionKey(scratch, "ScratchKey", alias="scratch", description="scratch key")


@pytest.mark.parametrize(
    ("actions", "conditions", "message"),
    [
        (["kms:Decrypt"], {}, r"EncryptionKey: conditions=\{\} is invalid; scope the service"),
        (
            ["kms:*"],
            {"StringEquals": {"aws:SourceAccount": "111122223333"}},
            r"EncryptionKey: actions=\['kms:\*'\] is invalid; list the usage actions",
        ),
        (
            ["kms:Decrypt", "*"],
            {"StringEquals": {"aws:SourceAccount": "111122223333"}},
            r"actions=\['kms:Decrypt', '\*'\] is invalid",
        ),
    ],
)
def test_allow_service_principal_refuses_unscoped_statements(
    scratch_key: EncryptionKey,
    actions: list[str],
    conditions: dict[str, dict[str, object]],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        scratch_key.allow_service_principal(
            "Unscoped", "events.amazonaws.com", actions=actions, conditions=conditions
        )
