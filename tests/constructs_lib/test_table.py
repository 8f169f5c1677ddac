"""SecureTable (DB-10, ENC-03): defaults, arguments, grants, bad input and the gates."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from cfnlint.api import lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.encryption import EncryptionKey
from constructs_lib.table import READ_WRITE_ACTIONS, SecureTable
from tests.support import cdk_json_context, nag_findings, new_stack

REASON = "scratch table of the integration tests, recreated by every test run"


@dataclass
class Built:
    template: dict[str, Any]
    table: SecureTable
    key: EncryptionKey
    role: iam.Role | None = None
    policy: iam.ManagedPolicy | None = None

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.template["Resources"][logical_id(construct)])

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.resource(construct)["Properties"])


def build_defaults(stack: cdk.Stack) -> tuple[SecureTable, EncryptionKey]:
    key = EncryptionKey(stack, "DataKey", alias="data", description="data", services=["dynamodb"])
    return SecureTable(stack, "Audit", partition_key="pk", encryption_key=key), key


def build_variants(stack: cdk.Stack) -> tuple[SecureTable, EncryptionKey, iam.Role, Any]:
    key = EncryptionKey(stack, "DataKey", alias="data", description="data", services=["dynamodb"])
    table = SecureTable(
        stack,
        "Audit",
        partition_key="id",
        partition_key_type=dynamodb.AttributeType.NUMBER,
        sort_key="at",
        sort_key_type=dynamodb.AttributeType.STRING,
        encryption_key=key.key,
        billing_mode=dynamodb.BillingMode.PROVISIONED,
        read_capacity=5,
        write_capacity=2,
        contributor_insights=True,
        time_to_live_attribute="expires_at",
        deletion_protection=False,
        allow_deletion_reason=REASON,
    )
    role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    policy = table.read_write_policy(role, "AppAccess")
    recorder = iam.Role(stack, "Recorder", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    table.append_only_policy(recorder, "RecorderAccess")
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    table.grant_read_data(reader)
    writer = iam.Role(stack, "Writer", assumed_by=iam.AccountRootPrincipal())
    table.grant_write_data(writer)
    return table, key, role, policy


@pytest.fixture(scope="module")
def stacks() -> dict[str, Built]:
    app = cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )
    defaults_stack = new_stack(app, "Defaults")
    defaults = build_defaults(defaults_stack)
    variants_stack = new_stack(app, "Variants")
    variants = build_variants(variants_stack)
    return {
        "defaults": Built(dict(Template.from_stack(defaults_stack).to_json()), *defaults),
        "variants": Built(dict(Template.from_stack(variants_stack).to_json()), *variants),
    }


@pytest.fixture(scope="module")
def defaults(stacks: dict[str, Built]) -> Built:
    return stacks["defaults"]


@pytest.fixture(scope="module")
def variants(stacks: dict[str, Built]) -> Built:
    return stacks["variants"]


# ---- DB-10 defaults ----------------------------------------------------------------------------
def test_db10_point_in_time_recovery_on(defaults: Built):
    props = defaults.props(defaults.table.table)
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_db10_encrypted_with_the_given_cmk(defaults: Built):
    props = defaults.props(defaults.table.table)
    assert props["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Fn::GetAtt": [logical_id(defaults.key.key), "Arn"]},
    }


def test_db10_deletion_protection_and_retain(defaults: Built):
    resource = defaults.resource(defaults.table.table)
    assert resource["Properties"]["DeletionProtectionEnabled"] is True
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_defaults_on_demand_string_key_no_extras(defaults: Built):
    props = defaults.props(defaults.table.table)
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    for absent in ("TableName", "TimeToLiveSpecification", "ContributorInsightsSpecification"):
        assert absent not in props
    assert defaults.table.table.node.id == "Resource"
    assert defaults.table.table.node.default_child is not None


# ---- arguments ---------------------------------------------------------------------------------
def test_keys_billing_insights_ttl_and_unprotected(variants: Built):
    props = variants.props(variants.table.table)
    assert props["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "id", "AttributeType": "N"} in props["AttributeDefinitions"]
    assert "BillingMode" not in props or props["BillingMode"] == "PROVISIONED"
    assert props["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}
    assert props["ContributorInsightsSpecification"] == {"Enabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["DeletionProtectionEnabled"] is False
    assert variants.resource(variants.table.table)["DeletionPolicy"] == "Retain"


def test_read_write_policy_is_customer_managed_and_scoped(variants: Built):
    assert variants.policy is not None and variants.role is not None
    props = variants.props(variants.policy)
    assert props["Roles"] == [{"Ref": logical_id(variants.role)}]
    statements = {s["Sid"]: s for s in props["PolicyDocument"]["Statement"]}
    items = statements["TableItems"]
    assert sorted(items["Action"]) == sorted(READ_WRITE_ACTIONS)
    assert items["Resource"] == {"Fn::GetAtt": [logical_id(variants.table.table), "Arn"]}
    key = statements["TableKeyThroughDynamoDb"]
    assert key["Resource"] == {"Fn::GetAtt": [logical_id(variants.key.key), "Arn"]}
    assert key["Condition"] == {
        "StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}
    }
    # the App role has no inline policy: only the managed one
    inline = [
        p
        for p in variants.template["Resources"].values()
        if p["Type"] == "AWS::IAM::Policy"
        and {"Ref": logical_id(variants.role)} in p["Properties"]["Roles"]
    ]
    assert inline == []


def test_append_only_policy_allows_put_item_and_nothing_else(variants: Built):
    (policy,) = [
        r["Properties"]
        for r in variants.template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and r["Properties"]["Roles"][0]["Ref"].startswith("Recorder")
    ]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["TableItems"]["Action"] == "dynamodb:PutItem"
    assert statements["TableItems"]["Resource"] == {
        "Fn::GetAtt": [logical_id(variants.table.table), "Arn"]
    }
    assert "kms:ViaService" in statements["TableKeyThroughDynamoDb"]["Condition"]["StringEquals"]


def test_grants_delegate_to_the_l2(variants: Built):
    actions: dict[str, list[str]] = {}
    for resource in variants.template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            (role,) = resource["Properties"]["Roles"]
            actions[role["Ref"]] = [
                a
                for s in resource["Properties"]["PolicyDocument"]["Statement"]
                for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
            ]
    reader = next(v for k, v in actions.items() if k.startswith("Reader"))
    writer = next(v for k, v in actions.items() if k.startswith("Writer"))
    assert "dynamodb:GetItem" in reader and "dynamodb:PutItem" not in reader
    assert "dynamodb:PutItem" in writer and "dynamodb:GetItem" not in writer
    assert "kms:Decrypt" in reader


# ---- bad input ---------------------------------------------------------------------------------
BAD = [
    ({"partition_key": ""}, r"SecureTable: partition_key='' is invalid; pass an attribute name"),
    ({"sort_key": " x"}, r"sort_key=' x' is invalid"),
    ({"sort_key": "pk"}, r"sort_key='pk' is invalid; use an attribute other than the partition"),
    ({"encryption_key": None}, r"encryption_key=None is invalid; DB-10 needs a customer-managed"),
    ({"deletion_protection": False}, r"deletion_protection=False is invalid; DB-10 requires"),
    (
        {"deletion_protection": False, "allow_deletion_reason": "tests"},
        r"deletion_protection=False is invalid",
    ),
    ({"allow_deletion_reason": REASON}, r"allow_deletion_reason=.* nothing to allow"),
    ({"read_capacity": 5}, r"read_capacity=5 is invalid; capacity applies only to .*PROVISIONED"),
    (
        {"billing_mode": dynamodb.BillingMode.PROVISIONED, "write_capacity": 1},
        r"read_capacity=None is invalid; PROVISIONED billing needs",
    ),
    ({"contributor_insights": "yes"}, r"contributor_insights='yes' is invalid; pass True or False"),
    ({"time_to_live_attribute": ""}, r"time_to_live_attribute='' is invalid"),
    ({"partition_key_type": "S"}, r"partition_key_type='S' is invalid; use AttributeType"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_input_is_rejected_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    arguments: dict[str, Any] = {
        "partition_key": "pk",
        "encryption_key": kms.Key(stack, "Key"),
        **overrides,
    }
    with pytest.raises(ValueError, match=message):
        SecureTable(stack, "Table", **arguments)
    assert stack.node.try_find_child("Table") is None


# ---- gates -------------------------------------------------------------------------------------
def test_nag_clean():
    def build(stack: cdk.Stack) -> None:
        build_defaults(stack)

    assert nag_findings(build) == []


@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_cfn_lint_clean(stacks: dict[str, Built], variant: str):
    matches = lint(json.dumps(stacks[variant].template), regions=["us-east-1"])
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
