"""``AuroraPostgresCluster``: a hardened Aurora PostgreSQL cluster (DB-01..DB-09, LOG-06, RES-02).

The PayFlow data tier (SPEC 2.5): one writer and ``readers`` provisioned readers spread over the
data-tier AZs, with reader auto scaling. Built like :class:`constructs_lib.database.SecureDatabase`
(and sharing its window check and deploy-unique identifier):

========  =====================================================================================
Control   What the construct does
========  =====================================================================================
DB-01     Master credentials generated into a Secrets Manager secret encrypted with the CMK and
          rotated by the Secrets Manager *hosted* PostgreSQL single-user rotation function, which
          runs in ``rotation_subnets`` behind its own security group. No password parameter.
DB-02     Isolated subnets, instances ``PubliclyAccessible: false``, own security group with no
          allow-all egress, a non-default port (default 5433; tokens accepted), ingress only
          through :meth:`AuroraPostgresCluster.allow_from` as separate, described rule resources.
DB-03     Writer (promotion tier 0) and readers with their own tiers 1, 2, ... (failover order),
          each with an explicit ``AvailabilityZone`` taken from the selected subnets' AZs
          (round-robin, so the default 1 + 2 instances land in three AZs of a three-AZ VPC);
          Application Auto Scaling target on ``rds:cluster:ReadReplicaCount`` with target
          tracking on ``RDSReaderAverageCPUUtilization``.
DB-04     Cluster parameter group: ``rds.force_ssl=1``, ``ssl_min_protocol_version=TLSv1.2``,
          ``log_connections=1``, ``log_disconnections=1``, ``pg_stat_statements`` preloaded,
          slow statements logged. Instance parameter group: an explicit ``max_connections``.
DB-05     Enhanced monitoring (own role, IAM-06) and Performance Insights with explicit retention
          and the CMK on every instance.
DB-06     Log export ``postgresql`` (carries the connection, disconnection and slow-statement
          lines above: LOG-06).
DB-07     Backup retention (7..35 days), non-overlapping backup and maintenance windows, copy
          tags to snapshots, deletion protection, automated backups kept after deletion,
          cluster ``DeletionPolicy``/``UpdateReplacePolicy: Snapshot``.
DB-08     Engine pinned to a full minor of a supported major; automatic minor upgrades on.
DB-09     IAM database authentication on (:meth:`AuroraPostgresCluster.grant_connect`).
ENC-03    Cluster storage, Performance Insights, secret and log group encrypted with CMKs.
ENC-04    TLS enforced by the parameter group; RSA-2048 G1 server certificate authority.
LOG-03    The export log group is CMK-encrypted, has an explicit retention and is retained.
RES-02    Cluster ``Snapshot``; secret and log group ``Retain``. The instances carry no policy
          of their own: RDS cannot snapshot a single Aurora instance (the data lives in the
          cluster volume), and the cluster's snapshot covers them.
========  =====================================================================================

Engine version: the default is the newest Aurora PostgreSQL 17 minor that ``aws-cdk-lib`` offers
without marking it deprecated (:data:`DEFAULT_ENGINE_VERSION`). Majors 15, 16 and 17 are accepted
(:data:`SUPPORTED_MAJOR_VERSIONS`); 14 and older are refused: Aurora PostgreSQL 11, 12 and 13 are
past the end of standard support (only paid RDS Extended Support remains) and 14 leaves standard
support in February 2027. 18 is refused until this construct's parameters have been checked
against it (PostgreSQL 18 turned ``log_connections`` from a boolean into a list of aspects).

Instance class: the default ``t4g.medium`` is the smallest class Aurora PostgreSQL offers (there
is no micro/small), and Aurora supports Performance Insights on it; it keeps a reference stack of
three instances cheap. Burstable classes run out of CPU credits under sustained load: production
payment traffic should pass a memory-optimised class (``r7g.large`` or larger) and raise
``max_connections`` with it.

``max_connections``: Aurora's default is ``LEAST(DBInstanceClassMemory/9531392, 5000)``, about 400
on a 4 GiB ``t4g.medium``. The construct sets the number explicitly (default 400, so it never
exceeds what the default class's memory allows) so alarms can fire at a known fraction of it:
:meth:`AuroraPostgresCluster.connections_alarm_threshold`.

Port: the default 5433 follows the library's convention of the engine default plus one (MySQL
3307). Any non-default port only cuts noise from sweeps of 5432; the isolation comes from the
isolated subnets, the security group and TLS + IAM/rotated-password authentication. With a
``CfnParameter`` port cdk-nag cannot read the value; the construct then acknowledges exactly the
rules that need it (RDS11, EC2RestrictedCommonPorts/SSH) and the parameter must bound it.

Cluster identifier and log group: RDS writes the export to
``/aws/rds/cluster/<cluster identifier>/postgresql``. To encrypt that group with the CMK and give it
a retention it must exist before RDS first writes to it, so the construct sets an explicit,
lower-case cluster identifier (construct ID, a hash of the construct path and the last block of
the deploy-time stack ID) and creates the group first. Instance identifiers stay generated.

Reader auto scaling: Application Auto Scaling uses its service-linked role
(``AWSServiceRoleForApplicationAutoScaling_RDSCluster``, created on first use) for RDS. The L2
``ScalableTarget`` always adds a custom role that the service ignores for RDS, so the target and
policy are L1 resources without ``RoleARN``. Replicas that auto scaling adds are not part of the
stack: before deleting the stack, set the target's minimum and maximum to ``readers`` (or delete the
added replicas), otherwise CloudFormation cannot delete the cluster.

Key policy: the construct adds the statement CloudWatch Logs needs to the log key, scoped to this
cluster's log group through ``kms:EncryptionContext:aws:logs:arn``. For a key imported from
another stack CDK cannot change the policy; add the statement where the key is defined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import cast

from aws_cdk import Duration, Fn, Names, RemovalPolicy, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from constructs_lib import database
from constructs_lib.acknowledgments import acknowledge
from constructs_lib.database import (
    MONITORING_INTERVALS,
    _generated_identifier,
    _select_subnets,
    enhanced_monitoring_role,
    export_log_groups,
)
from constructs_lib.validation import invalid, require_choice, require_non_empty, require_range

_NAME = "AuroraPostgresCluster"

#: Aurora PostgreSQL 17, newest minor in the installed aws-cdk-lib not marked deprecated there.
DEFAULT_ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9

#: Majors in standard support that this construct's parameters are written for.
SUPPORTED_MAJOR_VERSIONS = ("15", "16", "17")

#: PostgreSQL's well-known port; DB-02 asks for a different one.
POSTGRES_DEFAULT_PORT = 5432

#: The one log Aurora PostgreSQL exports (DB-06, LOG-06).
LOG_EXPORTS = ("postgresql",)

#: Always preloaded: query statistics for Performance Insights and tuning (DB-04).
REQUIRED_PRELOAD_LIBRARIES = ("pg_stat_statements",)

#: Aurora keeps at most 15 replicas per cluster.
MAX_READERS = 15

#: Default ``max_connections``: below Aurora's memory formula for the default ``t4g.medium``.
DEFAULT_MAX_CONNECTIONS = 400

_INSTANCE_CLASS = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+)$")
#: Instance families Aurora PostgreSQL offers: burstable (t), memory-optimised (r, x).
_AURORA_FAMILY = re.compile(r"^(t3|t4g|r\d+[a-z]*|x\d+[a-z]*)$")
_BURSTABLE_SIZES = ("medium", "large")
_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$")
_POSTGRES_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_LIBRARY = re.compile(r"^[a-z][a-z0-9_]*$")
#: Reserved by RDS/PostgreSQL, or the first names a password-guessing attack tries.
_REFUSED_USERNAMES = (
    "rdsadmin",
    "rdsrepladmin",
    "rds_superuser",
    "postgres",
    "root",
    "admin",
    "administrator",
    "public",
    "user",
)
_REFUSED_DATABASE_NAMES = ("postgres", "rdsadmin", "template0", "template1")


class AuroraPostgresCluster(Construct):
    """An Aurora PostgreSQL cluster (writer + readers over AZs) meeting DB-01..DB-09 by default.

    Only ``vpc``, ``encryption_key`` and ``rotation_subnets`` are required; every other argument
    has the hardened default and is validated before anything is created.

    :param vpc: the VPC that holds the data tier.
    :param encryption_key: CMK for cluster storage, the secret and Performance Insights (and the
        log group unless ``log_encryption_key`` is given).
    :param log_encryption_key: separate CMK for the export log group (a logs data domain).
    :param rotation_subnets: subnets for the hosted rotation function; they must reach Secrets
        Manager (a Secrets Manager interface endpoint, or a NAT route with
        ``rotation_https_peer=ec2.Peer.any_ipv4()``).
    :param subnets: isolated data-tier subnets in at least two AZs (default: all
        ``PRIVATE_ISOLATED`` subnets); the instances are placed round-robin over their AZs.
    :param engine_version: pinned Aurora PostgreSQL 15/16/17 minor (default
        :data:`DEFAULT_ENGINE_VERSION`).
    :param instance_type: class of every instance, without the ``db.`` prefix (default
        ``t4g.medium``); burstable classes only as ``medium``/``large``.
    :param readers: reader instances the stack creates (1..15, default 2).
    :param reader_min_capacity: auto scaling minimum replica count (default ``readers``; at
        least ``readers``, which always exist).
    :param reader_max_capacity: auto scaling maximum replica count (above the minimum, ≤ 15).
    :param reader_target_cpu_percent: average reader CPU the scaling policy holds (10..90).
    :param scale_in_cooldown: wait after removing a replica (default 5 minutes).
    :param scale_out_cooldown: wait after adding a replica (default 5 minutes).
    :param max_connections: ``max_connections`` of every instance (10..5000); size it to the
        class's memory.
    :param deletion_protection: refuse ``DeleteDBCluster`` (DB-07).
    :param backup_retention_days: automated backup retention, 7..35 days.
    :param preferred_backup_window: daily ``hh:mm-hh:mm`` (UTC), at least 30 minutes.
    :param preferred_maintenance_window: weekly ``ddd:hh:mm-ddd:hh:mm`` (UTC), at least 30
        minutes, not overlapping the backup window; cluster and instances.
    :param port: listener port, 1150..65535 and not 5432; a ``CfnParameter`` number is accepted.
    :param database_name: initial database to create (optional).
    :param master_username: name of the generated master user (not a reserved or guessable
        name such as ``postgres`` or ``admin``).
    :param cluster_identifier: lower-case cluster identifier; generated when omitted.
    :param monitoring_interval: enhanced monitoring granularity (1, 5, 10, 15, 30 or 60 s).
    :param performance_insights_retention: Performance Insights retention (default 7 days).
    :param log_retention: retention of the export log group (default one year).
    :param slow_statement_ms: ``log_min_duration_statement`` in milliseconds (0 logs every
        statement); ``None`` leaves slow statements unlogged.
    :param extra_preload_libraries: libraries to preload besides ``pg_stat_statements`` (e.g.
        ``pgaudit``, ``pg_cron``).
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
        engine_version: rds.AuroraPostgresEngineVersion = DEFAULT_ENGINE_VERSION,
        instance_type: ec2.InstanceType | None = None,
        readers: int = 2,
        reader_min_capacity: int | None = None,
        reader_max_capacity: int = 5,
        reader_target_cpu_percent: int = 70,
        scale_in_cooldown: Duration | None = None,
        scale_out_cooldown: Duration | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        deletion_protection: bool = True,
        backup_retention_days: int = 7,
        preferred_backup_window: str = "03:00-04:00",
        preferred_maintenance_window: str = "sun:05:00-sun:06:00",
        port: int | float = 5433,
        database_name: str | None = None,
        master_username: str = "dbadmin",
        cluster_identifier: str | None = None,
        monitoring_interval: Duration | None = None,
        performance_insights_retention: rds.PerformanceInsightRetention = (
            rds.PerformanceInsightRetention.DEFAULT
        ),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        slow_statement_ms: int | None = 1000,
        extra_preload_libraries: Sequence[str] = (),
        rotation_days: int = 30,
        rotation_https_peer: ec2.IPeer | None = None,
    ) -> None:
        subnets = subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        instance_type = instance_type or ec2.InstanceType.of(
            ec2.InstanceClass.BURSTABLE4_GRAVITON, ec2.InstanceSize.MEDIUM
        )
        monitoring_interval = monitoring_interval or Duration.seconds(60)
        scale_in_cooldown = scale_in_cooldown or Duration.minutes(5)
        scale_out_cooldown = scale_out_cooldown or Duration.minutes(5)

        # ---- validation: nothing is created before every argument has been checked ----------
        _validate_engine_version(engine_version)
        _validate_instance_type(instance_type)
        _require_int("readers", readers, 1, MAX_READERS)
        minimum = readers if reader_min_capacity is None else reader_min_capacity
        _require_int("reader_min_capacity", minimum, readers, MAX_READERS)
        _require_int("reader_max_capacity", reader_max_capacity, 1, MAX_READERS)
        if reader_max_capacity <= minimum:
            raise invalid(
                _NAME,
                "reader_max_capacity",
                reader_max_capacity,
                f"use more than reader_min_capacity={minimum} so auto scaling can add readers",
            )
        _require_int("reader_target_cpu_percent", reader_target_cpu_percent, 10, 90)
        for name, cooldown in (
            ("scale_in_cooldown", scale_in_cooldown),
            ("scale_out_cooldown", scale_out_cooldown),
        ):
            seconds = cooldown.to_seconds()
            if not 0 <= seconds <= 3600:
                raise invalid(_NAME, name, f"{seconds:g}s", "use 0 to 3600 seconds")
        _require_int("max_connections", max_connections, 10, 5000)
        require_range(_NAME, "backup_retention_days", backup_retention_days, 7, 35)
        _validate_windows(preferred_backup_window, preferred_maintenance_window)
        _validate_port(port)
        if database_name is not None:
            require_non_empty(_NAME, "database_name", database_name)
            if not Token.is_unresolved(database_name) and (
                not _POSTGRES_NAME.match(database_name)
                or database_name.lower() in _REFUSED_DATABASE_NAMES
            ):
                raise invalid(
                    _NAME,
                    "database_name",
                    database_name,
                    "use 1-63 letters, digits or underscores, starting with a letter, and not "
                    f"one of {list(_REFUSED_DATABASE_NAMES)}",
                )
        if not _POSTGRES_NAME.match(master_username) or (
            master_username.lower() in _REFUSED_USERNAMES
        ):
            raise invalid(
                _NAME,
                "master_username",
                master_username,
                "use 1-63 letters, digits or underscores, starting with a letter, and not one of "
                f"{list(_REFUSED_USERNAMES)}",
            )
        if cluster_identifier is not None and not _IDENTIFIER.match(cluster_identifier):
            raise invalid(
                _NAME,
                "cluster_identifier",
                cluster_identifier,
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
        if slow_statement_ms is not None:
            _require_int("slow_statement_ms", slow_statement_ms, 0, 3_600_000)
        libraries = [*REQUIRED_PRELOAD_LIBRARIES]
        for library in extra_preload_libraries:
            if not isinstance(library, str) or not _LIBRARY.match(library):
                raise invalid(
                    _NAME,
                    "extra_preload_libraries",
                    list(extra_preload_libraries),
                    "pass extension library names such as 'pgaudit' or 'pg_cron'",
                )
            if library not in libraries:
                libraries.append(library)
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
        zones = list(dict.fromkeys(selected.availability_zones))
        if len(selected.subnet_ids) < 2 or len(zones) < 2:
            raise invalid(
                _NAME,
                "subnets",
                f"{len(selected.subnet_ids)} subnet(s) in {len(zones)} AZ(s)",
                "select subnets in at least two Availability Zones (DB-03 spreads the instances)",
            )
        if _select_subnets(vpc, rotation_subnets).has_public:
            raise invalid(
                _NAME,
                "rotation_subnets",
                "public subnets",
                "select private subnets that reach Secrets Manager through an endpoint or a NAT",
            )

        super().__init__(scope, construct_id)
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=engine_version)

        #: The listener port (a number, or the token of a ``CfnParameter``).
        self.port: int | float = port
        #: ``max_connections`` of every instance; alarms compare connections with it.
        self.max_connections: int = max_connections
        #: Lower-case DB cluster identifier; names the export log group.
        self.cluster_identifier: str = cluster_identifier or _generated_identifier(self)
        self.encryption_key: kms.IKey = encryption_key
        #: AZ of the writer, then of each reader (round-robin over the subnets' AZs).
        self.availability_zones: list[str] = [
            zones[index % len(zones)] for index in range(readers + 1)
        ]

        # ---- DB-02: own security group, no egress, ingress only through allow_from ----------
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"{self.node.path}: Aurora PostgreSQL; ingress only from allowed tiers",
            allow_all_outbound=False,
        )
        if Token.is_unresolved(port):
            # cdk-nag cannot read a deploy-time port; say what bounds it instead.
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"):
                for rule in ("EC2RestrictedCommonPorts", "EC2RestrictedSSH"):
                    acknowledge(
                        self.security_group,
                        f"{pack}-{rule}",
                        "every ingress rule of this group comes from allow_from: another security "
                        "group (never a CIDR) on the database port, a deploy-time parameter that "
                        "cdk-nag cannot resolve and that is never an administrative port",
                    )

        # ---- DB-04 / ENC-04 / LOG-06: TLS only, connection audit, query statistics ----------
        cluster_parameters = {
            "rds.force_ssl": "1",
            "ssl_min_protocol_version": "TLSv1.2",
            "log_connections": "1",
            "log_disconnections": "1",
            "shared_preload_libraries": ",".join(libraries),
        }
        if slow_statement_ms is not None:
            cluster_parameters["log_min_duration_statement"] = str(slow_statement_ms)
        self.cluster_parameter_group = rds.ParameterGroup(
            self,
            "ClusterParameterGroup",
            engine=engine,
            description=f"{self.node.path}: TLS only, connection logging, pg_stat_statements",
            parameters=cluster_parameters,
        )
        # max_connections is an instance-level parameter in Aurora PostgreSQL.
        self.instance_parameter_group = rds.ParameterGroup(
            self,
            "InstanceParameterGroup",
            engine=engine,
            description=f"{self.node.path}: explicit max_connections for connection alarms",
            parameters={"max_connections": str(max_connections)},
        )

        # ---- IAM-06: enhanced monitoring role --------------------------------------------
        self.monitoring_role = enhanced_monitoring_role(self)

        # ---- LOG-03: CMK-encrypted, retained log group that exists before RDS writes --------
        self.log_groups: dict[str, logs.LogGroup] = export_log_groups(
            self,
            resource_kind="cluster",
            identifier=self.cluster_identifier,
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

        # ---- the cluster: writer tier 0, readers tiers 1.., each in an explicit AZ -----------
        def instance(name: str, tier: int, zone: str) -> rds.IClusterInstance:
            return rds.ClusterInstance.provisioned(
                name,
                instance_type=instance_type,
                promotion_tier=tier,
                availability_zone=zone,
                parameter_group=self.instance_parameter_group,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                allow_major_version_upgrade=False,
                ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
                enable_performance_insights=True,
                performance_insight_encryption_key=encryption_key,
                performance_insight_retention=performance_insights_retention,
                preferred_maintenance_window=preferred_maintenance_window,
            )

        self.cluster = rds.DatabaseCluster(
            self,
            "Resource",
            engine=engine,
            cluster_identifier=self.cluster_identifier,
            writer=instance("Writer", 0, self.availability_zones[0]),
            readers=[
                instance(f"Reader{number}", number, self.availability_zones[number])
                for number in range(1, readers + 1)
            ],
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.security_group],
            port=port,
            default_database_name=database_name,
            credentials=rds.Credentials.from_secret(database_secret),
            parameter_group=self.cluster_parameter_group,
            storage_encrypted=True,
            storage_encryption_key=encryption_key,
            iam_authentication=True,
            backup=rds.BackupProps(
                retention=Duration.days(backup_retention_days),
                preferred_window=preferred_backup_window,
            ),
            preferred_maintenance_window=preferred_maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
            monitoring_interval=monitoring_interval,
            monitoring_role=self.monitoring_role,
            enable_performance_insights=True,
            performance_insight_encryption_key=encryption_key,
            performance_insight_retention=performance_insights_retention,
            cloudwatch_logs_exports=list(LOG_EXPORTS),
        )
        cfn_cluster = cast(rds.CfnDBCluster, self.cluster.node.default_child)
        #: The instances' L1 resources, writer first (escape hatch; RDS generates their names).
        self.instances: list[rds.CfnDBInstance] = [
            cast(rds.CfnDBInstance, self.cluster.node.find_child(name).node.default_child)
            for name in ["Writer", *(f"Reader{n}" for n in range(1, readers + 1))]
        ]
        # RDS creates a missing export log group itself (no CMK, no retention): create ours first.
        for log_group in self.log_groups.values():
            cfn_cluster.node.add_dependency(log_group)
        if Token.is_unresolved(port):
            acknowledge(
                self.cluster,
                "AwsSolutions-RDS11",
                "the port is a deploy-time value (a stack parameter) that cdk-nag cannot read; "
                "the composing stack's parameter bounds it (MinValue 1150, MaxValue 65535) and "
                "this construct refuses a literal 5432",
            )
        for pack in ("HIPAA.Security", "NIST.800.53.R5"):
            acknowledge(
                self.cluster,
                f"{pack}-RDSInBackupPlan",
                f"Aurora continuous backups with {backup_retention_days}-day retention and "
                "point-in-time recovery protect this cluster (DB-07); adding it to an AWS Backup "
                "plan (RES-01) is the composing stack's choice, made with its BackupPlan",
            )

        if self.cluster.secret is None:  # pragma: no cover - credentials always carry a secret
            raise RuntimeError(f"{_NAME}: the cluster has no attached secret")
        #: The master secret, attached to the cluster (host, port, engine, username, password).
        self.secret: secretsmanager.ISecret = self.cluster.secret

        # ---- DB-03: reader auto scaling (service-linked role, hence L1) ----------------------
        self.reader_scaling_target = appscaling.CfnScalableTarget(
            self,
            "ReaderScalingTarget",
            service_namespace="rds",
            scalable_dimension="rds:cluster:ReadReplicaCount",
            resource_id=Fn.join(":", ["cluster", self.cluster.cluster_identifier]),
            min_capacity=minimum,
            max_capacity=reader_max_capacity,
        )
        # Aurora auto scaling acts only when every instance is available: register after them.
        self.reader_scaling_target.node.add_dependency(*self.instances)
        self.reader_scaling_policy = appscaling.CfnScalingPolicy(
            self,
            "ReaderScalingPolicy",
            policy_name=f"{Names.unique_id(self)}ReaderCpu"[-256:],
            policy_type="TargetTrackingScaling",
            scaling_target_id=self.reader_scaling_target.ref,
            target_tracking_scaling_policy_configuration=(
                appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                    target_value=reader_target_cpu_percent,
                    predefined_metric_specification=(
                        appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                            predefined_metric_type="RDSReaderAverageCPUUtilization"
                        )
                    ),
                    scale_in_cooldown=int(scale_in_cooldown.to_seconds()),
                    scale_out_cooldown=int(scale_out_cooldown.to_seconds()),
                    disable_scale_in=False,
                )
            ),
        )

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
            hosted_rotation=secretsmanager.HostedRotation.postgre_sql_single_user(
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
        self.cluster.connections.allow_from(peer, ec2.Port.tcp(self.port), description)

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """Allow ``grantee`` to log in as ``db_user`` with IAM database authentication (DB-09).

        ``db_user`` is a PostgreSQL role granted ``rds_iam`` (``GRANT rds_iam TO db_user``); the
        master user signs in with its rotated password, not with IAM.
        """
        require_non_empty(_NAME, "db_user", db_user)
        return self.cluster.grant_connect(grantee, db_user)

    def grant_read_secret(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to read (and decrypt) the master secret."""
        return self.secret.grant_read(grantee)

    # ---- metrics: DBClusterIdentifier dimension, aggregated over the cluster's instances -------
    def metric_cpu(
        self, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """``CPUUtilization`` of the busiest instance (default: maximum over 5 minutes)."""
        return self.cluster.metric_cpu_utilization(period=period, statistic=statistic)

    def metric_connections(
        self, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """``DatabaseConnections`` of the instance with the most (default: maximum, 5 minutes).

        ``max_connections`` is a per-instance limit, so the per-instance maximum is what
        :meth:`connections_alarm_threshold` is compared with.
        """
        return self.cluster.metric_database_connections(period=period, statistic=statistic)

    def metric_free_local_storage(
        self, *, period: Duration | None = None, statistic: str = "Minimum"
    ) -> cloudwatch.Metric:
        """``FreeLocalStorage`` (bytes; temp files, logs) of the fullest instance (minimum)."""
        return self.cluster.metric_free_local_storage(period=period, statistic=statistic)

    def metric_freeable_memory(
        self, *, period: Duration | None = None, statistic: str = "Minimum"
    ) -> cloudwatch.Metric:
        """``FreeableMemory`` (bytes) of the instance with the least (minimum)."""
        return self.cluster.metric_freeable_memory(period=period, statistic=statistic)

    def connections_alarm_threshold(self, percent: float = 80) -> float:
        """``percent`` % of :attr:`max_connections`, for a ``>=`` alarm on
        :meth:`metric_connections` (SPEC 2.5: DB connections ≥ 80 %)."""
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise invalid(_NAME, "percent", percent, "pass a number between 1 and 100")
        require_range(_NAME, "percent", percent, 1, 100)
        return self.max_connections * percent / 100


# ---- validation helpers ----------------------------------------------------------------------
def _require_int(argument: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(_NAME, argument, value, f"pass a whole number between {low} and {high}")
    require_range(_NAME, argument, value, low, high)


def _validate_engine_version(version: rds.AuroraPostgresEngineVersion) -> None:
    major, full = version.aurora_postgres_major_version, version.aurora_postgres_full_version
    example = "rds.AuroraPostgresEngineVersion.VER_" + (
        DEFAULT_ENGINE_VERSION.aurora_postgres_full_version.replace(".", "_")
    )
    if major not in SUPPORTED_MAJOR_VERSIONS:
        reason = (
            "it is deprecated (past or near the end of standard support)"
            if major.isdigit() and int(major) < int(SUPPORTED_MAJOR_VERSIONS[0])
            else "this construct's parameters are not yet checked against it"
        )
        raise invalid(
            _NAME,
            "engine_version",
            full,
            f"Aurora PostgreSQL {major}: {reason}; use a "
            f"{', '.join(SUPPORTED_MAJOR_VERSIONS)} minor, e.g. {example}",
        )
    if not re.fullmatch(r"\d+\.\d+", full):
        raise invalid(
            _NAME,
            "engine_version",
            full,
            "DB-08 asks for a pinned minor of the standard (not Limitless) engine, e.g. " + example,
        )


def _validate_instance_type(instance_type: ec2.InstanceType) -> None:
    name = instance_type.to_string()
    match = _INSTANCE_CLASS.match(name)
    if not match or name.startswith("db."):
        raise invalid(
            _NAME, "instance_type", name, "pass an EC2-style class such as t4g.medium or r7g.large"
        )
    family, size = match["family"], match["size"]
    if not _AURORA_FAMILY.match(family):
        raise invalid(
            _NAME,
            "instance_type",
            name,
            "Aurora PostgreSQL runs on burstable (t3, t4g) and memory-optimised (r*, x*) "
            "classes; use e.g. t4g.medium or r7g.large",
        )
    if family.startswith("t") and size not in _BURSTABLE_SIZES:
        raise invalid(
            _NAME,
            "instance_type",
            name,
            "Aurora PostgreSQL offers burstable classes only as medium or large; use "
            "t4g.medium or larger",
        )


def _validate_windows(backup: str, maintenance: str) -> None:
    """SecureDatabase's window check (format, ≥ 30 minutes, no overlap), naming this construct."""
    try:
        database._validate_windows(backup, maintenance)
    except ValueError as error:
        prefix = f"{database._NAME}: "
        raise ValueError(f"{_NAME}: {str(error).removeprefix(prefix)}") from None


def _validate_port(port: int | float) -> None:
    if Token.is_unresolved(port):
        return  # a CfnParameter: the parameter's MinValue/MaxValue validate it at deploy time
    if isinstance(port, bool) or not isinstance(port, int | float) or port != int(port):
        raise invalid(_NAME, "port", port, "pass a whole number or a CfnParameter value")
    require_range(_NAME, "port", int(port), 1150, 65535)
    if port == POSTGRES_DEFAULT_PORT:
        raise invalid(
            _NAME, "port", port, "DB-02 asks for a non-default port; use e.g. 5433 or 15432"
        )
