"""DynamoDB tables with recovery, CMK encryption and deletion protection (DB-10, ENC-03).

:class:`SecureTable` uses the ``dynamodb.Table`` L2 (``AWS::DynamoDB::Table``), not ``TableV2``
(``AWS::DynamoDB::GlobalTable``). ``TableV2`` puts point-in-time recovery, deletion protection and
the KMS key under ``Replicas[]``, where neither the cdk-nag DynamoDB rules nor this project's
DB-10/ENC-03 audit (``controls/checks``) look for them, so a ``TableV2`` would be unchecked (nag)
or reported as failing (audit) although configured correctly. A single-region table needs none of
the global-table features.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib.acknowledgments import MIN_REASON_LENGTH, acknowledge
from constructs_lib.encryption import EncryptionKey
from constructs_lib.validation import invalid

_NAME = "SecureTable"

#: DynamoDB attribute names: 1..255 characters (we also refuse blanks and surrounding spaces).
_ATTRIBUTE = re.compile(r"^\S(.{0,253}\S)?$")

_KEY_TYPES = (
    dynamodb.AttributeType.STRING,
    dynamodb.AttributeType.NUMBER,
    dynamodb.AttributeType.BINARY,
)

#: Item-level actions ``read_write_policy`` grants (the L2's read + write data actions).
READ_WRITE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)

#: An append-only writer (an audit log): new items only, never read, changed or deleted.
APPEND_ONLY_ACTIONS = ("dynamodb:PutItem",)


class SecureTable(Construct):
    """A retained, deletion-protected DynamoDB table encrypted with a customer-managed key.

    Point-in-time recovery is on (35 days of continuous backups), billing is on demand unless
    ``billing_mode`` says otherwise, and the table is kept when the stack or the resource is
    deleted (``RemovalPolicy.RETAIN`` plus ``DeletionProtectionEnabled``).

    :param partition_key: name of the partition-key attribute.
    :param partition_key_type: its ``dynamodb.AttributeType`` (string, number or binary).
    :param sort_key: optional sort-key attribute name; ``sort_key_type`` is its type.
    :param encryption_key: the CMK for server-side encryption (``kms.IKey`` or an
        :class:`~constructs_lib.encryption.EncryptionKey`); give its key ``services=["dynamodb"]``
        so principals can use it through DynamoDB.
    :param billing_mode: ``PAY_PER_REQUEST`` (default) or ``PROVISIONED`` with
        ``read_capacity``/``write_capacity``.
    :param contributor_insights: enable CloudWatch Contributor Insights (costs extra).
    :param time_to_live_attribute: attribute holding the expiry epoch seconds, if items expire.
    :param deletion_protection: ``False`` only for throw-away tables; needs
        ``allow_deletion_reason``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        partition_key: str,
        encryption_key: kms.IKey | EncryptionKey,
        partition_key_type: dynamodb.AttributeType = dynamodb.AttributeType.STRING,
        sort_key: str | None = None,
        sort_key_type: dynamodb.AttributeType = dynamodb.AttributeType.STRING,
        billing_mode: dynamodb.BillingMode = dynamodb.BillingMode.PAY_PER_REQUEST,
        read_capacity: int | None = None,
        write_capacity: int | None = None,
        contributor_insights: bool = False,
        time_to_live_attribute: str | None = None,
        deletion_protection: bool = True,
        allow_deletion_reason: str | None = None,
    ) -> None:
        key = encryption_key.key if isinstance(encryption_key, EncryptionKey) else encryption_key
        _validate(
            partition_key=partition_key,
            partition_key_type=partition_key_type,
            sort_key=sort_key,
            sort_key_type=sort_key_type,
            encryption_key=key,
            billing_mode=billing_mode,
            read_capacity=read_capacity,
            write_capacity=write_capacity,
            contributor_insights=contributor_insights,
            time_to_live_attribute=time_to_live_attribute,
            deletion_protection=deletion_protection,
            allow_deletion_reason=allow_deletion_reason,
        )
        super().__init__(scope, construct_id)
        self.encryption_key: kms.IKey = key
        provisioned = billing_mode == dynamodb.BillingMode.PROVISIONED
        self.table = dynamodb.Table(
            self,
            "Resource",
            partition_key=dynamodb.Attribute(name=partition_key, type=partition_key_type),
            sort_key=(dynamodb.Attribute(name=sort_key, type=sort_key_type) if sort_key else None),
            billing_mode=billing_mode,
            read_capacity=read_capacity if provisioned else None,
            write_capacity=write_capacity if provisioned else None,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=deletion_protection,
            contributor_insights_specification=(
                dynamodb.ContributorInsightsSpecification(enabled=True)
                if contributor_insights
                else None
            ),
            time_to_live_attribute=time_to_live_attribute,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"):
            acknowledge(
                self.table,
                f"{pack}-DynamoDBInBackupPlan",
                "point-in-time recovery keeps 35 days of continuous backups of this table "
                "(DB-10); adding it to an AWS Backup plan (RES-01) is the composing stack's "
                "choice, made with its BackupPlan.add_resources",
            )

    @property
    def table_name(self) -> str:
        """Name of the table (generated)."""
        return self.table.table_name

    @property
    def table_arn(self) -> str:
        """ARN of the table."""
        return self.table.table_arn

    def grant_read_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read items (and decrypt with the key); for a role this becomes an inline policy."""
        return self.table.grant_read_data(grantee)

    def grant_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Write items (and use the key); for a role this becomes an inline policy."""
        return self.table.grant_write_data(grantee)

    def grant_read_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read and write items; for a role this becomes an inline policy."""
        return self.table.grant_read_write_data(grantee)

    def read_write_policy(self, role: iam.IRole, construct_id: str) -> iam.ManagedPolicy:
        """A customer-managed policy attached to ``role``: item read/write on this table only.

        The ``grant_*`` methods add inline policies to the role, which three cdk-nag packs reject
        (IAMNoInlinePolicy); this policy carries the same item actions plus the key use the
        encrypted table needs, limited to calls through DynamoDB (``kms:ViaService``). The
        policy is created in this construct under ``construct_id``.
        """
        return self._item_policy(
            role,
            construct_id,
            READ_WRITE_ACTIONS,
            "Item read/write on one DynamoDB table and its CMK (through DynamoDB)",
        )

    def append_only_policy(self, role: iam.IRole, construct_id: str) -> iam.ManagedPolicy:
        """Like :meth:`read_write_policy`, but ``PutItem`` only: the writer of an audit log can
        add records and can neither read nor change nor delete them (pair it with a condition
        expression such as ``attribute_not_exists`` so a record is never overwritten)."""
        return self._item_policy(
            role,
            construct_id,
            APPEND_ONLY_ACTIONS,
            "Append-only writes (PutItem) to one DynamoDB table and its CMK (through DynamoDB)",
        )

    def _item_policy(
        self, role: iam.IRole, construct_id: str, actions: Sequence[str], description: str
    ) -> iam.ManagedPolicy:
        if not isinstance(construct_id, str) or not construct_id.strip():
            raise invalid(_NAME, "construct_id", construct_id, "pass an ID such as 'AppAccess'")
        role_name = getattr(role, "role_name", None)
        if role_name is None:
            raise invalid(_NAME, "role", role, "pass an iam.IRole")
        stack_region = self.table.stack.region
        return iam.ManagedPolicy(
            self,
            construct_id,
            description=description,
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="TableItems",
                    actions=list(actions),
                    resources=[self.table.table_arn],
                ),
                iam.PolicyStatement(
                    sid="TableKeyThroughDynamoDb",
                    actions=[
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                    ],
                    resources=[self.encryption_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"dynamodb.{stack_region}.amazonaws.com"}
                    },
                ),
            ],
        )


def _validate(
    *,
    partition_key: str,
    partition_key_type: dynamodb.AttributeType,
    sort_key: str | None,
    sort_key_type: dynamodb.AttributeType,
    encryption_key: kms.IKey,
    billing_mode: dynamodb.BillingMode,
    read_capacity: int | None,
    write_capacity: int | None,
    contributor_insights: bool,
    time_to_live_attribute: str | None,
    deletion_protection: bool,
    allow_deletion_reason: str | None,
) -> None:
    """Reject bad arguments before anything is created."""
    for argument, value, required in (
        ("partition_key", partition_key, True),
        ("sort_key", sort_key, False),
        ("time_to_live_attribute", time_to_live_attribute, False),
    ):
        if value is None and not required:
            continue
        if not isinstance(value, str) or not _ATTRIBUTE.match(value):
            raise invalid(
                _NAME, argument, value, "pass an attribute name of 1..255 non-blank characters"
            )
    if sort_key is not None and sort_key == partition_key:
        raise invalid(_NAME, "sort_key", sort_key, "use an attribute other than the partition key")
    for argument, attribute_type in (
        ("partition_key_type", partition_key_type),
        ("sort_key_type", sort_key_type),
    ):
        if attribute_type not in _KEY_TYPES:
            raise invalid(
                _NAME, argument, attribute_type, "use AttributeType.STRING, NUMBER or BINARY"
            )
    if encryption_key is None or not hasattr(encryption_key, "key_arn"):
        raise invalid(
            _NAME,
            "encryption_key",
            encryption_key,
            "DB-10 needs a customer-managed key; pass a kms.IKey or an EncryptionKey",
        )
    if billing_mode not in (dynamodb.BillingMode.PAY_PER_REQUEST, dynamodb.BillingMode.PROVISIONED):
        raise invalid(_NAME, "billing_mode", billing_mode, "pass a dynamodb.BillingMode member")
    if billing_mode == dynamodb.BillingMode.PROVISIONED:
        for argument, capacity in (
            ("read_capacity", read_capacity),
            ("write_capacity", write_capacity),
        ):
            if (
                isinstance(capacity, bool)
                or not isinstance(capacity, int)
                or (not Token.is_unresolved(capacity) and capacity < 1)
            ):
                raise invalid(
                    _NAME,
                    argument,
                    capacity,
                    "PROVISIONED billing needs capacity units of 1 or more",
                )
    else:
        for argument, capacity in (
            ("read_capacity", read_capacity),
            ("write_capacity", write_capacity),
        ):
            if capacity is not None:
                raise invalid(
                    _NAME,
                    argument,
                    capacity,
                    "capacity applies only to BillingMode.PROVISIONED; drop it or switch billing",
                )
    for argument, flag in (
        ("contributor_insights", contributor_insights),
        ("deletion_protection", deletion_protection),
    ):
        if not isinstance(flag, bool):
            raise invalid(_NAME, argument, flag, "pass True or False")
    reason_ok = (
        isinstance(allow_deletion_reason, str)
        and len(allow_deletion_reason.strip()) >= MIN_REASON_LENGTH
    )
    if not deletion_protection and not reason_ok:
        raise invalid(
            _NAME,
            "deletion_protection",
            deletion_protection,
            "DB-10 requires deletion protection; to turn it off pass "
            "allow_deletion_reason='<why, at least 40 characters>'",
        )
    if deletion_protection and allow_deletion_reason is not None:
        raise invalid(
            _NAME,
            "allow_deletion_reason",
            allow_deletion_reason,
            "deletion protection is on, so there is nothing to allow; drop the argument",
        )
