"""Account audit trail and configuration recording (LOG-01, LOG-02, IAM-06, LOG-03).

``AuditTrail`` is a multi-region CloudTrail with global service events, log-file validation,
customer-key encryption, delivery to CloudWatch Logs and data events. It is built on the L1
resource because the L2 writes bucket-policy statements without source conditions; here every
service write to the log bucket is pinned to this account's trails (S3-04).

``ConfigRecorder`` records every supported resource type including global (IAM) ones, delivers
snapshots to an encrypted bucket and evaluates AWS managed rules for the catalogue's checkable
controls.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_config as config
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge, logical_id
from constructs_lib.encryption import EncryptionKey
from constructs_lib.storage import SecureBucket
from constructs_lib.validation import invalid

_TRAIL_ARNS = f"arn:{Aws.PARTITION}:cloudtrail:*:{Aws.ACCOUNT_ID}:trail/*"


class AuditTrail(Construct):
    """Multi-region CloudTrail: validated, CMK-encrypted, streamed to CloudWatch Logs.

    :param bucket: the immutable log bucket the trail delivers to (its policy gets the
        CloudTrail statements, conditioned on this account's trails).
    :param encryption_key: customer-managed key for the log files (and the log group).
    :param log_group_key: separate key for the CloudWatch Logs copy; default ``encryption_key``.
    :param s3_data_events: record S3 object-level events for every bucket except the trail's own.
    :param lambda_data_events: record Lambda invocations.
    :param dynamodb_data_events: record DynamoDB item-level events.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: SecureBucket,
        encryption_key: EncryptionKey,
        log_group_key: EncryptionKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        s3_data_events: bool = True,
        lambda_data_events: bool = False,
        dynamodb_data_events: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = bucket
        log_key = log_group_key or encryption_key
        log_key.allow_cloudwatch_logs()
        encryption_key.allow_service_principal(
            "CloudTrailEncryptLogs",
            "cloudtrail.amazonaws.com",
            actions=["kms:GenerateDataKey*"],
            conditions={
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": _TRAIL_ARNS},
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            },
        )
        encryption_key.allow_service_principal(
            "CloudTrailDescribeKey",
            "cloudtrail.amazonaws.com",
            actions=["kms:DescribeKey"],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
        bucket.allow_service_write(
            "CloudTrail",
            "cloudtrail.amazonaws.com",
            source_arn=_TRAIL_ARNS,
            key_prefix=f"AWSLogs/{Aws.ACCOUNT_ID}/*",
        )

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=log_key.key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.log_role = iam.Role(
            self,
            "LogsRole",
            assumed_by=iam.ServicePrincipal(
                "cloudtrail.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="CloudTrail delivery of audit events into its CloudWatch log group",
        )
        self.log_delivery_policy = iam.ManagedPolicy(
            self,
            "LogDeliveryPolicy",
            description="CloudTrail writes audit events into its own log group only",
            roles=[self.log_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )

        self.trail = cloudtrail.CfnTrail(
            self,
            "Resource",
            is_logging=True,
            s3_bucket_name=bucket.bucket_name,
            kms_key_id=encryption_key.key_arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=self.log_role.role_arn,
            advanced_event_selectors=self._event_selectors(
                s3_data_events=s3_data_events,
                lambda_data_events=lambda_data_events,
                dynamodb_data_events=dynamodb_data_events,
            ),
        )
        # CloudTrail checks the bucket policy and the role when the trail is created.
        if bucket.bucket.policy is not None:
            self.trail.node.add_dependency(bucket.bucket.policy)
        self.trail.node.add_dependency(self.log_delivery_policy)

    def _event_selectors(
        self, *, s3_data_events: bool, lambda_data_events: bool, dynamodb_data_events: bool
    ) -> list[cloudtrail.CfnTrail.AdvancedEventSelectorProperty]:
        def selector(
            name: str, *fields: cloudtrail.CfnTrail.AdvancedFieldSelectorProperty
        ) -> cloudtrail.CfnTrail.AdvancedEventSelectorProperty:
            return cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                name=name, field_selectors=list(fields)
            )

        def field(
            name: str, **match: list[str]
        ) -> cloudtrail.CfnTrail.AdvancedFieldSelectorProperty:
            return cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(field=name, **match)

        data = field("eventCategory", equal_to=["Data"])
        selectors = [selector("Management events", field("eventCategory", equal_to=["Management"]))]
        if s3_data_events:
            selectors.append(
                selector(
                    "S3 object events except the trail's own bucket",
                    data,
                    field("resources.type", equal_to=["AWS::S3::Object"]),
                    field("resources.ARN", not_starts_with=[f"{self.bucket.bucket_arn}/"]),
                )
            )
        if lambda_data_events:
            selectors.append(
                selector(
                    "Lambda invocations",
                    data,
                    field("resources.type", equal_to=["AWS::Lambda::Function"]),
                )
            )
        if dynamodb_data_events:
            selectors.append(
                selector(
                    "DynamoDB item events",
                    data,
                    field("resources.type", equal_to=["AWS::DynamoDB::Table"]),
                )
            )
        return selectors

    @property
    def trail_arn(self) -> str:
        """ARN of the trail."""
        return self.trail.attr_arn


#: AWS managed Config rules for the catalogue controls AWS Config can evaluate on live resources.
CATALOGUE_MANAGED_RULES: tuple[str, ...] = (
    config.ManagedRuleIdentifiers.CLOUD_TRAIL_ENABLED,
    config.ManagedRuleIdentifiers.CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED,
    config.ManagedRuleIdentifiers.CLOUD_TRAIL_ENCRYPTION_ENABLED,
    config.ManagedRuleIdentifiers.CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED,
    config.ManagedRuleIdentifiers.CLOUDWATCH_LOG_GROUP_ENCRYPTED,
    config.ManagedRuleIdentifiers.CMK_BACKING_KEY_ROTATION_ENABLED,
    config.ManagedRuleIdentifiers.VPC_FLOW_LOGS_ENABLED,
    config.ManagedRuleIdentifiers.VPC_DEFAULT_SECURITY_GROUP_CLOSED,
    config.ManagedRuleIdentifiers.EC2_SECURITY_GROUPS_INCOMING_SSH_DISABLED,
    config.ManagedRuleIdentifiers.NACL_NO_UNRESTRICTED_SSH_RDP,
    config.ManagedRuleIdentifiers.EC2_IMDSV2_CHECK,
    config.ManagedRuleIdentifiers.EBS_ENCRYPTED_VOLUMES,
    config.ManagedRuleIdentifiers.EC2_INSTANCE_NO_PUBLIC_IP,
    config.ManagedRuleIdentifiers.AUTOSCALING_GROUP_ELB_HEALTHCHECK_REQUIRED,
    config.ManagedRuleIdentifiers.AUTOSCALING_LAUNCH_TEMPLATE,
    config.ManagedRuleIdentifiers.AUTOSCALING_MULTIPLE_AZ,
    config.ManagedRuleIdentifiers.RDS_STORAGE_ENCRYPTED,
    config.ManagedRuleIdentifiers.RDS_MULTI_AZ_SUPPORT,
    config.ManagedRuleIdentifiers.RDS_INSTANCE_PUBLIC_ACCESS_CHECK,
    config.ManagedRuleIdentifiers.RDS_INSTANCE_DELETION_PROTECTION_ENABLED,
    config.ManagedRuleIdentifiers.RDS_INSTANCE_IAM_AUTHENTICATION_ENABLED,
    config.ManagedRuleIdentifiers.RDS_ENHANCED_MONITORING_ENABLED,
    config.ManagedRuleIdentifiers.RDS_LOGGING_ENABLED,
    config.ManagedRuleIdentifiers.RDS_DB_INSTANCE_BACKUP_ENABLED,
    config.ManagedRuleIdentifiers.RDS_SNAPSHOTS_PUBLIC_PROHIBITED,
    config.ManagedRuleIdentifiers.S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED,
    config.ManagedRuleIdentifiers.S3_BUCKET_SSL_REQUESTS_ONLY,
    config.ManagedRuleIdentifiers.S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED,
    config.ManagedRuleIdentifiers.S3_BUCKET_VERSIONING_ENABLED,
    config.ManagedRuleIdentifiers.S3_BUCKET_LOGGING_ENABLED,
    config.ManagedRuleIdentifiers.ALB_HTTP_DROP_INVALID_HEADER_ENABLED,
    config.ManagedRuleIdentifiers.ALB_WAF_ENABLED,
    config.ManagedRuleIdentifiers.ELB_LOGGING_ENABLED,
    config.ManagedRuleIdentifiers.ELB_DELETION_PROTECTION_ENABLED,
    config.ManagedRuleIdentifiers.WAFV2_LOGGING_ENABLED,
    config.ManagedRuleIdentifiers.SNS_ENCRYPTED_KMS,
    config.ManagedRuleIdentifiers.SECRETSMANAGER_ROTATION_ENABLED_CHECK,
    config.ManagedRuleIdentifiers.SECRETSMANAGER_USING_CMK,
    config.ManagedRuleIdentifiers.IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS,
)


class ConfigRecorder(Construct):
    """AWS Config: recorder (all + global types), encrypted delivery channel, managed rules.

    An account has one recorder per region. ``create_recorder=False`` keeps only the rules (no
    recorder, role, delivery channel or bucket-policy statements) for accounts whose recorder is
    managed elsewhere (e.g. by AWS Control Tower).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: SecureBucket,
        encryption_key: EncryptionKey,
        managed_rules: Sequence[str] = CATALOGUE_MANAGED_RULES,
        create_recorder: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if not managed_rules and not create_recorder:
            raise invalid(
                "ConfigRecorder",
                "managed_rules",
                list(managed_rules),
                "with create_recorder=False pass at least one rule, or drop the construct",
            )
        self.role: iam.Role | None = None
        self.delivery_policy: iam.ManagedPolicy | None = None
        self.recorder: config.CfnConfigurationRecorder | None = None
        self.delivery_channel: config.CfnDeliveryChannel | None = None
        if create_recorder:
            self._record_and_deliver(bucket, encryption_key)

        self.rules: list[config.ManagedRule] = []
        for identifier in managed_rules:
            rule = config.ManagedRule(self, _rule_id(identifier), identifier=identifier)
            if self.recorder is not None:
                rule.node.add_dependency(self.recorder)
            self.rules.append(rule)

    def _record_and_deliver(self, bucket: SecureBucket, encryption_key: EncryptionKey) -> None:
        """Recorder, its role and the delivery channel into the encrypted log bucket."""
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "config.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWS_ConfigRole")
            ],
            description="AWS Config reads resource configuration and delivers snapshots",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWS_ConfigRole]",
            "AWS_ConfigRole is the AWS-maintained read-only policy that lets Config describe every "
            "supported resource type; a hand-written copy would miss new types.",
        )
        delivery_prefix = bucket.bucket.arn_for_objects(f"AWSLogs/{Aws.ACCOUNT_ID}/Config/*")
        self.delivery_policy = iam.ManagedPolicy(
            self,
            "DeliveryPolicy",
            description="AWS Config delivers encrypted snapshots to its prefix of the log bucket",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:PutObject"],
                    resources=[delivery_prefix],
                    conditions={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                ),
                iam.PolicyStatement(actions=["s3:GetBucketAcl"], resources=[bucket.bucket_arn]),
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[encryption_key.key_arn],
                ),
            ],
        )
        acknowledge(
            self.delivery_policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(bucket.bucket)}.Arn>"
            "/AWSLogs/<AWS::AccountId>/Config/*]",
            "AWS Config names snapshot objects itself; the wildcard is limited to the Config "
            "prefix of this account in the one log bucket.",
        )
        bucket.allow_service_write(
            "AwsConfig", "config.amazonaws.com", key_prefix=f"AWSLogs/{Aws.ACCOUNT_ID}/Config/*"
        )
        self.recorder = config.CfnConfigurationRecorder(
            self,
            "Resource",
            role_arn=self.role.role_arn,
            recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True, include_global_resource_types=True
            ),
        )
        self.delivery_channel = config.CfnDeliveryChannel(
            self,
            "DeliveryChannel",
            s3_bucket_name=bucket.bucket_name,
            s3_kms_key_arn=encryption_key.key_arn,
            config_snapshot_delivery_properties=config.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
                delivery_frequency="TwentyFour_Hours"
            ),
        )
        self.delivery_channel.node.add_dependency(self.recorder, self.delivery_policy)
        if bucket.bucket.policy is not None:
            self.delivery_channel.node.add_dependency(bucket.bucket.policy)


def _rule_id(identifier: str) -> str:
    """Construct ID for a managed rule: ``CLOUD_TRAIL_ENABLED`` → ``CloudTrailEnabled``."""
    return "".join(part.capitalize() for part in identifier.replace("-", "_").split("_"))
