"""FinSecureStack — the financial-services platform of seed 003 (SPEC 2.4).

A load balancer reachable only from the corporate network (``CorporateIPRange``; HTTPS with a
TLS 1.3 policy and an HTTP redirect once a certificate is given; WAF) in front of a hardened Auto
Scaling fleet, a Multi-AZ MySQL database with 30-day backups on a deploy-time ``DatabasePort``,
a DynamoDB audit table written append-only by a Lambda function whose environment is encrypted
with its own key, a static site served by CloudFront from a private bucket, and the account's
audit and identity controls: CloudTrail with its own key and S3/Lambda/DynamoDB data events, AWS
Config for all resources including global IAM types, MFA enforcement, the password policy,
access-key rules, and the removal of default VPCs in every other region.

The seed's failures it answers: a hard-coded VPC CIDR (→ ``VpcCidr`` with subnets cut by
``Fn::Cidr``), an unvalidated ``CorporateIPRange`` (→ a CIDR pattern that refuses ``/0``), a
database port not shared with its security group (→ one ``DatabasePort``), Lambda environments
under AWS-owned keys (→ the function's own key, scoped to its role), no default-VPC cleanup,
missing MFA policy, trail data events, Config global types and compliance tags, no HTTPS
listener/SSL policy, and incomplete Lambda monitoring (→ an errors alarm per function).

Keys (ENC-01), one per data domain: ``S3Key`` (Config, flow logs, static content), ``TrailKey``
(CloudTrail log files and the trail bucket), ``DatabaseKey`` (RDS, its secret, Performance
Insights), ``TableKey`` (the audit table), ``LogsKey`` (every log group), ``ComputeKey`` (EBS),
``AlertsKey`` (SNS/SQS), ``BackupKey`` (the vault), and the audit recorder's own environment key.

Compliance scope: every taggable resource carries ``Compliance=PCI-DSS`` and
``Compliance-SOX=in-scope`` through the same tag aspect as the governance tags (GOV-01).

Account-wide effects to know before deploying: the default-VPC cleanup deletes the default VPC of
every other enabled region that has no network interfaces (``dry_run_vpc_cleanup=True`` only
reports); AWS Config allows one recorder per region; the password policy exists once per account.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from config import EnvironmentConfig
from constructs_lib.app_config import AppParameters, AppSetting
from constructs_lib.audit import AuditTrail, ConfigRecorder
from constructs_lib.certificate import OPTIONAL_DOMAIN_PATTERN
from constructs_lib.default_vpc_cleanup import DefaultVpcCleanup
from constructs_lib.encryption import EncryptionKey
from constructs_lib.identity import AccessKeyGuards, MfaEnforcement, PasswordPolicy
from constructs_lib.serverless import SecureFunction
from constructs_lib.static_site import StaticSite
from constructs_lib.table import SecureTable
from constructs_lib.tracing import TracingSampling
from stacks.base import CORPORATE_CIDR_PATTERN, VPC_CIDR_PATTERN, ReferenceStack
from stacks.functions import audit_recorder
from stacks.web_tier import (
    WebTierSettings,
    add_alarm_topic,
    add_backup_plan,
    add_bastion,
    add_function_error_alarms,
    add_log_buckets,
    add_service_alarms,
    add_web_tier,
    export_key_resources,
)

#: Finance keeps at least 30 days of database backups (DB-07) in every environment.
MINIMUM_BACKUP_RETENTION_DAYS = 30

#: EC2 key pair names: 1-255 printable ASCII characters; empty means "no key pair".
_KEY_PAIR_PATTERN = r"^$|^[\x20-\x7E]{1,255}$"

#: CloudFront takes viewer certificates from us-east-1 only.
SITE_CERTIFICATE_ARN_PATTERN = r"^$|^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$"

COMPLIANCE_TAGS = {"Compliance": "PCI-DSS", "Compliance-SOX": "in-scope"}


def audit_recorder_source() -> str:
    """The audit recorder's code as inlined into the template (``index.py``)."""
    return Path(audit_recorder.__file__).read_text()


