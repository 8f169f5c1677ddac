"""``SecureDatabase``: a hardened RDS for MySQL instance (controls DB-01..DB-09).

One construct owns everything the database needs to pass the control catalogue on its own:

========  =====================================================================================
Control   What the construct does
========  =====================================================================================
DB-01     Master credentials generated into a Secrets Manager secret encrypted with the CMK and
          rotated by the Secrets Manager *hosted* single-user MySQL rotation function, which runs
          in ``rotation_subnets`` behind its own security group. No password parameter exists.
DB-02     Isolated subnets, ``PubliclyAccessible: false``, own security group with no allow-all
          egress, a non-default port (default 3307; tokens accepted), ingress only through
          :meth:`SecureDatabase.allow_from` as separate, described rule resources.
DB-03     Multi-AZ.
DB-04     Parameter group with ``require_secure_transport=ON``; slow-query and general logs on,
          written to files so the log exports carry data.
DB-05     Enhanced monitoring (own role, IAM-06) and Performance Insights with explicit
          retention and the CMK (refused with a clear error on classes that lack it).
DB-06     Log exports ``audit``, ``error``, ``general``, ``slowquery``; the audit log comes from
          an option group with ``MARIADB_AUDIT_PLUGIN`` (LOG-06).
DB-07     Backup retention (7..35 days), non-overlapping backup and maintenance windows, copy
          tags to snapshots, deletion protection, ``DeletionPolicy``/``UpdateReplacePolicy:
          Snapshot``, automated backups kept after deletion.
DB-08     Engine pinned to a full minor version; automatic minor version upgrades on.
DB-09     IAM database authentication on (:meth:`SecureDatabase.grant_connect`).
ENC-03    gp3 storage, Performance Insights, secret and log groups encrypted with the CMK.
ENC-04    TLS enforced by the parameter group; RSA-2048 G1 server certificate authority.
LOG-03    One CloudWatch log group per export, CMK-encrypted, explicit retention, retained.
RES-02    Instance ``Snapshot``; secret and log groups ``Retain``.
========  =====================================================================================

Engine version: the default is MySQL 8.0 (the reference stacks ask for 8.0), pinned to the newest
8.0 minor that ``aws-cdk-lib`` offers (:data:`DEFAULT_ENGINE_VERSION`). RDS for MySQL 8.0 left
standard support on 2026-07-31; instances still on 8.0 after that date run on paid RDS Extended
Support. Pass ``engine_version=rds.MysqlEngineVersion.VER_8_4_<n>`` to run MySQL 8.4 LTS.

Instance identifier and log groups: RDS writes exported logs to
``/aws/rds/instance/<identifier>/<log>``. To encrypt those groups with the CMK and give them a
retention they must exist before RDS first writes to them, so the construct sets an explicit,
lower-case instance identifier (construct ID, a hash of the construct path and the last block of
the deploy-time stack ID, so every deployment of a template gets its own) and creates the log
groups first. Like any named resource, a change that requires replacing the
instance then needs a new ``instance_identifier``; the old instance is kept as a snapshot.

Key policy: the construct adds the statement CloudWatch Logs needs to ``encryption_key``, scoped
to this instance's log groups through ``kms:EncryptionContext:aws:logs:arn``. For a key imported
from another stack CDK cannot change the policy; add the statement where the key is defined.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import cast

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge, acknowledge_deploy_time_rule
from constructs_lib.encryption import allow_log_groups
from constructs_lib.validation import invalid, require_choice, require_non_empty, require_range

_NAME = "SecureDatabase"

#: MySQL 8.0 pinned to the newest 8.0 minor in the installed aws-cdk-lib (not deprecated there).
DEFAULT_ENGINE_VERSION = rds.MysqlEngineVersion.VER_8_0_46

#: Major versions this construct's parameter and option settings are written for.
SUPPORTED_MAJOR_VERSIONS = ("8.0", "8.4")

#: MySQL's well-known port; DB-02 asks for a different one.
MYSQL_DEFAULT_PORT = 3306

#: Every log RDS for MySQL can export (DB-06, LOG-06).
LOG_EXPORTS = ("audit", "error", "general", "slowquery")

#: Events the MariaDB audit plugin can record (``SERVER_AUDIT_EVENTS``).
AUDIT_EVENTS = ("CONNECT", "QUERY", "QUERY_DCL", "QUERY_DDL", "QUERY_DML", "QUERY_DML_NO_SELECT")

#: Intervals (seconds) RDS enhanced monitoring accepts, 0 (off) excluded on purpose (DB-05).
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)

#: Burstable sizes for which RDS for MySQL offers no Performance Insights (AWS documentation,
#: "Amazon RDS DB engine, Region, and instance class support for Performance Insights").
_NO_PERFORMANCE_INSIGHTS_SIZES = ("micro", "small")

_INSTANCE_CLASS = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+)$")
_BACKUP_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_MAINTENANCE_WINDOW = re.compile(r"^([a-z]{3}):(\d{2}):(\d{2})-([a-z]{3}):(\d{2}):(\d{2})$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY
_IDENTIFIER_UNSAFE = re.compile(r"[^a-z0-9]+")
_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$")
_MYSQL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_MASTER_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
#: ``rdsadmin`` is reserved by RDS; the others are the first names a password-guessing attack tries.
_REFUSED_USERNAMES = ("rdsadmin", "root", "mysql", "admin", "administrator")


class SecureDatabase(Construct):
    """A Multi-AZ RDS for MySQL instance that meets DB-01..DB-09 with secure defaults.

    Only ``vpc``, ``encryption_key`` and ``rotation_subnets`` are required; every other argument
    has the hardened default and is validated before anything is created.

    :param vpc: the VPC that holds the data tier.
    :param encryption_key: CMK for storage, the secret, Performance Insights and the log groups.
    :param log_encryption_key: separate CMK for the exported-log groups (a logs data domain);
        default ``encryption_key``.
    :param rotation_subnets: subnets for the hosted rotation function; they must reach Secrets
        Manager (a Secrets Manager interface endpoint, or a NAT route with
        ``rotation_https_peer=ec2.Peer.any_ipv4()``).
    :param subnets: the isolated data-tier subnets (default: all ``PRIVATE_ISOLATED`` subnets).
    :param engine_version: pinned MySQL 8.0 or 8.4 minor (default :data:`DEFAULT_ENGINE_VERSION`).
    :param instance_type: DB instance class without the ``db.`` prefix (default ``t4g.medium``, the
        smallest current-generation class with Performance Insights).
    :param allocated_storage_gib: initial gp3 storage, 20..65536 GiB.
    :param max_allocated_storage_gib: storage autoscaling ceiling, at least 10 % above
        ``allocated_storage_gib``; ``None`` turns autoscaling off.
    :param multi_az: standby in a second AZ (DB-03).
    :param deletion_protection: refuse ``DeleteDBInstance`` (DB-07).
    :param backup_retention_days: automated backup retention, 7..35 days.
    :param preferred_backup_window: daily ``hh:mm-hh:mm`` (UTC), at least 30 minutes.
    :param preferred_maintenance_window: weekly ``ddd:hh:mm-ddd:hh:mm`` (UTC), at least 30
        minutes, not overlapping the backup window.
    :param port: listener port, 1150..65535 and not 3306; a ``CfnParameter`` number is accepted.
    :param database_name: initial schema to create (optional).
    :param master_username: name of the generated master user (not a guessable default such as
        ``admin`` or ``root``).
    :param instance_identifier: lower-case DB identifier; generated when omitted.
    :param monitoring_interval: enhanced monitoring granularity (1, 5, 10, 15, 30 or 60 s).
    :param performance_insights: turn Performance Insights on; on a class without support the
        construct raises unless this is ``False``.
    :param performance_insights_retention: Performance Insights retention (default 7 days).
    :param log_retention: retention of the exported-log groups (default one year).
    :param general_log: write the general query log, so the ``general`` export carries data
        (every statement: weigh the CloudWatch Logs volume on busy databases).
    :param slow_query_seconds: ``long_query_time`` for the slow-query log.
    :param audit_events: ``SERVER_AUDIT_EVENTS`` of the MariaDB audit plugin.
    :param rotation_days: days between automatic credential rotations, 1..365.
    :param rotation_https_peer: where the rotation function may open HTTPS connections (default
        the VPC CIDR, i.e. the Secrets Manager interface endpoint).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        log_encryption_key: kms.IKey | None = None,
        rotation_subnets: ec2.SubnetSelection,
        subnets: ec2.SubnetSelection | None = None,
        engine_version: rds.MysqlEngineVersion = DEFAULT_ENGINE_VERSION,
        instance_type: ec2.InstanceType | None = None,
        allocated_storage_gib: int = 20,
        max_allocated_storage_gib: int | None = 100,
        multi_az: bool = True,
        deletion_protection: bool = True,
        backup_retention_days: int = 7,
        preferred_backup_window: str = "03:00-04:00",
        preferred_maintenance_window: str = "sun:05:00-sun:06:00",
        port: int | float = 3307,
        database_name: str | None = None,
        master_username: str = "dbadmin",
        instance_identifier: str | None = None,
        monitoring_interval: Duration | None = None,
        performance_insights: bool = True,
        performance_insights_retention: rds.PerformanceInsightRetention = (
            rds.PerformanceInsightRetention.DEFAULT
        ),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        general_log: bool = True,
        slow_query_seconds: int = 2,
        audit_events: Sequence[str] = ("CONNECT", "QUERY_DCL", "QUERY_DDL"),
        rotation_days: int = 30,
        rotation_https_peer: ec2.IPeer | None = None,
    ) -> None:
        subnets = subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        instance_type = instance_type or ec2.InstanceType.of(
            ec2.InstanceClass.BURSTABLE4_GRAVITON, ec2.InstanceSize.MEDIUM
        )
        monitoring_interval = monitoring_interval or Duration.seconds(60)

        # ---- validation: nothing is created before every argument has been checked ----------
        _validate_engine_version(engine_version)
        _validate_instance_type(instance_type, performance_insights)
        require_range(_NAME, "allocated_storage_gib", allocated_storage_gib, 20, 65536)
        if max_allocated_storage_gib is not None:
            require_range(_NAME, "max_allocated_storage_gib", max_allocated_storage_gib, 20, 65536)
            if max_allocated_storage_gib * 10 < allocated_storage_gib * 11:
                raise invalid(
                    _NAME,
                    "max_allocated_storage_gib",
                    max_allocated_storage_gib,
                    f"use at least 10 % more than allocated_storage_gib={allocated_storage_gib}, "
                    "or None to turn storage autoscaling off",
                )
        require_range(_NAME, "backup_retention_days", backup_retention_days, 7, 35)
        _validate_windows(preferred_backup_window, preferred_maintenance_window)
        _validate_port(port)
        if database_name is not None:
            require_non_empty(_NAME, "database_name", database_name)
            if not Token.is_unresolved(database_name) and not _MYSQL_NAME.match(database_name):
                raise invalid(
                    _NAME,
                    "database_name",
                    database_name,
                    "use 1-64 letters, digits or underscores, starting with a letter",
                )
        if not _MASTER_USERNAME.match(master_username) or (
            master_username.lower() in _REFUSED_USERNAMES
        ):
            raise invalid(
                _NAME,
                "master_username",
                master_username,
                "use 1-16 letters, digits or underscores, starting with a letter, and not one of "
                f"{list(_REFUSED_USERNAMES)}",
            )
        if instance_identifier is not None and not _IDENTIFIER.match(instance_identifier):
            raise invalid(
                _NAME,
                "instance_identifier",
                instance_identifier,
                "use 1-63 lower-case letters, digits or single hyphens, starting with a letter",
            )
        require_choice(
            _NAME,
            "monitoring_interval",
            f"{monitoring_interval.to_seconds():g}s",
            [f"{seconds}s" for seconds in MONITORING_INTERVALS],
        )
        if log_retention == logs.RetentionDays.INFINITE:
            raise invalid(
                _NAME,
                "log_retention",
                log_retention,
                "LOG-03 asks for an explicit retention; pass a finite logs.RetentionDays",
            )
        require_range(_NAME, "slow_query_seconds", slow_query_seconds, 0, 3600)
        events = list(audit_events)
        if not events or any(event not in AUDIT_EVENTS for event in events):
            raise invalid(
                _NAME, "audit_events", events, f"pass a non-empty subset of {list(AUDIT_EVENTS)}"
            )
        require_range(_NAME, "rotation_days", rotation_days, 1, 365)
        if subnets.subnet_type not in (None, ec2.SubnetType.PRIVATE_ISOLATED):
            raise invalid(
                _NAME,
                "subnets",
                f"subnet_type={subnets.subnet_type}",
                "DB-02 puts the database in the isolated data tier; select "
                "ec2.SubnetType.PRIVATE_ISOLATED (or name the isolated subnets)",
            )
        selected = _select_subnets(vpc, subnets)
        if selected.has_public:
            raise invalid(
                _NAME,
                "subnets",
                "public subnets",
                "select the isolated data tier, e.g. "
                "ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)",
            )
        if len(selected.subnet_ids) < 2:
            raise invalid(
                _NAME,
                "subnets",
                f"{len(selected.subnet_ids)} subnet(s)",
                "select subnets in at least two Availability Zones (Multi-AZ, DB subnet group)",
            )
        if _select_subnets(vpc, rotation_subnets).has_public:
            raise invalid(
                _NAME,
                "rotation_subnets",
                "public subnets",
                "select private subnets that reach Secrets Manager through an endpoint or a NAT",
            )

        super().__init__(scope, construct_id)
        engine = rds.DatabaseInstanceEngine.mysql(version=engine_version)

        #: The listener port (a number, or the token of a ``CfnParameter``).
        self.port: int | float = port
        #: Lower-case DB instance identifier; names the exported-log groups.
        self.instance_identifier: str = instance_identifier or _generated_identifier(self)
        self.encryption_key: kms.IKey = encryption_key

        # ---- DB-02: own security group, no egress, ingress only through allow_from ----------
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"{self.node.path}: MySQL instance; ingress only from allowed tiers",
            allow_all_outbound=False,
        )

        # ---- DB-04: TLS required, logs written to files so the exports carry data -----------
        self.parameter_group = rds.ParameterGroup(
            self,
            "ParameterGroup",
            engine=engine,
            description=f"{self.node.path}: TLS required, slow-query and general logs",
            parameters={
                "require_secure_transport": "ON",
                "log_output": "FILE",
                "slow_query_log": "1",
                "long_query_time": str(slow_query_seconds),
                "general_log": "1" if general_log else "0",
            },
        )

        # ---- LOG-06: audit log through the MariaDB audit plugin -----------------------------
        self.option_group = rds.OptionGroup(
            self,
            "OptionGroup",
            engine=engine,
            description=f"{self.node.path}: MariaDB audit plugin",
            configurations=[
                rds.OptionConfiguration(
                    name="MARIADB_AUDIT_PLUGIN",
                    settings={"SERVER_AUDIT_EVENTS": ",".join(events)},
                )
            ],
        )

        # ---- IAM-06: enhanced monitoring role --------------------------------------------
        self.monitoring_role = enhanced_monitoring_role(self)

        # ---- LOG-03: CMK-encrypted, retained log groups that exist before RDS writes --------
        self.log_groups: dict[str, logs.LogGroup] = export_log_groups(
            self,
            resource_kind="instance",
            identifier=self.instance_identifier,
            exports=LOG_EXPORTS,
            key=log_encryption_key or encryption_key,
            retention=log_retention,
        )

        # ---- DB-01: generated master credentials in a CMK-encrypted secret ------------------
        database_secret = rds.DatabaseSecret(
            self,
            "Secret",
            username=master_username,
            encryption_key=encryption_key,
        )
        database_secret.apply_removal_policy(RemovalPolicy.RETAIN)

        # ---- the instance ------------------------------------------------------------------
        self.instance = rds.DatabaseInstance(
            self,
            "Resource",
            engine=engine,
            instance_type=instance_type,
            instance_identifier=self.instance_identifier,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.security_group],
            publicly_accessible=False,
            port=port,
            database_name=database_name,
            credentials=rds.Credentials.from_secret(database_secret),
            parameter_group=self.parameter_group,
            option_group=self.option_group,
            multi_az=multi_az,
            storage_type=rds.StorageType.GP3,
            allocated_storage=allocated_storage_gib,
            max_allocated_storage=max_allocated_storage_gib,
            storage_encrypted=True,
            storage_encryption_key=encryption_key,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
            iam_authentication=True,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            backup_retention=Duration.days(backup_retention_days),
            preferred_backup_window=preferred_backup_window,
            preferred_maintenance_window=preferred_maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
            monitoring_interval=monitoring_interval,
            monitoring_role=self.monitoring_role,
            enable_performance_insights=performance_insights,
            performance_insight_encryption_key=encryption_key if performance_insights else None,
            performance_insight_retention=(
                performance_insights_retention if performance_insights else None
            ),
            cloudwatch_logs_exports=list(LOG_EXPORTS),
        )
        # RDS creates a missing export log group itself (no CMK, no retention): create ours first.
        cfn_instance = cast(rds.CfnDBInstance, self.instance.node.default_child)
        for log_group in self.log_groups.values():
            cfn_instance.node.add_dependency(log_group)
        if Token.is_unresolved(port):
            acknowledge(
                self.instance,
                "AwsSolutions-RDS11",
                "the port is a deploy-time value (a stack parameter) that cdk-nag cannot read; "
                "the composing stack bounds it (e.g. DatabasePort with MinValue 1150, default "
                "3307) and literal ports of 3306 are refused here",
            )
            acknowledge_deploy_time_rule(
                self.security_group,
                "every ingress rule of this group admits only another security group (never a "
                "CIDR) on the database port, a deploy-time parameter cdk-nag cannot resolve",
            )
        for pack in ("HIPAA.Security", "NIST.800.53.R5"):
            acknowledge(
                self.instance,
                f"{pack}-RDSInBackupPlan",
                f"RDS automated backups with {backup_retention_days}-day retention and "
                "point-in-time recovery protect this instance (DB-07); adding it to an AWS "
                "Backup plan (RES-01) is the composing stack's choice, made with its BackupPlan",
            )

        if self.instance.secret is None:  # pragma: no cover - credentials always carry a secret
            raise RuntimeError(f"{_NAME}: the instance has no attached secret")
        #: The master secret, attached to the instance (host, port, engine, username, password).
        self.secret: secretsmanager.ISecret = self.instance.secret

        # ---- DB-01: hosted single-user rotation inside the VPC ------------------------------
        self.rotation_security_group = ec2.SecurityGroup(
            self,
            "RotationSecurityGroup",
            vpc=vpc,
            description=f"{self.node.path}: Secrets Manager rotation function",
            allow_all_outbound=False,
        )
        self.rotation_security_group.add_egress_rule(
            rotation_https_peer or ec2.Peer.ipv4(vpc.vpc_cidr_block),
            ec2.Port.tcp(443),
            "HTTPS to Secrets Manager (interface endpoint) for the rotation function",
        )
        self.allow_from(
            self.rotation_security_group, "Secrets Manager rotation function rotates the password"
        )
        self.rotation_schedule = self.secret.add_rotation_schedule(
            "RotationSchedule",
            automatically_after=Duration.days(rotation_days),
            hosted_rotation=secretsmanager.HostedRotation.mysql_single_user(
                vpc=vpc,
                vpc_subnets=rotation_subnets,
                security_groups=[self.rotation_security_group],
            ),
        )

    # ---- access ------------------------------------------------------------------------------
    def allow_from(self, peer: ec2.ISecurityGroup, description: str) -> None:
        """Open the DB port to ``peer`` (a separate ingress rule resource with ``description``).

        When ``peer`` restricts its egress, the matching egress rule is added to ``peer`` too.
        """
        require_non_empty(_NAME, "description", description)
        self.instance.connections.allow_from(peer, ec2.Port.tcp(self.port), description)

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """Allow ``grantee`` to log in as ``db_user`` with IAM database authentication (DB-09).

        ``db_user`` is a MySQL user created ``IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'``;
        the master user signs in with its rotated password, not with IAM.
        """
        require_non_empty(_NAME, "db_user", db_user)
        return self.instance.grant_connect(grantee, db_user)

    def grant_read_secret(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to read (and decrypt) the master secret."""
        return self.secret.grant_read(grantee)

    # ---- metrics -----------------------------------------------------------------------------
    def metric_cpu(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """``CPUUtilization`` of the instance (default: average over 5 minutes)."""
        return self.instance.metric_cpu_utilization(period=period, statistic=statistic)

    def metric_free_storage(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """``FreeStorageSpace`` in bytes (default: average over 5 minutes)."""
        return self.instance.metric_free_storage_space(period=period, statistic=statistic)

    def metric_connections(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """``DatabaseConnections`` (default: average over 5 minutes)."""
        return self.instance.metric_database_connections(period=period, statistic=statistic)


# ---- validation helpers ----------------------------------------------------------------------
def _validate_engine_version(version: rds.MysqlEngineVersion) -> None:
    major, full = version.mysql_major_version, version.mysql_full_version
    if major not in SUPPORTED_MAJOR_VERSIONS:
        raise invalid(
            _NAME,
            "engine_version",
            full,
            f"use a MySQL {' or '.join(SUPPORTED_MAJOR_VERSIONS)} minor, "
            "e.g. rds.MysqlEngineVersion.VER_8_4_10",
        )
    if full == major:
        raise invalid(
            _NAME,
            "engine_version",
            full,
            "DB-08 asks for a pinned minor version, e.g. rds.MysqlEngineVersion.VER_"
            + DEFAULT_ENGINE_VERSION.mysql_full_version.replace(".", "_"),
        )


def _validate_instance_type(instance_type: ec2.InstanceType, performance_insights: bool) -> None:
    name = instance_type.to_string()
    match = _INSTANCE_CLASS.match(name)
    if not match or name.startswith("db."):
        raise invalid(
            _NAME, "instance_type", name, "pass an EC2-style class such as t4g.medium or m7g.large"
        )
    family, size = match["family"], match["size"]
    if performance_insights and family.startswith("t") and size in _NO_PERFORMANCE_INSIGHTS_SIZES:
        raise invalid(
            _NAME,
            "instance_type",
            name,
            "RDS for MySQL has no Performance Insights on db.t*.micro/small; use t4g.medium or "
            "larger, or pass performance_insights=False to opt out of DB-05 explicitly",
        )


def _validate_port(port: int | float) -> None:
    if Token.is_unresolved(port):
        return  # a CfnParameter: the parameter's MinValue/MaxValue validate it at deploy time
    if isinstance(port, bool) or not isinstance(port, int | float) or port != int(port):
        raise invalid(_NAME, "port", port, "pass a whole number or a CfnParameter value")
    require_range(_NAME, "port", int(port), 1150, 65535)
    if port == MYSQL_DEFAULT_PORT:
        raise invalid(
            _NAME, "port", port, "DB-02 asks for a non-default port; use e.g. 3307 or 13306"
        )


def _window_minutes(start: int, end: int, length: int) -> set[int]:
    """Minutes of a window ``[start, end)`` on a circle of ``length`` minutes."""
    span = (end - start) % length
    return {(start + offset) % length for offset in range(span)}


def _validate_windows(backup: str, maintenance: str) -> None:
    backup_match = _BACKUP_WINDOW.match(backup)
    if not backup_match:
        raise invalid(
            _NAME, "preferred_backup_window", backup, "use hh:mm-hh:mm in UTC, e.g. 03:00-04:00"
        )
    b_start_h, b_start_m, b_end_h, b_end_m = (int(part) for part in backup_match.groups())
    if max(b_start_h, b_end_h) > 23 or max(b_start_m, b_end_m) > 59:
        raise invalid(_NAME, "preferred_backup_window", backup, "use valid 24-hour times")
    backup_start = b_start_h * 60 + b_start_m
    backup_end = b_end_h * 60 + b_end_m
    daily = _window_minutes(backup_start, backup_end, _MINUTES_PER_DAY)
    if len(daily) < 30:
        raise invalid(
            _NAME, "preferred_backup_window", backup, "make the window at least 30 minutes long"
        )

    maintenance_match = _MAINTENANCE_WINDOW.match(maintenance)
    fix = "use ddd:hh:mm-ddd:hh:mm in UTC, e.g. sun:05:00-sun:06:00"
    if not maintenance_match:
        raise invalid(_NAME, "preferred_maintenance_window", maintenance, fix)
    start_day, s_h, s_m, end_day, e_h, e_m = maintenance_match.groups()
    if (
        start_day not in _DAYS
        or end_day not in _DAYS
        or max(int(s_h), int(e_h)) > 23
        or max(int(s_m), int(e_m)) > 59
    ):
        raise invalid(_NAME, "preferred_maintenance_window", maintenance, fix)
    weekly = _window_minutes(
        _DAYS.index(start_day) * _MINUTES_PER_DAY + int(s_h) * 60 + int(s_m),
        _DAYS.index(end_day) * _MINUTES_PER_DAY + int(e_h) * 60 + int(e_m),
        _MINUTES_PER_WEEK,
    )
    if len(weekly) < 30:
        raise invalid(
            _NAME,
            "preferred_maintenance_window",
            maintenance,
            "make the window at least 30 minutes long",
        )
    if any(minute % _MINUTES_PER_DAY in daily for minute in weekly):
        raise invalid(
            _NAME,
            "preferred_maintenance_window",
            maintenance,
            f"move it so it does not overlap preferred_backup_window={backup!r}",
        )


def _select_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection) -> ec2.SelectedSubnets:
    """``vpc.select_subnets`` for a ``SubnetSelection`` object (the Python binding takes kwargs)."""
    return vpc.select_subnets(
        availability_zones=selection.availability_zones,
        one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters,
        subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets,
        subnet_type=selection.subnet_type,
    )


# ---- shared with AuroraPostgresCluster ----------------------------------------------------------
def enhanced_monitoring_role(scope: Construct) -> iam.Role:
    """``MonitoringRole`` (IAM-06, DB-05): the RDS enhanced monitoring service role of ``scope``,
    assumable by RDS monitoring for this account only."""
    role = iam.Role(
        scope,
        "MonitoringRole",
        description=f"{scope.node.path}: RDS enhanced monitoring publishes OS metrics",
        assumed_by=iam.ServicePrincipal(
            "monitoring.rds.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        ),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonRDSEnhancedMonitoringRole"
            )
        ],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonRDSEnhancedMonitoringRole]",
        "AmazonRDSEnhancedMonitoringRole is the AWS-documented policy for the enhanced "
        "monitoring service role; it only writes to the RDSOS* log groups and AWS maintains "
        "it as the monitoring agent changes",
    )
    return role


def export_log_groups(
    scope: Construct,
    *,
    resource_kind: str,
    identifier: str,
    exports: Sequence[str],
    key: kms.IKey,
    retention: logs.RetentionDays,
) -> dict[str, logs.LogGroup]:
    """LOG-03: one CMK-encrypted, retained ``<Export>Log`` group per log export, created before
    RDS writes (``/aws/rds/<resource_kind>/<identifier>/<export>``), and the key statement that
    lets CloudWatch Logs use ``key`` for them."""
    groups = {
        log: logs.LogGroup(
            scope,
            f"{log.capitalize()}Log",
            log_group_name=f"/aws/rds/{resource_kind}/{identifier}/{log}",
            encryption_key=key,
            retention=retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for log in exports
    }
    allow_log_groups(
        key,
        scope,
        f"CloudWatchLogsRds{_path_hash(scope)}",
        f"/aws/rds/{resource_kind}/{identifier}/*",
    )
    return groups


# ---- naming --------------------------------------------------------------------------------
def _path_hash(scope: Construct) -> str:
    """Eight hex digits that identify ``scope`` within its app (stable across synths)."""
    return hashlib.sha256(scope.node.path.encode()).hexdigest()[:8]


def _generated_identifier(scope: Construct) -> str:
    """``<construct id>-<hash>-<last block of the stack ID>``, completed at deploy time.

    Lower case (RDS stores identifiers lower-cased and names its log groups after the stored
    form), unique per deployed stack (two deployments of one template under different stack
    names never collide) and stable for the life of the stack.
    """
    readable = _IDENTIFIER_UNSAFE.sub("-", scope.node.id.lower()).strip("-")[:30].strip("-")
    if not readable or not readable[0].isalpha():
        readable = f"db-{readable}".strip("-")
    stack_suffix = Fn.select(4, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))
    return Fn.join("-", [readable, _path_hash(scope), stack_suffix])
