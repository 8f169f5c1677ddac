"""BackupPlan: vault, plan, selections and service role, plus the nag/cfn-lint gate.

Controls: RES-01 (vault, daily/weekly/monthly plan, selections, copy), ENC-03 (vault CMK),
IAM-06 (Backup service role), RES-02 (vault retained).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from constructs_lib.acknowledgments import logical_id
from constructs_lib.backup import NOTIFICATION_EVENTS, BackupPlan
from constructs_lib.encryption import EncryptionKey
from constructs_lib.monitoring import AlarmTopic
from tests.support import cdk_json_context, nag_findings, new_stack

DR_VAULT = "arn:aws:backup:us-west-2:111122223333:backup-vault:dr-vault"
DEPLOYER = "arn:aws:iam::111122223333:role/cdk-*-cfn-exec-role-*"
VOLUME = "arn:aws:ec2:us-east-1:111122223333:volume/vol-0123456789abcdef0"
IMPORTED_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
THIS_ACCOUNT = {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
MANAGED = "arn:<P>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyFor"


def _fast_app() -> cdk.App:
    """The project's cdk.json context without the built-in CloudFormation validation."""
    return cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


def _imported_database(stack: cdk.Stack) -> rds.IDatabaseInstance:
    return rds.DatabaseInstance.from_database_instance_attributes(
        stack,
        "Database",
        instance_identifier="orders",
        instance_endpoint_address="orders.example.internal",
        port=3307,
        security_groups=[],
    )


@dataclass(frozen=True)
class Built:
    resources: dict[str, Any]
    variants: dict[str, Any]
    ids: dict[str, str]
    plans: dict[str, BackupPlan]
    resolved: dict[str, Any]

    def props(self, name: str, variants: bool = False) -> dict[str, Any]:
        resources = self.variants if variants else self.resources
        properties: dict[str, Any] = resources[self.ids[name]]["Properties"]
        return properties

    def of_type(self, resource_type: str, variants: bool = False) -> dict[str, Any]:
        resources = self.variants if variants else self.resources
        return {k: r for k, r in resources.items() if r["Type"] == resource_type}

    def rules(self, plan: str, variants: bool = False) -> dict[str, dict[str, Any]]:
        rules = self.props(plan, variants)["BackupPlan"]["BackupPlanRule"]
        return {rule["RuleName"]: rule for rule in rules}

    def key_statement(self, sid_prefix: str) -> dict[str, Any]:
        (statement,) = [
            s
            for s in self.props("key")["KeyPolicy"]["Statement"]
            if s.get("Sid", "").startswith(sid_prefix)
        ]
        return cast(dict[str, Any], statement)


@pytest.fixture(scope="module")
def built() -> Built:
    app = _fast_app()
    stack = new_stack(app)
    key = EncryptionKey(stack, "Key", alias="backup", description="Backup vault")
    alarms = AlarmTopic(stack, "Alarms", encryption_key=key)
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=[cdk.Fn.select(0, cdk.Fn.get_azs())],
        private_subnet_ids=["subnet-0123456789abcdef0"],
        private_subnet_route_table_ids=["rtb-0123456789abcdef0"],
    )
    host = ec2.Instance(
        stack,
        "Host",
        vpc=vpc,
        instance_type=ec2.InstanceType("t3.micro"),
        machine_image=ec2.MachineImage.generic_linux({"us-east-1": "ami-0123456789abcdef0"}),
        require_imdsv2=True,
    )
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    )
    plan = BackupPlan(stack, "Backup", encryption_key=key.key, notification_topic=alarms.topic)
    data = plan.add_resources("Data", _imported_database(stack), host, table, VOLUME)
    fleet = plan.add_tag_selection("Fleet", "Backup", "true")

    variants = new_stack(app, "Variants")
    imported = kms.Key.from_key_arn(variants, "ImportedKey", IMPORTED_KEY)
    full = BackupPlan(
        variants,
        "Full",
        encryption_key=imported,
        weekly_retention_days=200,
        monthly_retention_days=400,
        cold_storage_after_days=60,
        enable_continuous_backup=True,
        copy_to_vault_arn=DR_VAULT,
        copy_retention_days=180,
        vault_lock=True,
        vault_policy_administrators=[DEPLOYER],
    )
    full.add_tag_selection("Fleet", "Backup", "true")
    warm = BackupPlan(
        variants,
        "Warm",
        encryption_key=imported,
        cold_storage_after_days=None,
        copy_to_vault_arn=DR_VAULT,
        vault_lock=True,
        vault_lock_min_retention_days=7,
        vault_lock_max_retention_days=3650,
    )
    warm.add_resources("Orders", _imported_database(variants))

    def resolve(value: Any) -> Any:
        return stack.resolve(value)

    return Built(
        resources=Template.from_stack(stack).to_json()["Resources"],
        variants=Template.from_stack(variants).to_json()["Resources"],
        ids={
            "key": logical_id(key.key),
            "topic": logical_id(alarms.topic),
            "host": logical_id(host),
            "table": logical_id(table),
            "vault": logical_id(plan.vault),
            "plan": logical_id(plan.plan),
            "role": logical_id(plan.role),
            "data": logical_id(data),
            "fleet": logical_id(fleet),
            "full_vault": logical_id(full.vault),
            "full_plan": logical_id(full.plan),
            "warm_vault": logical_id(warm.vault),
            "warm_plan": logical_id(warm.plan),
        },
        plans={"default": plan, "full": full, "warm": warm},
        resolved={
            "vault_arn": resolve(plan.vault_arn),
            "vault_name": resolve(plan.vault_name),
            "plan_id": resolve(plan.plan_id),
        },
    )


