"""The web tier three reference stacks share: ALB + WAF → hardened fleet → MySQL, with logs.

These helpers create constructs directly in the stack with fixed construct IDs, so the logical
IDs of stateful resources are the same in every stack that uses them and never move when a stack
is refactored (the stack tests pin them). Each stack still decides its keys, parameters, naming,
extra services and outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import CfnCondition, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.backup import BackupPlan
from constructs_lib.bastion import Bastion
from constructs_lib.compute import HardenedFleet
from constructs_lib.database import SecureDatabase
from constructs_lib.encryption import EncryptionKey
from constructs_lib.load_balancing import SecureLoadBalancer
from constructs_lib.monitoring import AlarmSpec, AlarmTopic, OperationsDashboard, error_rate_percent
from constructs_lib.network import SecureVpc
from constructs_lib.storage import LifecyclePolicy, SecureBucket
from constructs_lib.waf import WebAcl
from stacks.base import ReferenceStack

APP_PORT = 80
HEALTH_CHECK_PATH = "/health"
#: Resources tagged ``Backup=true`` are selected by the backup plan (EC2 volumes).
BACKUP_TAG = "Backup"


def reference_application(title: str) -> tuple[str, ...]:
    """User-data commands for the reference application: nginx answering the health check.

    The ALB health check and the instance's cfn-signal both wait for ``/health``; the access log
    goes where the CloudWatch agent ships it. Replace these commands with your application.
    """
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
        location / {{ default_type text/plain; return 200 "{title}"; }}
    }}
}}
NGINXCONF""",
        "systemctl enable --now nginx",
    )


# ---- log buckets ---------------------------------------------------------------------------------
def access_logs_bucket(stack: ReferenceStack) -> SecureBucket:
    """``AccessLogsBucket``: the S3 server-access-log destination (SSE-S3, immutable)."""
    return SecureBucket(
        stack,
        "AccessLogsBucket",
        access_log_destination=True,
        s3_managed_encryption_reason="S3 server access logging delivers only to SSE-S3 buckets",
        immutable=True,
        lifecycle=LifecyclePolicy(expire_after_days=365),
    )


def log_bucket(
    stack: ReferenceStack,
    construct_id: str,
    *,
    key: kms.IKey,
    access_logs: SecureBucket,
    prefix: str,
    expire_after_days: int,
) -> SecureBucket:
    """An immutable, CMK-encrypted log bucket that logs its own access (S3-01..04)."""
    return SecureBucket(
        stack,
        construct_id,
        encryption_key=key,
        server_access_logs_bucket=access_logs.bucket,
        server_access_logs_prefix=f"{prefix}/",
        immutable=True,
        lifecycle=LifecyclePolicy(expire_after_days=expire_after_days),
    )


def alb_logs_bucket(stack: ReferenceStack, access_logs: SecureBucket) -> SecureBucket:
    """``AlbLogsBucket``: ALB access logs (SSE-S3, as ELB requires), kept 90 days (LOG-04)."""
    return SecureBucket(
        stack,
        "AlbLogsBucket",
        s3_managed_encryption_reason="ALB access logs can only be delivered to SSE-S3 buckets",
        server_access_logs_bucket=access_logs.bucket,
        server_access_logs_prefix="alb-logs/",
        immutable=True,
        lifecycle=LifecyclePolicy(glacier_after_days=None, expire_after_days=90),
    )


@dataclass(frozen=True)
class LogBuckets:
    """The log buckets of a reference stack (S3-01..04, LOG-01, LOG-02, LOG-04, NET-04)."""

    access_logs: SecureBucket
    trail: SecureBucket
    config: SecureBucket
    flow_logs: SecureBucket
    alb_logs: SecureBucket


