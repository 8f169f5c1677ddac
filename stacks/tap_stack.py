"""TapStack — the secure web application of seed 002 (SPEC.md section 2.3).

A public ALB (WAF, TLS when a certificate is given) in front of an Auto Scaling group of hardened
instances in private subnets, a Multi-AZ MySQL 8.0 database in isolated subnets, and the full
audit set: CloudTrail, AWS Config, VPC flow logs, alarms to an encrypted SNS topic and a
dashboard. One customer-managed key covers EBS, S3, CloudWatch Logs, SNS/SQS, Secrets Manager and
RDS, as the seed's ideal answer does; the key policy confines its use to those services.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import EnvironmentConfig
from constructs_lib.audit import AuditTrail, ConfigRecorder
from constructs_lib.encryption import EncryptionKey
from stacks.base import ReferenceStack
from stacks.web_tier import (
    WebTierSettings,
    add_alarm_topic,
    add_function_error_alarms,
    add_log_buckets,
    add_service_alarms,
    add_web_tier,
    export_key_resources,
)

#: The control profile of SPEC.md section 2.3.
CONTROL_PROFILE = "TapStack"


class TapStack(ReferenceStack):
    """Secure web application: ALB + WAF → ASG → Multi-AZ MySQL, with the full audit set."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region="us-east-1",
            description=(
                "TapStack (seed 002): secure web application - ALB with WAF, hardened Auto "
                "Scaling fleet, Multi-AZ MySQL 8.0, CloudTrail, AWS Config, flow logs, alarms"
            ),
            project="TapStack",
        )
        self._declare_parameters()

        # ---- encryption and log storage ------------------------------------------------------
        self.key = EncryptionKey(
            self,
            "DataKey",
            alias="data",
            description="TapStack data key: EBS, S3, CloudWatch Logs, SNS/SQS, Secrets, RDS",
            services=["ec2", "s3", "rds", "secretsmanager", "sns", "sqs"],
        )
        self.key.allow_cloudwatch_logs()
        self.key.allow_service_principal(
            "FlowLogDeliveryToS3",
            "delivery.logs.amazonaws.com",
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        )
        buckets = add_log_buckets(self, self.key.key)
        self.access_logs_bucket, self.trail_bucket = buckets.access_logs, buckets.trail
        self.config_bucket, self.flow_logs_bucket = buckets.config, buckets.flow_logs
        self.alb_logs_bucket = buckets.alb_logs

        # ---- alerting and the web tier ---------------------------------------------------------
        self.alarms = add_alarm_topic(
            self,
            self.key,
            email=(self.alert_email, self.has_alert_email),
            webhook=(self.alert_webhook, self.has_alert_webhook),
        )
        self.tier = add_web_tier(
            self,
            WebTierSettings(
                title="TapStack reference application",
                database_name="tap",
                alb_log_prefix="tap",
                desired_capacity=self.instance_count.value_as_number,
                certificate_arn=self.certificate_arn.value_as_string,
                certificate_condition=self.has_certificate,
            ),
            data_key=self.key.key,
            database_key=self.key.key,
            flow_logs_bucket=self.flow_logs_bucket,
            alb_logs=self.alb_logs_bucket,
            alarm_topic=self.alarms,
        )
        self.network = self.tier.network
        self.fleet = self.tier.fleet
        self.load_balancer = self.tier.load_balancer
        self.web_acl = self.tier.web_acl
        self.database = self.tier.database

        # ---- audit ----------------------------------------------------------------------------
        self.trail = AuditTrail(
            self,
            "AuditTrail",
            bucket=self.trail_bucket,
            encryption_key=self.key,
            log_retention=config.log_retention,
            lambda_data_events=True,
        )
        self.config_recorder = ConfigRecorder(
            self, "ConfigRecorder", bucket=self.config_bucket, encryption_key=self.key
        )

        self.monitoring = add_service_alarms(self, self.tier, self.alarms)
        self.function_alarms = add_function_error_alarms(self, self.alarms)
        self.dashboard = self.monitoring.dashboard
        self._naming()
        self._outputs()
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
            keys={"DataKey": self.key},
        )
        self.publish_interface()

    # ---------------------------------------------------------------------------------------------
    def _declare_parameters(self) -> None:
        self.environment_suffix = self.parameter(
            "EnvironmentSuffix",
            group="Environment",
            label="Environment suffix used in resource names",
            type="String",
            default=self.config.name,
            allowed_pattern=r"^[a-z0-9]{2,10}$",
            constraint_description="2-10 lower-case letters or digits, e.g. prod or dev",
            description="Suffix that tells this environment's resources apart (Name tags).",
        )
        self.instance_count = self.parameter(
            "InstanceCount",
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
            description="Desired capacity of the application Auto Scaling group.",
        )
        self.certificate_arn, self.has_certificate = self.optional_certificate_parameter()
        self.alert_email, self.has_alert_email = self.optional_email_parameter()
        self.alert_webhook, self.has_alert_webhook = self.optional_webhook_parameter()

    def _naming(self) -> None:
        """``tap-<component>-<EnvironmentSuffix>`` Name tags on the main resources (GOV-02)."""
        self.use_naming("tap-{component}-{suffix}", suffix=self.environment_suffix.value_as_string)
        self.name_tag(self.network.vpc, component="vpc")
        for tier, subnets in (
            ("public", self.network.public_subnets),
            ("app", self.network.app_subnets),
            ("data", self.network.data_subnets),
        ):
            for index, subnet in enumerate(subnets, start=1):
                self.name_tag(subnet, component=f"{tier}-subnet-{index}")
        self.name_tag(self.fleet.auto_scaling_group, component="app-asg")
        self.name_tag(self.fleet.launch_template, component="app-lt")
        self.name_tag(self.load_balancer.load_balancer, component="alb")
        self.name_tag(self.database.instance, component="db")
        self.name_tag(self.alarms.topic, component="alarms")
        self.name_tag(self.key.key, component="data-key")
        self.name_everything("component")

    def _outputs(self) -> None:
        vpc = self.network.vpc
        public = vpc.public_subnets
        private = vpc.private_subnets
        self.export_all(
            [
                ("VPCId", vpc.vpc_id, "VPC ID"),
                ("PublicSubnet1Id", public[0].subnet_id, "Public subnet in the first AZ"),
                ("PublicSubnet2Id", public[1].subnet_id, "Public subnet in the second AZ"),
                ("PrivateSubnet1Id", private[0].subnet_id, "Application subnet in the first AZ"),
                ("PrivateSubnet2Id", private[1].subnet_id, "Application subnet in the second AZ"),
                (
                    "ApplicationLoadBalancerDNS",
                    self.load_balancer.load_balancer.load_balancer_dns_name,
                    "DNS name of the application load balancer",
                ),
                (
                    "ApplicationLoadBalancerArn",
                    self.load_balancer.load_balancer.load_balancer_arn,
                    "ARN of the application load balancer",
                ),
                (
                    "RDSInstanceEndpoint",
                    self.database.instance.db_instance_endpoint_address,
                    "Endpoint address of the MySQL database",
                ),
                ("RDSInstancePort", self.database.instance.db_instance_endpoint_port, "MySQL port"),
                (
                    "DatabaseSecretArn",
                    self.database.secret.secret_arn,
                    "Secrets Manager secret with the database credentials",
                ),
                (
                    "AutoScalingGroupName",
                    self.fleet.auto_scaling_group.auto_scaling_group_name,
                    "Application Auto Scaling group",
                ),
                (
                    "LaunchTemplateId",
                    self.fleet.launch_template.launch_template_id or "",
                    "Launch template of the application fleet",
                ),
                ("KMSKeyId", self.key.key_id, "Customer-managed data key"),
                ("SNSTopicArn", self.alarms.topic_arn, "Alarm notification topic"),
                ("WebACLArn", self.web_acl.arn, "WAF web ACL protecting the load balancer"),
                ("CloudTrailArn", self.trail.trail_arn, "Multi-region audit trail"),
                ("DashboardUrl", self.dashboard.url, "CloudWatch dashboard"),
                ("StackName", cdk.Aws.STACK_NAME, "Name of this stack"),
                (
                    "EnvironmentSuffix",
                    self.environment_suffix.value_as_string,
                    "Environment suffix of this deployment",
                ),
            ]
        )
