"""DB — data controls (RDS, Aurora, DynamoDB, configuration)."""

from __future__ import annotations

import re
from typing import Any

from controls.analysis import (
    DB_DEFAULT_PORTS,
    Database,
    Rule,
    database_port,
    databases,
    groups_of,
    is_cmk_reference,
    network,
    normalized,
    parameter_group_values,
    security_group_rules,
)
from controls.catalogue import Context, control
from controls.checks.network import _app_groups, _check_db_ingress
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import Unknown, as_bool, as_int, as_list
from controls.template import Resource, Template

PASSWORD_NAME = re.compile(r"pass(word)?|passwd|pwd", re.I)
SECRET_NAME = re.compile(r"pass(word)?|passwd|pwd|secret|token|api[_-]?key|private[_-]?key", re.I)


def _no_databases() -> Outcome:
    return not_applicable("no AWS::RDS::DBInstance or AWS::RDS::DBCluster")


def _secret_rotated(t: Template, secret: str) -> bool:
    attachments = {
        a.logical_id
        for a in t.of_type("AWS::SecretsManager::SecretTargetAttachment")
        if t.target(a.properties.get("SecretId")) == secret
    }
    for schedule in t.of_type("AWS::SecretsManager::RotationSchedule"):
        target = t.target(schedule.properties.get("SecretId"))
        if target == secret or target in attachments:
            return True
    return False