def add_log_buckets(stack: ReferenceStack, key: kms.IKey) -> LogBuckets:
    """``AccessLogsBucket`` (SSE-S3), then ``TrailBucket`` and ``ConfigBucket`` (kept 7 years) and
    ``FlowLogsBucket`` (1 year) under ``key``, then ``AlbLogsBucket`` (SSE-S3, 90 days).

    Created in that order, with these IDs, in every stack that uses it (logical IDs pinned).
    """
    access_logs = access_logs_bucket(stack)
    trail, config, flow_logs = (
        log_bucket(
            stack,
            bucket_id,
            key=key,
            access_logs=access_logs,
            prefix=prefix,
            expire_after_days=days,
        )
        for bucket_id, prefix, days in (
            ("TrailBucket", "trail", 2555),
            ("ConfigBucket", "config", 2555),
            ("FlowLogsBucket", "flow-logs", 365),
        )
    )
    return LogBuckets(access_logs, trail, config, flow_logs, alb_logs_bucket(stack, access_logs))


# ---- alerting ------------------------------------------------------------------------------------
def add_alarm_topic(
    stack: ReferenceStack,
    encryption_key: EncryptionKey,
    *,
    email: tuple[cdk.CfnParameter, CfnCondition],
    webhook: tuple[cdk.CfnParameter, CfnCondition],
) -> AlarmTopic:
    """``AlarmTopic`` (MON-01) with optional e-mail and HTTPS subscriptions.

    ``email`` and ``webhook`` are the stack's ``optional_email_parameter()`` and
    ``optional_webhook_parameter()``: each subscription exists only when its value is set.
    """
    (email_address, has_email), (webhook_url, has_webhook) = email, webhook
    topic = AlarmTopic(stack, "AlarmTopic", encryption_key=encryption_key)
    topic.add_email_subscription(email_address.value_as_string, condition=has_email)
    topic.add_https_subscription(webhook_url.value_as_string, condition=has_webhook)
    return topic


# ---- the tier ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class WebTierSettings:
    """What differs between the stacks that use the web tier."""

    title: str
    database_name: str
    alb_log_prefix: str
    #: A number, or a ``DatabasePort`` parameter's value (the database and its rules follow it).
    database_port: int | float = 3307
    desired_capacity: float | None = None
    instance_types: Sequence[str] | None = None
    certificate_arn: str | None = None
    certificate_condition: CfnCondition | None = None
    max_azs: int = 2
    #: The VPC CIDR as a deploy-time token (a ``VpcCidr`` parameter); subnets follow it.
    vpc_cidr: str | None = None
    #: Add a DynamoDB gateway endpoint (stacks with tables).
    dynamodb_endpoint: bool = False
    #: Who may reach the load balancer; a validated parameter's value restricts it (NET-08).
    ingress_cidr: str = "0.0.0.0/0"
    #: Database backup retention when the stack needs more than the environment's (finance: 30).
    minimum_backup_retention_days: int = 0
    #: Run the X-Ray daemon in the fleet's CloudWatch agent (LOG-07).
    enable_xray: bool = False


@dataclass(frozen=True)
class WebTier:
    """The constructs of the tier, for outputs, alarms and stack-specific additions."""

    network: SecureVpc
    fleet: HardenedFleet
    load_balancer: SecureLoadBalancer
    web_acl: WebAcl
    database: SecureDatabase


