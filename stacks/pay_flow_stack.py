"""PayFlowStack — the blue/green fintech platform of seed 004 (SPEC 2.5).

Three AZs. One internet-facing load balancer routes ``/api/*`` to a blue/green API service whose
weights are the deploy-time ``BlueWeight``/``GreenWeight`` parameters, and ``/webhooks/*`` to a
webhook fleet. All three fleets are hardened Auto Scaling groups: launch templates with IMDSv2,
CMK-encrypted gp3 volumes, mixed instance types, CPU, request-count, step and predictive scaling,
and lifecycle hooks. Behind them is an Aurora PostgreSQL cluster: one writer and two readers in
other AZs, with reader auto scaling, TLS forced and connection auditing.

Delivery (DEP-01..03):
* CodeDeploy deploys a release to the idle colour and rolls back on failure or on an alarm.
* A Step Functions state machine then moves the rule's weights in steps, checks the alarms
  between steps, and moves all traffic back to blue when one fires.
* EventBridge reports both machines' state changes to the alarm topic.

Route 53 (when ``DomainName`` and ``CertificateArn`` are given) answers the API domain with 90 %
production / 10 % canary weighted records, each health-checked over HTTPS on ``/health/deep``.

The canary is a second load balancer. It serves only the green colour. CodeDeploy drains green
instances from both load balancers, so a DNS canary client reaches the release that is being
promoted while the production load balancer keeps the parameter weights.

Why a second load balancer: a weighted DNS record needs a distinct target, and an ALB target group
can belong to one load balancer only.

Alarms go to a CMK-encrypted topic that has a dead-letter queue and two subscriptions: PagerDuty
over HTTPS and an optional e-mail. The alarms:
* the 5xx error rate (zero-safe metric math, two periods over ``ErrorRateThreshold``);
* p99 latency over ``LatencyThresholdMs``;
* database connections at or above 80 % of ``max_connections``;
* a composite of these three, with OK actions.

Also in the stack:
* WAF with logging on both load balancers;
* ALB access logs kept 90 days;
* ``/payflow/<env>/<component>/<key>`` parameters;
* X-Ray sampling, with the agent on every fleet;
* CloudTrail and Config;
* default-VPC cleanup;
* AWS Backup;
* a monthly budget with cost-anomaly detection.

Account-wide effects:
* The default-VPC cleanup deletes the default VPC of every other region that has no network
  interfaces (``dry_run_vpc_cleanup=True`` only reports).
* AWS Config allows one recorder per region. TapStack and CorpEnterpriseAppStack also deploy in
  us-east-1, so pass ``create_config_recorder=False`` to all but one of them.
* Route 53 health-check metrics exist only in us-east-1, hence the region.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from config import EnvironmentConfig
from constructs_lib.app_config import AppParameters, AppSetting
from constructs_lib.audit import AuditTrail, ConfigRecorder
from constructs_lib.aurora import AuroraPostgresCluster
from constructs_lib.backup import BackupPlan
from constructs_lib.blue_green import DEFAULT_INSTANCE_TYPES, BlueGreenService
from constructs_lib.certificate import OPTIONAL_DOMAIN_PATTERN
from constructs_lib.compute import HardenedFleet
from constructs_lib.cost import CostAllocationTag, CostGuardrails
from constructs_lib.default_vpc_cleanup import DefaultVpcCleanup
from constructs_lib.dns import WeightedDns
from constructs_lib.encryption import EncryptionKey
from constructs_lib.load_balancing import SecureLoadBalancer
from constructs_lib.monitoring import AlarmSpec, OperationsDashboard, error_rate_percent
from constructs_lib.network import SecureVpc
from constructs_lib.storage import SecureBucket
from constructs_lib.tracing import TracingSampling
from constructs_lib.traffic_shifting import TrafficShifter
from constructs_lib.waf import WebAcl
from stacks.base import IPV4_CIDR_PATTERN, VPC_CIDR_PATTERN, ReferenceStack
from stacks.web_tier import (
    BACKUP_TAG,
    add_alarm_topic,
    add_function_error_alarms,
    add_log_buckets,
)

PROJECT = "PayFlow"
APP_PORT = 80
HEALTH_CHECK_PATH = "/health/deep"
API_PATHS = ("/api/*",)
WEBHOOK_PATHS = ("/webhooks/*",)
API_RULE_PRIORITY = 10
WEBHOOK_RULE_PRIORITY = 20
#: Aurora PostgreSQL listens on a non-default port (DB-02).
DATABASE_PORT = 5433
#: Alarm when connections reach this share of the cluster's ``max_connections``.
CONNECTIONS_ALARM_PERCENT = 80


def payflow_application(component: str, path_prefix: str) -> tuple[str, ...]:
    """User data: nginx answering the deep health check and ``path_prefix``, 404 elsewhere.

    Stands in for the PayFlow service (replace these commands, or deploy revisions with
    CodeDeploy). The readiness probe and the ALB both wait for ``/health/deep``.
    """
    answer = f"""default_type application/json; return 200 '{{"service":"{component}"}}';"""
    return (
        "dnf install -y nginx",
        f"""cat > /etc/nginx/nginx.conf <<'NGINXCONF'
