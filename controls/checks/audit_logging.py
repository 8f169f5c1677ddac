"""LOG — audit and logging controls."""

from __future__ import annotations

import re
from typing import Any

from controls.analysis import (
    databases,
    is_cmk_reference,
    managed_policy_names,
    normalized,
    parameter_group_values,
    rds_export_logs,
)
from controls.catalogue import Context, control
from controls.checks.compute import user_data
from controls.checks.database import _option_group_has
from controls.checks.iam import managed_config_rules
from controls.model import Assessment, Item, Outcome, Severity, Status, not_applicable
from controls.resolve import as_bool, as_int, as_list
from controls.template import Resource, Template

DATA_EVENT_TYPES = {
    "AWS::S3::Object": ("AWS::S3::Bucket",),
    "AWS::Lambda::Function": ("AWS::Lambda::Function",),
    "AWS::DynamoDB::Table": ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"),
}


def _data_event_types(t: Template, trail: Resource) -> set[str]:
    found: set[str] = set()
    for selector in as_list(t.get(trail, "EventSelectors")):
        if isinstance(selector, dict):
            for resource in as_list(selector.get("DataResources")):
                if isinstance(resource, dict) and isinstance(resource.get("Type"), str):
                    found.add(resource["Type"])
    for selector in as_list(t.get(trail, "AdvancedEventSelectors")):
        if not isinstance(selector, dict):
            continue
        for field in as_list(selector.get("FieldSelectors")):
            if isinstance(field, dict) and field.get("Field") == "resources.type":
                found.update(str(x) for x in as_list(field.get("Equals")))
    return found


@control(
    "LOG-01",
    title="Multi-region, validated, encrypted CloudTrail with data events",
    severity=Severity.HIGH,
    requirement="""CloudTrail: multi-region, global service events, log file validation, CMK,
    CloudWatch Logs delivery, data events (S3 objects, Lambda, DynamoDB where present).""",
    impact="""Without a complete, validated trail, API activity in other regions or on data is not
    recorded and tampered log files cannot be detected — audit and incident response fail.""",
    fix="""Declare an AWS::CloudTrail::Trail with IsMultiRegionTrail, IncludeGlobalServiceEvents,
    EnableLogFileValidation, KMSKeyId, CloudWatchLogsLogGroupArn/RoleArn and data-event
    selectors for the template's buckets, functions and tables.""",
)
def log_01(ctx: Context) -> Outcome:
    """Requires an AWS::CloudTrail::Trail with IsMultiRegionTrail true,
    IncludeGlobalServiceEvents not false, EnableLogFileValidation true, a CMK KMSKeyId,
    CloudWatchLogsLogGroupArn with CloudWatchLogsRoleArn, and data-event selectors (basic or
    advanced) for AWS::S3::Object, AWS::Lambda::Function and AWS::DynamoDB::Table when the
    template has buckets, functions or tables."""
    t = ctx.template
    trails = t.of_type("AWS::CloudTrail::Trail")
    a = Assessment()
    if not trails:
        a.fail(None, "no AWS::CloudTrail::Trail")
        return a.outcome()
    for trail in trails:
        lid = trail.logical_id
        a.check(
            lid,
            as_bool(t.get(trail, "IsMultiRegionTrail")) is True,
            "multi-region",
            "IsMultiRegionTrail is not true",
        )
        a.check(
            lid,
            as_bool(t.get(trail, "IncludeGlobalServiceEvents")) is not False,
            "global service events",
            "IncludeGlobalServiceEvents is false",
        )
        a.check(
            lid,
            as_bool(t.get(trail, "EnableLogFileValidation")) is True,
            "log file validation",
            "EnableLogFileValidation is not true",
        )
        a.check(
            lid,
            is_cmk_reference(t, trail.properties.get("KMSKeyId")),
            "encrypted with a CMK",
            "no KMSKeyId (SSE-S3 only)",
        )
        a.check(
            lid,
            trail.properties.get("CloudWatchLogsLogGroupArn") is not None
            and trail.properties.get("CloudWatchLogsRoleArn") is not None,
            "delivers to CloudWatch Logs",
            "no CloudWatch Logs delivery",
        )
        recorded = _data_event_types(t, trail)
        for event_type, sources in DATA_EVENT_TYPES.items():
            if t.has(*sources):
                a.check(
                    lid,
                    event_type in recorded,
                    f"data events for {event_type}",
                    f"no data events for {event_type}",
                )
    return a.outcome()