@control(
    "DB-01",
    title="Generated, rotated, CMK-encrypted database credentials",
    severity=Severity.CRITICAL,
    requirement="""Credentials generated into Secrets Manager (CMK) with automatic rotation; no
    password parameter, no plaintext.""",
    impact="""A password parameter or literal is visible to anyone who can read the stack
    (parameters, template, change sets) and is never rotated.""",
    fix="""Generate the secret (AWS::SecretsManager::Secret GenerateSecretString with a CMK,
    RotationSchedule) and reference it with `{{resolve:secretsmanager:...}}` (CDK:
    `Credentials.from_generated_secret(..., encryption_key=key)` + `add_rotation_single_user()`),
    or set ManageMasterUserPassword with a MasterUserSecret KmsKeyId.""",
)
def db_01(ctx: Context) -> Outcome:
    """For each RDS instance (not an Aurora member) and cluster: MasterUserPassword must be a
    `{{resolve:secretsmanager:...}}` reference (CDK's Fn::Join shape counts) to a secret of the
    template with GenerateSecretString, a CMK KmsKeyId and a RotationSchedule (on the secret or
    its attachment) — or ManageMasterUserPassword true with MasterUserSecret.KmsKeyId. A Ref to a
    parameter (NoEcho or not), `ssm-secure` or a literal fails, as does any declared parameter
    named like a password."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    for db in dbs:
        _check_credentials(t, a, db.resource)
    for name, definition in t.parameters.items():
        if PASSWORD_NAME.search(name):
            how = "NoEcho" if as_bool(definition.get("NoEcho")) else "echoed in plain text"
            a.fail(None, f"password parameter {name} ({how}): credentials must not be parameters")
    return a.outcome()


def _check_credentials(t: Template, a: Assessment, db: Resource) -> None:
    lid = db.logical_id
    raw = db.properties.get("MasterUserPassword")
    if raw is None:
        if as_bool(t.get(db, "ManageMasterUserPassword")) is True:
            key = t.raw(db, "MasterUserSecret", "KmsKeyId")
            a.check(
                lid,
                is_cmk_reference(t, key) if key is not None else False,
                "RDS-managed secret with a CMK (rotated by RDS)",
                "ManageMasterUserPassword without MasterUserSecret.KmsKeyId (aws/secretsmanager)",
            )
        elif (
            db.properties.get("SnapshotIdentifier")
            or db.properties.get("SourceDBInstanceIdentifier")
            or db.properties.get("DBSnapshotIdentifier")
        ):
            a.ok(lid, "credentials come from the snapshot/source instance")
        else:
            a.fail(lid, "no MasterUserPassword source")
        return
    parameters = t.resolver.parameters_used(raw)
    text = t.text(raw)
    if parameters:
        for name in sorted(parameters):
            echo = as_bool(t.parameters.get(name, {}).get("NoEcho")) is True
            a.fail(
                lid,
                f"MasterUserPassword from parameter {name}"
                + ("" if echo else " (not even NoEcho: plaintext)"),
            )
        return
    if "{{resolve:ssm-secure:" in text:
        a.fail(lid, "MasterUserPassword from an SSM SecureString, not Secrets Manager")
        return
    if "{{resolve:secretsmanager:" not in text:
        a.fail(lid, "plaintext MasterUserPassword in the template")
        return
    secrets = t.typed_references(
        raw, "AWS::SecretsManager::Secret", "AWS::SecretsManager::SecretTargetAttachment"
    )
    if not secrets:
        a.unknown(lid, "password resolves from a secret outside the template")
        return
    for secret_id in secrets:
        secret = t.resources[secret_id]
        if secret.type == "AWS::SecretsManager::SecretTargetAttachment":
            secret = t.resource(t.target(secret.properties.get("SecretId"))) or secret
        sid = secret.logical_id
        a.check(
            lid,
            secret.properties.get("GenerateSecretString") is not None,
            f"password generated into {sid}",
            f"secret {sid} holds a literal SecretString",
        )
        a.check(
            lid,
            is_cmk_reference(t, secret.properties.get("KmsKeyId")),
            f"secret {sid} encrypted with a CMK",
            f"secret {sid} has no CMK KmsKeyId",
        )
        a.check(
            lid,
            _secret_rotated(t, sid),
            f"secret {sid} rotated automatically",
            f"secret {sid} has no RotationSchedule",
        )


@control(
    "DB-02",
    title="Private, isolated database on a non-default port",
    severity=Severity.CRITICAL,
    requirement="""Isolated subnets, not publicly accessible, ingress from the app tier only,
    non-default port (parameter where a stack says so).""",
    impact="""A database in routable subnets or publicly accessible is one credential away from
    the internet; default ports are the first thing scanners try.""",
    fix="""Use a DB subnet group of isolated subnets, PubliclyAccessible false, a security group
    admitting only the app group, and a non-default Port (a validated parameter where required).""",
)
def db_02(ctx: Context) -> Outcome:
    """For each database: DBSubnetGroupName → an AWS::RDS::DBSubnetGroup whose subnets are all
    isolated (no default route); PubliclyAccessible not true (instances and Aurora members);
    VPC security groups whose ingress comes only from app-tier groups on the database port; Port
    set and not the engine default (3306/5432/...); for FinSecureStack the port must be a
    parameter that the ingress rules use too."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    net = network(t)
    rules = security_group_rules(t)
    app_groups = _app_groups(t)
    for db in dbs:
        lid = db.logical_id
        group = t.resource(t.target(db.resource.properties.get("DBSubnetGroupName")))
        if group is None:
            a.fail(lid, "no DB subnet group of the template (default VPC or external group)")
        else:
            subnets = t.targets(group.properties.get("SubnetIds"))
            exposed = [s for s in subnets if s in net.subnets and net.subnets[s].tier != "isolated"]
            if exposed:
                a.fail(
                    lid,
                    f"subnet group {group.logical_id} includes routable subnets "
                    f"{', '.join(exposed)}",
                )
            elif subnets:
                a.ok(lid, f"isolated subnets {', '.join(subnets)}")
            else:
                a.unknown(lid, f"subnets of {group.logical_id} are outside the template")
        for holder in (db.resource, *db.members):
            public = as_bool(t.get(holder, "PubliclyAccessible"))
            a.check(
                holder.logical_id,
                public is not True,
                "not publicly accessible",
                "PubliclyAccessible is true",
            )
        groups = groups_of(t, db.resource)
        if not groups:
            a.fail(lid, "no VPC security group (the VPC default group applies)")
        for group_id in groups:
            _check_db_ingress(t, a, db.resource, group_id, rules, app_groups)
        _check_port(t, a, db, rules, ctx.settings.db_port_parameter)
    return a.outcome()


