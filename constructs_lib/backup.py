"""``BackupPlan``: AWS Backup vault, plan and selections (RES-01, ENC-03, IAM-06, RES-02).

========  =====================================================================================
Control   What the construct does
========  =====================================================================================
RES-01    A daily, a weekly and a monthly rule (cron, UTC), each with a retention; weekly and
          monthly recovery points move to cold storage where the retention allows it; optional
          cross-region copy with its own retention; selections by resource and by tag.
ENC-03    The vault is encrypted with the caller's customer-managed key.
IAM-06    One service role for every selection, trusted by ``backup.amazonaws.com`` only for
          this account, with the AWS managed backup and restore policies; the vault key's policy
          lets that role use the key through AWS Backup and create grants for AWS resources.
RES-02    The vault is ``Retain`` on deletion and replacement.
========  =====================================================================================

Vault name: CloudFormation requires ``BackupVaultName`` and replaces the vault when the name or
the key changes, so the name cannot be left to CloudFormation. It is ``Vault<hash of the construct
path>-<key id>`` (at most 50 characters): unique per construct and key, and a new key gives a new
name, so a replacement never collides with the retained old vault. Two stacks with the same
construct path sharing one key would collide; give each stack its own key. The plan name,
``Plan<hash>-<stack GUID>``, is unique per stack.

Vault access policy: ``backup:DeleteRecoveryPoint`` and ``backup:UpdateRecoveryPointLifecycle``
are denied to every principal, with no exception. Recovery points still expire through the
plan's lifecycle (AWS Backup deletes expired points itself, which the policy does not govern);
nobody, an administrator included, can delete a recovery point early or shorten its retention
without first changing the vault policy through the stack. ``backup:PutBackupVaultAccessPolicy``
and ``backup:DeleteBackupVaultAccessPolicy`` are denied only when ``vault_policy_administrators``
names the principals (e.g. the CloudFormation execution role) that may still change the policy:
a deny without such an exception would also block CloudFormation's own later updates of the
vault, and the construct cannot know who deploys the stack. ``vault_lock=True`` adds AWS Backup
Vault Lock in governance mode, which AWS enforces independently of IAM and of this policy.

Keys: the key policy statements are added when ``encryption_key`` is a ``kms.Key`` in the same
stack (``key_policy_updated`` says whether they were). For a key imported or defined in another
stack, allow ``BackupPlan.role`` where that key is defined. Keys of the backed-up resources (an
RDS instance's key, an EBS volume's key) stay governed by their own policies; for a
cross-region copy the destination vault's key policy must allow the role.

Cold storage applies only to resource types that support it (e.g. EFS, DynamoDB with advanced
features); AWS Backup ignores the setting for the others (RDS, EBS snapshots).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TypeAlias

import jsii
from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from constructs import Construct, IValidation

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.encryption import GRANT_ACTIONS, USAGE_ACTIONS, EncryptionKey
from constructs_lib.validation import invalid

_NAME = "BackupPlan"

#: Every day at 05:00 UTC.
DAILY_SCHEDULE = "cron(0 5 * * ? *)"
#: Every Sunday at 05:00 UTC.
WEEKLY_SCHEDULE = "cron(0 5 ? * SUN *)"
#: The first day of every month at 05:00 UTC.
MONTHLY_SCHEDULE = "cron(0 5 1 * ? *)"

#: AWS Backup keeps a recovery point at least this long in cold storage.
MIN_DAYS_IN_COLD_STORAGE = 90
#: The longest retention AWS Backup accepts (100 years).
MAX_RETENTION_DAYS = 36500
#: Continuous backups (point-in-time recovery) keep at most 35 days.
MAX_CONTINUOUS_RETENTION_DAYS = 35

#: Vault events sent to ``notification_topic``. Failed and aborted backup jobs arrive as
#: ``BACKUP_JOB_COMPLETED`` with a non-``COMPLETED`` state (AWS Backup no longer emits
#: ``BACKUP_JOB_FAILED``); subscribers that want failures only filter on that state.
NOTIFICATION_EVENTS: tuple[backup.BackupVaultEvents, ...] = (
    backup.BackupVaultEvents.BACKUP_JOB_COMPLETED,
    backup.BackupVaultEvents.COPY_JOB_FAILED,
    backup.BackupVaultEvents.RESTORE_JOB_COMPLETED,
    backup.BackupVaultEvents.RECOVERY_POINT_MODIFIED,
    backup.BackupVaultEvents.S3_BACKUP_OBJECT_FAILED,
    backup.BackupVaultEvents.S3_RESTORE_OBJECT_FAILED,
)

#: Denied to every principal in the vault access policy.
PROTECTED_RECOVERY_POINT_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
)
#: Denied to everyone but ``vault_policy_administrators`` (when given).
ACCESS_POLICY_ACTIONS = (
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
)

#: AWS managed policies of the Backup service role and why each is acceptable.
MANAGED_POLICIES = {
    "service-role/AWSBackupServiceRolePolicyForBackup": (
        "AWS Backup requires its AWS-maintained service-role policy to snapshot every supported "
        "resource type (RDS, EBS, EC2, DynamoDB, EFS ...); a hand-written copy would fall behind."
    ),
    "service-role/AWSBackupServiceRolePolicyForRestores": (
        "Restoring recovery points needs the AWS-maintained restore policy (create volumes, "
        "instances and tables, pass the role); the role is assumable only by AWS Backup."
    ),
}

#: Things ``add_resources`` accepts: CDK constructs, or ARNs as a fallback.
BackupTarget: TypeAlias = (
    rds.IDatabaseInstance | rds.IDatabaseCluster | ec2.IInstance | dynamodb.ITable | str
)

_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")
_KEY_ID = re.compile(
    r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]+|\*)?:(\d{12}|\*)?:\S+$")
_VAULT_ARN = re.compile(
    r"^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[A-Za-z0-9_-]{2,50}$"
)
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):\S+$")
_SELECTION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")


class BackupPlan(Construct):
    """Encrypted, deletion-protected AWS Backup vault with a daily/weekly/monthly plan.

    Add what to back up with :meth:`add_resources` and :meth:`add_tag_selection`; a plan
    without any selection fails the synth.

    :param encryption_key: customer-managed key for the vault (required; ENC-03): a
        ``kms.IKey`` (not an alias) or an :class:`~constructs_lib.encryption.EncryptionKey`.
    :param daily_retention_days: days a daily recovery point is kept (1..36500, default 35).
    :param weekly_retention_days: days a weekly one is kept (>= daily, default 90).
    :param monthly_retention_days: days a monthly one is kept (>= weekly, default 365).
    :param cold_storage_after_days: days after which monthly recovery points, and weekly ones
        whose retention leaves the 90 days AWS requires in cold storage, move to cold storage;
        ``monthly_retention_days`` must be at least this plus 90. ``None`` keeps all warm.
    :param daily_schedule: cron expression of the daily rule (default 05:00 UTC).
    :param weekly_schedule: cron expression of the weekly rule (default Sunday 05:00 UTC).
    :param monthly_schedule: cron expression of the monthly rule (default the 1st, 05:00 UTC).
    :param enable_continuous_backup: continuous backup (point-in-time recovery, e.g. RDS) on the
        daily rule; needs ``daily_retention_days`` <= 35.
    :param copy_to_vault_arn: ARN of a vault (usually in another region) that receives a copy of
        every recovery point.
    :param copy_retention_days: days the copies are kept; default the source rule's retention.
    :param vault_lock: add Backup Vault Lock in governance mode.
    :param vault_lock_min_retention_days: shortest retention the lock allows; default the daily
        retention (it must not exceed it, or the daily jobs fail).
    :param vault_lock_max_retention_days: longest retention the lock allows; default the monthly
        retention (omitted when that equals the minimum, since AWS requires max > min).
    :param notification_topic: topic for vault events (:data:`NOTIFICATION_EVENTS`); the
        construct adds the topic-policy statement (and, for a topic encrypted with a key of this
        stack, the key-policy statement) that lets AWS Backup of this account publish.
    :param vault_policy_administrators: IAM principal ARNs (patterns allowed) that alone may
        change or delete the vault access policy, e.g. the CloudFormation execution role that
        deploys the stack; without them the policy is not protected (see the module docstring).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | EncryptionKey,
        daily_retention_days: int = 35,
        weekly_retention_days: int = 90,
        monthly_retention_days: int = 365,
        cold_storage_after_days: int | None = 90,
        daily_schedule: str = DAILY_SCHEDULE,
        weekly_schedule: str = WEEKLY_SCHEDULE,
        monthly_schedule: str = MONTHLY_SCHEDULE,
        enable_continuous_backup: bool = False,
        copy_to_vault_arn: str | None = None,
        copy_retention_days: int | None = None,
        vault_lock: bool = False,
        vault_lock_min_retention_days: int | None = None,
        vault_lock_max_retention_days: int | None = None,
        notification_topic: sns.ITopic | None = None,
        notification_events: Sequence[backup.BackupVaultEvents] = NOTIFICATION_EVENTS,
        vault_policy_administrators: Sequence[str] = (),
    ) -> None:
        key = encryption_key.key if isinstance(encryption_key, EncryptionKey) else encryption_key
        _validate_key(key)
        retention = {
            "daily": daily_retention_days,
            "weekly": weekly_retention_days,
            "monthly": monthly_retention_days,
        }
        _validate_retention(retention, cold_storage_after_days, enable_continuous_backup)
        schedules = {
            "daily_schedule": daily_schedule,
            "weekly_schedule": weekly_schedule,
            "monthly_schedule": monthly_schedule,
        }
        for argument, expression in schedules.items():
            _validate_cron(argument, expression)
        _validate_copy(copy_to_vault_arn, copy_retention_days)
        lock = _lock_configuration(
            vault_lock,
            vault_lock_min_retention_days,
            vault_lock_max_retention_days,
            shortest=daily_retention_days,
            longest=monthly_retention_days,
        )
        if notification_topic is not None and not notification_events:
            raise invalid(
                _NAME, "notification_events", list(notification_events), "pass at least one event"
            )
        for administrator in vault_policy_administrators:
            if not Token.is_unresolved(administrator) and not _PRINCIPAL_ARN.match(administrator):
                raise invalid(
                    _NAME,
                    "vault_policy_administrators",
                    administrator,
                    "pass IAM principal ARNs such as arn:aws:iam::111122223333:role/Deployer",
                )

        super().__init__(scope, construct_id)
        #: Eight hex digits of the construct path, in names and policy statement IDs.
        self.suffix = hashlib.sha256(self.node.path.encode()).hexdigest()[:8]
        self.encryption_key = key
        self.retention_days = dict(retention)
        self.cold_storage_after_days = cold_storage_after_days
        self.selections: list[backup.BackupSelection] = []

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "backup.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in MANAGED_POLICIES
            ],
            description="AWS Backup creates and restores the recovery points of this plan",
        )
        for name, reason in MANAGED_POLICIES.items():
            acknowledge(
                self.role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]",
                reason,
            )
        self.key_policy_updated = self._allow_role_to_use_key(key)

        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=Fn.join("-", [f"Vault{self.suffix}", key.key_id]),
            encryption_key=key,
            access_policy=_access_policy(vault_policy_administrators),
            lock_configuration=lock,
            removal_policy=RemovalPolicy.RETAIN,
        )
        if notification_topic is not None:
            self._notify(notification_topic, notification_events)

        copy_target = (
            backup.BackupVault.from_backup_vault_arn(self, "CopyTarget", copy_to_vault_arn)
            if copy_to_vault_arn is not None
            else None
        )
        self.rules: dict[str, backup.BackupPlanRule] = {}
        for kind, schedule in zip(retention, schedules.values(), strict=True):
            days = retention[kind]
            cold = self._cold_storage(kind, days)
            copy_actions = []
            if copy_target is not None:
                copy_days = copy_retention_days or days
                copy_cold = self._cold_storage(kind, copy_days)
                copy_actions.append(
                    backup.BackupPlanCopyActionProps(
                        destination_backup_vault=copy_target,
                        delete_after=Duration.days(copy_days),
                        move_to_cold_storage_after=_days(copy_cold),
                    )
                )
            self.rules[kind.capitalize()] = backup.BackupPlanRule(
                rule_name=kind.capitalize(),
                schedule_expression=events.Schedule.expression(schedule),
                delete_after=Duration.days(days),
                move_to_cold_storage_after=_days(cold),
                enable_continuous_backup=(kind == "daily" and enable_continuous_backup) or None,
                copy_actions=copy_actions or None,
            )

        self.plan = backup.BackupPlan(
            self,
            "Resource",
            backup_plan_name=Fn.join(
                "-",
                [f"Plan{self.suffix}", Fn.select(2, Fn.split("/", Aws.STACK_ID))],
            ),
            backup_vault=self.vault,
            backup_plan_rules=list(self.rules.values()),
        )
        self.node.add_validation(_RequireSelection(self))

    # ---- selections --------------------------------------------------------------------------
    def add_resources(self, selection_id: str, *resources: BackupTarget) -> backup.BackupSelection:
        """Back up specific resources: RDS instances and clusters, EC2 instances (with their EBS
        volumes), DynamoDB tables, or ARNs of any resource type AWS Backup supports."""
        _validate_selection_id(selection_id)
        if not resources:
            raise invalid(
                _NAME, "resources", [], "pass at least one resource or use add_tag_selection"
            )
        targets = [_backup_resource(resource) for resource in resources]
        return self._select(selection_id, targets)

    def add_tag_selection(self, selection_id: str, key: str, value: str) -> backup.BackupSelection:
        """Back up every supported resource of this account and region tagged ``key=value``,
        e.g. ``Backup=true`` on the EBS volumes of a fleet's launch template."""
        _validate_selection_id(selection_id)
        for argument, text in (("key", key), ("value", value)):
            if not isinstance(text, str) or (not Token.is_unresolved(text) and not text.strip()):
                raise invalid(_NAME, argument, text, "pass a non-empty tag " + argument)
        if not Token.is_unresolved(key) and key.lower().startswith("aws:"):
            raise invalid(_NAME, "key", key, "use your own tag key; 'aws:' keys are reserved")
        return self._select(selection_id, [backup.BackupResource.from_tag(key, value)])

    def _select(
        self, selection_id: str, targets: Sequence[backup.BackupResource]
    ) -> backup.BackupSelection:
        selection = backup.BackupSelection(
            self,
            selection_id,
            backup_plan=self.plan,
            resources=list(targets),
            role=self.role,
            disable_default_backup_policy=True,
        )
        self.selections.append(selection)
        return selection

    # ---- attributes ---------------------------------------------------------------------------
    @property
    def vault_arn(self) -> str:
        """ARN of the vault."""
        return self.vault.backup_vault_arn

    @property
    def vault_name(self) -> str:
        """Name of the vault."""
        return self.vault.backup_vault_name

    @property
    def plan_id(self) -> str:
        """ID of the backup plan."""
        return self.plan.backup_plan_id

    # ---- internals ----------------------------------------------------------------------------
    def _cold_storage(self, kind: str, retention_days: int) -> int | None:
        """Cold-storage transition for a weekly/monthly rule (or copy) whose retention allows it."""
        cold = self.cold_storage_after_days
        if kind == "daily" or cold is None:
            return None
        return cold if retention_days >= cold + MIN_DAYS_IN_COLD_STORAGE else None

    def _allow_role_to_use_key(self, key: kms.IKey) -> bool:
        """Key-policy statements for the role, on a key defined in this stack."""
        if not isinstance(key, kms.Key) or Stack.of(key).node.path != Stack.of(self).node.path:
            return False
        suffix = self.suffix
        account = {"kms:CallerAccount": Aws.ACCOUNT_ID}
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"BackupVaultUse{suffix}",
                principals=[self.role],
                actions=USAGE_ACTIONS,
                resources=["*"],
                conditions={
                    "StringEquals": {
                        **account,
                        "kms:ViaService": f"backup.{Aws.REGION}.amazonaws.com",
                    }
                },
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"BackupVaultGrants{suffix}",
                principals=[self.role],
                actions=GRANT_ACTIONS,
                resources=["*"],
                conditions={
                    "StringEquals": account,
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            )
        )
        return True

    def _notify(
        self, topic: sns.ITopic, notification_events: Sequence[backup.BackupVaultEvents]
    ) -> None:
        """Vault notifications, and the topic/key policy that lets AWS Backup publish."""
        vault = self.vault.node.default_child
        assert isinstance(vault, backup.CfnBackupVault)
        vault.notifications = backup.CfnBackupVault.NotificationObjectTypeProperty(
            backup_vault_events=[event.value for event in notification_events],
            sns_topic_arn=topic.topic_arn,
        )
        this_account = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BackupVaultNotifications",
                principals=[iam.ServicePrincipal("backup.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=this_account,
            )
        )
        topic_key = topic.master_key
        if isinstance(topic_key, kms.Key) and (
            Stack.of(topic_key).node.path == Stack.of(self).node.path
        ):
            topic_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="BackupPublishToEncryptedTopic",
                    principals=[iam.ServicePrincipal("backup.amazonaws.com")],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                    conditions=this_account,
                )
            )