# Managed rules required when the template has these resources: (accepted rules, types).
CONFIG_RULES_BY_TYPE: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        (
            "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
            "S3_BUCKET_PUBLIC_READ_PROHIBITED",
            "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS",
            "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC",
        ),
        ("AWS::S3::Bucket",),
    ),
    (("S3_BUCKET_SSL_REQUESTS_ONLY",), ("AWS::S3::Bucket",)),
    (
        ("ENCRYPTED_VOLUMES", "EC2_EBS_ENCRYPTION_BY_DEFAULT"),
        ("AWS::EC2::LaunchTemplate", "AWS::EC2::Instance"),
    ),
    (("EC2_IMDSV2_CHECK",), ("AWS::EC2::LaunchTemplate", "AWS::EC2::Instance")),
    (("RDS_STORAGE_ENCRYPTED",), ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster")),
    (("VPC_FLOW_LOGS_ENABLED",), ("AWS::EC2::VPC",)),
    (("INCOMING_SSH_DISABLED", "RESTRICTED_INCOMING_TRAFFIC"), ("AWS::EC2::SecurityGroup",)),
)
TRAIL_RULES = ("CLOUD_TRAIL_ENABLED", "MULTI_REGION_CLOUD_TRAIL_ENABLED")


@control(
    "LOG-02",
    title="AWS Config recording everything, with managed rules",
    severity=Severity.HIGH,
    requirement="""AWS Config: recorder for all supported + global resource types, delivery channel
    to an encrypted bucket, AWS_ConfigRole, managed rules for this catalogue's checkable
    controls.""",
    impact="""Without a complete recorder there is no configuration history (IAM included) and no
    continuous compliance evaluation between deployments.""",
    fix="""Declare a ConfigurationRecorder (AllSupported, IncludeGlobalResourceTypes) with a role
    carrying AWS_ConfigRole, a DeliveryChannel to an encrypted bucket, and the AWS managed rules
    listed in the finding.""",
)
def log_02(ctx: Context) -> Outcome:
    """Requires an AWS::Config::ConfigurationRecorder with RecordingGroup AllSupported and
    IncludeGlobalResourceTypes true, a RoleARN with the AWS_ConfigRole managed policy (or the
    Config service-linked role), an AWS::Config::DeliveryChannel to a bucket with default
    encryption, and AWS managed rules for the resources present (S3 public read and SSL-only,
    encrypted volumes, IMDSv2, RDS storage encryption, VPC flow logs, incoming SSH, CloudTrail)."""
    t = ctx.template
    a = Assessment()
    recorders = t.of_type("AWS::Config::ConfigurationRecorder")
    if not recorders:
        a.fail(None, "no AWS::Config::ConfigurationRecorder")
    for recorder in recorders:
        lid = recorder.logical_id
        group = t.get(recorder, "RecordingGroup")
        group = group if isinstance(group, dict) else {}
        everything = as_bool(group.get("AllSupported")) is True or (
            isinstance(group.get("RecordingStrategy"), dict)
            and group["RecordingStrategy"].get("UseOnly") == "ALL_SUPPORTED_RESOURCE_TYPES"
        )
        a.check(
            lid, everything, "records all supported types", "RecordingGroup.AllSupported not true"
        )
        a.check(
            lid,
            as_bool(group.get("IncludeGlobalResourceTypes")) is True,
            "records global (IAM) types",
            "IncludeGlobalResourceTypes not true",
        )
        role = t.target(recorder.properties.get("RoleARN"))
        if role is None:
            text = t.text(recorder.properties.get("RoleARN"))
            a.check(
                lid,
                "AWSServiceRoleForConfig" in text or None,
                "service-linked role",
                f"recorder role {text} outside the template",
            )
        else:
            a.check(
                lid,
                "AWS_ConfigRole" in managed_policy_names(t, role),
                f"role {role} has AWS_ConfigRole",
                f"role {role} lacks AWS_ConfigRole",
            )
    channels = t.of_type("AWS::Config::DeliveryChannel")
    if not channels:
        a.fail(None, "no AWS::Config::DeliveryChannel")
    for channel in channels:
        bucket = t.resource(t.target(channel.properties.get("S3BucketName")))
        if bucket is None:
            a.unknown(channel.logical_id, "delivery bucket outside the template")
        else:
            encrypted = (
                bucket.properties.get("BucketEncryption") is not None
                or channel.properties.get("S3KmsKeyArn") is not None
            )
            a.check(
                channel.logical_id,
                encrypted,
                f"delivers to encrypted bucket {bucket.logical_id}",
                f"delivery bucket {bucket.logical_id} has no default encryption",
            )
    rules = managed_config_rules(t)
    for accepted, types in CONFIG_RULES_BY_TYPE:
        if t.has(*types):
            present = next((rule for rule in accepted if rule in rules), None)
            a.check(
                rules.get(present) if present else None,
                present is not None,
                f"managed rule {present}",
                f"no managed rule {' or '.join(accepted)}",
            )
    a.check(
        None,
        any(r in rules for r in TRAIL_RULES),
        "CloudTrail rule",
        f"no managed rule {' or '.join(TRAIL_RULES)}",
    )
    return a.outcome()