def _check_port(
    t: Template, a: Assessment, db: Database, rules: list[Rule], required: bool
) -> None:
    lid = db.logical_id
    raw = db.resource.properties.get("Port")
    port = database_port(t, db)
    default = DB_DEFAULT_PORTS.get(db.engine)
    if raw is None:
        a.fail(lid, f"Port not set: engine default {default}")
    elif isinstance(port, Unknown):
        a.unknown(lid, f"port undecidable ({port.reason})")
    else:
        a.check(lid, port != default, f"non-default port {port}", f"default port {port}")
    if not required:
        return
    names = t.resolver.parameters_used(raw)
    if not names:
        a.fail(lid, "the database port must be a parameter (e.g. DatabasePort)")
        return
    groups = groups_of(t, db.resource)
    for rule in rules:
        if rule.direction != "ingress" or rule.group not in groups:
            continue
        uses = bool(names & t.resolver.parameters_used(rule.port_raw)) or (
            lid in t.references(rule.port_raw)
        )
        a.check(
            rule.defined_in,
            uses,
            f"ingress uses the port parameter {', '.join(names)}",
            f"ingress port {t.text(rule.port_raw)} is not the port parameter",
        )


@control(
    "DB-03",
    title="Multi-AZ database",
    severity=Severity.HIGH,
    requirement="""Multi-AZ instance, or Aurora readers in other AZs with promotion tiers and
    reader auto scaling.""",
    impact="""A single-AZ database goes down (and may lose recent writes) with its AZ; without
    readers and promotion tiers Aurora failover is slow and capacity cannot follow load.""",
    fix="""Set MultiAZ true; for Aurora add reader instances in other AZs with PromotionTier, and
    an Application Auto Scaling target on rds:cluster:ReadReplicaCount with a policy.""",
    limits="""Aurora instances without an explicit AvailabilityZone are placed by RDS at
    deploy time: the spread over AZs is then reported as cannot decide.""",
)
def db_03(ctx: Context) -> Outcome:
    """RDS instances need MultiAZ true (parameter defaults count); Multi-AZ DB clusters pass;
    Aurora clusters need ≥ 2 instances each with PromotionTier, explicit AvailabilityZone values
    spanning ≥ 2 AZs (unset: placement is RDS's choice, cannot decide), and an
    AWS::ApplicationAutoScaling::ScalableTarget on rds:cluster:ReadReplicaCount with a scaling
    policy."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    for db in dbs:
        lid = db.logical_id
        if not db.is_cluster:
            multi = t.get(db.resource, "MultiAZ")
            if isinstance(multi, Unknown):
                a.unknown(lid, f"MultiAZ undecidable ({multi.reason})")
            else:
                a.check(lid, as_bool(multi) is True, "Multi-AZ", "MultiAZ is not true")
            continue
        if not db.aurora:
            a.ok(lid, "Multi-AZ DB cluster")
            continue
        members = db.members
        a.check(
            lid,
            len(members) >= 2,
            f"{len(members)} instances",
            f"{len(members)} instance(s): no reader to fail over to",
        )
        for member in members:
            a.check(
                member.logical_id,
                t.get(member, "PromotionTier") is not None,
                f"PromotionTier {t.get(member, 'PromotionTier')}",
                "no PromotionTier",
            )
        zones = [t.get(m, "AvailabilityZone") for m in members]
        if any(z is None or isinstance(z, Unknown) for z in zones):
            if all(z is not None for z in zones):
                a.ok(lid, "instances placed with AvailabilityZone expressions")
            else:
                a.unknown(
                    lid,
                    "AvailabilityZone not set on every instance: RDS chooses, spread "
                    "over AZs not guaranteed",
                )
        else:
            a.check(
                lid,
                len(set(map(str, zones))) >= 2,
                f"instances in {len(set(map(str, zones)))} AZs",
                "all instances in one AZ",
            )
        targets = [
            s
            for s in t.of_type("AWS::ApplicationAutoScaling::ScalableTarget")
            if t.get(s, "ScalableDimension") == "rds:cluster:ReadReplicaCount"
            and lid in t.references(s.properties.get("ResourceId"))
        ]
        policies = [
            p
            for p in t.of_type("AWS::ApplicationAutoScaling::ScalingPolicy")
            if any(t.target(p.properties.get("ScalingTargetId")) == s.logical_id for s in targets)
        ]
        a.check(
            lid,
            bool(targets and policies),
            "reader auto scaling",
            "no reader auto scaling (ScalableTarget rds:cluster:ReadReplicaCount + policy)",
        )
    return a.outcome()


def _param_check(a: Assessment, lid: str, values: dict[str, Any], name: str, wanted: str) -> None:
    value = values.get(name)
    if isinstance(value, Unknown):
        a.unknown(lid, f"{name} undecidable ({value.reason})")
    else:
        a.check(
            lid,
            value is not None and normalized(value) == wanted,
            f"{name}={value}",
            f"{name} not set to {wanted}" + ("" if value is None else f" (it is {value})"),
        )


def _option_group_has(t: Template, db: Database, option: str) -> bool:
    for holder in (db.resource, *db.members):
        group = t.resource(t.target(holder.properties.get("OptionGroupName")))
        if group is not None and option in t.text(group.properties.get("OptionConfigurations")):
            return True
    return False


@control(
    "DB-04",
    title="Parameter groups force TLS and audit logging",
    severity=Severity.HIGH,
    requirement="""Parameter group forcing TLS and audit logging (MySQL
    `require_secure_transport=ON`, PostgreSQL `rds.force_ssl=1`, `log_connections`,
    `log_disconnections`, `pg_stat_statements`).""",
    impact="""Default parameter groups accept plain-text connections and record no connection
    audit trail.""",
    fix="""Attach a custom (cluster) parameter group: MySQL require_secure_transport=ON plus an
    audit source (MARIADB_AUDIT_PLUGIN option, server_audit_logging=1 on Aurora, or general_log);
    PostgreSQL rds.force_ssl=1, log_connections=1, log_disconnections=1, shared_preload_libraries
    with pg_stat_statements.""",
)
def db_04(ctx: Context) -> Outcome:
    """Reads the merged (cluster and instance) parameter groups of each database: MySQL family
    needs require_secure_transport ON and an audit source (MARIADB_AUDIT_PLUGIN option group,
    server_audit_logging=1 on Aurora MySQL, or general_log=1); PostgreSQL family needs
    rds.force_ssl=1, log_connections=1, log_disconnections=1 and pg_stat_statements in
    shared_preload_libraries. No custom group → every setting fails."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    for db in dbs:
        lid = db.logical_id
        values = parameter_group_values(t, db)
        if db.family == "mysql":
            _param_check(a, lid, values, "require_secure_transport", "1")
            audit = (
                _option_group_has(t, db, "MARIADB_AUDIT_PLUGIN")
                or normalized(values.get("server_audit_logging", "")) == "1"
                or normalized(values.get("general_log", "")) == "1"
            )
            a.check(
                lid,
                audit,
                "audit logging configured",
                "no audit logging (MARIADB_AUDIT_PLUGIN option, server_audit_logging or "
                "general_log)",
            )
        elif db.family == "postgres":
            for name in ("rds.force_ssl", "log_connections", "log_disconnections"):
                _param_check(a, lid, values, name, "1")
            libraries = str(values.get("shared_preload_libraries", ""))
            a.check(
                lid,
                "pg_stat_statements" in libraries,
                "pg_stat_statements preloaded",
                "pg_stat_statements not in shared_preload_libraries",
            )
        else:
            a.unknown(lid, f"engine {db.engine}: parameter requirements not defined")
    return a.outcome()