class FinSecureStack(ReferenceStack):
    """Financial services platform: corporate-only ALB → ASG → Multi-AZ MySQL, audit trail.

    :param dry_run_vpc_cleanup: report the default VPCs the cleanup would delete, delete none.
    :param create_config_recorder: create the AWS Config recorder and delivery channel (one per
        account and region); ``False`` keeps the Config rules and uses the existing recorder.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        dry_run_vpc_cleanup: bool = False,
        create_config_recorder: bool = True,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region="us-east-2",
            description=(
                "FinSecureStack (seed 003): financial services platform - corporate-only ALB "
                "with WAF and TLS 1.3, hardened Auto Scaling fleet, Multi-AZ MySQL, DynamoDB "
                "audit table, encrypted Lambda, CloudFront static site, CloudTrail, Config, MFA, "
                "default-VPC cleanup, PCI-DSS/SOX tags"
            ),
            project="FinSecure",
            extra_tags=COMPLIANCE_TAGS,
        )
        self._declare_parameters()
        self._create_keys()

        # ---- buckets ---------------------------------------------------------------------------
        buckets = add_log_buckets(self, self.s3_key.key)
        self.access_logs_bucket, self.trail_bucket = buckets.access_logs, buckets.trail
        self.config_bucket, self.flow_logs_bucket = buckets.config, buckets.flow_logs
        self.alb_logs_bucket = buckets.alb_logs

        # ---- alerting and the web tier ---------------------------------------------------------
        self.alarms = add_alarm_topic(
            self,
            self.alerts_key,
            email=(self.alert_email, self.has_alert_email),
            webhook=(self.alert_webhook, self.has_alert_webhook),
        )
        self.tier = add_web_tier(
            self,
            WebTierSettings(
                title="FinSecure financial services platform",
                database_name="finsecure",
                alb_log_prefix="finsecure",
                database_port=self.database_port.value_as_number,
                desired_capacity=self.desired_capacity.value_as_number,
                certificate_arn=self.certificate_arn.value_as_string,
                certificate_condition=self.has_certificate,
                vpc_cidr=self.vpc_cidr.value_as_string,
                dynamodb_endpoint=True,
                ingress_cidr=self.corporate_ip_range.value_as_string,
                minimum_backup_retention_days=MINIMUM_BACKUP_RETENTION_DAYS,
                enable_xray=True,
            ),
            data_key=self.compute_key.key,
            database_key=self.database_key.key,
            logs_key=self.logs_key.key,
            flow_logs_bucket=self.flow_logs_bucket,
            alb_logs=self.alb_logs_bucket,
            alarm_topic=self.alarms,
        )

        # ---- the audit table and its append-only recorder (DB-10, CMP-09) ---------------------
        self.audit_table = SecureTable(
            self,
            "AuditTable",
            partition_key="actor",
            sort_key="recordedAt",
            encryption_key=self.table_key,
        )
        self.audit_recorder = SecureFunction(
            self,
            "AuditRecorder",
            code=lambda_.Code.from_inline(audit_recorder_source()),
            handler="index.handler",
            description="Appends audit events to the FinSecure audit table (never overwrites)",
            log_encryption_key=self.logs_key,
            environment={"AUDIT_TABLE_NAME": self.audit_table.table_name},
            alias="finsecure-audit-recorder",
            vpc=self.tier.network.vpc,
            subnets=self.tier.network.app_subnet_selection(),
            log_retention=config.log_retention,
        )
        self.audit_table.append_only_policy(self.audit_recorder.role, "RecorderAccess")
        assert self.audit_recorder.security_group is not None
        # DynamoDB answers on its public addresses, reached through the gateway endpoint's route.
        self.audit_recorder.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to DynamoDB, routed through the VPC's gateway endpoint",
        )

        # ---- the static site (S3-05) -----------------------------------------------------------
        self.static_site = StaticSite(
            self,
            "StaticSite",
            access_logs_bucket=self.access_logs_bucket.bucket,
            content_key=self.s3_key.key,
            log_key=self.s3_key.key,
            certificate=acm.Certificate.from_certificate_arn(
                self, "SiteCertificate", self.site_certificate_arn.value_as_string
            ),
            domain_names=[self.site_domain_name.value_as_string],
            certificate_condition=self.has_site_certificate,
        )

        # ---- configuration and tracing (DB-11, LOG-07) ----------------------------------------
        self.app_parameters = AppParameters(
            self,
            "AppParameters",
            application="finsecure",
            environment=config.name,
            component="audit",
            settings={
                "table-name": AppSetting(
                    value=self.audit_table.table_name,
                    description="DynamoDB table that holds the audit trail of the platform",
                ),
                "recorder-function": AppSetting(
                    value=self.audit_recorder.function_name,
                    description="Function that appends audit events (append-only)",
                ),
                "retention-days": AppSetting(
                    value=str(MINIMUM_BACKUP_RETENTION_DAYS),
                    description="Minimum database backup retention of the platform, in days",
                ),
            },
        )
        self.app_parameters.grant_read(self.tier.fleet.role)
        self.tracing = TracingSampling(self, "Tracing", service_name="finsecure")

        # ---- administration ---------------------------------------------------------------------
        self.bastion = add_bastion(
            self,
            self.tier,
            encryption_key=self.compute_key.key,
            log_encryption_key=self.logs_key.key,
            key_pair_name=self.key_pair_name.value_as_string,
            key_pair_condition=self.has_key_pair,
        )

        # ---- audit, identity and the account's network hygiene --------------------------------
        self.trail = AuditTrail(
            self,
            "AuditTrail",
            bucket=self.trail_bucket,
            encryption_key=self.trail_key,
            log_group_key=self.logs_key,
            log_retention=config.log_retention,
            lambda_data_events=True,
            dynamodb_data_events=True,
        )
        self.config_recorder = ConfigRecorder(
            self,
            "ConfigRecorder",
            bucket=self.config_bucket,
            encryption_key=self.s3_key,
            create_recorder=create_config_recorder,
        )
        self.mfa = MfaEnforcement(self, "MfaEnforcement")
        self.password_policy = PasswordPolicy(
            self,
            "PasswordPolicy",
            encryption_key=self.logs_key.key,
            log_retention=config.log_retention,
        )
        self.access_key_guards = AccessKeyGuards(
            self, "AccessKeyGuards", depends_on=self.config_recorder.recorder
        )
        self.default_vpc_cleanup = DefaultVpcCleanup(
            self,
            "DefaultVpcCleanup",
            encryption_key=self.logs_key.key,
            dry_run=dry_run_vpc_cleanup,
            log_retention=config.log_retention,
        )

        # ---- backups: database, EC2 volumes and the audit table (RES-01) ----------------------
        self.backup = add_backup_plan(
            self,
            self.tier,
            self.bastion,
            encryption_key=self.backup_key.key,
            alarm_topic=self.alarms,
        )
        self.backup.add_resources("AuditTable", self.audit_table.table)

        # ---- alarms (MON-01, MON-02): the tier's and one errors alarm per function ------------
        self.monitoring = add_service_alarms(self, self.tier, self.alarms)
        self.function_alarms = add_function_error_alarms(self, self.alarms)

        self._naming()
        self._outputs()
        self.publish_interface()

    # ---------------------------------------------------------------------------------------------
    def _declare_parameters(self) -> None:
        self.vpc_cidr = self.parameter(
            "VpcCidr",
            group="Network",
            label="VPC CIDR (a private /16)",
            type="String",
            default="10.0.0.0/16",
            allowed_pattern=VPC_CIDR_PATTERN,
            constraint_description=(
                "a private /16: 10.x.0.0/16, 172.16-31.0.0/16 or 192.168.0.0/16; the subnets are "
                "cut from it with Fn::Cidr"
            ),
            description="CIDR of the VPC; public, app and data subnets are derived from it.",
        )
        self.corporate_ip_range = self.parameter(
            "CorporateIPRange",
            group="Network",
            label="Corporate network allowed to reach the load balancer",
            type="String",
            default="203.0.113.0/24",
            allowed_pattern=CORPORATE_CIDR_PATTERN,
            constraint_description=(
                "an IPv4 CIDR such as 203.0.113.0/24 with a prefix from /8 to /32 (never 0.0.0.0/0)"
            ),
            description="Only this range may connect to the load balancer on ports 80 and 443.",
        )
        self.database_port = self.parameter(
            "DatabasePort",
            group="Database",
            label="MySQL port (used by the database and its security group)",
            type="Number",
            default=3307,
            min_value=1150,
            max_value=65535,
            constraint_description="a port from 1150 to 65535; avoid MySQL's default 3306",
            description="Port the database listens on; its security group and network ACLs "
            "follow it.",
        )
        self.desired_capacity = self.parameter(
            "DesiredCapacity",
            group="Application",
            label="Number of application instances",
            type="Number",
            default=self.config.app_min_capacity,
            min_value=self.config.app_min_capacity,
            max_value=self.config.app_max_capacity,
            constraint_description=(
                f"between {self.config.app_min_capacity} and {self.config.app_max_capacity} "
                "(at least two for high availability)"
            ),
            description="Desired size of the application Auto Scaling group.",
        )
        self.certificate_arn, self.has_certificate = self.optional_certificate_parameter()
        self.site_domain_name = self.parameter(
            "SiteDomainName",
            group="Static site",
            label="Domain of the static site (used with SiteCertificateArn)",
            type="String",
            default="",
            allowed_pattern=OPTIONAL_DOMAIN_PATTERN,
            constraint_description="empty, or a lower-case DNS name such as www.example.com",
            description="Alternate domain name of the CloudFront distribution.",
        )
        self.site_certificate_arn = self.parameter(
            "SiteCertificateArn",
            group="Static site",
            label="ACM certificate for the static site, from us-east-1 (empty: cloudfront.net)",
            type="String",
            default="",
            allowed_pattern=SITE_CERTIFICATE_ARN_PATTERN,
            constraint_description="empty, or an ACM certificate ARN in us-east-1",
            description="With a certificate (and SiteDomainName) CloudFront serves the domain "
            "with TLSv1.2_2021; without one it serves *.cloudfront.net with its default "
            "certificate.",
        )
        self.has_site_certificate = self.condition(
            "HasSiteCertificate",
            cdk.Fn.condition_and(
                cdk.Fn.condition_not(
                    cdk.Fn.condition_equals(self.site_certificate_arn.value_as_string, "")
                ),
                cdk.Fn.condition_not(
                    cdk.Fn.condition_equals(self.site_domain_name.value_as_string, "")
                ),
            ),
        )
        self.key_pair_name, self.has_key_pair = self.optional_parameter(
            "KeyPairName",
            group="Administration",
            label="EC2 key pair for the bastion (empty: Session Manager only)",
            pattern=_KEY_PAIR_PATTERN,
            constraint="empty, or the name of an existing EC2 key pair",
            description="Optional emergency key pair; day-to-day access is Session Manager.",
            condition_name="HasKeyPair",
        )
        self.alert_email, self.has_alert_email = self.optional_email_parameter()
        self.alert_webhook, self.has_alert_webhook = self.optional_webhook_parameter()

    def _create_keys(self) -> None:
        """One customer-managed key per data domain (ENC-01)."""
        self.s3_key = EncryptionKey(
            self,
            "S3Key",
            alias="finsecure-s3",
            description="FinSecure S3 key: Config and flow-log buckets, static-site content",
            services=["s3"],
        )
        self.trail_key = EncryptionKey(
            self,
            "TrailKey",
            alias="finsecure-cloudtrail",
            description="FinSecure CloudTrail key: trail log files and the trail bucket",
            # s3: auditors read the trail's log files through S3.
            services=["s3"],
        )
        self.database_key = EncryptionKey(
            self,
            "DatabaseKey",
            alias="finsecure-rds",
            description="FinSecure RDS key: storage, snapshots, Performance Insights, secret",
            services=["rds", "secretsmanager"],
        )
        self.table_key = EncryptionKey(
            self,
            "TableKey",
            alias="finsecure-dynamodb",
            description="FinSecure DynamoDB key: the audit table and its backups",
            services=["dynamodb"],
        )
        self.logs_key = EncryptionKey(
            self,
            "LogsKey",
            alias="finsecure-logs",
            description="FinSecure logs key: every CloudWatch log group",
        )
        self.compute_key = EncryptionKey(
            self,
            "ComputeKey",
            alias="finsecure-compute",
            description="FinSecure compute key: EBS volumes of the fleet and the bastion",
            services=["ec2"],
        )
        self.alerts_key = EncryptionKey(
            self,
            "AlertsKey",
            alias="finsecure-alerts",
            description="FinSecure alerts key: alarm topic and its dead-letter queue",
            services=["sns", "sqs"],
        )
        self.backup_key = EncryptionKey(
            self,
            "BackupKey",
            alias="finsecure-backup",
            description="FinSecure backup key: AWS Backup vault recovery points",
            services=["backup"],
        )

    def _keys(self) -> dict[str, EncryptionKey]:
        return {
            "S3Key": self.s3_key,
            "TrailKey": self.trail_key,
            "DatabaseKey": self.database_key,
            "TableKey": self.table_key,
            "LogsKey": self.logs_key,
            "ComputeKey": self.compute_key,
            "AlertsKey": self.alerts_key,
            "BackupKey": self.backup_key,
        }

    def _naming(self) -> None:
        """``finsecure-<environment>-<component>`` Name tags (GOV-02)."""
        self.use_naming("finsecure-{environment}-{component}", environment=self.config.name)
        network = self.tier.network
        self.name_tag(network.vpc, component="vpc")
        for tier, subnets in (
            ("public", network.public_subnets),
            ("app", network.app_subnets),
            ("data", network.data_subnets),
        ):
            for index, subnet in enumerate(subnets, start=1):
                self.name_tag(subnet, component=f"{tier}-subnet-{index}")
        fleet = self.tier.fleet
        self.name_tag(fleet.auto_scaling_group, component="app-asg")
        self.name_tag(fleet.launch_template, component="app")
        self.name_tag(self.tier.load_balancer.load_balancer, component="alb")
        self.name_tag(self.tier.database.instance, component="rds")
        self.name_tag(self.audit_table.table, component="audit-table")
        self.name_tag(self.audit_recorder.function, component="audit-recorder")
        self.name_tag(self.alarms.topic, component="alarms")
        for name, key in self._keys().items():
            self.name_tag(key.key, component=name.removesuffix("Key").lower() + "-key")
        self.name_tag(self.trail.trail, component="cloudtrail")
        self.name_tag(self.tier.web_acl.web_acl, component="waf")
        self.name_everything("component")

    def _outputs(self) -> None:
        lb = self.tier.load_balancer.load_balancer
        db = self.tier.database
        self.export_all(
            [
                ("VPCId", self.tier.network.vpc.vpc_id, "VPC ID"),
                ("VPCCidr", self.tier.network.vpc.vpc_cidr_block, "CIDR of the VPC"),
                ("LoadBalancerDNS", lb.load_balancer_dns_name, "DNS name of the load balancer"),
                ("LoadBalancerArn", lb.load_balancer_arn, "ARN of the load balancer"),
                (
                    "ApplicationUrl",
                    cdk.Fn.condition_if(
                        self.has_certificate.logical_id,
                        f"https://{lb.load_balancer_dns_name}",
                        f"http://{lb.load_balancer_dns_name}",
                    ).to_string(),
                    "URL of the application (HTTPS once a certificate is configured)",
                ),
                ("DatabaseEndpoint", db.instance.db_instance_endpoint_address, "MySQL endpoint"),
                ("DatabasePort", db.instance.db_instance_endpoint_port, "MySQL port"),
                ("DatabaseSecretArn", db.secret.secret_arn, "Database credentials secret"),
                (
                    "AutoScalingGroupName",
                    self.tier.fleet.auto_scaling_group.auto_scaling_group_name,
                    "Application Auto Scaling group",
                ),
                ("AuditTableName", self.audit_table.table_name, "DynamoDB audit table"),
                ("AuditTableArn", self.audit_table.table_arn, "ARN of the audit table"),
                (
                    "AuditRecorderFunctionArn",
                    self.audit_recorder.function_arn,
                    "Function that appends audit events",
                ),
                (
                    "AuditRecorderKeyArn",
                    self.audit_recorder.environment_key.key_arn,
                    "Key encrypting the audit recorder's environment variables",
                ),
                (
                    "StaticSiteUrl",
                    f"https://{self.static_site.domain_name}",
                    "CloudFront URL of the static site",
                ),
                (
                    "StaticSiteDistributionId",
                    self.static_site.distribution_id,
                    "CloudFront distribution of the static site",
                ),
                (
                    "StaticSiteBucketName",
                    self.static_site.content.bucket_name,
                    "Private content bucket of the static site",
                ),
                (
                    "StaticSiteLogsBucketName",
                    self.static_site.log_bucket.bucket_name,
                    "Bucket of the static site's CloudFront access logs",
                ),
                (
                    "BastionLaunchTemplateId",
                    self.bastion.launch_template.launch_template_id or "",
                    "Launch template of the bastion",
                ),
                (
                    "AppParametersPath",
                    self.app_parameters.path_prefix,
                    "SSM Parameter Store path of the application configuration",
                ),
                ("SamplingRuleArn", self.tracing.rule_arn, "X-Ray sampling rule"),
                ("BastionInstanceId", self.bastion.instance_id, "Bastion instance"),
                (
                    "BastionSessionCommand",
                    self.bastion.ssm_session_command,
                    "Start a Session Manager shell on the bastion",
                ),
                ("CloudTrailArn", self.trail.trail_arn, "Multi-region audit trail"),
                ("AlarmTopicArn", self.alarms.topic_arn, "Alarm notification topic"),
                ("DashboardUrl", self.monitoring.dashboard.url, "CloudWatch dashboard"),
                ("BackupVaultName", self.backup.vault_name, "AWS Backup vault"),
                ("BackupPlanId", self.backup.plan_id, "AWS Backup plan"),
                (
                    "MfaGroupName",
                    self.mfa.group.group_name,
                    "IAM group whose members must sign in with MFA",
                ),
                (
                    "DefaultVpcCleanupLogGroup",
                    self.default_vpc_cleanup.log_group.log_group_name,
                    "Log group with the default-VPC cleanup's per-region report",
                ),
            ]
        )
        export_key_resources(
            self,
            self.tier,
            buckets={
                "AccessLogsBucket": self.access_logs_bucket,
                "TrailBucket": self.trail_bucket,
                "ConfigBucket": self.config_bucket,
                "FlowLogsBucket": self.flow_logs_bucket,
                "AlbLogsBucket": self.alb_logs_bucket,
            },
            keys=self._keys(),
        )