def add_web_tier(
    stack: ReferenceStack,
    settings: WebTierSettings,
    *,
    data_key: kms.IKey,
    database_key: kms.IKey,
    flow_logs_bucket: SecureBucket,
    logs_key: kms.IKey | None = None,
    alb_logs: SecureBucket,
    alarm_topic: AlarmTopic,
    queue_key: kms.IKey | None = None,
) -> WebTier:
    """VPC, fleet, ALB, WAF and database, wired least-privilege (NET-06) and scaled (CMP-06).

    ``data_key`` encrypts EBS volumes, ``database_key`` the database, its secret and Performance
    Insights, ``logs_key`` every log group of the tier (flow logs, WAF, fleet, database exports);
    without ``logs_key`` the log groups use ``data_key`` and the database's own key.
    """
    config = stack.config
    network = SecureVpc(
        stack,
        "Network",
        flow_log_key=logs_key or data_key,
        flow_log_bucket=flow_logs_bucket.bucket,
        max_azs=settings.max_azs,
        nat_gateway_per_az=config.nat_gateway_per_az,
        log_retention=config.log_retention,
        database_port=settings.database_port,
        app_port=APP_PORT,
        deploy_time_cidr=settings.vpc_cidr,
        dead_letter_key=queue_key,
        gateway_endpoints_dynamodb=settings.dynamodb_endpoint,
    )
    fleet = HardenedFleet(
        stack,
        "AppFleet",
        vpc=network.vpc,
        subnets=network.app_subnet_selection(),
        encryption_key=data_key,
        log_encryption_key=logs_key,
        alarm_topic=alarm_topic.topic,
        min_capacity=config.app_min_capacity,
        max_capacity=config.app_max_capacity,
        desired_capacity=settings.desired_capacity,
        app_port=APP_PORT,
        health_check_path=HEALTH_CHECK_PATH,
        log_retention=config.log_retention,
        user_data_commands=reference_application(settings.title),
        mixed_instance_types=list(settings.instance_types or config.app_instance_types),
        enable_xray=settings.enable_xray,
    )
    load_balancer = SecureLoadBalancer(
        stack,
        "LoadBalancer",
        vpc=network.vpc,
        access_log_bucket=alb_logs.bucket,
        access_log_prefix=settings.alb_log_prefix,
        deletion_protection=config.deletion_protection,
        certificate_arn=settings.certificate_arn,
        certificate_condition=settings.certificate_condition,
        target_port=APP_PORT,
        health_check_path=HEALTH_CHECK_PATH,
        ingress_cidr=settings.ingress_cidr,
    )
    load_balancer.connect_to(fleet.security_group, APP_PORT)
    fleet.attach_to_target_group(load_balancer.target_group)
    fleet.scale_on_cpu()
    fleet.scale_on_request_count()
    fleet.add_step_scaling()
    fleet.add_predictive_scaling()
    fleet.add_lifecycle_hooks()

    web_acl = WebAcl(stack, "WebAcl", encryption_key=logs_key or data_key)
    web_acl.associate(load_balancer.load_balancer)

    database = SecureDatabase(
        stack,
        "Database",
        vpc=network.vpc,
        encryption_key=database_key,
        log_encryption_key=logs_key,
        subnets=network.data_subnet_selection(),
        rotation_subnets=network.app_subnet_selection(),
        instance_type=ec2.InstanceType(config.database_instance_type),
        allocated_storage_gib=config.database_allocated_storage_gib,
        max_allocated_storage_gib=config.database_max_allocated_storage_gib,
        multi_az=config.multi_az_database,
        performance_insights=config.database_performance_insights,
        deletion_protection=config.deletion_protection,
        backup_retention_days=max(
            config.database_backup_retention_days, settings.minimum_backup_retention_days
        ),
        port=settings.database_port,
        database_name=settings.database_name,
        log_retention=config.log_retention,
    )
    database.allow_from(fleet.security_group, "MySQL from the application fleet")
    fleet.grant_secrets_read(database.secret)
    _acknowledge_environment_relaxations(stack, load_balancer, database)
    return WebTier(network, fleet, load_balancer, web_acl, database)


def _acknowledge_environment_relaxations(
    stack: ReferenceStack, load_balancer: SecureLoadBalancer, database: SecureDatabase
) -> None:
    """Acknowledge exactly the findings the environment's relaxations cause (dev only)."""
    cfn_database = database.instance.node.default_child
    assert cfn_database is not None
    if not stack.config.multi_az_database:
        stack.acknowledge_relaxation(
            cfn_database,
            "AwsSolutions-RDS3",
            "HIPAA.Security-RDSMultiAZSupport",
            "NIST.800.53.R5-RDSMultiAZSupport",
        )
    if not stack.config.deletion_protection:
        stack.acknowledge_relaxation(
            cfn_database,
            "AwsSolutions-RDS10",
            "HIPAA.Security-RDSInstanceDeletionProtectionEnabled",
            "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
        )
        stack.acknowledge_relaxation(
            load_balancer.load_balancer,
            "HIPAA.Security-ELBDeletionProtectionEnabled",
            "NIST.800.53.R5-ELBDeletionProtectionEnabled",
        )