def _service_group_findings(t: Template) -> list[Item]:
    """Log groups services write to: declared (pass) or implicit (fail), per service."""
    groups = t.of_type("AWS::Logs::LogGroup")
    found: list[Item] = []
    for function in t.of_type("AWS::Lambda::Function"):
        configured = t.raw(function, "LoggingConfig", "LogGroup") is not None
        named = any(
            function.logical_id in t.references(g.properties.get("LogGroupName")) for g in groups
        )
        if not (configured or named):
            found.append(
                Item(
                    Status.FAIL,
                    function.logical_id,
                    "writes to an implicit /aws/lambda log group (no CMK, no retention)",
                )
            )
    return found + _rds_export_findings(t)


def _rds_export_findings(t: Template) -> list[Item]:
    """RDS log exports go to /aws/rds/<instance|cluster>/<identifier>/<log>: each needs a log
    group of the template with that name (:func:`rds_export_logs` compares the names)."""
    found: list[Item] = []
    for db in databases(t):
        implicit: list[str] = []
        destination = ""
        for export in rds_export_logs(t, db):
            destination = export.destination.removesuffix(f"/{export.log}")
            for group_id in export.miscased:
                group = t.resources[group_id]
                found.append(
                    Item(
                        Status.FAIL,
                        group_id,
                        f"named {t.text(group.properties.get('LogGroupName'))}, but RDS "
                        f"stores identifiers in lower case and writes to {export.destination}",
                    )
                )
            if export.covering:
                found.append(
                    Item(
                        Status.PASS,
                        db.logical_id,
                        f"exports {export.log} to declared log group {export.covering[0]}",
                    )
                )
            elif export.maybe:
                found.append(
                    Item(
                        Status.UNKNOWN,
                        db.logical_id,
                        f"cannot decide whether {', '.join(export.maybe)} is the {export.log} "
                        f"export log group {export.destination} (names built from different "
                        "expressions)",
                    )
                )
            else:
                implicit.append(export.log)
        if implicit:
            found.append(
                Item(
                    Status.FAIL,
                    db.logical_id,
                    f"exports {', '.join(implicit)} to implicit {destination}/... log "
                    "groups (no CMK, no retention)",
                )
            )
    return found