# ---- ENC-03 / RES-02 vault ----------------------------------------------------------------------
def test_vault_is_encrypted_with_the_cmk_and_retained(built: Built) -> None:
    vault = built.resources[built.ids["vault"]]
    assert vault["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": [built.ids["key"], "Arn"]}
    assert vault["DeletionPolicy"] == vault["UpdateReplacePolicy"] == "Retain"
    for name in ("full_vault", "warm_vault"):
        assert built.props(name, variants=True)["EncryptionKeyArn"] == IMPORTED_KEY


def test_vault_name_is_unique_and_follows_the_key(built: Built) -> None:
    plan = built.plans["default"]
    assert len(plan.suffix) == 8
    assert built.props("vault")["BackupVaultName"] == {
        "Fn::Join": ["-", [f"Vault{plan.suffix}", {"Ref": built.ids["key"]}]]
    }
    full, warm = built.plans["full"], built.plans["warm"]
    names = {
        json.dumps(built.props(name, variants=True)["BackupVaultName"])
        for name in ("full_vault", "warm_vault")
    }
    assert len(names) == 2, "two plans sharing a key still get distinct vault names"
    assert full.suffix != warm.suffix
    longest = f"Vault{plan.suffix}-" + "mrk-" + "0" * 32
    assert len(longest) <= 50, "vault names are limited to 50 characters"


def test_plan_name_ends_in_the_stack_guid(built: Built) -> None:
    plan = built.plans["default"]
    assert built.props("plan")["BackupPlan"]["BackupPlanName"] == {
        "Fn::Join": [
            "-",
            [
                f"Plan{plan.suffix}",
                {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]},
            ],
        ]
    }


def test_vault_access_policy_denies_recovery_point_deletion_to_everyone(built: Built) -> None:
    assert built.props("vault")["AccessPolicy"]["Statement"] == [
        {
            "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": "*",
            "Sid": "DenyRecoveryPointDeletion",
        }
    ]


def test_policy_administrators_alone_may_change_the_access_policy(built: Built) -> None:
    statements = built.props("full_vault", variants=True)["AccessPolicy"]["Statement"]
    assert [s["Sid"] for s in statements] == [
        "DenyRecoveryPointDeletion",
        "DenyAccessPolicyChanges",
    ]
    assert statements[1] == {
        "Action": ["backup:PutBackupVaultAccessPolicy", "backup:DeleteBackupVaultAccessPolicy"],
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": [DEPLOYER]}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": "*",
        "Sid": "DenyAccessPolicyChanges",
    }


def test_no_vault_lock_by_default(built: Built) -> None:
    assert "LockConfiguration" not in built.props("vault")


def test_vault_lock_is_governance_mode_within_the_plan_retention(built: Built) -> None:
    # Governance mode: no ChangeableForDays (that would start compliance mode).
    assert built.props("full_vault", variants=True)["LockConfiguration"] == {
        "MinRetentionDays": 35,
        "MaxRetentionDays": 400,
    }
    assert built.props("warm_vault", variants=True)["LockConfiguration"] == {
        "MinRetentionDays": 7,
        "MaxRetentionDays": 3650,
    }