PI_UNSUPPORTED = {
    "db.t2.micro",
    "db.t2.small",
    "db.t3.micro",
    "db.t3.small",
    "db.t4g.micro",
    "db.t4g.small",
}


@control(
    "DB-05",
    title="Enhanced monitoring and Performance Insights",
    severity=Severity.MEDIUM,
    requirement="""Enhanced monitoring with its role; Performance Insights with explicit retention
    and CMK where the class supports it.""",
    impact="""Without OS-level metrics and query-level insight, database saturation and slow
    queries are diagnosed blind.""",
    fix="""Set MonitoringInterval (e.g. 60) with MonitoringRoleArn, EnablePerformanceInsights
    with PerformanceInsightsRetentionPeriod and PerformanceInsightsKMSKeyId.""",
)
def db_05(ctx: Context) -> Outcome:
    """Each RDS instance (Aurora: each member, or the cluster) needs MonitoringInterval > 0 with
    MonitoringRoleArn, and — unless its class is db.t2/t3/t4g micro/small — Performance Insights
    enabled with PerformanceInsightsRetentionPeriod and a CMK PerformanceInsightsKMSKeyId."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    for db in dbs:
        holders = list(db.members) if db.members else [db.resource]
        for holder in holders:
            _check_monitoring(t, a, holder, db)
    return a.outcome()


def _check_monitoring(t: Template, a: Assessment, holder: Resource, db: Database) -> None:
    lid = holder.logical_id
    interval = as_int(t.get(holder, "MonitoringInterval"))
    role = holder.properties.get("MonitoringRoleArn")
    if db.is_cluster and holder is not db.resource:
        if interval is None:
            interval = as_int(t.get(db.resource, "MonitoringInterval"))
        if role is None:
            role = db.resource.properties.get("MonitoringRoleArn")
    a.check(
        lid,
        bool(interval) and role is not None,
        f"enhanced monitoring every {interval}s",
        "no enhanced monitoring (MonitoringInterval + MonitoringRoleArn)",
    )
    klass = t.get(holder, "DBInstanceClass") or t.get(holder, "DBClusterInstanceClass")
    if isinstance(klass, Unknown):
        a.unknown(lid, f"instance class undecidable ({klass.reason}): Performance Insights support")
        return
    if isinstance(klass, str) and klass in PI_UNSUPPORTED:
        a.note(f"{lid}: {klass} does not support Performance Insights")
        return
    owner = holder
    enabled = as_bool(t.get(holder, "EnablePerformanceInsights"))
    if enabled is None and db.is_cluster:
        owner, enabled = db.resource, as_bool(t.get(db.resource, "PerformanceInsightsEnabled"))
    if enabled is not True:
        a.fail(lid, "Performance Insights not enabled")
        return
    prefix = "PerformanceInsights"
    retention = owner.properties.get(f"{prefix}RetentionPeriod")
    key = owner.properties.get(f"{prefix}KMSKeyId", owner.properties.get(f"{prefix}KmsKeyId"))
    a.check(
        lid,
        retention is not None,
        f"Performance Insights retention {t.text(retention)}",
        "no PerformanceInsightsRetentionPeriod",
    )
    a.check(
        lid,
        is_cmk_reference(t, key),
        "Performance Insights encrypted with a CMK",
        "no Performance Insights CMK",
    )


LOG_EXPORTS = {
    "mysql": ("error", "general", "slowquery", "audit"),
    "postgres": ("postgresql",),
}


@control(
    "DB-06",
    title="Database logs exported to CloudWatch Logs",
    severity=Severity.MEDIUM,
    requirement="""Log exports (MySQL error, general, slowquery, audit; PostgreSQL postgresql).""",
    impact="""Database errors, slow queries and audit events stay on the instance, are lost on
    replacement and cannot be alarmed on.""",
    fix="""Set EnableCloudwatchLogsExports to error, general, slowquery, audit (MySQL) or
    postgresql (PostgreSQL) on the instance or Aurora cluster.""",
)
def db_06(ctx: Context) -> Outcome:
    """EnableCloudwatchLogsExports of each instance or cluster must include error, general,
    slowquery and audit (MySQL family) or postgresql (PostgreSQL family)."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    for db in dbs:
        wanted = LOG_EXPORTS.get(db.family)
        if wanted is None:
            a.unknown(db.logical_id, f"engine {db.engine}: required exports not defined")
            continue
        exported = {str(x) for x in as_list(t.get(db.resource, "EnableCloudwatchLogsExports"))}
        missing = [x for x in wanted if x not in exported]
        a.check(
            db.logical_id,
            not missing,
            f"exports {', '.join(wanted)}",
            f"log exports missing {', '.join(missing)}",
        )
    return a.outcome()