user nginx;
worker_processes auto;
error_log /var/log/app/error.log;
pid /run/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log /var/log/app/app.log;
    server_tokens off;
    server {{
        listen {APP_PORT} default_server;
        location = {HEALTH_CHECK_PATH} {{ default_type text/plain; return 200 "ok"; }}
        location {path_prefix} {{ {answer} }}
        location / {{ return 404; }}
    }}
}}
NGINXCONF""",
        "systemctl enable --now nginx",
    )


class PayFlowStack(ReferenceStack):
    """Blue/green fintech platform: weighted ALB → blue/green fleets → Aurora PostgreSQL.

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
            region="us-east-1",
            description=(
                "PayFlowStack (seed 004): blue/green fintech platform - 3 AZs, weighted ALB "
                "path routing with WAF, blue/green fleets with CodeDeploy and a traffic-shifting "
                "state machine, webhook fleet, Aurora PostgreSQL with 2 readers, Route 53 canary "
                "records, composite alarms to PagerDuty, CloudTrail, Config, budgets"
            ),
            project=PROJECT,
        )
        self._declare_parameters()
        self._create_keys()
        self._create_buckets_and_alarm_topic()
        self._create_network_and_load_balancers()
        self._create_api()
        self._create_webhook_fleet()
        self._create_database()
        self._create_traffic_shifter()
        self._create_dns()
        self._create_configuration_tracing_and_cost()
        self._create_audit(
            dry_run_vpc_cleanup=dry_run_vpc_cleanup, create_config_recorder=create_config_recorder
        )
        self._create_backup()
        self._service_alarms()
        self.function_alarms = add_function_error_alarms(
            self, self.alarms, already_alarmed=[self.traffic_shifter.function.function]
        )
        self._naming()
        self._outputs()
        self.publish_interface()

    # ---------------------------------------------------------------------------------------------
    def _create_buckets_and_alarm_topic(self) -> None:
        """Log buckets (S3-01..04, LOG-04) and the alarm topic (MON-01): PagerDuty over HTTPS,
        optional e-mail."""
        buckets = add_log_buckets(self, self.s3_key.key)
        self.access_logs_bucket, self.trail_bucket = buckets.access_logs, buckets.trail
        self.config_bucket, self.flow_logs_bucket = buckets.config, buckets.flow_logs
        self.alb_logs_bucket = buckets.alb_logs

        # ---- alerting (MON-01): PagerDuty over HTTPS, optional e-mail -------------------------
        self.alarms = add_alarm_topic(
            self,
            self.alerts_key,
            email=(self.alert_email, self.has_alert_email),
            webhook=(self.pagerduty_url, self.has_pagerduty),
        )

    def _create_network_and_load_balancers(self) -> None:
        """Three AZs cut from VpcCidr (NET-01..07), both ALBs with WAF (EDGE-01..04, LOG-05), and
        the alarms that gate a release: they exist before the service that rolls back on them."""
        self.network = SecureVpc(
            self,
            "Network",
            flow_log_key=self.logs_key.key,
            flow_log_bucket=self.flow_logs_bucket.bucket,
            max_azs=3,
            nat_gateway_per_az=self.config.nat_gateway_per_az,
            log_retention=self.config.log_retention,
            database_port=DATABASE_PORT,
            app_port=APP_PORT,
            deploy_time_cidr=self.vpc_cidr.value_as_string,
            dead_letter_key=self.alerts_key.key,
        )

        # ---- load balancers and WAF (EDGE-01..04, LOG-04, LOG-05) ------------------------------
        self.load_balancer = self._load_balancer("LoadBalancer", "payflow")
        self.canary_load_balancer = self._load_balancer("CanaryLoadBalancer", "payflow-canary")
        self.web_acl = WebAcl(self, "WebAcl", encryption_key=self.logs_key.key)
        for load_balancer in (self.load_balancer, self.canary_load_balancer):
            self.web_acl.associate(load_balancer.load_balancer)

        # Alarms that gate a release: they exist before the service that rolls back on them.
        lb = self.load_balancer
        self.error_rate = error_rate_percent(
            lb.metric_http_5xx_count(), lb.metric_request_count(), label="5xx rate (%)"
        )
        self.latency_p99_ms = cloudwatch.MathExpression(
            expression="p99 * 1000",
            using_metrics={"p99": lb.metric_target_response_time(statistic="p99")},
            label="p99 target response time (ms)",
            period=Duration.minutes(1),
        )
        self.error_rate_alarm = self.alarms.create_alarm(
            self,
            "Http5xxRateAlarm",
            AlarmSpec(
                metric=self.error_rate,
                threshold=self.error_rate_threshold.value_as_number,
                description=(
                    "5xx responses above ErrorRateThreshold % of requests for 2 consecutive "
                    "minutes (0 % without traffic); a running release rolls back"
                ),
            ),
        )
        self.latency_alarm = self.alarms.create_alarm(
            self,
            "LatencyP99Alarm",
            AlarmSpec(
                metric=self.latency_p99_ms,
                threshold=self.latency_threshold_ms.value_as_number,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=(
                    "p99 target response time above LatencyThresholdMs for 2 consecutive "
                    "minutes; a running release rolls back"
                ),
            ),
        )

    def _create_api(self) -> None:
        """The blue/green API on ``/api/*`` (DEP-01, DEP-02, CMP-01..07, EDGE-05), green also behind
        the canary load balancer."""
        self.api = BlueGreenService(
            self,
            "Api",
            vpc=self.network.vpc,
            subnets=self.network.app_subnet_selection(),
            load_balancer=self.load_balancer,
            encryption_key=self.compute_key.key,
            log_encryption_key=self.logs_key.key,
            alarm_topic=self.alarms.topic,
            rollback_alarms=[self.error_rate_alarm, self.latency_alarm],
            blue_weight=self.blue_weight.value_as_number,
            green_weight=self.green_weight.value_as_number,
            path_patterns=API_PATHS,
            priority=API_RULE_PRIORITY,
            min_capacity=self.config.app_min_capacity,
            max_capacity=self.config.app_max_capacity,
            app_port=APP_PORT,
            health_check_path=HEALTH_CHECK_PATH,
            user_data_commands=payflow_application("payflow-api", "/api/"),
            log_retention=self.config.log_retention,
            enable_xray=True,
        )
        self.api.serve_colour_through(
            "green", self.canary_load_balancer, self.canary_load_balancer.target_group
        )

    def _create_webhook_fleet(self) -> None:
        """The webhook fleet: ``/webhooks/*`` and the listener's default action (CMP-01..07,
        EDGE-05)."""
        self.webhooks = HardenedFleet(
            self,
            "WebhookFleet",
            vpc=self.network.vpc,
            subnets=self.network.app_subnet_selection(),
            encryption_key=self.compute_key.key,
            log_encryption_key=self.logs_key.key,
            alarm_topic=self.alarms.topic,
            min_capacity=self.config.app_min_capacity,
            max_capacity=self.config.app_max_capacity,
            app_port=APP_PORT,
            health_check_path=HEALTH_CHECK_PATH,
            log_retention=self.config.log_retention,
            user_data_commands=payflow_application("payflow-webhooks", "/webhooks/"),
            mixed_instance_types=list(DEFAULT_INSTANCE_TYPES),
            enable_xray=True,
        )
        self.load_balancer.connect_to(self.webhooks.security_group, APP_PORT)
        self.webhooks.attach_to_target_group(self.load_balancer.target_group)
        self.webhooks.scale_on_cpu()
        self.webhooks.scale_on_request_count()
        self.webhooks.add_step_scaling()
        self.webhooks.add_predictive_scaling()
        self.webhooks.add_lifecycle_hooks()
        self.webhook_rule = elbv2.ApplicationListenerRule(
            self,
            "WebhooksRule",
            listener=self.api.listener,
            priority=WEBHOOK_RULE_PRIORITY,
            conditions=[elbv2.ListenerCondition.path_patterns(list(WEBHOOK_PATHS))],
            action=elbv2.ListenerAction.forward([self.load_balancer.target_group]),
        )
        cfn_webhook_rule = self.webhook_rule.node.default_child
        assert isinstance(cfn_webhook_rule, elbv2.CfnListenerRule)
        # On the same listener as the API rule (HTTPS whenever the certificate exists).
        cfn_webhook_rule.listener_arn = self.api.cfn_rule.listener_arn

    def _create_database(self) -> None:
        """Aurora PostgreSQL reachable from the three fleets only (DB-01..09, LOG-06)."""
        self.database = AuroraPostgresCluster(
            self,
            "Database",
            vpc=self.network.vpc,
            encryption_key=self.database_key.key,
            log_encryption_key=self.logs_key.key,
            subnets=self.network.data_subnet_selection(),
            rotation_subnets=self.network.app_subnet_selection(),
            deletion_protection=self.config.deletion_protection,
            backup_retention_days=max(7, self.config.database_backup_retention_days),
            port=DATABASE_PORT,
            database_name="payflow",
            log_retention=self.config.log_retention,
        )
        if not self.config.deletion_protection:
            self.acknowledge_relaxation(
                self.database.cluster,
                "AwsSolutions-RDS10",
                "HIPAA.Security-RDSInstanceDeletionProtectionEnabled",
                "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
            )
        for name, fleet in self._fleets().items():
            self.database.allow_from(fleet.security_group, f"PostgreSQL from the {name} fleet")
            fleet.grant_secrets_read(self.database.secret)

    def _create_traffic_shifter(self) -> None:
        """Step-wise weight shifts gated on the release alarms, with rollback to blue (DEP-03)."""
        self.green_error_rate_alarm = self.alarms.create_alarm(
            self,
            "GreenErrorRateAlarm",
            AlarmSpec(
                metric=error_rate_percent(
                    self.api.metric_target_5xx_count("green"),
                    self.api.metric_request_count("green"),
                    label="Green 5xx rate (%)",
                ),
                threshold=self.error_rate_threshold.value_as_number,
                description=(
                    "The green colour answers over ErrorRateThreshold % 5xx for 2 minutes: "
                    "the traffic shifter moves all traffic back to blue"
                ),
            ),
        )
        self.traffic_shifter = TrafficShifter(
            self,
            "TrafficShifter",
            rule=self.api.rule,
            blue_target_group=self.api.blue_target_group,
            green_target_group=self.api.green_target_group,
            alarms=[
                self.error_rate_alarm,
                self.latency_alarm,
                self.green_error_rate_alarm,
                self.api.green_unhealthy_alarm,
            ],
            alarm_topic=self.alarms,
            log_encryption_key=self.logs_key,
            log_retention=self.config.log_retention,
            codedeploy_application=self.api.application,
        )

    def _create_dns(self) -> None:
        """Route 53 zone with 90/10 production/canary records and HTTPS health checks (EDGE-06)."""
        self.dns = WeightedDns(
            self,
            "Dns",
            domain_name=self.domain_name.value_as_string,
            condition=self.has_domain,
            production=self.load_balancer,
            canary=self.canary_load_balancer,
            alarm_topic=self.alarms,
            production_weight=self.production_weight.value_as_number,
            canary_weight=self.canary_weight.value_as_number,
            health_check_path=HEALTH_CHECK_PATH,
        )

    def _create_configuration_tracing_and_cost(self) -> None:
        """``/payflow/<env>/<component>/<key>`` parameters (DB-11), X-Ray sampling (LOG-07),
        budget and cost-anomaly alerts (GOV-06)."""
        self.app_parameters = AppParameters(
            self,
            "AppParameters",
            application="payflow",
            environment=self.config.name,
            component="api",
            settings={
                "database-endpoint": AppSetting(
                    value=self.database.cluster.cluster_endpoint.hostname,
                    description="Aurora writer endpoint of the PayFlow API",
                ),
                "database-reader-endpoint": AppSetting(
                    value=self.database.cluster.cluster_read_endpoint.hostname,
                    description="Aurora reader endpoint (load-balanced over the readers)",
                ),
                "database-port": AppSetting(
                    value=str(DATABASE_PORT), description="Port of the Aurora cluster"
                ),
                "database-name": AppSetting(
                    value="payflow", description="Database the API connects to"
                ),
            },
        )
        self.webhook_parameters = AppParameters(
            self,
            "WebhookParameters",
            application="payflow",
            environment=self.config.name,
            component="webhooks",
            settings={
                "path-prefix": AppSetting(
                    value=WEBHOOK_PATHS[0].removesuffix("*"),
                    description="Path prefix the load balancer routes to the webhook fleet",
                ),
                "alarm-topic-arn": AppSetting(
                    value=self.alarms.topic_arn,
                    description="Topic that receives the platform's alarms",
                ),
            },
        )
        for fleet in (self.api.blue, self.api.green):
            self.app_parameters.grant_read(fleet.role)
        self.webhook_parameters.grant_read(self.webhooks.role)
        self.tracing = TracingSampling(self, "Tracing", service_name="payflow")
        self.cost = CostGuardrails(
            self,
            "CostGuardrails",
            monthly_limit_usd=self.monthly_budget.value_as_number,
            cost_allocation_tag=CostAllocationTag(key="Project", values=[PROJECT]),
            alarm_topic=self.alarms,
        )

    def _create_audit(self, *, dry_run_vpc_cleanup: bool, create_config_recorder: bool) -> None:
        """CloudTrail, Config and the default-VPC cleanup (LOG-01, LOG-02, NET-09)."""
        self.trail = AuditTrail(
            self,
            "AuditTrail",
            bucket=self.trail_bucket,
            encryption_key=self.trail_key,
            log_group_key=self.logs_key,
            log_retention=self.config.log_retention,
            lambda_data_events=True,
        )
        self.config_recorder = ConfigRecorder(
            self,
            "ConfigRecorder",
            bucket=self.config_bucket,
            encryption_key=self.s3_key,
            create_recorder=create_config_recorder,
        )
        self.default_vpc_cleanup = DefaultVpcCleanup(
            self,
            "DefaultVpcCleanup",
            encryption_key=self.logs_key.key,
            dry_run=dry_run_vpc_cleanup,
            log_retention=self.config.log_retention,
        )

    def _create_backup(self) -> None:
        """AWS Backup of the cluster and the fleets' volumes (RES-01)."""
        self.backup = BackupPlan(
            self, "Backup", encryption_key=self.backup_key.key, notification_topic=self.alarms.topic
        )
        self.backup.add_resources("Database", self.database.cluster)
        for fleet in self._fleets().values():
            cdk.Tags.of(fleet).add(BACKUP_TAG, "true")
        self.backup.add_tag_selection("TaggedVolumes", BACKUP_TAG, "true")

    def _fleets(self) -> dict[str, HardenedFleet]:
        return {"blue": self.api.blue, "green": self.api.green, "webhook": self.webhooks}

    def _load_balancer(self, construct_id: str, log_prefix: str) -> SecureLoadBalancer:
        """An ALB with the deep health check, 30 s draining and the stack's TLS and ingress."""
        load_balancer = SecureLoadBalancer(
            self,
            construct_id,
            vpc=self.network.vpc,
            access_log_bucket=self.alb_logs_bucket.bucket,
            access_log_prefix=log_prefix,
            deletion_protection=self.config.deletion_protection,
            certificate_arn=self.certificate_arn.value_as_string,
            certificate_condition=self.has_certificate,
            target_port=APP_PORT,
            health_check_path=HEALTH_CHECK_PATH,
            health_check_interval=Duration.seconds(30),
            deregistration_delay=Duration.seconds(30),
            ingress_cidr=self.ingress_cidr.value_as_string,
        )
        if not self.config.deletion_protection:
            self.acknowledge_relaxation(
                load_balancer.load_balancer,
                "HIPAA.Security-ELBDeletionProtectionEnabled",
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
            )
        return load_balancer

    def _declare_parameters(self) -> None:
        self.vpc_cidr = self.parameter(
            "VpcCidr",
            group="Network",
            label="VPC CIDR (a private /16)",
            type="String",
            default="10.20.0.0/16",
            allowed_pattern=VPC_CIDR_PATTERN,
            constraint_description=(
                "a private /16: 10.x.0.0/16, 172.16-31.0.0/16 or 192.168.0.0/16; the subnets are "
                "cut from it with Fn::Cidr"
            ),
            description="CIDR of the VPC; the nine subnets (3 tiers x 3 AZs) are derived from it.",
        )
        self.ingress_cidr = self.parameter(
            "IngressCidr",
            group="Network",
            label="Who may reach the load balancers on 80/443",
            type="String",
            default="0.0.0.0/0",
            allowed_pattern=IPV4_CIDR_PATTERN,
            constraint_description=(
                "an IPv4 CIDR such as 203.0.113.0/24; 0.0.0.0/0 for a public API (only ports 80 "
                "and 443 of the load balancers are ever opened to it)"
            ),
            description="Source range of the load balancers' HTTP/HTTPS listeners.",
        )
        self.certificate_arn, self.has_certificate = self.optional_certificate_parameter()
        weights: dict[str, Any] = {
            "group": "Blue/green",
            "type": "Number",
            "min_value": 0,
            "max_value": 100,
        }
        self.blue_weight = self.parameter(
            "BlueWeight",
            label="Weight of the blue target group (0-100)",
            default=100,
            constraint_description="a whole number from 0 to 100",
            description="Share of /api/* traffic for blue, relative to GreenWeight.",
            **weights,
        )
        self.green_weight = self.parameter(
            "GreenWeight",
            label="Weight of the green target group (0-100)",
            default=0,
            constraint_description="a whole number from 0 to 100",
            description="Share of /api/* traffic for green, relative to BlueWeight.",
            **weights,
        )
        self.domain_name = self.parameter(
            "DomainName",
            group="DNS",
            label="API domain, e.g. api.payflow.io (empty: no hosted zone)",
            type="String",
            default="",
            allowed_pattern=OPTIONAL_DOMAIN_PATTERN,
            constraint_description="empty, or a lower-case DNS name such as api.payflow.io",
            description="Public hosted zone with weighted production/canary records; needs "
            "CertificateArn too (the health checks use HTTPS).",
        )
        dns_weights: dict[str, Any] = {
            "group": "DNS",
            "type": "Number",
            "min_value": 0,
            "max_value": 255,
        }
        self.production_weight = self.parameter(
            "ProductionWeight",
            label="Route 53 weight of the production load balancer",
            default=90,
            constraint_description="a whole number from 0 to 255",
            description="Relative share of DNS answers for the production load balancer.",
            **dns_weights,
        )
        self.canary_weight = self.parameter(
            "CanaryWeight",
            label="Route 53 weight of the canary load balancer (green only)",
            default=10,
            constraint_description="a whole number from 0 to 255",
            description="Relative share of DNS answers for the canary load balancer.",
            **dns_weights,
        )
        self.has_domain = self.condition(
            "HasDomain",
            cdk.Fn.condition_and(
                cdk.Fn.condition_not(cdk.Fn.condition_equals(self.domain_name.value_as_string, "")),
                cdk.Fn.condition_not(
                    cdk.Fn.condition_equals(self.certificate_arn.value_as_string, "")
                ),
            ),
        )
        self.error_rate_threshold = self.parameter(
            "ErrorRateThreshold",
            group="Monitoring",
            label="5xx error rate that alarms, in percent",
            type="Number",
            default=1,
            min_value=0.1,
            max_value=50,
            constraint_description="a percentage from 0.1 to 50",
            description="Alarm (and roll back a release) above this share of 5xx responses.",
        )
        self.latency_threshold_ms = self.parameter(
            "LatencyThresholdMs",
            group="Monitoring",
            label="p99 latency that alarms, in milliseconds",
            type="Number",
            default=500,
            min_value=50,
            max_value=30000,
            constraint_description="milliseconds from 50 to 30000",
            description="Alarm (and roll back a release) above this p99 target response time.",
        )
        self.alert_email, self.has_alert_email = self.optional_email_parameter()
        self.pagerduty_url, self.has_pagerduty = self.optional_webhook_parameter()
        self.monthly_budget = self.parameter(
            "MonthlyBudgetUsd",
            group="Cost",
            label="Monthly cost budget in USD",
            type="Number",
            default=5000,
            min_value=10,
            max_value=10000000,
            constraint_description="a budget from 10 to 10000000 USD",
            description="Budget of the resources tagged Project=PayFlow; alerts at 80 % and 100 % "
            "actual and 100 % forecast.",
        )

    def _create_keys(self) -> None:
        """One customer-managed key per data domain (ENC-01)."""
        self.s3_key = EncryptionKey(
            self,
            "S3Key",
            alias="payflow-s3",
            description="PayFlow S3 key: Config and flow-log buckets",
            services=["s3"],
        )
        self.trail_key = EncryptionKey(
            self,
            "TrailKey",
            alias="payflow-cloudtrail",
            description="PayFlow CloudTrail key: trail log files",
            services=["s3"],
        )
        self.database_key = EncryptionKey(
            self,
            "DatabaseKey",
            alias="payflow-rds",
            description="PayFlow Aurora key: storage, snapshots, Performance Insights, secret",
            services=["rds", "secretsmanager"],
        )
        self.logs_key = EncryptionKey(
            self,
            "LogsKey",
            alias="payflow-logs",
            description="PayFlow logs key: every CloudWatch log group",
        )
        self.compute_key = EncryptionKey(
            self,
            "ComputeKey",
            alias="payflow-compute",
            description="PayFlow compute key: EBS volumes of the blue, green and webhook fleets",
            services=["ec2"],
        )
        self.alerts_key = EncryptionKey(
            self,
            "AlertsKey",
            alias="payflow-alerts",
            description="PayFlow alerts key: alarm topic, dead-letter queues",
            services=["sns", "sqs"],
        )
        self.backup_key = EncryptionKey(
            self,
            "BackupKey",
            alias="payflow-backup",
            description="PayFlow backup key: AWS Backup vault recovery points",
            services=["backup"],
        )

    def _keys(self) -> dict[str, EncryptionKey]:
        return {
            "S3Key": self.s3_key,
            "TrailKey": self.trail_key,
            "DatabaseKey": self.database_key,
            "LogsKey": self.logs_key,
            "ComputeKey": self.compute_key,
            "AlertsKey": self.alerts_key,
            "BackupKey": self.backup_key,
        }

    def _buckets(self) -> dict[str, SecureBucket]:
        return {
            "AccessLogsBucket": self.access_logs_bucket,
            "TrailBucket": self.trail_bucket,
            "ConfigBucket": self.config_bucket,
            "FlowLogsBucket": self.flow_logs_bucket,
            "AlbLogsBucket": self.alb_logs_bucket,
        }

    def _service_alarms(self) -> None:
        """Fleet, database and webhook alarms, the composite and the dashboard (MON-02..04)."""
        db = self.database
        less_or_equal = cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD
        webhooks_group = self.load_balancer.target_group
        specs: dict[str, AlarmSpec] = {}
        for name, fleet in (("Blue", self.api.blue), ("Green", self.api.green)):
            specs[f"{name}CpuHighAlarm"] = AlarmSpec(
                metric=fleet.metric_cpu_utilization(),
                threshold=80,
                description=f"{name} fleet CPU at or above 80 % for 10 minutes: scale or profile",
            )
        specs.update(
            {
                "BlueCpuLowAlarm": AlarmSpec(
                    metric=self.api.blue.metric_cpu_utilization(),
                    threshold=5,
                    comparison=less_or_equal,
                    evaluation_periods=6,
                    description="Blue fleet CPU at or below 5 % for 30 minutes: over-provisioned",
                ),
                "WebhookCpuHighAlarm": AlarmSpec(
                    metric=self.webhooks.metric_cpu_utilization(),
                    threshold=80,
                    description="Webhook fleet CPU at or above 80 % for 10 minutes",
                ),
                "WebhookCpuLowAlarm": AlarmSpec(
                    metric=self.webhooks.metric_cpu_utilization(),
                    threshold=5,
                    comparison=less_or_equal,
                    evaluation_periods=6,
                    description="Webhook fleet CPU at or below 5 % for 30 minutes",
                ),
                "WebhookUnhealthyTargetsAlarm": AlarmSpec(
                    metric=webhooks_group.metrics.unhealthy_host_count(
                        period=Duration.minutes(1), statistic="Maximum"
                    ),
                    threshold=1,
                    description="A webhook instance failed its deep health check: check its logs",
                ),
                "DatabaseCpuAlarm": AlarmSpec(
                    metric=db.metric_cpu(),
                    threshold=80,
                    description="Aurora CPU at or above 80 %: check slow queries and connections",
                ),
                "DatabaseFreeLocalStorageAlarm": AlarmSpec(
                    metric=db.metric_free_local_storage(),
                    threshold=2 * 1024**3,
                    comparison=less_or_equal,
                    description="Aurora free local storage at or below 2 GiB: temp files, sorts",
                ),
                "DatabaseFreeableMemoryAlarm": AlarmSpec(
                    metric=db.metric_freeable_memory(),
                    threshold=256 * 1024**2,
                    comparison=less_or_equal,
                    description="Aurora freeable memory at or below 256 MiB: resize or tune",
                ),
                "DatabaseConnectionsAlarm": AlarmSpec(
                    metric=db.metric_connections(),
                    threshold=db.connections_alarm_threshold(CONNECTIONS_ALARM_PERCENT),
                    description=(
                        f"Aurora connections at or above {CONNECTIONS_ALARM_PERCENT} % of "
                        f"max_connections ({db.max_connections}): pool leak or undersized class"
                    ),
                ),
            }
        )
        self.service_alarms = {
            name: self.alarms.create_alarm(self, name, spec) for name, spec in specs.items()
        }
        self.composite_alarm = cloudwatch.CompositeAlarm(
            self,
            "PaymentsHealthCompositeAlarm",
            alarm_description=(
                "Payments affected: 5xx rate, p99 latency or database connections in ALARM"
            ),
            alarm_rule=cloudwatch.AlarmRule.any_of(
                self.error_rate_alarm,
                self.latency_alarm,
                self.service_alarms["DatabaseConnectionsAlarm"],
            ),
        )
        self.alarms.notify(self.composite_alarm)
        self.dashboard = OperationsDashboard(
            self,
            "Dashboard",
            graphs={
                "Requests and 5xx rate": [
                    self.load_balancer.metric_request_count(),
                    self.error_rate,
                ],
                "Latency p99 (ms)": [self.latency_p99_ms],
                "Blue/green requests": [
                    self.api.metric_request_count("blue"),
                    self.api.metric_request_count("green"),
                ],
                "Fleet CPU": [f.metric_cpu_utilization() for f in self._fleets().values()],
                "Aurora": [db.metric_cpu(), db.metric_connections()],
            },
            alarms=[
                self.error_rate_alarm,
                self.latency_alarm,
                self.green_error_rate_alarm,
                *self.service_alarms.values(),
                self.composite_alarm,
            ],
        )

    def _naming(self) -> None:
        """``payflow-<environment>-<component>`` Name tags (GOV-02)."""
        self.use_naming("payflow-{environment}-{component}", environment=self.config.name)
        network = self.network
        self.name_tag(network.vpc, component="vpc")
        for tier, subnets in (
            ("public", network.public_subnets),
            ("app", network.app_subnets),
            ("data", network.data_subnets),
        ):
            for index, subnet in enumerate(subnets, start=1):
                self.name_tag(subnet, component=f"{tier}-subnet-{index}")
        for name, fleet in self._fleets().items():
            self.name_tag(fleet.auto_scaling_group, component=f"{name}-asg")
            self.name_tag(fleet.launch_template, component=name)
        self.name_tag(self.load_balancer.load_balancer, component="alb")
        self.name_tag(self.canary_load_balancer.load_balancer, component="canary-alb")
        self.name_tag(self.database.cluster, component="aurora")
        self.name_tag(self.alarms.topic, component="alarms")
        for name, key in self._keys().items():
            self.name_tag(key.key, component=name.removesuffix("Key").lower() + "-key")
        self.name_tag(self.trail.trail, component="cloudtrail")
        self.name_tag(self.web_acl.web_acl, component="waf")
        self.name_everything("component")

    def _outputs(self) -> None:
        lb = self.load_balancer.load_balancer
        canary = self.canary_load_balancer.load_balancer
        cluster = self.database.cluster
        url = cdk.Fn.condition_if(
            self.has_certificate.logical_id,
            f"https://{lb.load_balancer_dns_name}",
            f"http://{lb.load_balancer_dns_name}",
        ).to_string()
        outputs: list[tuple[str, str, str]] = [
            ("VPCId", self.network.vpc.vpc_id, "VPC ID"),
            ("VPCCidr", self.network.vpc.vpc_cidr_block, "CIDR of the VPC"),
            ("LoadBalancerDNS", lb.load_balancer_dns_name, "DNS name of the production ALB"),
            ("LoadBalancerArn", lb.load_balancer_arn, "ARN of the production ALB"),
            ("CanaryLoadBalancerDNS", canary.load_balancer_dns_name, "DNS name of the canary ALB"),
            ("CanaryLoadBalancerArn", canary.load_balancer_arn, "ARN of the canary ALB"),
            ("ApplicationUrl", url, "URL of the API (HTTPS once a certificate is configured)"),
            ("BlueTargetGroupArn", self.api.blue_target_group.target_group_arn, "Blue targets"),
            ("GreenTargetGroupArn", self.api.green_target_group.target_group_arn, "Green targets"),
            (
                "WebhookTargetGroupArn",
                self.load_balancer.target_group.target_group_arn,
                "Webhook fleet targets (/webhooks/* and the default action)",
            ),
            ("ApiListenerRuleArn", self.api.rule.listener_rule_arn, "Weighted /api/* rule"),
            (
                "BlueAutoScalingGroupName",
                self.api.blue.auto_scaling_group.auto_scaling_group_name,
                "Blue fleet",
            ),
            (
                "GreenAutoScalingGroupName",
                self.api.green.auto_scaling_group.auto_scaling_group_name,
                "Green fleet",
            ),
            (
                "WebhookAutoScalingGroupName",
                self.webhooks.auto_scaling_group.auto_scaling_group_name,
                "Webhook fleet",
            ),
            (
                "CodeDeployApplicationName",
                self.api.application.application_name,
                "CodeDeploy application of the API",
            ),
            (
                "BlueDeploymentGroupName",
                self.api.blue_deployment_group.deployment_group_name,
                "Deployment group of the blue fleet",
            ),
            (
                "GreenDeploymentGroupName",
                self.api.green_deployment_group.deployment_group_name,
                "Deployment group of the green fleet",
            ),
            (
                "TrafficShifterStateMachineArn",
                self.traffic_shifter.state_machine_arn,
                "Start an execution to shift /api/* from blue to green in steps",
            ),
            ("DatabaseEndpoint", cluster.cluster_endpoint.hostname, "Aurora writer endpoint"),
            (
                "DatabaseReaderEndpoint",
                cluster.cluster_read_endpoint.hostname,
                "Aurora reader endpoint",
            ),
            ("DatabasePort", str(DATABASE_PORT), "Aurora PostgreSQL port"),
            ("DatabaseClusterId", cluster.cluster_identifier, "Aurora cluster identifier"),
            ("DatabaseSecretArn", self.database.secret.secret_arn, "Database credentials secret"),
            ("AlarmTopicArn", self.alarms.topic_arn, "Alarm notification topic"),
            ("CompositeAlarmArn", self.composite_alarm.alarm_arn, "Payments health composite"),
            ("DashboardUrl", self.dashboard.url, "CloudWatch dashboard"),
            ("WebACLArn", self.web_acl.arn, "WAF web ACL of both load balancers"),
            ("AppParametersPath", self.app_parameters.path_prefix, "API configuration path"),
            (
                "WebhookParametersPath",
                self.webhook_parameters.path_prefix,
                "Webhook configuration path",
            ),
            ("SamplingRuleArn", self.tracing.rule_arn, "X-Ray sampling rule"),
            ("BudgetName", self.cost.budget_name, "Monthly cost budget"),
            ("AnomalyMonitorArn", self.cost.anomaly_monitor_arn, "Cost anomaly monitor"),
            ("CloudTrailArn", self.trail.trail_arn, "Multi-region audit trail"),
            ("BackupVaultName", self.backup.vault_name, "AWS Backup vault"),
            ("BackupPlanId", self.backup.plan_id, "AWS Backup plan"),
            (
                "DefaultVpcCleanupLogGroup",
                self.default_vpc_cleanup.log_group.log_group_name,
                "Log group with the default-VPC cleanup's per-region report",
            ),
            (
                "LoadBalancerSecurityGroupId",
                self.load_balancer.security_group.security_group_id,
                "Production ALB security group",
            ),
            (
                "DatabaseSecurityGroupId",
                self.database.security_group.security_group_id,
                "Aurora security group",
            ),
        ]
        outputs += [
            (f"{tier}Subnet{index}Id", subnet.subnet_id, f"{tier} subnet {index}")
            for tier, subnets in (
                ("Public", self.network.public_subnets),
                ("Private", self.network.app_subnets),
                ("Data", self.network.data_subnets),
            )
            for index, subnet in enumerate(subnets, start=1)
        ]
        outputs += [
            (
                f"{name.capitalize()}LaunchTemplateId",
                fleet.launch_template.launch_template_id or "",
                f"Launch template of the {name} fleet",
            )
            for name, fleet in self._fleets().items()
        ]
        outputs.append(
            (
                "TrafficShifterKeyArn",
                self.traffic_shifter.function.environment_key.key_arn,
                "Key encrypting the traffic shifter's environment variables",
            )
        )
        outputs += [(f"{n}Name", b.bucket_name, f"{n} bucket") for n, b in self._buckets().items()]
        outputs += [
            (f"{n}Arn", k.key_arn, f"{n} customer-managed key") for n, k in self._keys().items()
        ]
        self.export_all(outputs)
        # Only with a domain: the zone and the name servers to delegate to at the registrar.
        self.export(
            "HostedZoneId",
            self.dns.hosted_zone_id,
            "Route 53 hosted zone of DomainName",
            condition=self.has_domain,
        )
        self.export(
            "NameServers",
            self.dns.name_servers,
            "Name servers to set at the registrar of DomainName",
            condition=self.has_domain,
        )
