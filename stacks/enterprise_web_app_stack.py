"""EnterpriseWebAppStack — the enterprise web tier of seed 000 (SPEC.md section 2.1).

A public ALB (WAF, TLS when a certificate is given) in front of an Auto Scaling group of at least
two hardened instances in private subnets, RDS MySQL in isolated data subnets with their own
route tables, an SSM Session Manager bastion, an AWS Backup plan covering the database and the
bastion, application and flow-log buckets, alarms and a dashboard. Names follow
``webapp-<component>``.

The seed's failures it answers: a plaintext password parameter (→ Secrets Manager), no IMDSv2
(→ launch template with required tokens), an AMI map (→ SSM parameter), HTTP only (→ conditional
HTTPS), no backups (→ AWS Backup), no alarms or agent, flow logs to one destination only.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from config import EnvironmentConfig
from constructs_lib.acknowledgments import acknowledge, logical_id
from constructs_lib.encryption import EncryptionKey
from stacks.base import ReferenceStack
from stacks.web_tier import (
    WebTierSettings,
    access_logs_bucket,
    add_alarm_topic,
    add_backup_plan,
    add_bastion,
    add_function_error_alarms,
    add_service_alarms,
    add_web_tier,
    alb_logs_bucket,
    export_key_resources,
    log_bucket,
)

#: EC2 key pair names: 1-255 printable ASCII characters; empty means "no key pair".
_KEY_PAIR_PATTERN = r"^$|^[\x20-\x7E]{1,255}$"


class EnterpriseWebAppStack(ReferenceStack):
    """Enterprise web tier: ALB + WAF → ASG → MySQL, bastion, backups, alarms, dashboard."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region="us-east-2",
            description=(
                "EnterpriseWebAppStack (seed 000): enterprise web tier - ALB with WAF, hardened "
                "Auto Scaling fleet, MySQL in isolated subnets, SSM bastion, AWS Backup, alarms"
            ),
            project="EnterpriseWebApp",
        )
        self._declare_parameters()

        # ---- keys: application data and logs, and the database -------------------------------
        self.data_key = EncryptionKey(
            self,
            "DataKey",
            alias="webapp-data",
            description="webapp data key: EBS volumes, S3 log buckets, CloudWatch Logs, SNS/SQS",
            services=["ec2", "s3", "sns", "sqs"],
        )
        self.data_key.allow_cloudwatch_logs()
        self.data_key.allow_service_principal(
            "FlowLogDeliveryToS3",
            "delivery.logs.amazonaws.com",
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        )
        self.database_key = EncryptionKey(
            self,
            "DatabaseKey",
            alias="webapp-database",
            description="webapp database key: RDS storage, snapshots, secret, Performance Insights",
            services=["rds", "secretsmanager"],
        )
        self.database_key.allow_cloudwatch_logs()
        self.backup_key = EncryptionKey(
            self,
            "BackupKey",
            alias="webapp-backup",
            description="webapp backup key: AWS Backup vault recovery points",
            services=["backup"],
        )

        # ---- buckets: access logs, application logs, flow logs, ALB logs ------------------------
        self.access_logs_bucket = access_logs_bucket(self)
        self.app_logs_bucket = log_bucket(
            self,
            "AppLogsBucket",
            key=self.data_key.key,
            access_logs=self.access_logs_bucket,
            prefix="app-logs",
            expire_after_days=365,
        )
        self.flow_logs_bucket = log_bucket(
            self,
            "FlowLogsBucket",
            key=self.data_key.key,
            access_logs=self.access_logs_bucket,
            prefix="flow-logs",
            expire_after_days=365,
        )
        self.alb_logs_bucket = alb_logs_bucket(self, self.access_logs_bucket)

        # ---- alerting, web tier ------------------------------------------------------------------
        self.alarms = add_alarm_topic(
            self,
            self.data_key,
            email=(self.alert_email, self.has_alert_email),
            webhook=(self.alert_webhook, self.has_alert_webhook),
        )
        self.tier = add_web_tier(
            self,
            WebTierSettings(
                title="Enterprise web application",
                database_name="webapp",
                alb_log_prefix="webapp",
                desired_capacity=self.desired_capacity.value_as_number,
                instance_types=("t3.micro", "t3a.micro", "t3.small"),
                certificate_arn=self.certificate_arn.value_as_string,
                certificate_condition=self.has_certificate,
            ),
            data_key=self.data_key.key,
            database_key=self.database_key.key,
            flow_logs_bucket=self.flow_logs_bucket,
            alb_logs=self.alb_logs_bucket,
            alarm_topic=self.alarms,
        )
        self._grant_app_log_shipping()

        # ---- administration and backups -------------------------------------------------------
        self.bastion = add_bastion(
            self,
            self.tier,
            encryption_key=self.data_key.key,
            key_pair_name=self.key_pair_name.value_as_string,
            key_pair_condition=self.has_key_pair,
        )
        self.backup = add_backup_plan(
            self,
            self.tier,
            self.bastion,
            encryption_key=self.backup_key.key,
            alarm_topic=self.alarms,
        )

        self.monitoring = add_service_alarms(self, self.tier, self.alarms)
        self.function_alarms = add_function_error_alarms(self, self.alarms)
        dashboard = self.monitoring.dashboard.dashboard.node.default_child
        assert isinstance(dashboard, cdk.CfnResource)
        dashboard.cfn_options.condition = self.create_dashboard

        self._naming()
        self._outputs()
        self.publish_interface()

    # ---------------------------------------------------------------------------------------------
    def _declare_parameters(self) -> None:
        self.desired_capacity = self.parameter(
            "DesiredCapacity",
            group="Application",
            label="Number of web instances",
            type="Number",
            default=self.config.app_min_capacity,
            min_value=self.config.app_min_capacity,
            max_value=self.config.app_max_capacity,
            constraint_description=(
                f"between {self.config.app_min_capacity} and {self.config.app_max_capacity} "
                "(at least two for high availability)"
            ),
            description="Desired size of the web Auto Scaling group.",
        )
        self.certificate_arn, self.has_certificate = self.optional_certificate_parameter()
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
        self.create_dashboard_flag = self.parameter(
            "CreateDashboard",
            group="Monitoring",
            label="Create the CloudWatch dashboard",
            type="String",
            default="true",
            allowed_values=["true", "false"],
            constraint_description="true or false",
            description="Dashboards cost money per month; alarms are always created.",
        )
        self.create_dashboard = self.condition(
            "CreateMonitoringDashboard",
            cdk.Fn.condition_equals(self.create_dashboard_flag.value_as_string, "true"),
        )

    def _grant_app_log_shipping(self) -> None:
        """The fleet may write its application logs under ``app/`` of the app-logs bucket only."""
        bucket = self.app_logs_bucket.bucket
        policy = iam.ManagedPolicy(
            self,
            "AppLogsWritePolicy",
            description="Web instances upload application logs under app/ of the app-logs bucket",
            roles=[self.tier.fleet.role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:PutObject"], resources=[bucket.arn_for_objects("app/*")]
                ),
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey"],
                    resources=[self.data_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{cdk.Aws.REGION}.amazonaws.com"}
                    },
                ),
            ],
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(bucket)}.Arn>/app/*]",
            "Instances name their own log objects; the wildcard is limited to the app/ prefix of "
            "the one application-logs bucket and to PutObject.",
        )

    def _naming(self) -> None:
        """``webapp-<component>`` Name tags (GOV-02)."""
        self.use_naming("webapp-{component}")
        network = self.tier.network
        self.name_tag(network.vpc, component="vpc")
        for tier, subnets in (
            ("public", network.public_subnets),
            ("private", network.app_subnets),
            ("data", network.data_subnets),
        ):
            for index, subnet in enumerate(subnets, start=1):
                self.name_tag(subnet, component=f"{tier}-subnet-{index}")
        self.name_tag(self.tier.fleet.auto_scaling_group, component="asg")
        self.name_tag(self.tier.fleet.launch_template, component="launch-template")
        self.name_tag(self.tier.load_balancer.load_balancer, component="alb")
        self.name_tag(self.tier.database.instance, component="database")
        self.name_tag(self.bastion.instance, component="bastion")
        self.name_tag(self.alarms.topic, component="alarms")
        for key, name in ((self.data_key, "data"), (self.database_key, "database")):
            self.name_tag(key.key, component=f"{name}-key")
        self.name_everything("component")

    def _outputs(self) -> None:
        lb = self.tier.load_balancer.load_balancer
        db = self.tier.database
        fleet = self.tier.fleet
        outputs = [
            ("VPCId", self.tier.network.vpc.vpc_id, "VPC ID"),
            ("LoadBalancerDNS", lb.load_balancer_dns_name, "DNS name of the load balancer"),
            ("LoadBalancerArn", lb.load_balancer_arn, "ARN of the load balancer"),
            (
                "LoadBalancerUrl",
                cdk.Fn.condition_if(
                    self.has_certificate.logical_id,
                    f"https://{lb.load_balancer_dns_name}",
                    f"http://{lb.load_balancer_dns_name}",
                ).to_string(),
                "URL of the application (https when a certificate is configured)",
            ),
            ("DatabaseEndpoint", db.instance.db_instance_endpoint_address, "MySQL endpoint"),
            ("DatabasePort", db.instance.db_instance_endpoint_port, "MySQL port"),
            ("DatabaseSecretArn", db.secret.secret_arn, "Database credentials secret"),
            ("BastionInstanceId", self.bastion.instance_id, "Bastion instance"),
            (
                "BastionSessionCommand",
                self.bastion.ssm_session_command,
                "Start a Session Manager shell on the bastion",
            ),
            (
                "AutoScalingGroupName",
                fleet.auto_scaling_group.auto_scaling_group_name,
                "Web Auto Scaling group",
            ),
            (
                "BastionSecurityGroupId",
                self.bastion.security_group.security_group_id,
                "Bastion security group",
            ),
            ("AlarmTopicArn", self.alarms.topic_arn, "Alarm notification topic"),
            ("BackupVaultName", self.backup.vault.backup_vault_name, "AWS Backup vault"),
            ("BackupPlanId", self.backup.plan_id, "AWS Backup plan"),
        ]
        self.export_all(outputs)
        self.export(
            "DashboardUrl", self.monitoring.dashboard.url, "CloudWatch dashboard"
        ).condition = self.create_dashboard
        export_key_resources(
            self,
            self.tier,
            buckets={
                "AccessLogsBucket": self.access_logs_bucket,
                "AppLogsBucket": self.app_logs_bucket,
                "FlowLogsBucket": self.flow_logs_bucket,
                "AlbLogsBucket": self.alb_logs_bucket,
            },
            keys={
                "DataKey": self.data_key,
                "DatabaseKey": self.database_key,
                "BackupKey": self.backup_key,
            },
        )
        self.export(
            "BastionLaunchTemplateId",
            self.bastion.launch_template.launch_template_id or "",
            "Launch template of the bastion",
        )