# ---- monitoring ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceAlarms:
    """The tier's alarms by construct ID, the composite, and the dashboard."""

    alarms: dict[str, cloudwatch.Alarm]
    composite: cloudwatch.CompositeAlarm
    dashboard: OperationsDashboard


def add_service_alarms(stack: ReferenceStack, tier: WebTier, topic: AlarmTopic) -> ServiceAlarms:
    """MON-02..04: CPU high/low, unhealthy targets, zero-safe 5xx rate, p99 latency, database CPU,
    free storage and connections; a composite "users affected" alarm; a dashboard."""
    lb = tier.load_balancer
    db = tier.database
    fleet_cpu = tier.fleet.metric_cpu_utilization()
    error_rate = error_rate_percent(lb.metric_http_5xx_count(), lb.metric_request_count())
    p99 = lb.metric_target_response_time(statistic="p99")
    less_or_equal = cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD
    specs = {
        "AppCpuHighAlarm": AlarmSpec(
            metric=fleet_cpu,
            threshold=80,
            description="Fleet CPU at or above 80 % for 10 minutes: scale out or profile",
        ),
        "AppCpuLowAlarm": AlarmSpec(
            metric=fleet_cpu,
            threshold=5,
            comparison=less_or_equal,
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
            metric=p99,
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
            comparison=less_or_equal,
            description="Database free storage at or below 5 GiB: storage autoscaling lagging",
        ),
        "DatabaseConnectionsAlarm": AlarmSpec(
            metric=db.metric_connections(),
            threshold=400,
            description="Database connections at or above 400: connection leak or pool too big",
        ),
    }
    alarms = {name: topic.create_alarm(stack, name, spec) for name, spec in specs.items()}
    composite = cloudwatch.CompositeAlarm(
        stack,
        "ServiceHealthCompositeAlarm",
        alarm_description="Users affected: 5xx rate, p99 latency or unhealthy targets alarm",
        alarm_rule=cloudwatch.AlarmRule.any_of(
            alarms["Http5xxRateAlarm"], alarms["LatencyP99Alarm"], alarms["UnhealthyTargetsAlarm"]
        ),
    )
    topic.notify(composite)
    dashboard = OperationsDashboard(
        stack,
        "Dashboard",
        graphs={
            "Requests and 5xx rate": [lb.metric_request_count(), error_rate],
            "Latency p99": [p99],
            "Fleet CPU": [fleet_cpu],
            "Database": [db.metric_cpu(), db.metric_connections()],
        },
        alarms=[*alarms.values(), composite],
    )
    return ServiceAlarms(alarms, composite, dashboard)


def add_function_error_alarms(
    stack: ReferenceStack,
    topic: AlarmTopic,
    *,
    already_alarmed: Sequence[lambda_.IFunction] = (),
) -> list[cloudwatch.Alarm]:
    """MON-02 "Lambda errors": one alarm per function in the stack, including the custom-resource
    handlers (a failing handler means a deployment is failing). Call after all functions exist.

    ``already_alarmed``: functions whose construct brings its own errors alarm.
    """
    alarms = []
    for function in stack.node.find_all():
        if not isinstance(function, lambda_.Function) or function in already_alarmed:
            continue
        owner = function.node.scope
        assert owner is not None
        alarm_id = f"{owner.node.id}{function.node.id}ErrorsAlarm"
        alarms.append(
            topic.create_alarm(
                stack,
                alarm_id,
                AlarmSpec(
                    metric=function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                    threshold=1,
                    evaluation_periods=1,
                    description=f"{function.node.path} reported errors: read its log group",
                ),
            )
        )
    return alarms


