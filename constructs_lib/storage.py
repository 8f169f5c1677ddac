"""S3 buckets that satisfy the storage controls by default (S3-01..S3-04, ENC-03, ENC-04, RES-02).

Every bucket blocks public access, enforces object ownership, versions objects, encrypts with a
customer-managed key, denies plain-HTTP and pre-TLS-1.2 requests, logs access to a dedicated
bucket, tiers and expires old data, and is retained when the stack is deleted.

Two relaxations exist because AWS services require them, and each must be asked for by name:

* ``s3_managed_encryption_reason`` — S3 server access logs and ALB access logs can only be
  written to SSE-S3 buckets;
* ``access_log_destination=True`` — the bucket that *receives* server access logs cannot log to
  itself.

``immutable=True`` turns a bucket into an audit-log bucket (S3-04): nobody may delete objects,
versions or the bucket, and only the named policy administrators may change its policy,
lifecycle, versioning or Object Lock configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.validation import invalid, require_range

#: Principals allowed to change an immutable bucket's policy and lifecycle: the CDK bootstrap's
#: CloudFormation execution role, which performs stack updates.
DEFAULT_POLICY_ADMINISTRATORS = (
    f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/cdk-*-cfn-exec-role-{Aws.ACCOUNT_ID}-*",
)

_REPLICATION_REASON = (
    "Cross-region replication needs a destination bucket in a second region that this "
    "single-region stack does not own; durability comes from versioning, the Retain policy "
    "and S3's multi-AZ storage. Pass replication_destination to turn replication on."
)


@dataclass(frozen=True, kw_only=True)
class LifecyclePolicy:
    """How a bucket ages its data (S3-03).

    :param infrequent_access_after_days: move current objects to STANDARD_IA after this many days.
    :param glacier_after_days: move current objects to GLACIER after this many days (None: never).
    :param expire_after_days: delete current objects after this many days (None: keep).
    :param noncurrent_expire_after_days: delete noncurrent versions after this many days.
    :param abort_multipart_after_days: abort incomplete multipart uploads after this many days.
    """

    infrequent_access_after_days: int = 30
    glacier_after_days: int | None = 90
    expire_after_days: int | None = None
    noncurrent_expire_after_days: int = 90
    abort_multipart_after_days: int = 7

    def validate(self) -> None:
        """Raise ``ValueError`` on an impossible schedule."""
        require_range(
            "LifecyclePolicy",
            "infrequent_access_after_days",
            self.infrequent_access_after_days,
            30,
            3650,
        )
        require_range(
            "LifecyclePolicy",
            "noncurrent_expire_after_days",
            self.noncurrent_expire_after_days,
            1,
            3650,
        )
        require_range(
            "LifecyclePolicy", "abort_multipart_after_days", self.abort_multipart_after_days, 1, 30
        )
        if self.glacier_after_days is not None and (
            self.glacier_after_days < self.infrequent_access_after_days + 30
        ):
            raise invalid(
                "LifecyclePolicy",
                "glacier_after_days",
                self.glacier_after_days,
                "use at least 30 days more than infrequent_access_after_days",
            )
        last_transition = self.glacier_after_days or self.infrequent_access_after_days
        if self.expire_after_days is not None and self.expire_after_days <= last_transition:
            raise invalid(
                "LifecyclePolicy",
                "expire_after_days",
                self.expire_after_days,
                f"use more than {last_transition} days (after the last transition) or None",
            )

    def rules(self) -> list[s3.LifecycleRule]:
        """The S3 lifecycle rules for this policy."""
        transitions = [
            s3.Transition(
                storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                transition_after=Duration.days(self.infrequent_access_after_days),
            )
        ]
        if self.glacier_after_days is not None:
            transitions.append(
                s3.Transition(
                    storage_class=s3.StorageClass.GLACIER,
                    transition_after=Duration.days(self.glacier_after_days),
                )
            )
        return [
            s3.LifecycleRule(
                id="TierExpireAndCleanUp",
                enabled=True,
                transitions=transitions,
                expiration=(
                    Duration.days(self.expire_after_days) if self.expire_after_days else None
                ),
                noncurrent_version_expiration=Duration.days(self.noncurrent_expire_after_days),
                abort_incomplete_multipart_upload_after=Duration.days(
                    self.abort_multipart_after_days
                ),
            )
        ]


class SecureBucket(Construct):
    """A private, versioned, encrypted, access-logged, lifecycle-managed and retained S3 bucket.

    :param encryption_key: customer-managed key for SSE-KMS (required unless
        ``s3_managed_encryption_reason`` is given).
    :param server_access_logs_bucket: dedicated bucket that receives this bucket's access logs
        (required unless ``access_log_destination=True``).
    :param access_log_destination: this bucket *is* the server-access-log destination.
    :param s3_managed_encryption_reason: use SSE-S3 instead of the key, because the writing service
        requires it; the reason is recorded with the cdk-nag acknowledgments.
    :param immutable: make this an audit-log bucket (deny deletes and policy/lifecycle changes).
    :param policy_administrator_arns: ARN patterns exempt from the immutable bucket's denies on
        policy and lifecycle changes (default: the CDK CloudFormation execution role).
    :param object_lock_retention_days: turn Object Lock on with a GOVERNANCE default retention.
    :param lifecycle: lifecycle schedule; the default tiers to IA/Glacier and cleans up.
    :param replication_destination: replicate every object to this bucket (another region).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        server_access_logs_prefix: str | None = None,
        access_log_destination: bool = False,
        s3_managed_encryption_reason: str | None = None,
        immutable: bool = False,
        policy_administrator_arns: Sequence[str] = DEFAULT_POLICY_ADMINISTRATORS,
        object_lock_retention_days: int | None = None,
        lifecycle: LifecyclePolicy | None = None,
        replication_destination: s3.IBucket | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        lifecycle = lifecycle or LifecyclePolicy()
        lifecycle.validate()
        self._validate(
            encryption_key=encryption_key,
            server_access_logs_bucket=server_access_logs_bucket,
            access_log_destination=access_log_destination,
            s3_managed_encryption_reason=s3_managed_encryption_reason,
            immutable=immutable,
            policy_administrator_arns=policy_administrator_arns,
            object_lock_retention_days=object_lock_retention_days,
        )
        self.encryption_key = None if s3_managed_encryption_reason else encryption_key

        self.bucket = s3.Bucket(
            self,
            "Resource",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            encryption=(
                s3.BucketEncryption.S3_MANAGED
                if s3_managed_encryption_reason
                else s3.BucketEncryption.KMS
            ),
            encryption_key=self.encryption_key,
            bucket_key_enabled=self.encryption_key is not None,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            server_access_logs_bucket=server_access_logs_bucket,
            server_access_logs_prefix=server_access_logs_prefix,
            lifecycle_rules=lifecycle.rules(),
            object_lock_enabled=object_lock_retention_days is not None or None,
            object_lock_default_retention=(
                s3.ObjectLockRetention.governance(Duration.days(object_lock_retention_days))
                if object_lock_retention_days
                else None
            ),
            replication_rules=(
                [s3.ReplicationRule(destination=replication_destination, priority=1)]
                if replication_destination
                else None
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        if immutable:
            self._deny_tampering(policy_administrator_arns)
        self._acknowledge_relaxations(
            access_log_destination=access_log_destination,
            s3_managed_encryption_reason=s3_managed_encryption_reason,
            replicated=replication_destination is not None,
        )

    @staticmethod
    def _validate(
        *,
        encryption_key: kms.IKey | None,
        server_access_logs_bucket: s3.IBucket | None,
        access_log_destination: bool,
        s3_managed_encryption_reason: str | None,
        immutable: bool,
        policy_administrator_arns: Sequence[str],
        object_lock_retention_days: int | None,
    ) -> None:
        if encryption_key is None and not s3_managed_encryption_reason:
            raise invalid(
                "SecureBucket",
                "encryption_key",
                None,
                "pass a customer-managed kms.IKey, or s3_managed_encryption_reason='<why the "
                "writing service needs SSE-S3>'",
            )
        if s3_managed_encryption_reason is not None and len(s3_managed_encryption_reason) < 20:
            raise invalid(
                "SecureBucket",
                "s3_managed_encryption_reason",
                s3_managed_encryption_reason,
                "say which service requires SSE-S3 and why (20 characters or more)",
            )
        if server_access_logs_bucket is None and not access_log_destination:
            raise invalid(
                "SecureBucket",
                "server_access_logs_bucket",
                None,
                "pass the dedicated access-log bucket, or access_log_destination=True for that "
                "bucket itself",
            )
        if server_access_logs_bucket is not None and access_log_destination:
            raise invalid(
                "SecureBucket",
                "access_log_destination",
                True,
                "an access-log destination does not log to another bucket; drop one argument",
            )
        if access_log_destination and object_lock_retention_days is not None:
            raise invalid(
                "SecureBucket",
                "object_lock_retention_days",
                object_lock_retention_days,
                "S3 server access logging cannot deliver to a bucket with default retention; "
                "use immutable=True instead",
            )
        if object_lock_retention_days is not None:
            require_range(
                "SecureBucket", "object_lock_retention_days", object_lock_retention_days, 1, 3650
            )
        if immutable and not policy_administrator_arns:
            raise invalid(
                "SecureBucket",
                "policy_administrator_arns",
                list(policy_administrator_arns),
                "name at least the role that deploys the stack, or updates will be denied",
            )

    def _deny_tampering(self, administrators: Sequence[str]) -> None:
        """Explicit denies that make an audit-log bucket append-only (S3-04)."""
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyLogDeletion",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"],
                resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyRetentionTampering",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=[
                    "s3:PutBucketPolicy",
                    "s3:DeleteBucketPolicy",
                    "s3:PutLifecycleConfiguration",
                    "s3:PutBucketVersioning",
                    "s3:PutBucketObjectLockConfiguration",
                    "s3:BypassGovernanceRetention",
                ],
                resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
                conditions={"ArnNotLike": {"aws:PrincipalArn": list(administrators)}},
            )
        )

    def _acknowledge_relaxations(
        self,
        *,
        access_log_destination: bool,
        s3_managed_encryption_reason: str | None,
        replicated: bool,
    ) -> None:
        cfn_bucket = self.bucket.node.default_child
        assert cfn_bucket is not None
        if access_log_destination:
            reason = (
                "This bucket is the server-access-log destination; logging it into itself "
                "would create a feedback loop of log records about log delivery."
            )
            for finding in (
                "AwsSolutions-S1",
                "HIPAA.Security-S3BucketLoggingEnabled",
                "NIST.800.53.R5-S3BucketLoggingEnabled",
                "PCI.DSS.321-S3BucketLoggingEnabled",
            ):
                acknowledge(cfn_bucket, finding, reason)
        if s3_managed_encryption_reason:
            reason = f"SSE-S3 instead of a customer key: {s3_managed_encryption_reason}"
            for finding in (
                "HIPAA.Security-S3DefaultEncryptionKMS",
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
                "PCI.DSS.321-S3DefaultEncryptionKMS",
            ):
                acknowledge(cfn_bucket, finding, reason)
        if not replicated:
            for finding in (
                "HIPAA.Security-S3BucketReplicationEnabled",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "PCI.DSS.321-S3BucketReplicationEnabled",
            ):
                acknowledge(cfn_bucket, finding, _REPLICATION_REASON)

    @property
    def bucket_name(self) -> str:
        """Name of the bucket."""
        return self.bucket.bucket_name

    @property
    def bucket_arn(self) -> str:
        """ARN of the bucket."""
        return self.bucket.bucket_arn

    def allow_service_write(
        self,
        sid: str,
        service_principal: str,
        *,
        source_arn: str | None = None,
        key_prefix: str = "*",
        read_acl: bool = True,
    ) -> None:
        """Let an AWS log-delivery service write objects, only for this account (and source).

        Adds ``s3:PutObject`` on ``key_prefix`` and, when ``read_acl``, ``s3:GetBucketAcl`` on
        the bucket, both conditioned on ``aws:SourceAccount`` and, when given, ``aws:SourceArn``.
        """
        conditions: dict[str, dict[str, object]] = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}
        }
        if source_arn is not None:
            conditions["ArnLike"] = {"aws:SourceArn": source_arn}
        principal = iam.ServicePrincipal(service_principal)
        if read_acl:
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"{sid}AclCheck",
                    principals=[principal],
                    actions=["s3:GetBucketAcl"],
                    resources=[self.bucket.bucket_arn],
                    conditions=conditions,
                )
            )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{sid}Write",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(key_prefix)],
                conditions=conditions,
            )
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant read access to objects (and decryption through S3)."""
        return self.bucket.grant_read(grantee)

    def grant_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant write access to objects (and encryption through S3)."""
        return self.bucket.grant_write(grantee)