@control(
    "LOG-03",
    title="Every log group encrypted with a CMK and with retention",
    severity=Severity.MEDIUM,
    requirement="""Every log group: CMK encryption and explicit retention.""",
    impact="""Log groups without a CMK give no key-policy control over who reads logs; without
    retention they are kept (and billed) forever.""",
    fix="""Declare every log group (including /aws/lambda/<fn> and /aws/rds/... groups) with
    KmsKeyId and RetentionInDays, and give the key policy the logs service statement.""",
)
def log_03(ctx: Context) -> Outcome:
    """Every AWS::Logs::LogGroup needs a CMK KmsKeyId and RetentionInDays; Lambda functions
    without a declared log group (LoggingConfig or an /aws/lambda/<fn> group) and RDS log exports
    without declared /aws/rds/... groups fail, since the implicit groups have neither. An export
    is covered by a group named "/aws/rds/instance/" (or "/cluster/") + the identifier + "/<log>":
    the identifier is the lower-cased literal DBInstanceIdentifier/DBClusterIdentifier, the same
    intrinsic expression (nested Fn::Join and Fn::Sub are flattened and compared part by part)
    or a Ref to the database; without an identifier only the Ref form covers it. A group name
    built from other deploy-time expressions that might match is reported as cannot decide."""
    t = ctx.template
    groups = t.of_type("AWS::Logs::LogGroup")
    service_groups = _service_group_findings(t)
    if not groups and not service_groups:
        return not_applicable("no log group and no service writing to one")
    a = Assessment()
    for group in groups:
        lid = group.logical_id
        a.check(
            lid,
            is_cmk_reference(t, group.properties.get("KmsKeyId")),
            "encrypted with a CMK",
            "no KmsKeyId",
        )
        retention = group.properties.get("RetentionInDays")
        a.check(
            lid,
            retention is not None,
            f"retention {t.text(retention)} days",
            "no RetentionInDays (never expires)",
        )
    record = {Status.PASS: a.ok, Status.FAIL: a.fail, Status.UNKNOWN: a.unknown}
    for item in service_groups:
        record[item.status](item.logical_id, item.message)
    return a.outcome()


def _attribute(t: Template, balancer: Resource, key: str) -> Any:
    for attribute in as_list(t.get(balancer, "LoadBalancerAttributes")):
        if isinstance(attribute, dict) and attribute.get("Key") == key:
            return attribute.get("Value")
    return None