def export_key_resources(
    stack: ReferenceStack,
    tier: WebTier,
    *,
    buckets: Mapping[str, SecureBucket],
    keys: Mapping[str, EncryptionKey],
) -> None:
    """GOV-05: outputs for every key identifier of the web tier, unless the stack already has one
    under that name: subnets, buckets, keys, security groups, WAF, launch template."""
    network = tier.network
    outputs: list[tuple[str, str, str]] = [
        (f"{tier_name}Subnet{index}Id", subnet.subnet_id, f"{tier_name} subnet {index}")
        for tier_name, subnets in (
            ("Public", network.public_subnets),
            ("Private", network.app_subnets),
            ("Data", network.data_subnets),
        )
        for index, subnet in enumerate(subnets, start=1)
    ]
    outputs += [
        (f"{name}Name", bucket.bucket_name, f"{name} bucket") for name, bucket in buckets.items()
    ]
    outputs += [
        (f"{name}Arn", key.key_arn, f"{name} customer-managed key") for name, key in keys.items()
    ]
    outputs += [
        ("WebACLArn", tier.web_acl.arn, "WAF web ACL protecting the load balancer"),
        (
            "LaunchTemplateId",
            tier.fleet.launch_template.launch_template_id or "",
            "Launch template",
        ),
        (
            "LaunchTemplateVersion",
            tier.fleet.launch_template.latest_version_number,
            "Latest launch template version",
        ),
        (
            "LoadBalancerSecurityGroupId",
            tier.load_balancer.security_group.security_group_id,
            "ALB security group",
        ),
        ("AppSecurityGroupId", tier.fleet.security_group.security_group_id, "Fleet security group"),
        (
            "DatabaseSecurityGroupId",
            tier.database.security_group.security_group_id,
            "Database security group",
        ),
        (
            "EndpointSecurityGroupId",
            network.endpoint_security_group.security_group_id,
            "VPC interface endpoint security group",
        ),
    ]
    existing = {o.node.id for o in stack.node.find_all() if isinstance(o, cdk.CfnOutput)}
    stack.export_all([output for output in outputs if output[0] not in existing])


def add_bastion(
    stack: ReferenceStack,
    tier: WebTier,
    *,
    encryption_key: kms.IKey,
    log_encryption_key: kms.IKey | None = None,
    key_pair_name: str | None = None,
    key_pair_condition: CfnCondition | None = None,
    public_ssh_cidr: str | None = None,
) -> Bastion:
    """``Bastion``: the Session Manager host for administration, allowed to reach the database.

    Private (app subnets, no ingress) unless ``public_ssh_cidr`` asks for a public host with SSH
    from that block. Termination protection is off: the host keeps no data and is replaced on
    every new AMI, which protection would make fail.
    """
    public = public_ssh_cidr is not None
    bastion = Bastion(
        stack,
        "Bastion",
        vpc=tier.network.vpc,
        encryption_key=encryption_key,
        log_encryption_key=log_encryption_key,
        subnets=None if public else tier.network.app_subnet_selection(),
        public=public,
        ssh_ingress_cidr=public_ssh_cidr,
        key_pair_name=key_pair_name,
        key_pair_condition=key_pair_condition,
        log_retention=stack.config.log_retention,
        termination_protection=False,
    )
    acknowledge(
        bastion.instance,
        "AwsSolutions-EC29",
        "The bastion keeps no data and is replaced on every new AMI; termination protection "
        "would make each of those updates fail. Backups cover its volume.",
    )
    tier.database.allow_from(bastion.security_group, "MySQL from the bastion for administration")
    return bastion


def add_backup_plan(
    stack: ReferenceStack,
    tier: WebTier,
    bastion: Bastion,
    *,
    encryption_key: kms.IKey,
    alarm_topic: AlarmTopic,
) -> BackupPlan:
    """``Backup`` (RES-01): the database and the bastion by resource, EC2 volumes by tag."""
    backup = BackupPlan(
        stack, "Backup", encryption_key=encryption_key, notification_topic=alarm_topic.topic
    )
    backup.add_resources("DatabaseAndBastion", tier.database.instance, bastion.instance_arn)
    # The launch templates of the fleet and the bastion put the tag on their volumes.
    for compute in (tier.fleet, bastion):
        cdk.Tags.of(compute).add(BACKUP_TAG, "true")
    backup.add_tag_selection("TaggedVolumes", BACKUP_TAG, "true")
    return backup