# ---- RES-01 plan --------------------------------------------------------------------------------
def test_three_rules_with_schedules_retention_and_cold_storage(built: Built) -> None:
    target = {"Fn::GetAtt": [built.ids["vault"], "BackupVaultName"]}
    assert built.rules("plan") == {
        "Daily": {
            "RuleName": "Daily",
            "ScheduleExpression": "cron(0 5 * * ? *)",
            "Lifecycle": {"DeleteAfterDays": 35},
            "TargetBackupVault": target,
        },
        "Weekly": {
            "RuleName": "Weekly",
            "ScheduleExpression": "cron(0 5 ? * SUN *)",
            # 90 days leave no room for the 90 days AWS keeps points in cold storage.
            "Lifecycle": {"DeleteAfterDays": 90},
            "TargetBackupVault": target,
        },
        "Monthly": {
            "RuleName": "Monthly",
            "ScheduleExpression": "cron(0 5 1 * ? *)",
            "Lifecycle": {"DeleteAfterDays": 365, "MoveToColdStorageAfterDays": 90},
            "TargetBackupVault": target,
        },
    }


def test_weekly_moves_to_cold_storage_when_its_retention_allows(built: Built) -> None:
    rules = built.rules("full_plan", variants=True)
    assert rules["Daily"]["Lifecycle"] == {"DeleteAfterDays": 35}
    assert rules["Weekly"]["Lifecycle"] == {
        "DeleteAfterDays": 200,
        "MoveToColdStorageAfterDays": 60,
    }
    assert rules["Monthly"]["Lifecycle"] == {
        "DeleteAfterDays": 400,
        "MoveToColdStorageAfterDays": 60,
    }


def test_cold_storage_can_be_switched_off(built: Built) -> None:
    for rule in built.rules("warm_plan", variants=True).values():
        assert "MoveToColdStorageAfterDays" not in rule["Lifecycle"]


def test_continuous_backup_only_when_asked_and_only_daily(built: Built) -> None:
    assert all("EnableContinuousBackup" not in r for r in built.rules("plan").values())
    rules = built.rules("full_plan", variants=True)
    assert rules["Daily"]["EnableContinuousBackup"] is True
    assert "EnableContinuousBackup" not in rules["Weekly"]
    assert "EnableContinuousBackup" not in rules["Monthly"]


def test_no_copy_without_a_destination(built: Built) -> None:
    assert all("CopyActions" not in r for r in built.rules("plan").values())


def test_every_rule_copies_to_the_destination_with_its_own_retention(built: Built) -> None:
    copies = {
        name: rule["CopyActions"] for name, rule in built.rules("full_plan", variants=True).items()
    }
    assert copies == {
        "Daily": [{"DestinationBackupVaultArn": DR_VAULT, "Lifecycle": {"DeleteAfterDays": 180}}],
        "Weekly": [
            {
                "DestinationBackupVaultArn": DR_VAULT,
                "Lifecycle": {"DeleteAfterDays": 180, "MoveToColdStorageAfterDays": 60},
            }
        ],
        "Monthly": [
            {
                "DestinationBackupVaultArn": DR_VAULT,
                "Lifecycle": {"DeleteAfterDays": 180, "MoveToColdStorageAfterDays": 60},
            }
        ],
    }


def test_copies_keep_the_rule_retention_by_default(built: Built) -> None:
    copies = {
        name: rule["CopyActions"][0]["Lifecycle"]
        for name, rule in built.rules("warm_plan", variants=True).items()
    }
    assert copies == {
        "Daily": {"DeleteAfterDays": 35},
        "Weekly": {"DeleteAfterDays": 90},
        "Monthly": {"DeleteAfterDays": 365},
    }


# ---- RES-01 selections --------------------------------------------------------------------------
def test_selection_by_resource_lists_database_instance_table_and_volume(built: Built) -> None:
    selection = built.props("data")["BackupSelection"]
    assert selection["SelectionName"] == "Data"
    assert "ListOfTags" not in selection
    assert selection["Resources"] == [
        {"Fn::Join": ["", ["arn:aws:rds:us-east-1:", {"Ref": "AWS::AccountId"}, ":db:orders"]]},
        {
            "Fn::Join": [
                "",
                [
                    "arn:aws:ec2:us-east-1:",
                    {"Ref": "AWS::AccountId"},
                    ":instance/",
                    {"Ref": built.ids["host"]},
                ],
            ]
        },
        {"Fn::GetAtt": [built.ids["table"], "Arn"]},
        VOLUME,
    ]