@control(
    "LOG-04",
    title="ALB access logs to S3 with lifecycle",
    severity=Severity.MEDIUM,
    requirement="""ALB access logs to S3 with lifecycle.""",
    impact="""Without access logs there is no record of requests for incident response; without a
    lifecycle the log bucket grows forever.""",
    fix="""Set access_logs.s3.enabled/bucket on the load balancer and an expiration lifecycle rule
    on the bucket (90 days for PayFlowStack).""",
)
def log_04(ctx: Context) -> Outcome:
    """Each application load balancer needs access_logs.s3.enabled true and
    access_logs.s3.bucket pointing at a bucket with an enabled lifecycle rule that expires
    objects (exactly the stack's days where required, e.g. 90 for PayFlowStack)."""
    t = ctx.template
    balancers = [
        b
        for b in t.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
        if t.get(b, "Type") in (None, "application")
    ]
    if not balancers:
        return not_applicable("no application load balancer")
    a = Assessment()
    wanted = ctx.settings.alb_log_expiration_days
    for balancer in balancers:
        lid = balancer.logical_id
        enabled = as_bool(_attribute(t, balancer, "access_logs.s3.enabled")) is True
        a.check(lid, enabled, "access logs enabled", "access_logs.s3.enabled is not true")
        raw = next(
            (
                x.get("Value")
                for x in as_list(t.raw(balancer, "LoadBalancerAttributes"))
                if isinstance(x, dict) and x.get("Key") == "access_logs.s3.bucket"
            ),
            None,
        )
        bucket = t.resource(t.target(raw)) if raw is not None else None
        if not enabled:
            continue
        if bucket is None:
            a.unknown(lid, "access-log bucket outside the template: lifecycle not checked")
            continue
        days = [
            as_int(r.get("ExpirationInDays"))
            for r in as_list(t.get(bucket, "LifecycleConfiguration", "Rules"))
            if isinstance(r, dict) and r.get("Status") == "Enabled" and r.get("ExpirationInDays")
        ]
        if wanted is not None:
            a.check(
                bucket.logical_id,
                wanted in days,
                f"logs expire after {wanted} days",
                f"log expiry {days or 'not set'}, not {wanted} days",
            )
        else:
            a.check(
                bucket.logical_id,
                bool(days),
                f"logs expire after {days[0] if days else 0} days",
                "access-log bucket has no expiration lifecycle rule",
            )
    return a.outcome()