@control(
    "DB-07",
    title="Backups, windows, deletion protection and snapshot policies",
    severity=Severity.HIGH,
    requirement="""Backup retention ≥7 days (≥30 for finance), backup and maintenance windows,
    copy tags to snapshots, deletion protection, `DeletionPolicy`/`UpdateReplacePolicy:
    Snapshot`.""",
    impact="""Short retention loses history needed for recovery and audits; without deletion
    protection and snapshot policies a stack update or delete destroys the data.""",
    fix="""Set BackupRetentionPeriod (≥ 7, ≥ 30 for finance), PreferredBackupWindow,
    PreferredMaintenanceWindow, CopyTagsToSnapshot, DeletionProtection and DeletionPolicy /
    UpdateReplacePolicy Snapshot (CDK: `removal_policy=RemovalPolicy.SNAPSHOT`).""",
)
def db_07(ctx: Context) -> Outcome:
    """Each RDS instance (not an Aurora member) and cluster: BackupRetentionPeriod ≥ 7 days (≥ 30
    for FinSecureStack; unset means 1), PreferredBackupWindow, PreferredMaintenanceWindow,
    CopyTagsToSnapshot true, DeletionProtection true, DeletionPolicy and UpdateReplacePolicy
    Snapshot."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    minimum = ctx.settings.min_backup_retention_days
    for db in dbs:
        res, lid = db.resource, db.logical_id
        retention = t.get(res, "BackupRetentionPeriod")
        days = as_int(retention) if retention is not None else 1
        if isinstance(retention, Unknown):
            a.unknown(lid, f"BackupRetentionPeriod undecidable ({retention.reason})")
        else:
            a.check(
                lid,
                days is not None and days >= minimum,
                f"backups kept {days} days",
                f"backups kept {days} day(s) (need ≥ {minimum})",
            )
        for prop in ("PreferredBackupWindow", "PreferredMaintenanceWindow"):
            a.check(lid, res.properties.get(prop) is not None, f"{prop} set", f"no {prop}")
        for prop in ("CopyTagsToSnapshot", "DeletionProtection"):
            a.check(lid, as_bool(t.get(res, prop)) is True, f"{prop} true", f"{prop} is not true")
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            value = res.attribute(policy)
            a.check(
                lid,
                value == "Snapshot",
                f"{policy} Snapshot",
                f"{policy} {value or 'not set (Delete)'}, not Snapshot",
            )
    return a.outcome()


_VERSION_FORMS = {
    "mysql": r"^\d+\.\d+\.\d+$",
    "mariadb": r"^\d+\.\d+\.\d+$",
    "postgres": r"^\d+\.\d+$",
    "aurora-postgresql": r"^\d+\.\d+$",
    "aurora-mysql": r"^\d+\.\d+\.mysql_aurora\.\d+\.\d+\.\d+$",
}
_DEPRECATED_MAJORS = {
    "mysql": ("5.5", "5.6", "5.7"),
    "mariadb": ("10.0", "10.1", "10.2", "10.3", "10.4"),
    "postgres": ("9.", "10.", "11.", "12."),
    "aurora-postgresql": ("9.", "10.", "11.", "12."),
    "aurora-mysql": ("5.6", "5.7"),
}


@control(
    "DB-08",
    title="Pinned, supported engine version with automatic minor upgrades",
    severity=Severity.MEDIUM,
    requirement="""Engine version pinned to a supported, non-deprecated minor; auto minor
    upgrades on.""",
    impact="""An unpinned version drifts on replacement; a deprecated major forces emergency
    upgrades (or paid extended support) and misses security fixes.""",
    fix="""Set EngineVersion to a full, supported minor (e.g. MySQL 8.0.39+, PostgreSQL 16.x) and
    leave AutoMinorVersionUpgrade true.""",
    limits="""Deprecated majors come from a built-in list; whether a specific minor is still
    offered needs the RDS API (describe-db-engine-versions).""",
)
def db_08(ctx: Context) -> Outcome:
    """EngineVersion of each instance/cluster must be a full minor for its engine (MySQL/MariaDB
    x.y.z, PostgreSQL x.y, Aurora MySQL x.y.mysql_aurora.a.b.c) and not a deprecated major
    (MySQL ≤ 5.7, PostgreSQL ≤ 12, Aurora MySQL 2, MariaDB ≤ 10.4); AutoMinorVersionUpgrade must
    not be false (default true)."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    a.note("minor-version support status needs the RDS API; only format and major are checked")
    for db in dbs:
        lid = db.logical_id
        version = t.get(db.resource, "EngineVersion")
        form = _VERSION_FORMS.get(db.engine)
        if version is None:
            a.fail(lid, "EngineVersion not set (RDS picks the default, it drifts)")
        elif isinstance(version, Unknown):
            a.unknown(lid, f"EngineVersion undecidable ({version.reason})")
        elif form is None:
            a.unknown(lid, f"engine {db.engine}: version format not known")
        elif not re.match(form, str(version)):
            a.fail(lid, f"EngineVersion {version} is not pinned to a minor")
        elif str(version).startswith(_DEPRECATED_MAJORS.get(db.engine, ())):
            a.fail(lid, f"EngineVersion {version} belongs to a deprecated major")
        else:
            a.ok(lid, f"EngineVersion {version}")
        for holder in (db.resource, *db.members):
            upgrade = as_bool(t.get(holder, "AutoMinorVersionUpgrade"))
            if holder.type == "AWS::RDS::DBCluster" and db.members:
                continue
            a.check(
                holder.logical_id,
                upgrade is not False,
                "automatic minor upgrades on",
                "AutoMinorVersionUpgrade is false",
            )
    return a.outcome()


