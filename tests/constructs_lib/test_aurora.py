"""Tests for ``constructs_lib.aurora.AuroraPostgresCluster`` (DB-01..DB-09, LOG-03/06, RES-02).

Templates are built once per module; every synth costs seconds on a shared machine.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import ManualArgs, lint

from constructs_lib.aurora import (
    DEFAULT_ENGINE_VERSION,
    DEFAULT_MAX_CONNECTIONS,
    LOG_EXPORTS,
    AuroraPostgresCluster,
)
from controls.checks import CATALOGUE
from controls.engine import evaluate
from controls.model import Status
from controls.template import Template as AuditTemplate
from tests.support import nag_findings, new_stack

ISOLATED = [f"subnet-0iso00000000000{c}" for c in "abc"]
PRIVATE = [f"subnet-0prv00000000000{c}" for c in "abc"]
PUBLIC = [f"subnet-0pub00000000000{c}" for c in "abc"]
VPC_CIDR = "10.20.0.0/16"
ROTATION_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


def _az(index: int) -> dict[str, Any]:
    return {"Fn::Select": [index, {"Fn::GetAZs": ""}]}


# ---- builders ---------------------------------------------------------------------------------
def _network(stack: cdk.Stack) -> tuple[ec2.IVpc, kms.Key, ec2.SecurityGroup]:
    """An imported three-AZ, three-tier VPC (AZs from Fn::GetAZs), a CMK and an app-tier group."""
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block=VPC_CIDR,
        availability_zones=[cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(3)],
        public_subnet_ids=PUBLIC,
        public_subnet_route_table_ids=[f"rtb-0pub0{c}" for c in "abc"],
        private_subnet_ids=PRIVATE,
        private_subnet_route_table_ids=[f"rtb-0prv0{c}" for c in "abc"],
        isolated_subnet_ids=ISOLATED,
        isolated_subnet_route_table_ids=[f"rtb-0iso0{c}" for c in "abc"],
    )
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    app = ec2.SecurityGroup(
        stack, "AppSg", vpc=vpc, description="app tier", allow_all_outbound=False
    )
    return vpc, key, app


def _cluster(
    stack: cdk.Stack,
    network: tuple[ec2.IVpc, kms.Key, ec2.SecurityGroup] | None = None,
    **overrides: Any,
) -> AuroraPostgresCluster:
    vpc, key, app = network or _network(stack)
    arguments: dict[str, Any] = {
        "vpc": vpc,
        "encryption_key": key,
        "rotation_subnets": ROTATION_SUBNETS,
        **overrides,
    }
    db = AuroraPostgresCluster(stack, "Db", **arguments)
    db.allow_from(app, "App tier to PostgreSQL")
    return db


def _build_default(stack: cdk.Stack) -> AuroraPostgresCluster:
    """Defaults, one allowed peer, and both grants on a role."""
    db = _cluster(stack)
    role = iam.Role(stack, "AppRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    db.grant_connect(role, "app_iam_user")
    db.grant_read_secret(role)
    return db


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _only(template: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    found = _resources(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {list(found)}"
    return next(iter(found.items()))


def _logical_id(stack: cdk.Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def _instances(
    stack: cdk.Stack, db: AuroraPostgresCluster, template: dict[str, Any]
) -> list[dict[str, Any]]:
    """Instance resources, writer first, in the order the construct lists them."""
    found = _resources(template, "AWS::RDS::DBInstance")
    assert len(found) == len(db.instances)
    return [found[stack.get_logical_id(instance)] for instance in db.instances]


# ---- module-scoped templates ------------------------------------------------------------------
@pytest.fixture(scope="module")
def default() -> tuple[cdk.Stack, AuroraPostgresCluster, dict[str, Any]]:
    stack = new_stack()
    db = _build_default(stack)
    return stack, db, dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def custom() -> tuple[cdk.Stack, AuroraPostgresCluster, dict[str, Any]]:
    """Every behaviour-changing argument away from its default; the port is a CfnParameter."""
    stack = new_stack()
    port = cdk.CfnParameter(stack, "DatabasePort", type="Number", default=15432)
    log_key = kms.Key(stack, "LogKey", enable_key_rotation=True)
    vpc, key, app = _network(stack)
    db = _cluster(
        stack,
        (vpc, key, app),
        log_encryption_key=log_key,
        subnets=ec2.SubnetSelection(subnets=vpc.isolated_subnets[:2]),
        engine_version=rds.AuroraPostgresEngineVersion.VER_16_13,
        instance_type=ec2.InstanceType("r7g.large"),
        readers=3,
        reader_min_capacity=4,
        reader_max_capacity=8,
        reader_target_cpu_percent=60,
        scale_in_cooldown=cdk.Duration.minutes(10),
        scale_out_cooldown=cdk.Duration.seconds(120),
        max_connections=1600,
        deletion_protection=False,
        backup_retention_days=35,
        preferred_backup_window="22:00-22:30",
        preferred_maintenance_window="wed:01:00-wed:02:00",
        port=port.value_as_number,
        database_name="payments",
        master_username="payflowadmin",
        cluster_identifier="payflow-db",
        monitoring_interval=cdk.Duration.seconds(15),
        performance_insights_retention=rds.PerformanceInsightRetention.LONG_TERM,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        slow_statement_ms=None,
        extra_preload_libraries=("pgaudit", "pg_stat_statements"),
        rotation_days=7,
        rotation_https_peer=ec2.Peer.any_ipv4(),
        rotation_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
    return stack, db, dict(Template.from_stack(stack).to_json())


@pytest.fixture
def network() -> tuple[cdk.Stack, ec2.IVpc, kms.Key]:
    stack = new_stack()
    vpc, key, _ = _network(stack)
    return stack, vpc, key


# ---- DB-08 engine ------------------------------------------------------------------------------
def test_default_engine_is_newest_non_deprecated_17_minor_in_aws_cdk_lib() -> None:
    versions = rds.AuroraPostgresEngineVersion
    minors = [
        int(name.rsplit("_", 1)[1])
        for name in dir(versions)
        if re.fullmatch(r"VER_17_\d+", name)
        and "(deprecated)" not in (versions.__dict__[name].fget.__doc__ or "")
    ]
    assert DEFAULT_ENGINE_VERSION.aurora_postgres_full_version == f"17.{max(minors)}"


def test_db08_engine_pinned_with_minor_upgrades(default):
    stack, db, template = default
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["Engine"] == "aurora-postgresql"
    assert cluster["Properties"]["EngineVersion"] == "17.9"
    for instance in _instances(stack, db, template):
        assert instance["Properties"]["Engine"] == "aurora-postgresql"
        assert instance["Properties"]["AutoMinorVersionUpgrade"] is True
        assert instance["Properties"]["AllowMajorVersionUpgrade"] is False


# ---- DB-03 writer + readers over AZs, promotion tiers, auto scaling ---------------------------
def test_db03_writer_and_two_readers_in_three_azs_with_promotion_tiers(default):
    stack, db, template = default
    instances = _instances(stack, db, template)
    assert len(instances) == 3
    cluster_id = _logical_id(stack, db.cluster)
    for index, instance in enumerate(instances):
        props = instance["Properties"]
        assert props["DBClusterIdentifier"] == {"Ref": cluster_id}
        assert props["PromotionTier"] == index
        assert props["AvailabilityZone"] == _az(index)
        assert props["DBInstanceClass"] == "db.t4g.medium"
        assert props["PubliclyAccessible"] is False
        assert props["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert [stack.resolve(zone) for zone in db.availability_zones] == [_az(i) for i in range(3)]


def test_db03_reader_auto_scaling_on_reader_cpu(default):
    stack, db, template = default
    target_id, target = _only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    props = target["Properties"]
    assert props["ServiceNamespace"] == "rds"
    assert props["ScalableDimension"] == "rds:cluster:ReadReplicaCount"
    assert props["ResourceId"] == {
        "Fn::Join": [":", ["cluster", {"Ref": _logical_id(stack, db.cluster)}]]
    }
    assert (props["MinCapacity"], props["MaxCapacity"]) == (2, 5)
    # the service-linked role, not a custom role the service would ignore
    assert "RoleARN" not in props
    assert _resources(template, "AWS::IAM::Role").keys() == {
        _logical_id(stack, db.monitoring_role),
        stack.get_logical_id(stack.node.find_child("AppRole").node.default_child),
    }
    assert sorted(target["DependsOn"]) == sorted(stack.get_logical_id(i) for i in db.instances)
    _, policy = _only(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert policy["Properties"]["PolicyType"] == "TargetTrackingScaling"
    assert policy["Properties"]["ScalingTargetId"] == {"Ref": target_id}
    assert policy["Properties"]["TargetTrackingScalingPolicyConfiguration"] == {
        "DisableScaleIn": False,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "RDSReaderAverageCPUUtilization"},
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 300,
        "TargetValue": 70,
    }


# ---- DB-04 / ENC-04 parameter groups -----------------------------------------------------------
def test_db04_cluster_parameter_group_forces_tls_and_logs_connections(default):
    stack, db, template = default
    group_id, group = _only(template, "AWS::RDS::DBClusterParameterGroup")
    assert group_id == _logical_id(stack, db.cluster_parameter_group)
    assert group["Properties"]["Family"] == "aurora-postgresql17"
    assert group["Properties"]["Parameters"] == {
        "rds.force_ssl": "1",
        "ssl_min_protocol_version": "TLSv1.2",
        "log_connections": "1",
        "log_disconnections": "1",
        "shared_preload_libraries": "pg_stat_statements",
        "log_min_duration_statement": "1000",
    }
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["DBClusterParameterGroupName"] == {"Ref": group_id}


def test_db04_instances_share_an_explicit_max_connections(default):
    stack, db, template = default
    group_id, group = _only(template, "AWS::RDS::DBParameterGroup")
    assert group_id == _logical_id(stack, db.instance_parameter_group)
    assert group["Properties"]["Family"] == "aurora-postgresql17"
    assert group["Properties"]["Parameters"] == {"max_connections": "400"}
    for instance in _instances(stack, db, template):
        assert instance["Properties"]["DBParameterGroupName"] == {"Ref": group_id}
    assert db.max_connections == DEFAULT_MAX_CONNECTIONS == 400


# ---- DB-06 / LOG-03 / LOG-06 log export ----------------------------------------------------------
def test_db06_postgresql_log_exported_to_a_cmk_group_created_first(default):
    stack, db, template = default
    key_id = _logical_id(stack, db.encryption_key)
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql"]
    group_id, group = _only(template, "AWS::Logs::LogGroup")
    assert group["Properties"]["LogGroupName"] == stack.resolve(
        f"/aws/rds/cluster/{db.cluster_identifier}/postgresql"
    )
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    assert cluster["DependsOn"] == [group_id]
    assert cluster["Properties"]["DBClusterIdentifier"] == stack.resolve(db.cluster_identifier)
    assert set(db.log_groups) == set(LOG_EXPORTS)


def test_generated_cluster_identifier_is_lower_case_and_unique_per_deployment(default):
    stack, db, _ = default
    separator, (literal, suffix) = stack.resolve(db.cluster_identifier)["Fn::Join"]
    assert separator == "-"
    assert re.fullmatch(r"db-[0-9a-f]{8}", literal)
    assert "AWS::StackId" in json.dumps(suffix)


def test_log03_key_policy_lets_cloudwatch_logs_use_the_key_for_this_cluster_only(default):
    stack, db, template = default
    key = template["Resources"][_logical_id(stack, db.encryption_key)]
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "logs.us-east-1.amazonaws.com"}
    ]
    rendered = json.dumps(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    assert ":log-group:/aws/rds/cluster/" in rendered and '"db-' in rendered
    assert rendered.endswith('/*"]]}') and "AWS::StackId" in rendered


# ---- DB-05 monitoring --------------------------------------------------------------------------
def test_db05_enhanced_monitoring_and_performance_insights_on_every_instance(default):
    stack, db, template = default
    key_id = _logical_id(stack, db.encryption_key)
    role_id = _logical_id(stack, db.monitoring_role)
    for instance in _instances(stack, db, template):
        props = instance["Properties"]
        assert props["MonitoringInterval"] == 60
        assert props["MonitoringRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert props["EnablePerformanceInsights"] is True
        assert props["PerformanceInsightsRetentionPeriod"] == 7
        assert props["PerformanceInsightsKMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["PerformanceInsightsEnabled"] is True
    assert cluster["Properties"]["PerformanceInsightsKmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    role = template["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


# ---- DB-07 / RES-02 / ENC-03 --------------------------------------------------------------------
def test_db07_backups_windows_and_deletion_protection(default):
    stack, db, template = default
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    props = cluster["Properties"]
    assert props["BackupRetentionPeriod"] == 7
    assert props["PreferredBackupWindow"] == "03:00-04:00"
    assert props["PreferredMaintenanceWindow"] == "sun:05:00-sun:06:00"
    assert props["CopyTagsToSnapshot"] is True
    assert props["DeletionProtection"] is True
    assert props["DeleteAutomatedBackups"] is False
    for instance in _instances(stack, db, template):
        assert instance["Properties"]["PreferredMaintenanceWindow"] == "sun:05:00-sun:06:00"


def test_res02_cluster_snapshot_instances_without_retain(default):
    stack, db, template = default
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot"
    # the cluster snapshot holds the data; a retained instance would outlive its cluster
    for instance in _instances(stack, db, template):
        assert instance.get("DeletionPolicy", "Delete") == "Delete"
        assert instance.get("UpdateReplacePolicy", "Delete") == "Delete"


def test_enc03_cluster_storage_encrypted_with_the_cmk(default):
    stack, db, template = default
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["StorageEncrypted"] is True
    assert cluster["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": [_logical_id(stack, db.encryption_key), "Arn"]
    }


# ---- DB-01 credentials ---------------------------------------------------------------------------
def test_db01_generated_secret_encrypted_with_cmk_and_retained(default):
    stack, db, template = default
    key_id = _logical_id(stack, db.encryption_key)
    secret_id, secret = _only(template, "AWS::SecretsManager::Secret")
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert secret["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert "dbadmin" in secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"]
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    password = json.dumps(cluster["Properties"]["MasterUserPassword"])
    assert "{{resolve:secretsmanager:" in password and secret_id in password
    assert list(template.get("Parameters", {})) == ["BootstrapVersion"]


def test_db01_hosted_postgres_rotation_in_the_vpc_with_the_cmk(default):
    stack, db, template = default
    _, schedule = _only(template, "AWS::SecretsManager::RotationSchedule")
    _, attachment = _only(template, "AWS::SecretsManager::SecretTargetAttachment")
    props = schedule["Properties"]
    assert props["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    hosted = props["HostedRotationLambda"]
    assert hosted["RotationType"] == "PostgreSQLSingleUser"
    assert hosted["KmsKeyArn"] == {"Fn::GetAtt": [_logical_id(stack, db.encryption_key), "Arn"]}
    assert hosted["VpcSubnetIds"] == ",".join(PRIVATE)
    assert hosted["VpcSecurityGroupIds"] == {
        "Fn::GetAtt": [_logical_id(stack, db.rotation_security_group), "GroupId"]
    }
    assert attachment["Properties"]["TargetType"] == "AWS::RDS::DBCluster"


# ---- DB-09 -------------------------------------------------------------------------------------
def test_db09_iam_database_authentication(default):
    _, _, template = default
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["EnableIAMDatabaseAuthentication"] is True


# ---- DB-02 network -------------------------------------------------------------------------------
def test_db02_isolated_subnets_non_default_port(default):
    _, _, template = default
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    _, subnet_group = _only(template, "AWS::RDS::DBSubnetGroup")
    assert cluster["Properties"]["Port"] == 5433
    assert subnet_group["Properties"]["SubnetIds"] == ISOLATED


def test_db02_ingress_only_from_allowed_peers_on_the_db_port(default):
    stack, db, template = default
    db_sg = _logical_id(stack, db.security_group)
    app_sg = stack.get_logical_id(stack.node.find_child("AppSg").node.default_child)
    rotation_sg = _logical_id(stack, db.rotation_security_group)
    assert "SecurityGroupIngress" not in template["Resources"][db_sg]["Properties"]
    rules = [
        rule["Properties"]
        for rule in _resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [db_sg, "GroupId"]}
    ]
    assert sorted(rule["SourceSecurityGroupId"]["Fn::GetAtt"][0] for rule in rules) == sorted(
        [app_sg, rotation_sg]
    )
    for rule in rules:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5433, 5433)
        assert rule["Description"].strip()


def test_db02_explicit_egress_no_allow_all(default):
    stack, db, template = default
    db_sg = template["Resources"][_logical_id(stack, db.security_group)]["Properties"]
    (egress,) = db_sg["SecurityGroupEgress"]
    assert egress["CidrIp"] == "255.255.255.255/32"  # CDK's "no egress" placeholder
    rotation = template["Resources"][_logical_id(stack, db.rotation_security_group)]
    (https,) = rotation["Properties"]["SecurityGroupEgress"]
    assert (https["CidrIp"], https["IpProtocol"], https["FromPort"]) == (VPC_CIDR, "tcp", 443)


def test_allow_from_requires_a_description(default) -> None:
    stack, db, _ = default
    with pytest.raises(ValueError, match=r"^AuroraPostgresCluster: description=' ' is invalid"):
        db.allow_from(stack.node.find_child("AppSg"), " ")


# ---- public API -----------------------------------------------------------------------------
def test_public_attributes_are_typed_children(default):
    _, db, _ = default
    assert isinstance(db.cluster, rds.DatabaseCluster)
    assert db.cluster.node.id == "Resource"
    assert db.secret.encryption_key is db.encryption_key
    assert isinstance(db.security_group, ec2.SecurityGroup)
    assert isinstance(db.rotation_security_group, ec2.SecurityGroup)
    assert isinstance(db.cluster_parameter_group, rds.ParameterGroup)
    assert isinstance(db.instance_parameter_group, rds.ParameterGroup)
    assert isinstance(db.monitoring_role, iam.Role)
    assert isinstance(db.rotation_schedule, secretsmanager.RotationSchedule)
    assert all(isinstance(i, rds.CfnDBInstance) for i in db.instances)
    assert db.port == 5433


def test_grants_iam_connect_and_secret_read(default):
    stack, db, template = default
    role_id = stack.get_logical_id(stack.node.find_child("AppRole").node.default_child)
    (policy,) = [
        p["Properties"]
        for p in _resources(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    statements = {
        json.dumps(s["Action"]): json.dumps(s["Resource"])
        for s in policy["PolicyDocument"]["Statement"]
    }
    connect = statements.pop('"rds-db:connect"')
    assert ":dbuser:" in connect and connect.endswith('/app_iam_user"]]}')
    secret_read = statements.pop(
        '["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]'
    )
    assert secret_read == json.dumps({"Ref": _logical_id(stack, db.secret)})
    assert statements == {}


def test_grant_connect_requires_a_db_user(default) -> None:
    stack, db, _ = default
    with pytest.raises(ValueError, match=r"^AuroraPostgresCluster: db_user='' is invalid"):
        db.grant_connect(stack.node.find_child("AppRole"), "")


def test_metrics_use_the_cluster_dimension_and_worst_instance(default):
    _, db, _ = default
    expected = {
        "CPUUtilization": (db.metric_cpu(), "Maximum"),
        "DatabaseConnections": (db.metric_connections(), "Maximum"),
        "FreeLocalStorage": (db.metric_free_local_storage(), "Minimum"),
        "FreeableMemory": (db.metric_freeable_memory(), "Minimum"),
    }
    for name, (metric, statistic) in expected.items():
        assert (metric.namespace, metric.metric_name, metric.statistic) == (
            "AWS/RDS",
            name,
            statistic,
        )
        assert list(metric.dimensions) == ["DBClusterIdentifier"]
    assert db.metric_cpu(statistic="Average").statistic == "Average"


def test_connections_alarm_threshold_is_a_share_of_max_connections(default):
    _, db, _ = default
    assert db.connections_alarm_threshold() == 320
    assert db.connections_alarm_threshold(90) == 360
    for bad in (0, 101, True):
        with pytest.raises(ValueError, match=r"^AuroraPostgresCluster: percent="):
            db.connections_alarm_threshold(bad)


def test_no_synth_warnings_or_errors(default):
    stack, _, _ = default
    annotations = Annotations.from_stack(stack)
    assert annotations.find_warning("*", Match.any_value()) == []
    assert annotations.find_error("*", Match.any_value()) == []


# ---- arguments that change behaviour --------------------------------------------------------
def test_custom_engine_class_and_identifier(custom):
    stack, db, template = custom
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    props = cluster["Properties"]
    assert props["EngineVersion"] == "16.13"
    assert props["DBClusterIdentifier"] == "payflow-db"
    assert props["DatabaseName"] == "payments"
    assert props["DeletionProtection"] is False
    for instance in _instances(stack, db, template):
        assert instance["Properties"]["DBInstanceClass"] == "db.r7g.large"
    for type_ in ("AWS::RDS::DBClusterParameterGroup", "AWS::RDS::DBParameterGroup"):
        _, group = _only(template, type_)
        assert group["Properties"]["Family"] == "aurora-postgresql16"
    _, secret = _only(template, "AWS::SecretsManager::Secret")
    assert "payflowadmin" in secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"]


def test_custom_readers_wrap_around_two_azs_with_their_own_tiers(custom):
    stack, db, template = custom
    instances = _instances(stack, db, template)
    assert [i["Properties"]["PromotionTier"] for i in instances] == [0, 1, 2, 3]
    assert [i["Properties"]["AvailabilityZone"] for i in instances] == [
        _az(0),
        _az(1),
        _az(0),
        _az(1),
    ]
    _, subnet_group = _only(template, "AWS::RDS::DBSubnetGroup")
    assert subnet_group["Properties"]["SubnetIds"] == ISOLATED[:2]


def test_custom_auto_scaling(custom):
    _, _, template = custom
    _, target = _only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (4, 8)
    _, policy = _only(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert (config["TargetValue"], config["ScaleInCooldown"], config["ScaleOutCooldown"]) == (
        60,
        600,
        120,
    )


def test_custom_parameters_backups_monitoring_and_insights(custom):
    stack, db, template = custom
    _, cluster_group = _only(template, "AWS::RDS::DBClusterParameterGroup")
    parameters = cluster_group["Properties"]["Parameters"]
    assert parameters["shared_preload_libraries"] == "pg_stat_statements,pgaudit"
    assert "log_min_duration_statement" not in parameters
    assert parameters["rds.force_ssl"] == "1"
    _, instance_group = _only(template, "AWS::RDS::DBParameterGroup")
    assert instance_group["Properties"]["Parameters"] == {"max_connections": "1600"}
    assert db.connections_alarm_threshold() == 1280
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    props = cluster["Properties"]
    assert props["BackupRetentionPeriod"] == 35
    assert props["PreferredBackupWindow"] == "22:00-22:30"
    assert props["PreferredMaintenanceWindow"] == "wed:01:00-wed:02:00"
    for instance in _instances(stack, db, template):
        assert instance["Properties"]["MonitoringInterval"] == 15
        assert instance["Properties"]["PerformanceInsightsRetentionPeriod"] == 731


def test_custom_port_parameter_reaches_cluster_and_rules(custom):
    _, db, template = custom
    assert cdk.Token.is_unresolved(db.port)
    _, cluster = _only(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["Port"] == {"Ref": "DatabasePort"}
    for type_ in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        for rule in _resources(template, type_).values():
            assert rule["Properties"]["FromPort"] == {"Ref": "DatabasePort"}
            assert rule["Properties"]["ToPort"] == {"Ref": "DatabasePort"}


def test_custom_log_key_retention_and_name(custom):
    stack, _, template = custom
    log_key_id = stack.get_logical_id(stack.node.find_child("LogKey").node.default_child)
    _, group = _only(template, "AWS::Logs::LogGroup")
    assert group["Properties"]["LogGroupName"] == "/aws/rds/cluster/payflow-db/postgresql"
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [log_key_id, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == 90


def test_custom_rotation_schedule_subnets_and_peer(custom):
    stack, db, template = custom
    _, schedule = _only(template, "AWS::SecretsManager::RotationSchedule")
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(7 days)"}
    assert schedule["Properties"]["HostedRotationLambda"]["VpcSubnetIds"] == ",".join(ISOLATED)
    rotation = template["Resources"][_logical_id(stack, db.rotation_security_group)]
    (egress,) = rotation["Properties"]["SecurityGroupEgress"]
    assert (egress["CidrIp"], egress["FromPort"]) == ("0.0.0.0/0", 443)


# ---- bad input ------------------------------------------------------------------------------
VERSIONS = rds.AuroraPostgresEngineVersion
BAD_INPUT = [
    ({"readers": 0}, r"readers=0 is invalid; use a value between 1 and 15"),
    ({"readers": 16}, r"readers=16 is invalid"),
    ({"readers": 2.0}, r"readers=2.0 is invalid; pass a whole number"),
    ({"reader_min_capacity": 1}, r"reader_min_capacity=1 is invalid; use a value between 2 and"),
    (
        {"reader_max_capacity": 2},
        r"reader_max_capacity=2 is invalid; use more than reader_min_capacity=2",
    ),
    ({"reader_max_capacity": 16}, r"reader_max_capacity=16 is invalid"),
    ({"reader_target_cpu_percent": 95}, r"reader_target_cpu_percent=95 is invalid"),
    ({"scale_in_cooldown": cdk.Duration.hours(2)}, r"scale_in_cooldown='7200s' is invalid"),
    ({"max_connections": 5}, r"max_connections=5 is invalid; use a value between 10 and 5000"),
    ({"max_connections": 6000}, r"max_connections=6000 is invalid"),
    ({"backup_retention_days": 3}, r"backup_retention_days=3 is invalid; use a value between 7"),
    ({"backup_retention_days": 36}, r"backup_retention_days=36 is invalid"),
    (
        {"preferred_maintenance_window": "mon:03:30-mon:04:30"},
        r"preferred_maintenance_window='mon:03:30-mon:04:30' .*overlap",
    ),
    ({"preferred_backup_window": "03:00-03:15"}, r"preferred_backup_window=.*at least 30 min"),
    ({"port": 5432}, r"port=5432 is invalid; DB-02 asks for a non-default port"),
    ({"port": 70000}, r"port=70000 is invalid; use a value between 1150 and 65535"),
    ({"port": 5433.5}, r"port=5433.5 is invalid; pass a whole number"),
    (
        {"engine_version": VERSIONS.VER_13_23},
        r"engine_version='13.23' is invalid; Aurora PostgreSQL 13: it is deprecated",
    ),
    ({"engine_version": VERSIONS.VER_14_9}, r"engine_version='14.9' is invalid; .*deprecated"),
    ({"engine_version": VERSIONS.VER_18_6}, r"engine_version='18.6' is invalid; .*not yet"),
    (
        {"engine_version": VERSIONS.VER_16_4_LIMITLESS},
        r"engine_version='16.4-limitless' is invalid; DB-08 .*not Limitless",
    ),
    ({"engine_version": VERSIONS.of("17", "17")}, r"engine_version='17' is invalid; DB-08"),
    (
        {"instance_type": ec2.InstanceType("t4g.small")},
        r"instance_type='t4g.small' is invalid; .*only as medium or large",
    ),
    (
        {"instance_type": ec2.InstanceType("m7g.large")},
        r"instance_type='m7g.large' is invalid; Aurora PostgreSQL runs on",
    ),
    ({"instance_type": ec2.InstanceType("db.r7g.large")}, r"instance_type='db.r7g.large'"),
    ({"database_name": "postgres"}, r"database_name='postgres' is invalid"),
    ({"database_name": "1payments"}, r"database_name='1payments' is invalid"),
    ({"master_username": "postgres"}, r"master_username='postgres' is invalid"),
    ({"master_username": "Admin"}, r"master_username='Admin' is invalid"),
    ({"cluster_identifier": "PayFlow_DB"}, r"cluster_identifier='PayFlow_DB' is invalid"),
    ({"monitoring_interval": cdk.Duration.seconds(45)}, r"monitoring_interval='45s' is invalid"),
    ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.*explicit retention"),
    ({"slow_statement_ms": -1}, r"slow_statement_ms=-1 is invalid"),
    (
        {"extra_preload_libraries": ("pg_cron;drop",)},
        r"extra_preload_libraries=\['pg_cron;drop'\] is invalid",
    ),
    ({"rotation_days": 0}, r"rotation_days=0 is invalid"),
    (
        {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)},
        r"subnets='subnet_type=SubnetType.PUBLIC' is invalid; DB-02",
    ),
    (
        {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)},
        r"subnets='subnet_type=SubnetType.PRIVATE_WITH_EGRESS' is invalid; DB-02",
    ),
    (
        {"subnets": ec2.SubnetSelection(subnet_group_name="Public")},
        r"subnets='public subnets' is invalid",
    ),
    (
        {"subnets": ec2.SubnetSelection(subnets=[])},
        r"subnets='0 subnet\(s\) in 0 AZ\(s\)' is invalid; select subnets in at least two",
    ),
    (
        {"rotation_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)},
        r"rotation_subnets='public subnets' is invalid",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_raises_before_anything_is_created(network, overrides, message):
    stack, vpc, key = network
    arguments: dict[str, Any] = {
        "vpc": vpc,
        "encryption_key": key,
        "rotation_subnets": ROTATION_SUBNETS,
        **overrides,
    }
    with pytest.raises(ValueError, match=rf"^AuroraPostgresCluster: {message}"):
        AuroraPostgresCluster(stack, "Db", **arguments)
    assert stack.node.try_find_child("Db") is None


def test_one_az_is_refused(network):
    stack, vpc, key = network
    with pytest.raises(ValueError, match=r"subnets='2 subnet\(s\) in 1 AZ\(s\)' is invalid"):
        AuroraPostgresCluster(
            stack,
            "Db",
            vpc=vpc,
            encryption_key=key,
            rotation_subnets=ROTATION_SUBNETS,
            subnets=ec2.SubnetSelection(
                subnets=[
                    ec2.Subnet.from_subnet_attributes(
                        stack, f"Same{n}", subnet_id=f"subnet-0same{n}", availability_zone="z"
                    )
                    for n in "ab"
                ]
            ),
        )


# ---- gates ------------------------------------------------------------------------------------
def test_nag_clean_under_the_four_packs() -> None:
    assert nag_findings(_cluster) == []


def _with_port_parameter(stack: cdk.Stack) -> AuroraPostgresCluster:
    port = cdk.CfnParameter(
        stack, "DatabasePort", type="Number", default=15432, min_value=1150, max_value=65535
    )
    return _cluster(stack, port=port.value_as_number)


def test_nag_clean_with_a_deploy_time_port() -> None:
    """cdk-nag cannot read a parameter port: the construct acknowledges exactly those rules."""
    assert nag_findings(_with_port_parameter) == []


@pytest.mark.parametrize("variant", ["default", "custom"])
def test_cfn_lint_reports_nothing(variant, request):
    _, _, template = request.getfixturevalue(variant)
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []


# ---- audit: the control catalogue on a template with the construct ---------------------------
#: DB-01..DB-09 and LOG-06 (the brief), plus the controls the construct's log group, keys,
#: policies and monitoring role take part in.
AUDITED = (
    *("DB-01", "DB-02", "DB-03", "DB-04", "DB-05", "DB-06", "DB-07", "DB-08", "DB-09"),
    *("LOG-03", "LOG-06", "ENC-03", "ENC-04", "RES-02", "IAM-06"),
)


@pytest.fixture(scope="module")
def audit() -> dict[str, Any]:
    """The construct in an in-template three-tier VPC, reached from an app-tier launch template."""
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=3,
        restrict_default_security_group=False,  # its custom-resource Lambda is not under test
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    app = ec2.SecurityGroup(stack, "AppSg", vpc=vpc, allow_all_outbound=False)
    ec2.CfnLaunchTemplate(
        stack,
        "AppTemplate",
        launch_template_data=ec2.CfnLaunchTemplate.LaunchTemplateDataProperty(
            security_group_ids=[app.security_group_id],
            block_device_mappings=[
                ec2.CfnLaunchTemplate.BlockDeviceMappingProperty(
                    device_name="/dev/xvda",
                    ebs=ec2.CfnLaunchTemplate.EbsProperty(
                        encrypted=True, kms_key_id=key.key_arn, volume_type="gp3"
                    ),
                )
            ],
        ),
    )
    db = AuroraPostgresCluster(
        stack, "Db", vpc=vpc, encryption_key=key, rotation_subnets=ROTATION_SUBNETS
    )
    db.allow_from(app, "App tier to PostgreSQL")
    return dict(Template.from_stack(stack).to_json())


@pytest.mark.parametrize("control_id", AUDITED)
def test_audit_control_passes(audit, control_id):
    report = evaluate(AuditTemplate(audit), controls=[CATALOGUE[control_id]])
    (result,) = report.results
    assert result.status is Status.PASS, [item.render() for item in result.outcome.items]
