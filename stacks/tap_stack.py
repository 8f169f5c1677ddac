"""TapStack — the secure web application of seed 002 (SPEC.md section 2.3).

A public ALB (WAF, TLS when a certificate is given) in front of an Auto Scaling group of hardened
instances in private subnets, a Multi-AZ MySQL 8.0 database in isolated subnets, and the full
audit set: CloudTrail, AWS Config, VPC flow logs, alarms to an encrypted SNS topic and a
dashboard. One customer-managed key covers EBS, S3, CloudWatch Logs, SNS/SQS, Secrets Manager and
RDS, as the seed's ideal answer does; the key policy confines its use to those services.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from config import EnvironmentConfig
from constructs_lib.audit import AuditTrail, ConfigRecorder
from constructs_lib.compute import HardenedFleet
from constructs_lib.database import SecureDatabase
from constructs_lib.encryption import EncryptionKey
from constructs_lib.load_balancing import SecureLoadBalancer
from constructs_lib.monitoring import AlarmSpec, AlarmTopic, OperationsDashboard, error_rate_percent
from constructs_lib.network import SecureVpc
from constructs_lib.storage import LifecyclePolicy, SecureBucket
from constructs_lib.waf import WebAcl
from stacks.base import ReferenceStack

#: The control profile of SPEC.md section 2.3.
CONTROL_PROFILE = "TapStack"

_CERTIFICATE_ARN_PATTERN = r"^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$"
_EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
_APP_PORT = 80
_DB_PORT = 3307

#: The reference application: nginx answering the health check the ALB and cfn-signal wait for,
#: with its access log where the CloudWatch agent ships it. Replace it with your application.
_APPLICATION = (
    "dnf install -y nginx",
    """cat > /etc/nginx/nginx.conf <<'NGINXCONF'