def test_selection_by_tag(built: Built) -> None:
    selection = built.props("fleet")["BackupSelection"]
    assert selection["ListOfTags"] == [
        {"ConditionKey": "Backup", "ConditionType": "STRINGEQUALS", "ConditionValue": "true"}
    ]
    assert "Resources" not in selection


def test_selections_belong_to_the_plan_and_use_the_construct_role(built: Built) -> None:
    selections = built.of_type("AWS::Backup::BackupSelection")
    assert set(selections) == {built.ids["data"], built.ids["fleet"]}
    for selection in selections.values():
        props = selection["Properties"]
        assert props["BackupPlanId"] == {"Fn::GetAtt": [built.ids["plan"], "BackupPlanId"]}
        assert props["BackupSelection"]["IamRoleArn"] == {"Fn::GetAtt": [built.ids["role"], "Arn"]}


# ---- IAM-06 service role and key policy ---------------------------------------------------------
def test_role_is_trusted_by_backup_of_this_account_with_managed_policies(built: Built) -> None:
    role = built.props("role")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": THIS_ACCOUNT},
            "Effect": "Allow",
            "Principal": {"Service": "backup.amazonaws.com"},
        }
    ]
    arns = [
        "".join("<P>" if isinstance(part, dict) else part for part in arn["Fn::Join"][1])
        for arn in role["ManagedPolicyArns"]
    ]
    assert arns == [f"{MANAGED}Backup", f"{MANAGED}Restores"]
    assert "Policies" not in role
    assert built.ids["role"] not in json.dumps(built.of_type("AWS::IAM::Policy"))


