"""CorpEnterpriseAppStack — the secure-by-design enterprise application of seed 001 (SPEC 2.2).

A public ALB (WAF with SQL-injection, common, known-bad-inputs, IP-reputation and rate rules;
HTTPS only when a real domain is given) in front of a hardened Auto Scaling fleet in private
subnets, a Multi-AZ MySQL database in isolated subnets, an SSM Session Manager bastion with its
own security group, AWS Backup of the database and the EC2 volumes, a multi-region CloudTrail with
log file validation on an immutable bucket, and the account's identity guards: an MFA enforcement
group policy, the account password policy and AWS Config rules for access-key rotation and MFA.
Every ``Name`` tag follows ``corp-<resource-type>-<ApplicationName>`` (default ``enterpriseapp``).

The seed's failures it answers: one key for S3 and RDS (→ separate customer-managed keys per
data domain, each with explicit denies and ``kms:ViaService``), a single NAT gateway (→ one per
AZ), no bastion security group (→ the bastion's own), no MFA policy / password policy / key
rotation checks (→ ``MfaEnforcement``, ``PasswordPolicy``, ``AccessKeyGuards``), no log file
validation or multi-region trail, mutable log buckets, WAF without the SQLi rule set, an
unconditional certificate (→ ``HasValidDomain``), no deletion protection / Multi-AZ / EC2
backups, and missing outputs (``DatabaseSecretArn``, bastion access).

Keys (ENC-01), one per data domain as far as the shared constructs allow:

* ``S3Key`` — the CMK-encrypted buckets (trail, Config, flow logs) and Config's snapshots;
* ``DatabaseKey`` — RDS storage and snapshots, Performance Insights and the database's own
  master secret (part of the RDS data domain);
* ``LogsKey`` — every CloudWatch log group (flow logs, WAF, fleet, bastion sessions, database
  exports, trail, custom-resource functions) and the trail's log files;
* ``ComputeKey`` — the EBS volumes of the fleet and the bastion;
* ``AlertsKey`` — the alarm topic and its dead-letter queue;
* ``BackupKey`` — the AWS Backup vault.

Account-wide singletons: AWS Config allows one configuration recorder per account and region, and
the IAM password policy exists once per account. ``create_config_recorder=False`` keeps the
Config rules but leaves the recorder to whoever already owns it in the target region (e.g.
``TapStack`` in the same account, or AWS Control Tower); deploy the password policy from one stack
per account.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import EnvironmentConfig
from constructs_lib.audit import AuditTrail, ConfigRecorder
from constructs_lib.certificate import (
    OPTIONAL_DOMAIN_PATTERN,
    OPTIONAL_HOSTED_ZONE_PATTERN,
    DomainCertificate,
)
from constructs_lib.encryption import EncryptionKey
from constructs_lib.identity import AccessKeyGuards, MfaEnforcement, PasswordPolicy
from stacks.base import ReferenceStack
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

#: ``ApplicationName``: lower-case letters, digits and inner hyphens, 3-20 characters.
APPLICATION_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$"
DEFAULT_APPLICATION_NAME = "enterpriseapp"

#: EC2 key pair names: 1-255 printable ASCII characters; empty means "no key pair".
_KEY_PAIR_PATTERN = r"^$|^[\x20-\x7E]{1,255}$"


class CorpEnterpriseAppStack(ReferenceStack):
    """Secure-by-design enterprise app: WAF → ALB → ASG → Multi-AZ MySQL, bastion, audit, IAM.

    :param public_bastion_cidr: place the bastion in a public subnet with a public IP and open
        SSH (22) from exactly this IPv4 block (/16 or narrower, never ``0.0.0.0/0``); the
        ``BastionPublicIp`` output exists only then. Default: a private bastion reached through
        Session Manager only.
    :param create_config_recorder: create the AWS Config recorder and delivery channel (one per
        account and region); ``False`` keeps only the Config rules.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        public_bastion_cidr: str | None = None,
        create_config_recorder: bool = True,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region="us-east-1",
            description=(
                "CorpEnterpriseAppStack (seed 001): secure-by-design enterprise application - "
                "WAF and ALB (HTTPS with a domain), hardened Auto Scaling fleet, Multi-AZ MySQL, "
                "SSM bastion, separate KMS keys, CloudTrail, MFA and password policy, AWS Backup"
            ),
            project="CorpEnterpriseApp",
        )
        self._declare_parameters()

        # ---- keys: one per data domain ---------------------------------------------------------
        self.s3_key = EncryptionKey(
            self,
            "S3Key",
            alias="corp-s3",
            description="Corp S3 key: trail, Config and flow-log buckets, Config snapshots",
            services=["s3"],
        )
        self.database_key = EncryptionKey(
            self,
            "DatabaseKey",
            alias="corp-rds",
            description="Corp RDS key: storage, snapshots, Performance Insights, master secret, "
            "database log exports",
            services=["rds", "secretsmanager"],
        )
        self.logs_key = EncryptionKey(
            self,
            "LogsKey",
            alias="corp-logs",
            description="Corp logs key: CloudWatch log groups and CloudTrail log files",
            # s3: auditors read the trail's log files through S3.
            services=["s3"],
        )
        self.compute_key = EncryptionKey(
            self,
            "ComputeKey",
            alias="corp-compute",
            description="Corp compute key: EBS volumes of the application fleet and the bastion",
            services=["ec2"],
        )
        self.alerts_key = EncryptionKey(
            self,
            "AlertsKey",
            alias="corp-alerts",
            description="Corp alerts key: alarm topic and its dead-letter queue",
            services=["sns", "sqs"],
        )
        self.backup_key = EncryptionKey(
            self,
            "BackupKey",
            alias="corp-backup",
            description="Corp backup key: AWS Backup vault recovery points",
            services=["backup"],
        )

        # ---- buckets: access logs, trail, Config, flow logs, ALB logs -------------------------
        buckets = add_log_buckets(self, self.s3_key.key)
        self.access_logs_bucket, self.trail_bucket = buckets.access_logs, buckets.trail
        self.config_bucket, self.flow_logs_bucket = buckets.config, buckets.flow_logs
        self.alb_logs_bucket = buckets.alb_logs

        # ---- TLS only with a real domain (EDGE-02) ---------------------------------------------
        self.certificate = DomainCertificate(
            self,
            "Certificate",
            domain_name=self.domain_name.value_as_string,
            condition=self.has_valid_domain,
            hosted_zone_id=self.hosted_zone_id.value_as_string,
            hosted_zone_condition=self.has_hosted_zone,
        )

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
                title="Corp enterprise application",
                database_name="enterpriseapp",
                alb_log_prefix="corp",
                desired_capacity=self.desired_capacity.value_as_number,
                certificate_arn=self.certificate.certificate_arn,
                certificate_condition=self.has_valid_domain,
            ),
            data_key=self.compute_key.key,
            database_key=self.database_key.key,
            logs_key=self.logs_key.key,
            flow_logs_bucket=self.flow_logs_bucket,
            alb_logs=self.alb_logs_bucket,
            alarm_topic=self.alarms,
            # Handler dead-letter queues are queues: the alerts key, so logs keep their own key.
            queue_key=self.alerts_key.key,
        )

        # ---- administration ---------------------------------------------------------------------
        self.bastion = add_bastion(
            self,
            self.tier,
            encryption_key=self.compute_key.key,
            log_encryption_key=self.logs_key.key,
            key_pair_name=self.key_pair_name.value_as_string,
            key_pair_condition=self.has_key_pair,
            public_ssh_cidr=public_bastion_cidr,
        )

        # ---- audit and identity (LOG-01, IAM-02..04) -----------------------------------------
        self.trail = AuditTrail(
            self,
            "AuditTrail",
            bucket=self.trail_bucket,
            encryption_key=self.logs_key,
            log_retention=config.log_retention,
            lambda_data_events=True,
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
            dead_letter_key=self.alerts_key.key,
        )
        self.access_key_guards = AccessKeyGuards(
            self,
            "AccessKeyGuards",
            # Config rules need a recorder in the region; without ours, the existing one.
            depends_on=self.config_recorder.recorder,
        )

        # ---- backups: the database and every EC2 volume (RES-01) -------------------------------
        self.backup = add_backup_plan(
            self,
            self.tier,
            self.bastion,
            encryption_key=self.backup_key.key,
            alarm_topic=self.alarms,
        )

        # ---- alarms (MON-01, MON-02) ------------------------------------------------------------
        self.monitoring = add_service_alarms(self, self.tier, self.alarms)
        self.function_alarms = add_function_error_alarms(self, self.alarms)

        self._naming()
        self._outputs(public_bastion_cidr is not None)
        self.publish_interface()

    # ---------------------------------------------------------------------------------------------
    def _declare_parameters(self) -> None:
        self.application_name = self.parameter(
            "ApplicationName",
            group="Application",
            label="Application name used in every Name tag (corp-<type>-<name>)",
            type="String",
            default=DEFAULT_APPLICATION_NAME,
            allowed_pattern=APPLICATION_NAME_PATTERN,
            constraint_description=(
                "3-20 lower-case letters, digits or hyphens, starting with a letter and not "
                "ending with a hyphen"
            ),
            description="Names every resource corp-<resource-type>-<ApplicationName>.",
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
        self.domain_name, self.has_valid_domain = self.optional_parameter(
            "DomainName",
            condition_name="HasValidDomain",
            group="Domain and TLS",
            label="Domain of the application (empty: HTTP only, no certificate)",
            pattern=OPTIONAL_DOMAIN_PATTERN,
            constraint="empty, or a lower-case DNS name such as app.example.com",
            description="With a domain, ACM issues a DNS-validated certificate and the load "
            "balancer serves HTTPS and redirects HTTP; empty serves HTTP only.",
        )
        self.hosted_zone_id, self.has_hosted_zone = self.optional_parameter(
            "HostedZoneId",
            condition_name="HasHostedZone",
            group="Domain and TLS",
            label="Route 53 hosted zone of the domain (empty: validate the certificate by hand)",
            pattern=OPTIONAL_HOSTED_ZONE_PATTERN,
            constraint="empty, or a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ",
            description="Lets CloudFormation create the certificate's DNS validation record.",
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

    def _naming(self) -> None:
        """``corp-<resource-type>-<ApplicationName>`` Name tags (GOV-02)."""
        self.use_naming(
            "corp-{resource_type}-{application}",
            application=self.application_name.value_as_string,
        )
        network = self.tier.network
        self.name_tag(network.vpc, resource_type="vpc")
        for tier, subnets in (
            ("public", network.public_subnets),
            ("private", network.app_subnets),
            ("data", network.data_subnets),
        ):
            for index, subnet in enumerate(subnets, start=1):
                self.name_tag(subnet, resource_type=f"{tier}-subnet-{index}")
        fleet = self.tier.fleet
        self.name_tag(fleet.auto_scaling_group, resource_type="asg")
        # A launch template passes its Name on to the instances and volumes it launches.
        self.name_tag(fleet.launch_template, resource_type="ec2-app")
        self.name_tag(self.tier.load_balancer.load_balancer, resource_type="alb")
        self.name_tag(self.tier.database.instance, resource_type="rds")
        self.name_tag(self.bastion.instance, resource_type="ec2-bastion")
        self.name_tag(self.bastion.launch_template, resource_type="ec2-bastion")
        for group, resource_type in (
            (self.tier.load_balancer.security_group, "sg-alb"),
            (fleet.security_group, "sg-app"),
            (self.tier.database.security_group, "sg-rds"),
            (self.bastion.security_group, "sg-bastion"),
            (network.endpoint_security_group, "sg-endpoints"),
        ):
            self.name_tag(group, resource_type=resource_type)
        self.name_tag(self.alarms.topic, resource_type="sns-alarms")
        for key, domain in (
            (self.s3_key, "s3"),
            (self.database_key, "rds"),
            (self.logs_key, "logs"),
            (self.compute_key, "compute"),
            (self.alerts_key, "alerts"),
            (self.backup_key, "backup"),
        ):
            self.name_tag(key.key, resource_type=f"kms-{domain}")
        self.name_tag(self.trail.trail, resource_type="cloudtrail")
        self.name_tag(self.tier.web_acl.web_acl, resource_type="waf")
        self.name_everything("resource_type")

    def _outputs(self, public_bastion: bool) -> None:
        lb = self.tier.load_balancer.load_balancer
        db = self.tier.database
        self.export_all(
            [
                ("VPCId", self.tier.network.vpc.vpc_id, "VPC ID"),
                ("LoadBalancerDNS", lb.load_balancer_dns_name, "DNS name of the load balancer"),
                ("LoadBalancerArn", lb.load_balancer_arn, "ARN of the load balancer"),
                (
                    "ApplicationUrl",
                    cdk.Fn.condition_if(
                        self.has_valid_domain.logical_id,
                        f"https://{self.domain_name.value_as_string}",
                        f"http://{lb.load_balancer_dns_name}",
                    ).to_string(),
                    "URL of the application (https://<DomainName> when a domain is configured)",
                ),
                ("DatabaseEndpoint", db.instance.db_instance_endpoint_address, "MySQL endpoint"),
                ("DatabasePort", db.instance.db_instance_endpoint_port, "MySQL port"),
                ("DatabaseSecretArn", db.secret.secret_arn, "Database credentials secret"),
                (
                    "AutoScalingGroupName",
                    self.tier.fleet.auto_scaling_group.auto_scaling_group_name,
                    "Application Auto Scaling group",
                ),
                ("BastionInstanceId", self.bastion.instance_id, "Bastion instance"),
                (
                    "BastionSessionCommand",
                    self.bastion.ssm_session_command,
                    "Start a Session Manager shell on the bastion",
                ),
                (
                    "BastionSecurityGroupId",
                    self.bastion.security_group.security_group_id,
                    "Bastion security group",
                ),
                (
                    "BastionLaunchTemplateId",
                    self.bastion.launch_template.launch_template_id or "",
                    "Launch template of the bastion",
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
                    "ApplicationName",
                    self.application_name.value_as_string,
                    "Application name in the Name tags",
                ),
            ]
        )
        self.export(
            "CertificateArn", self.certificate.certificate_arn, "ACM certificate of the domain"
        ).condition = self.has_valid_domain
        if public_bastion:
            assert self.bastion.public_ip is not None
            self.export("BastionPublicIp", self.bastion.public_ip, "Public IP of the bastion")
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
            keys={
                "S3Key": self.s3_key,
                "DatabaseKey": self.database_key,
                "LogsKey": self.logs_key,
                "ComputeKey": self.compute_key,
                "AlertsKey": self.alerts_key,
                "BackupKey": self.backup_key,
            },
        )