user nginx;
worker_processes auto;
error_log /var/log/app/error.log;
pid /run/nginx.pid;
events { worker_connections 1024; }
http {
    access_log /var/log/app/app.log;
    server_tokens off;
    server {
        listen 80 default_server;
        location = /health { default_type text/plain; return 200 "ok"; }
        location / { default_type text/plain; return 200 "TapStack reference application"; }
    }
}
NGINXCONF""",
    "systemctl enable --now nginx",
)


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
        self.access_logs_bucket = SecureBucket(
            self,
            "AccessLogsBucket",
            access_log_destination=True,
            s3_managed_encryption_reason="S3 server access logging delivers only to SSE-S3 buckets",
            immutable=True,
            lifecycle=LifecyclePolicy(expire_after_days=365),
        )
        log_bucket_props = {
            "server_access_logs_bucket": self.access_logs_bucket.bucket,
            "immutable": True,
        }
        self.trail_bucket = SecureBucket(
            self,
            "TrailBucket",
            encryption_key=self.key.key,
            server_access_logs_prefix="trail/",
            lifecycle=LifecyclePolicy(expire_after_days=2555),
            **log_bucket_props,  # type: ignore[arg-type]
        )
        self.config_bucket = SecureBucket(
            self,
            "ConfigBucket",
            encryption_key=self.key.key,
            server_access_logs_prefix="config/",
            lifecycle=LifecyclePolicy(expire_after_days=2555),
            **log_bucket_props,  # type: ignore[arg-type]
        )
        self.flow_logs_bucket = SecureBucket(
            self,
            "FlowLogsBucket",
            encryption_key=self.key.key,
            server_access_logs_prefix="flow-logs/",
            lifecycle=LifecyclePolicy(expire_after_days=365),
            **log_bucket_props,  # type: ignore[arg-type]
        )
        self.alb_logs_bucket = SecureBucket(
            self,
            "AlbLogsBucket",
            s3_managed_encryption_reason="ALB access logs can only be delivered to SSE-S3 buckets",
            server_access_logs_prefix="alb-logs/",
            lifecycle=LifecyclePolicy(glacier_after_days=None, expire_after_days=90),
            **log_bucket_props,  # type: ignore[arg-type]
        )

        # ---- network ---------------------------------------------------------------------------
        self.network = SecureVpc(
            self,
            "Network",
            flow_log_key=self.key.key,
            flow_log_bucket=self.flow_logs_bucket.bucket,
            max_azs=2,
            nat_gateway_per_az=config.nat_gateway_per_az,
            log_retention=config.log_retention,
            database_port=_DB_PORT,
            app_port=_APP_PORT,
        )
        vpc = self.network.vpc

        # ---- alerting ----------------------------------------------------------------------------
        self.alarms = AlarmTopic(self, "AlarmTopic", encryption_key=self.key)
        self.alarms.add_email_subscription(
            self.alert_email.value_as_string, condition=self.has_alert_email
        )

        # ---- application tier ----------------------------------------------------------------
        self.fleet = HardenedFleet(
            self,
            "AppFleet",
            vpc=vpc,
            subnets=self.network.app_subnet_selection(),
            encryption_key=self.key.key,
            alarm_topic=self.alarms.topic,
            min_capacity=config.app_min_capacity,
            max_capacity=config.app_max_capacity,
            desired_capacity=self.instance_count.value_as_number,
            app_port=_APP_PORT,
            health_check_path="/health",
            log_retention=config.log_retention,
            user_data_commands=_APPLICATION,
            mixed_instance_types=list(config.app_instance_types),
        )
        self.load_balancer = SecureLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            access_log_bucket=self.alb_logs_bucket.bucket,
            access_log_prefix="tap",
            deletion_protection=config.deletion_protection,
            certificate_arn=self.certificate_arn.value_as_string,
            certificate_condition=self.has_certificate,
            target_port=_APP_PORT,
            health_check_path="/health",
        )
        self.load_balancer.connect_to(self.fleet.security_group, _APP_PORT)
        self.fleet.attach_to_target_group(self.load_balancer.target_group)
        self.fleet.scale_on_cpu()
        self.fleet.scale_on_request_count()
        self.fleet.add_step_scaling()
        self.fleet.add_predictive_scaling()
        self.fleet.add_lifecycle_hooks()

        self.web_acl = WebAcl(self, "WebAcl", encryption_key=self.key.key)
        self.web_acl.associate(self.load_balancer.load_balancer)

        # ---- data tier ------------------------------------------------------------------------
        self.database = SecureDatabase(
            self,
            "Database",
            vpc=vpc,
            encryption_key=self.key.key,
            subnets=self.network.data_subnet_selection(),
            rotation_subnets=self.network.app_subnet_selection(),
            instance_type=ec2.InstanceType(config.database_instance_type),
            allocated_storage_gib=config.database_allocated_storage_gib,
            max_allocated_storage_gib=config.database_max_allocated_storage_gib,
            multi_az=config.multi_az_database,
            performance_insights=config.database_performance_insights,
            deletion_protection=config.deletion_protection,
            backup_retention_days=config.database_backup_retention_days,
            port=_DB_PORT,
            database_name="tap",
            log_retention=config.log_retention,
        )
        self.database.allow_from(self.fleet.security_group, "MySQL from the application fleet")
        self.fleet.grant_secrets_read(self.database.secret)

        # ---- audit ----------------------------------------------------------------------------
        self.trail = AuditTrail(
            self,
            "AuditTrail",
            bucket=self.trail_bucket,
            encryption_key=self.key,
            log_retention=config.log_retention,
        )
        self.config_recorder = ConfigRecorder(
            self, "ConfigRecorder", bucket=self.config_bucket, encryption_key=self.key
        )

        self._environment_relaxations()
        self._monitoring()
        self._naming()
        self._outputs()
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
        self.certificate_arn = self.parameter(
            "CertificateArn",
            group="Load balancer",
            label="ACM certificate ARN (empty: HTTP only)",
            type="String",
            default="",
            allowed_pattern=_CERTIFICATE_ARN_PATTERN,
            constraint_description="empty, or an ACM certificate ARN in this region",
            description="ACM certificate for the HTTPS listener; leave empty to serve HTTP only.",
        )
        self.alert_email = self.parameter(
            "AlertEmail",
            group="Monitoring",
            label="E-mail address for alarms (empty: none)",
            type="String",
            default="",
            allowed_pattern=_EMAIL_PATTERN,
            constraint_description="empty, or one e-mail address",
            description="Receives alarm and OK notifications after confirming the subscription.",
        )
        self.has_certificate = self.condition(
            "HasCertificate",
            cdk.Fn.condition_not(cdk.Fn.condition_equals(self.certificate_arn.value_as_string, "")),
        )
        self.has_alert_email = self.condition(
            "HasAlertEmail",
            cdk.Fn.condition_not(cdk.Fn.condition_equals(self.alert_email.value_as_string, "")),
        )

    def _environment_relaxations(self) -> None:
        """Acknowledge exactly the findings the environment's relaxations cause (dev only)."""
        database = self.database.instance.node.default_child
        assert database is not None
        if not self.config.multi_az_database:
            self.acknowledge_relaxation(
                database,
                "AwsSolutions-RDS3",
                "HIPAA.Security-RDSMultiAZSupport",
                "NIST.800.53.R5-RDSMultiAZSupport",
            )
        if not self.config.deletion_protection:
            self.acknowledge_relaxation(
                database,
                "AwsSolutions-RDS10",
                "HIPAA.Security-RDSInstanceDeletionProtectionEnabled",
                "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
            )
            self.acknowledge_relaxation(
                self.load_balancer.load_balancer,
                "HIPAA.Security-ELBDeletionProtectionEnabled",
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
            )

    def _monitoring(self) -> None:
        lb = self.load_balancer
        db = self.database
        error_rate = error_rate_percent(lb.metric_http_5xx_count(), lb.metric_request_count())
        specs = {
            "AppCpuHighAlarm": AlarmSpec(
                metric=self.fleet.metric_cpu_utilization(),
                threshold=80,
                description="Fleet CPU at or above 80 % for 10 minutes: scale out or profile",
            ),
            "AppCpuLowAlarm": AlarmSpec(
                metric=self.fleet.metric_cpu_utilization(),
                threshold=5,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=6,
                description="Fleet CPU at or below 5 % for 30 minutes: over-provisioned",
            ),
            "UnhealthyTargetsAlarm": AlarmSpec(
                metric=lb.metric_unhealthy_host_count(),
                threshold=1,
                description="At least one target failed its health check: check the instances",
            ),
            "Http5xxRateAlarm": AlarmSpec(
                metric=error_rate,
                threshold=1,
                description="Over 1 % of requests answered 5xx (zero when there is no traffic)",
            ),
            "LatencyP99Alarm": AlarmSpec(
                metric=lb.metric_target_response_time(statistic="p99"),
                threshold=0.5,
                description="p99 target response time above 500 ms for 2 periods",
            ),
            "DatabaseCpuAlarm": AlarmSpec(
                metric=db.metric_cpu(),
                threshold=80,
                description="Database CPU at or above 80 %: check slow queries and connections",
            ),
            "DatabaseFreeStorageAlarm": AlarmSpec(
                metric=db.metric_free_storage(),
                threshold=5 * 1024**3,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
                description="Database free storage at or below 5 GiB: storage autoscaling lagging",
            ),
            "DatabaseConnectionsAlarm": AlarmSpec(
                metric=db.metric_connections(),
                threshold=400,
                description="Database connections at or above 400: connection leak or pool too big",
            ),
        }
        alarms = {name: self.alarms.create_alarm(self, name, spec) for name, spec in specs.items()}
        self.service_health_alarm = cloudwatch.CompositeAlarm(
            self,
            "ServiceHealthCompositeAlarm",
            alarm_description="Users affected: 5xx rate, p99 latency or unhealthy targets alarm",
            alarm_rule=cloudwatch.AlarmRule.any_of(
                alarms["Http5xxRateAlarm"],
                alarms["LatencyP99Alarm"],
                alarms["UnhealthyTargetsAlarm"],
            ),
        )
        self.alarms.notify(self.service_health_alarm)
        self.dashboard = OperationsDashboard(
            self,
            "Dashboard",
            graphs={
                "Requests and 5xx rate": [lb.metric_request_count(), error_rate],
                "Latency p99": [lb.metric_target_response_time(statistic="p99")],
                "Fleet CPU": [self.fleet.metric_cpu_utilization()],
                "Database": [db.metric_cpu(), db.metric_connections()],
            },
            alarms=[*alarms.values(), self.service_health_alarm],
        )

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