def test_key_policy_lets_the_role_use_the_key_through_backup(built: Built) -> None:
    suffix = built.plans["default"].suffix
    role = {"AWS": {"Fn::GetAtt": [built.ids["role"], "Arn"]}}
    use = built.key_statement("BackupVaultUse")
    assert use["Sid"] == f"BackupVaultUse{suffix}"
    assert use["Principal"] == role
    assert use["Action"] == [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    assert use["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": {"Ref": "AWS::AccountId"},
            "kms:ViaService": {
                "Fn::Join": ["", ["backup.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
            },
        }
    }
    grants = built.key_statement("BackupVaultGrants")
    assert grants["Principal"] == role
    assert grants["Action"] == ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    assert grants["Condition"] == {
        "StringEquals": {"kms:CallerAccount": {"Ref": "AWS::AccountId"}},
        "Bool": {"kms:GrantIsForAWSResource": "true"},
    }
    assert built.plans["default"].key_policy_updated is True


def test_imported_key_is_left_to_its_owner(built: Built) -> None:
    assert built.plans["full"].key_policy_updated is False
    assert not built.of_type("AWS::KMS::Key", variants=True)


# ---- notifications ------------------------------------------------------------------------------
def test_vault_notifies_the_topic(built: Built) -> None:
    assert built.props("vault")["Notifications"] == {
        "BackupVaultEvents": [event.value for event in NOTIFICATION_EVENTS],
        "SNSTopicArn": {"Ref": built.ids["topic"]},
    }
    assert "BACKUP_JOB_COMPLETED" in built.props("vault")["Notifications"]["BackupVaultEvents"]
    assert "Notifications" not in built.props("full_vault", variants=True)


def test_backup_of_this_account_may_publish_to_the_encrypted_topic(built: Built) -> None:
    (policy,) = built.of_type("AWS::SNS::TopicPolicy").values()
    (publish,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "BackupVaultNotifications"
    ]
    assert publish == {
        "Action": "sns:Publish",
        "Condition": {"StringEquals": THIS_ACCOUNT},
        "Effect": "Allow",
        "Principal": {"Service": "backup.amazonaws.com"},
        "Resource": {"Ref": built.ids["topic"]},
        "Sid": "BackupVaultNotifications",
    }
    encrypt = built.key_statement("BackupPublishToEncryptedTopic")
    assert encrypt["Principal"] == {"Service": "backup.amazonaws.com"}
    assert encrypt["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert encrypt["Condition"] == {"StringEquals": THIS_ACCOUNT}


# ---- public attributes --------------------------------------------------------------------------
def test_children_are_public_typed_attributes(built: Built) -> None:
    plan = built.plans["default"]
    assert isinstance(plan.vault, backup.BackupVault)
    assert isinstance(plan.plan, backup.BackupPlan)
    assert plan.plan.node.id == "Resource"
    assert isinstance(plan.role, iam.Role)
    assert list(plan.rules) == ["Daily", "Weekly", "Monthly"]
    assert all(isinstance(rule, backup.BackupPlanRule) for rule in plan.rules.values())
    assert [s.node.id for s in plan.selections] == ["Data", "Fleet"]
    assert built.resolved["vault_arn"] == {"Fn::GetAtt": [built.ids["vault"], "BackupVaultArn"]}
    assert built.resolved["vault_name"] == {"Fn::GetAtt": [built.ids["vault"], "BackupVaultName"]}
    assert built.resolved["plan_id"] == {"Fn::GetAtt": [built.ids["plan"], "BackupPlanId"]}


def test_a_plan_without_selections_fails_the_synth() -> None:
    app = _fast_app()
    stack = new_stack(app)
    key = kms.Key.from_key_arn(stack, "Key", IMPORTED_KEY)
    BackupPlan(stack, "Idle", encryption_key=key)
    with pytest.raises(RuntimeError, match="BackupPlan: TestStack/Idle selects no resources"):
        app.synth()


# ---- bad input ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scratch() -> tuple[cdk.Stack, kms.IKey, BackupPlan]:
    """A stack, a key and a valid plan for the bad-input cases (never synthesized)."""
    stack = new_stack(_fast_app())
    key = kms.Key(stack, "Key")
    plan = BackupPlan(stack, "Valid", encryption_key=key)
    return stack, key, plan


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"daily_retention_days": 0}, r"daily_retention_days=0 is invalid; use .* from 1 to 36500"),
        ({"daily_retention_days": 7.5}, r"daily_retention_days=7.5 is invalid; pass a whole"),
        (
            {"weekly_retention_days": 30},
            r"weekly_retention_days=30 is invalid; keep weekly recovery points at least as long "
            r"as daily ones \(daily_retention_days=35\)",
        ),
        ({"monthly_retention_days": 60}, r"monthly_retention_days=60 is invalid; keep monthly"),
        (
            {"monthly_retention_days": 179},
            r"monthly_retention_days=179 is invalid; AWS Backup keeps recovery points at least 90 "
            r"days in cold storage: use at least cold_storage_after_days \+ 90 = 180",
        ),
        (
            {"monthly_retention_days": 200, "cold_storage_after_days": 120},
            r"monthly_retention_days=200 is invalid; .* = 210",
        ),
        ({"cold_storage_after_days": 0}, r"cold_storage_after_days=0 is invalid"),
        (
            {"daily_retention_days": 36, "enable_continuous_backup": True},
            r"daily_retention_days=36 is invalid; continuous backup keeps at most 35 days",
        ),
        ({"daily_schedule": "rate(1 day)"}, r"daily_schedule='rate\(1 day\)' is invalid; pass"),
        (
            {"weekly_schedule": "cron(0 5 * * SUN *)"},
            r"weekly_schedule='cron\(0 5 \* \* SUN \*\)' is invalid; set exactly one",
        ),
        ({"copy_to_vault_arn": "dr-vault"}, r"copy_to_vault_arn='dr-vault' is invalid; pass a"),
        (
            {"copy_to_vault_arn": "arn:aws:s3:::dr-bucket"},
            r"copy_to_vault_arn='arn:aws:s3:::dr-bucket' is invalid; pass a backup vault ARN",
        ),
        (
            {"copy_retention_days": 30},
            r"copy_retention_days=30 is invalid; it applies to copies only",
        ),
        (
            {"vault_lock_min_retention_days": 7},
            r"vault_lock_min_retention_days=7 is invalid; set vault_lock=True",
        ),
        (
            {"vault_lock": True, "vault_lock_min_retention_days": 36},
            r"vault_lock_min_retention_days=36 is invalid; use .* from 1 to 35",
        ),
        (
            {"vault_lock": True, "vault_lock_max_retention_days": 364},
            r"vault_lock_max_retention_days=364 is invalid; use .* from 365 to 36500",
        ),
        (
            {"vault_policy_administrators": ["Deployer"]},
            r"vault_policy_administrators='Deployer' is invalid; pass IAM principal ARNs",
        ),
    ],
)
def test_bad_arguments_are_refused(
    scratch: tuple[cdk.Stack, kms.IKey, BackupPlan], arguments: dict[str, Any], message: str
) -> None:
    stack, key, _ = scratch
    construct_id = f"Bad{len(stack.node.children)}"  # a wrongly accepted case cannot leak
    with pytest.raises(ValueError, match=rf"^BackupPlan: {message}"):
        BackupPlan(stack, construct_id, encryption_key=key, **arguments)
    assert stack.node.try_find_child(construct_id) is None, "validation runs before creation"