@control(
    "DB-09",
    title="IAM database authentication",
    severity=Severity.MEDIUM,
    requirement="""IAM database authentication on.""",
    impact="""Without IAM authentication every client needs a long-lived database password.""",
    fix="""Set EnableIAMDatabaseAuthentication true (CDK: `iam_authentication=True`).""",
)
def db_09(ctx: Context) -> Outcome:
    """EnableIAMDatabaseAuthentication must be true on each RDS instance and Aurora cluster."""
    t = ctx.template
    dbs = databases(t)
    if not dbs:
        return _no_databases()
    a = Assessment()
    for db in dbs:
        a.check(
            db.logical_id,
            as_bool(t.get(db.resource, "EnableIAMDatabaseAuthentication")) is True,
            "IAM authentication on",
            "EnableIAMDatabaseAuthentication is not true",
        )
    return a.outcome()


@control(
    "DB-10",
    title="DynamoDB recovery, CMK encryption and deletion protection",
    severity=Severity.HIGH,
    requirement="""DynamoDB: point-in-time recovery, CMK encryption, deletion protection.""",
    impact="""Without PITR a bad write or delete is permanent; without a CMK there is no key
    control; without deletion protection a stack change can drop the table.""",
    fix="""Set PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, SSESpecification
    (SSEEnabled, SSEType KMS, KMSMasterKeyId) and DeletionProtectionEnabled.""",
)
def db_10(ctx: Context) -> Outcome:
    """Each AWS::DynamoDB::Table/GlobalTable needs PointInTimeRecoveryEnabled true,
    SSESpecification with SSEEnabled true and a CMK KMSMasterKeyId, and
    DeletionProtectionEnabled true."""
    t = ctx.template
    tables = t.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
    if not tables:
        return not_applicable("no DynamoDB table")
    a = Assessment()
    for table in tables:
        lid = table.logical_id
        pitr = t.get(table, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")
        a.check(lid, as_bool(pitr) is True, "point-in-time recovery", "no point-in-time recovery")
        enabled = as_bool(t.get(table, "SSESpecification", "SSEEnabled")) is True
        key = t.raw(table, "SSESpecification", "KMSMasterKeyId")
        a.check(
            lid,
            enabled and bool(is_cmk_reference(t, key)),
            "encrypted with a CMK",
            "not encrypted with a customer-managed key",
        )
        protection = as_bool(t.get(table, "DeletionProtectionEnabled"))
        a.check(
            lid, protection is True, "deletion protection", "DeletionProtectionEnabled not true"
        )
    return a.outcome()


@control(
    "DB-11",
    title="Hierarchical Parameter Store configuration; secrets only in Secrets Manager",
    severity=Severity.MEDIUM,
    requirement="""App configuration in a hierarchical SSM Parameter Store path; secrets only in
    Secrets Manager.""",
    impact="""Flat or generated parameter names cannot be scoped by IAM path; secrets in Parameter
    Store strings or environment variables are readable by anyone with read access.""",
    fix="""Name parameters /<app>/<env>/<component>/<key>, keep secrets in Secrets Manager and pass
    only their ARNs.""",
    limits="""Secrets are recognised by names (password, secret, token, api key, private key) of
    parameters and Lambda environment variables.""",
)
def db_11(ctx: Context) -> Outcome:
    """With compute or AWS::SSM::Parameter present: at least one AWS::SSM::Parameter must exist;
    each needs a Name that starts with `/` and has ≥ 3 path segments, and must not be named like
    a secret (password, secret, token, api key); Lambda environment variables named like secrets
    must not hold literals."""
    t = ctx.template
    parameters = t.of_type("AWS::SSM::Parameter")
    compute = t.of_type("AWS::EC2::LaunchTemplate", "AWS::EC2::Instance", "AWS::Lambda::Function")
    if not parameters and not compute:
        return not_applicable("no compute and no SSM parameter")
    a = Assessment()
    if not parameters:
        a.fail(None, "no application configuration in SSM Parameter Store")
    for parameter in parameters:
        lid = parameter.logical_id
        name = parameter.properties.get("Name")
        if name is None:
            a.fail(lid, "no Name: CloudFormation generates a flat name")
            continue
        text = t.text(name)
        segments = [s for s in text.split("/") if s]
        a.check(
            lid,
            text.startswith("/") and len(segments) >= 3,
            f"hierarchical name {text}",
            f"name {text} is not a /app/env/component/key path",
        )
        if SECRET_NAME.search(segments[-1] if segments else text):
            a.fail(lid, f"{text} looks like a secret: keep secrets in Secrets Manager")
    for function in t.of_type("AWS::Lambda::Function"):
        variables = function.properties.get("Environment")
        raw = variables.get("Variables") if isinstance(variables, dict) else None
        for key, value in raw.items() if isinstance(raw, dict) else []:
            if SECRET_NAME.search(str(key)) and isinstance(value, str | int) and value != "":
                a.fail(function.logical_id, f"environment variable {key} holds a literal secret")
    return a.outcome()


__all__ = ["PASSWORD_NAME", "SECRET_NAME"]