def _waf_destination_ok(t: Template, value: Any) -> tuple[bool | None, str]:
    target = t.resource(t.target(value)) or next(
        (t.resources[x] for x in t.references(value)), None
    )
    if target is None:
        text = t.text(value)
        ok = "aws-waf-logs-" in text
        return (True if ok else None), f"destination {text}"
    prop = {
        "AWS::Logs::LogGroup": "LogGroupName",
        "AWS::S3::Bucket": "BucketName",
        "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    }.get(target.type)
    if prop is None:
        return None, f"destination {target.logical_id} of type {target.type}"
    name = t.text(target.properties.get(prop)) if target.properties.get(prop) is not None else ""
    if name.startswith("aws-waf-logs-"):
        return True, f"logs to {target.logical_id} ({name})"
    return False, (
        f"destination {target.logical_id} name {name or '(generated)'} does not start "
        "with aws-waf-logs-"
    )


@control(
    "LOG-05",
    title="WAF logging",
    severity=Severity.MEDIUM,
    requirement="""WAF logging.""",
    impact="""Without WAF logs, blocked and allowed attack traffic cannot be investigated or
    tuned.""",
    fix="""Add an AWS::WAFv2::LoggingConfiguration for each web ACL to a log group, bucket or
    Firehose stream whose name starts with aws-waf-logs-.""",
)
def log_05(ctx: Context) -> Outcome:
    """Each AWS::WAFv2::WebACL needs an AWS::WAFv2::LoggingConfiguration whose ResourceArn is
    that ACL and whose destination (log group, bucket or Firehose stream) is named
    aws-waf-logs-*."""
    t = ctx.template
    acls = t.of_type("AWS::WAFv2::WebACL")
    if not acls:
        return not_applicable("no AWS::WAFv2::WebACL")
    a = Assessment()
    configs = t.of_type("AWS::WAFv2::LoggingConfiguration")
    for acl in acls:
        mine = [c for c in configs if t.target(c.properties.get("ResourceArn")) == acl.logical_id]
        if not mine:
            a.fail(acl.logical_id, "no AWS::WAFv2::LoggingConfiguration")
            continue
        for config in mine:
            for destination in as_list(config.properties.get("LogDestinationConfigs")):
                holds, message = _waf_destination_ok(t, destination)
                a.check(acl.logical_id, holds, message, message)
    return a.outcome()


@control(
    "LOG-06",
    title="Database audit logs exported",
    severity=Severity.MEDIUM,
    requirement="""Database audit logs exported.""",
    impact="""Without exported audit logs, database logins and privileged statements leave no
    durable trail.""",
    fix="""MySQL: MARIADB_AUDIT_PLUGIN option (Aurora: server_audit_logging=1) and export audit;
    PostgreSQL: log_connections/log_disconnections (or pgaudit) and export postgresql.""",
)
def log_06(ctx: Context) -> Outcome:
    """MySQL family: EnableCloudwatchLogsExports includes audit and an audit source exists
    (MARIADB_AUDIT_PLUGIN option group, server_audit_logging=1); PostgreSQL family: postgresql
    is exported and log_connections/log_disconnections are 1 or pgaudit is preloaded."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return not_applicable("no RDS database")
    a = Assessment()
    for db in dbs:
        lid = db.logical_id
        exports = {str(x) for x in as_list(t.get(db.resource, "EnableCloudwatchLogsExports"))}
        values = parameter_group_values(t, db)
        if db.family == "mysql":
            a.check(lid, "audit" in exports, "audit log exported", "audit log not exported")
            source = (
                _option_group_has(t, db, "MARIADB_AUDIT_PLUGIN")
                or normalized(values.get("server_audit_logging", "")) == "1"
            )
            a.check(
                lid,
                source,
                "audit plugin produces the audit log",
                "no MARIADB_AUDIT_PLUGIN option / server_audit_logging: the audit export is empty",
            )
        elif db.family == "postgres":
            a.check(
                lid,
                "postgresql" in exports,
                "postgresql log exported",
                "postgresql log not exported",
            )
            connections = all(
                normalized(values.get(k, "")) == "1"
                for k in ("log_connections", "log_disconnections")
            )
            pgaudit = "pgaudit" in str(values.get("shared_preload_libraries", ""))
            a.check(
                lid,
                connections or pgaudit,
                "connection/audit logging on",
                "neither log_connections/log_disconnections nor pgaudit",
            )
        else:
            a.unknown(lid, f"engine {db.engine}: audit export not defined")
    return a.outcome()


_XRAY = re.compile(r"xray|x-ray", re.I)


@control(
    "LOG-07",
    title="X-Ray tracing",
    severity=Severity.LOW,
    requirement="""X-Ray tracing (sampling rule; agent on instances or active tracing on
    functions).""",
    impact="""Without traces, latency and errors across the ALB, instances, functions and the
    database cannot be attributed.""",
    fix="""Add an AWS::XRay::SamplingRule, TracingConfig Active on functions, and the X-Ray daemon
    (or CloudWatch agent traces section) on instances.""",
    limits="""The instance-side agent is recognised by the text 'xray' in user data, cfn-init or
    SSM configuration.""",
)
def log_07(ctx: Context) -> Outcome:
    """Requires an AWS::XRay::SamplingRule; every Lambda function needs TracingConfig Active; with
    EC2 hosts, user data / cfn-init / SSM configuration must mention the X-Ray daemon."""
    t = ctx.template
    a = Assessment()
    rules = t.of_type("AWS::XRay::SamplingRule")
    a.check(
        rules[0].logical_id if rules else None,
        bool(rules),
        "sampling rule",
        "no AWS::XRay::SamplingRule",
    )
    for function in t.of_type("AWS::Lambda::Function"):
        a.check(
            function.logical_id,
            t.get(function, "TracingConfig", "Mode") == "Active",
            "active tracing",
            "TracingConfig.Mode is not Active",
        )
    hosts = t.of_type("AWS::EC2::LaunchTemplate")
    if hosts:
        texts = [user_data(t, h) + t.text(h.attribute("Metadata")) for h in hosts]
        texts += [
            t.text(p.properties) for p in t.of_type("AWS::SSM::Parameter", "AWS::SSM::Document")
        ]
        a.check(
            None,
            bool(_XRAY.search("\n".join(texts))),
            "X-Ray daemon on instances",
            "no X-Ray daemon/agent configuration for the instances",
        )
    return a.outcome()


__all__ = ["DATA_EVENT_TYPES"]