def test_a_vault_without_a_cmk_is_refused(scratch: tuple[cdk.Stack, kms.IKey, BackupPlan]) -> None:
    stack, _, _ = scratch
    with pytest.raises(ValueError, match=r"^BackupPlan: encryption_key=None is invalid; .*ENC-03"):
        BackupPlan(stack, "Bad", encryption_key=cast(kms.IKey, None))
    alias = kms.Alias.from_alias_name(stack, "AwsManaged", "alias/aws/backup")
    with pytest.raises(ValueError, match=r"encryption_key='alias/aws/backup' is invalid; pass the"):
        BackupPlan(stack, "Bad", encryption_key=alias)


def test_notifications_need_events(scratch: tuple[cdk.Stack, kms.IKey, BackupPlan]) -> None:
    stack, key, _ = scratch
    topic = sns.Topic.from_topic_arn(stack, "Topic", "arn:aws:sns:us-east-1:111122223333:ops")
    with pytest.raises(ValueError, match=r"notification_events=\[\] is invalid"):
        BackupPlan(
            stack, "Bad", encryption_key=key, notification_topic=topic, notification_events=[]
        )


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (("vol-0123456789abcdef0",), r"resources='vol-0123456789abcdef0' is invalid; pass a"),
        (("*",), r"resources='\*' is invalid"),
        ((), r"resources=\[\] is invalid; pass at least one resource"),
        ((object(),), r"resources='object' is invalid; pass rds.IDatabaseInstance"),
    ],
)
def test_bad_resources_are_refused(
    scratch: tuple[cdk.Stack, kms.IKey, BackupPlan], resources: tuple[Any, ...], message: str
) -> None:
    _, _, plan = scratch
    with pytest.raises(ValueError, match=rf"^BackupPlan: {message}"):
        plan.add_resources("Bad", *resources)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("Fleet hosts", "Backup", "true"), r"selection_id='Fleet hosts' is invalid"),
        (("Tagged", "aws:backup", "true"), r"key='aws:backup' is invalid; use your own tag key"),
        (("Tagged", "Backup", " "), r"value=' ' is invalid; pass a non-empty tag value"),
    ],
)
def test_bad_tag_selections_are_refused(
    scratch: tuple[cdk.Stack, kms.IKey, BackupPlan], arguments: tuple[str, str, str], message: str
) -> None:
    _, _, plan = scratch
    with pytest.raises(ValueError, match=rf"^BackupPlan: {message}"):
        plan.add_tag_selection(*arguments)
    assert not plan.selections


# ---- gates --------------------------------------------------------------------------------------
def _compose(stack: cdk.Stack) -> None:
    key = EncryptionKey(stack, "Key", alias="backup", description="Backup vault")
    alarms = AlarmTopic(stack, "Alarms", encryption_key=key)
    plan = BackupPlan(stack, "Backup", encryption_key=key, notification_topic=alarms.topic)
    plan.add_resources("Data", _imported_database(stack), VOLUME)
    plan.add_tag_selection("Fleet", "Backup", "true")
    dr = BackupPlan(
        stack,
        "DisasterRecovery",
        encryption_key=key.key,
        weekly_retention_days=200,
        enable_continuous_backup=True,
        copy_to_vault_arn=DR_VAULT,
        copy_retention_days=120,
        vault_lock=True,
        vault_policy_administrators=[DEPLOYER],
    )
    dr.add_tag_selection("Critical", "Backup", "critical")


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


def test_backup_plan_has_no_nag_findings(gated: tuple[list[str], str]) -> None:
    findings, _ = gated
    assert findings == []


def _lint(template: str) -> list[str]:
    from cfnlint.api import lint_all

    return [
        f"{match.rule.id} {match.message} at {'/'.join(map(str, match.path))}"
        for match in lint_all(template)
        if match.rule.severity in ("error", "warning")
    ]


def test_backup_templates_pass_cfn_lint(gated: tuple[list[str], str], built: Built) -> None:
    _, template = gated
    assert _lint(template) == []
    for resources in (built.resources, built.variants):
        assert _lint(json.dumps({"Resources": resources})) == []