@jsii.implements(IValidation)
class _RequireSelection:
    """Synth-time check: a plan that selects nothing backs nothing up."""

    def __init__(self, plan: BackupPlan) -> None:
        self._plan = plan

    def validate(self) -> list[str]:
        if self._plan.selections:
            return []
        return [
            f"{_NAME}: {self._plan.node.path} selects no resources; call add_resources(...) "
            "or add_tag_selection(...)"
        ]


# ---- validation -------------------------------------------------------------------------------
def _require_days(argument: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or Token.is_unresolved(value):
        raise invalid(_NAME, argument, value, f"pass a whole number of days from {low} to {high}")
    if not low <= value <= high:
        raise invalid(_NAME, argument, value, f"use a number of days from {low} to {high}")
    return value


def _validate_key(key: kms.IKey | None) -> None:
    if key is None or not hasattr(key, "key_arn"):
        raise invalid(
            _NAME,
            "encryption_key",
            key,
            "pass a customer-managed kms.IKey; the vault must be encrypted with a CMK (ENC-03)",
        )
    key_id = key.key_id
    if not Token.is_unresolved(key_id) and not _KEY_ID.match(key_id):
        raise invalid(
            _NAME,
            "encryption_key",
            key_id,
            "pass the key itself (kms.Key or kms.Key.from_key_arn), not an alias",
        )


def _validate_retention(
    retention: dict[str, int], cold_storage_after_days: int | None, continuous: bool
) -> None:
    for kind, days in retention.items():
        _require_days(f"{kind}_retention_days", days, 1, MAX_RETENTION_DAYS)
    for shorter, longer in (("daily", "weekly"), ("weekly", "monthly")):
        if retention[longer] < retention[shorter]:
            raise invalid(
                _NAME,
                f"{longer}_retention_days",
                retention[longer],
                f"keep {longer} recovery points at least as long as {shorter} ones "
                f"({shorter}_retention_days={retention[shorter]})",
            )
    if cold_storage_after_days is not None:
        _require_days("cold_storage_after_days", cold_storage_after_days, 1, MAX_RETENTION_DAYS)
        needed = cold_storage_after_days + MIN_DAYS_IN_COLD_STORAGE
        if retention["monthly"] < needed:
            raise invalid(
                _NAME,
                "monthly_retention_days",
                retention["monthly"],
                f"AWS Backup keeps recovery points at least {MIN_DAYS_IN_COLD_STORAGE} days in "
                f"cold storage: use at least cold_storage_after_days + "
                f"{MIN_DAYS_IN_COLD_STORAGE} = {needed}, a smaller cold_storage_after_days, "
                "or cold_storage_after_days=None",
            )
    if continuous and retention["daily"] > MAX_CONTINUOUS_RETENTION_DAYS:
        raise invalid(
            _NAME,
            "daily_retention_days",
            retention["daily"],
            f"continuous backup keeps at most {MAX_CONTINUOUS_RETENTION_DAYS} days; lower it or "
            "set enable_continuous_backup=False",
        )


def _validate_cron(argument: str, expression: str) -> None:
    if not isinstance(expression, str) or not _CRON.match(expression):
        raise invalid(
            _NAME,
            argument,
            expression,
            "pass an AWS cron expression with six fields, e.g. 'cron(0 5 * * ? *)'",
        )
    fields = expression[len("cron(") : -1].split()
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise invalid(
            _NAME,
            argument,
            expression,
            "set exactly one of day-of-month (3rd field) and day-of-week (5th field) to '?'",
        )


def _validate_copy(copy_to_vault_arn: str | None, copy_retention_days: int | None) -> None:
    if copy_to_vault_arn is not None and not (
        isinstance(copy_to_vault_arn, str)
        and (Token.is_unresolved(copy_to_vault_arn) or _VAULT_ARN.match(copy_to_vault_arn))
    ):
        raise invalid(
            _NAME,
            "copy_to_vault_arn",
            copy_to_vault_arn,
            "pass a backup vault ARN such as "
            "arn:aws:backup:us-west-2:111122223333:backup-vault:dr-vault",
        )
    if copy_retention_days is not None:
        if copy_to_vault_arn is None:
            raise invalid(
                _NAME,
                "copy_retention_days",
                copy_retention_days,
                "it applies to copies only; pass copy_to_vault_arn as well",
            )
        _require_days("copy_retention_days", copy_retention_days, 1, MAX_RETENTION_DAYS)


def _lock_configuration(
    vault_lock: bool,
    min_days: int | None,
    max_days: int | None,
    *,
    shortest: int,
    longest: int,
) -> backup.LockConfiguration | None:
    """Governance-mode lock (no ``changeable_for``), or ``None`` without ``vault_lock``."""
    if not vault_lock:
        for argument, value in (
            ("vault_lock_min_retention_days", min_days),
            ("vault_lock_max_retention_days", max_days),
        ):
            if value is not None:
                raise invalid(_NAME, argument, value, "set vault_lock=True to use it")
        return None
    low = (
        shortest
        if min_days is None
        else _require_days("vault_lock_min_retention_days", min_days, 1, shortest)
    )
    if max_days is None:
        high = longest if longest > low else None
    else:
        high = _require_days("vault_lock_max_retention_days", max_days, longest, MAX_RETENTION_DAYS)
        if high <= low:
            raise invalid(
                _NAME,
                "vault_lock_max_retention_days",
                max_days,
                f"use more than vault_lock_min_retention_days={low}",
            )
    return backup.LockConfiguration(min_retention=Duration.days(low), max_retention=_days(high))


def _access_policy(administrators: Sequence[str]) -> iam.PolicyDocument:
    """Vault access policy: recovery points are immutable for every principal; the policy itself
    only for ``administrators`` (when given, see the module docstring)."""
    statements = [
        iam.PolicyStatement(
            sid="DenyRecoveryPointDeletion",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=list(PROTECTED_RECOVERY_POINT_ACTIONS),
            resources=["*"],
        )
    ]
    if administrators:
        statements.append(
            iam.PolicyStatement(
                sid="DenyAccessPolicyChanges",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(ACCESS_POLICY_ACTIONS),
                resources=["*"],
                conditions={"ArnNotLike": {"aws:PrincipalArn": list(administrators)}},
            )
        )
    return iam.PolicyDocument(statements=statements)


def _validate_selection_id(selection_id: str) -> None:
    if not isinstance(selection_id, str) or not _SELECTION_ID.match(selection_id):
        raise invalid(
            _NAME,
            "selection_id",
            selection_id,
            "it becomes the selection name: use 1-50 letters, digits, '-', '_' or '.'",
        )


def _backup_resource(resource: object) -> backup.BackupResource:
    """Map a construct (or ARN) to the resource AWS Backup selects."""
    if isinstance(resource, str):
        if Token.is_unresolved(resource) or _ARN.match(resource):
            return backup.BackupResource.from_arn(resource)
        raise invalid(
            _NAME,
            "resources",
            resource,
            "pass a construct or a resource ARN such as "
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-0123456789abcdef0",
        )
    if hasattr(resource, "instance_arn"):
        return backup.BackupResource.from_rds_database_instance(resource)  # type: ignore[arg-type]
    if hasattr(resource, "cluster_identifier") and hasattr(resource, "cluster_endpoint"):
        return backup.BackupResource.from_rds_database_cluster(resource)  # type: ignore[arg-type]
    if hasattr(resource, "instance_id") and hasattr(resource, "instance_private_ip"):
        return backup.BackupResource.from_ec2_instance(resource)  # type: ignore[arg-type]
    if hasattr(resource, "table_arn"):
        return backup.BackupResource.from_arn(resource.table_arn)
    raise invalid(
        _NAME,
        "resources",
        type(resource).__name__,
        "pass rds.IDatabaseInstance, rds.IDatabaseCluster, ec2.IInstance, dynamodb.ITable or an "
        "ARN",
    )


def _days(days: int | None) -> Duration | None:
    return None if days is None else Duration.days(days)
