"""Tests for ``constructs_lib.database.SecureDatabase`` (DB-01..DB-09, LOG-03/06, IAM-06, RES-02).

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

from constructs_lib.database import DEFAULT_ENGINE_VERSION, LOG_EXPORTS, SecureDatabase
from tests.support import nag_findings, new_stack

ISOLATED = ["subnet-0iso00000000000a", "subnet-0iso00000000000b"]
PRIVATE = ["subnet-0prv00000000000a", "subnet-0prv00000000000b"]
PUBLIC = ["subnet-0pub00000000000a", "subnet-0pub00000000000b"]
VPC_CIDR = "10.20.0.0/16"
ROTATION_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


# ---- builders ---------------------------------------------------------------------------------
def _network(stack: cdk.Stack) -> tuple[ec2.IVpc, kms.Key, ec2.SecurityGroup]:
    """An imported three-tier VPC (no resources of its own), a CMK and an app-tier group."""
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block=VPC_CIDR,
        availability_zones=["us-east-1a", "us-east-1b"],
        public_subnet_ids=PUBLIC,
        public_subnet_route_table_ids=["rtb-0pub0a", "rtb-0pub0b"],
        private_subnet_ids=PRIVATE,
        private_subnet_route_table_ids=["rtb-0prv0a", "rtb-0prv0b"],
        isolated_subnet_ids=ISOLATED,
        isolated_subnet_route_table_ids=["rtb-0iso0a", "rtb-0iso0b"],
    )
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    app = ec2.SecurityGroup(
        stack, "AppSg", vpc=vpc, description="app tier", allow_all_outbound=False
    )
    return vpc, key, app


def _database(stack: cdk.Stack, **overrides: Any) -> SecureDatabase:
    vpc, key, app = _network(stack)
    arguments: dict[str, Any] = {
        "vpc": vpc,
        "encryption_key": key,
        "rotation_subnets": ROTATION_SUBNETS,
        **overrides,
    }
    db = SecureDatabase(stack, "Db", **arguments)
    db.allow_from(app, "App tier to MySQL")
    return db


def _build_default(stack: cdk.Stack) -> SecureDatabase:
    """Defaults, one allowed peer, and both grants on a role."""
    db = _database(stack)
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


# ---- module-scoped templates ------------------------------------------------------------------
@pytest.fixture(scope="module")
def default() -> tuple[cdk.Stack, SecureDatabase, dict[str, Any]]:
    stack = new_stack()
    db = _build_default(stack)
    return stack, db, dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def custom() -> tuple[cdk.Stack, SecureDatabase, dict[str, Any]]:
    """Every behaviour-changing argument away from its default; the port is a CfnParameter."""
    stack = new_stack()
    port = cdk.CfnParameter(stack, "DatabasePort", type="Number", default=13306)
    db = _database(
        stack,
        engine_version=rds.MysqlEngineVersion.VER_8_4_10,
        instance_type=ec2.InstanceType("m7g.large"),
        allocated_storage_gib=100,
        max_allocated_storage_gib=None,
        multi_az=False,
        deletion_protection=False,
        backup_retention_days=35,
        preferred_backup_window="22:00-22:30",
        preferred_maintenance_window="wed:01:00-wed:02:00",
        port=port.value_as_number,
        database_name="orders",
        master_username="ordersadmin",
        instance_identifier="orders-db",
        monitoring_interval=cdk.Duration.seconds(15),
        performance_insights_retention=rds.PerformanceInsightRetention.LONG_TERM,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        general_log=False,
        slow_query_seconds=5,
        audit_events=("CONNECT", "QUERY_DML_NO_SELECT"),
        rotation_days=7,
        rotation_https_peer=ec2.Peer.any_ipv4(),
        rotation_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
    return stack, db, dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def no_insights() -> dict[str, Any]:
    """A class without Performance Insights, with the explicit opt-out."""
    stack = new_stack()
    _database(stack, instance_type=ec2.InstanceType("t4g.small"), performance_insights=False)
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture
def network() -> tuple[cdk.Stack, ec2.IVpc, kms.Key]:
    stack = new_stack()
    vpc, key, _ = _network(stack)
    return stack, vpc, key


# ---- DB-08 engine ------------------------------------------------------------------------------
def test_default_engine_is_newest_mysql_8_0_minor_in_aws_cdk_lib() -> None:
    minors = [
        int(name.rsplit("_", 1)[1])
        for name in dir(rds.MysqlEngineVersion)
        if re.fullmatch(r"VER_8_0_\d+", name)
    ]
    assert DEFAULT_ENGINE_VERSION.mysql_full_version == f"8.0.{max(minors)}"


def test_db08_engine_pinned_with_minor_upgrades(default):
    _, _, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["Engine"] == "mysql"
    assert props["EngineVersion"] == DEFAULT_ENGINE_VERSION.mysql_full_version
    assert re.fullmatch(r"8\.0\.\d+", props["EngineVersion"])
    assert props["AutoMinorVersionUpgrade"] is True
    assert props["AllowMajorVersionUpgrade"] is False


# ---- DB-04 / ENC-04 TLS ------------------------------------------------------------------------
def test_db04_parameter_group_requires_tls_and_feeds_the_log_exports(default):
    stack, db, template = default
    group_id, group = _only(template, "AWS::RDS::DBParameterGroup")
    assert group["Properties"]["Family"] == "mysql8.0"
    assert group["Properties"]["Parameters"] == {
        "require_secure_transport": "ON",
        "log_output": "FILE",
        "slow_query_log": "1",
        "long_query_time": "2",
        "general_log": "1",
    }
    _, instance = _only(template, "AWS::RDS::DBInstance")
    assert instance["Properties"]["DBParameterGroupName"] == {"Ref": group_id}
    assert instance["Properties"]["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert group_id == _logical_id(stack, db.parameter_group)


# ---- DB-06 / LOG-06 log exports -----------------------------------------------------------------
def test_db06_log_exports_include_audit_through_the_audit_plugin(default):
    _, _, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    assert sorted(instance["Properties"]["EnableCloudwatchLogsExports"]) == [
        "audit",
        "error",
        "general",
        "slowquery",
    ]
    option_id, option_group = _only(template, "AWS::RDS::OptionGroup")
    assert option_group["Properties"]["EngineName"] == "mysql"
    assert option_group["Properties"]["MajorEngineVersion"] == "8.0"
    assert option_group["Properties"]["OptionConfigurations"] == [
        {
            "OptionName": "MARIADB_AUDIT_PLUGIN",
            "OptionSettings": [
                {"Name": "SERVER_AUDIT_EVENTS", "Value": "CONNECT,QUERY_DCL,QUERY_DDL"}
            ],
        }
    ]
    assert instance["Properties"]["OptionGroupName"] == {"Ref": option_id}


# ---- LOG-03 log groups ---------------------------------------------------------------------------
def test_log03_export_log_groups_cmk_encrypted_with_retention_created_first(default):
    stack, db, template = default
    key_id = stack.get_logical_id(db.encryption_key.node.default_child)
    groups = _resources(template, "AWS::Logs::LogGroup")
    names = sorted(
        json.dumps(group["Properties"]["LogGroupName"], sort_keys=True) for group in groups.values()
    )
    expected = sorted(
        json.dumps(
            stack.resolve(f"/aws/rds/instance/{db.instance_identifier}/{log}"), sort_keys=True
        )
        for log in LOG_EXPORTS
    )
    assert names == expected
    for group in groups.values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert group["Properties"]["RetentionInDays"] == 365
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    _, instance = _only(template, "AWS::RDS::DBInstance")
    assert sorted(instance["DependsOn"]) == sorted(groups)
    assert instance["Properties"]["DBInstanceIdentifier"] == stack.resolve(db.instance_identifier)


def test_log03_key_policy_lets_cloudwatch_logs_use_the_key_for_these_groups_only(default):
    stack, db, template = default
    key = template["Resources"][stack.get_logical_id(db.encryption_key.node.default_child)]
    statements = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "logs.us-east-1.amazonaws.com"}
    ]
    assert len(statements) == 1
    context = statements[0]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    rendered = json.dumps(context)
    assert ":log-group:/aws/rds/instance/" in rendered and '"db-' in rendered
    assert rendered.endswith('/*"]]}') and "AWS::StackId" in rendered
    assert "kms:GenerateDataKey*" in statements[0]["Action"]


def test_generated_identifier_is_lower_case_unique_per_deployment_and_bounded() -> None:
    app_stack = cdk.Stack(
        cdk.App(), "A-Very-Long-Stack-Name-That-Keeps-Going-And-Going-Beyond-Limits"
    )
    vpc, key, _ = _network(app_stack)
    first = SecureDatabase(
        app_stack,
        "Primary_Database_With_A_Rather_Long_Construct_Name",
        vpc=vpc,
        encryption_key=key,
        rotation_subnets=ROTATION_SUBNETS,
    )
    second = SecureDatabase(
        app_stack,
        "Primary-Database",
        vpc=vpc,
        encryption_key=key,
        rotation_subnets=ROTATION_SUBNETS,
    )
    stack_id_block = {
        "Fn::Select": [
            4,
            {
                "Fn::Split": [
                    "-",
                    {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]},
                ]
            },
        ]
    }
    resolved = []
    for db in (first, second):
        # CDK merges the literal parts: ["<readable>-<hash>", <stack ID block>].
        separator, (literal, suffix) = app_stack.resolve(db.instance_identifier)["Fn::Join"]
        readable, path_hash = literal.rsplit("-", 1)
        assert separator == "-" and suffix == stack_id_block  # unique per deployed stack
        assert re.fullmatch(r"[a-z][a-z0-9-]{0,29}", readable) and "--" not in readable
        assert re.fullmatch(r"[0-9a-f]{8}", path_hash)
        # 30 + 8 + 12 hex digits of the stack ID + 2 hyphens stays under RDS's 63 characters.
        assert len(readable) + len(path_hash) + 12 + 2 <= 63
        resolved.append((readable, path_hash))
    assert resolved[0] != resolved[1]


# ---- DB-05 monitoring --------------------------------------------------------------------------
def test_db05_enhanced_monitoring_with_its_own_role(default):
    stack, db, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    role_id = _logical_id(stack, db.monitoring_role)
    assert instance["Properties"]["MonitoringInterval"] == 60
    assert instance["Properties"]["MonitoringRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    role = template["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert json.dumps(role["ManagedPolicyArns"]).endswith(
        'service-role/AmazonRDSEnhancedMonitoringRole"]]}]'
    )


def test_db05_performance_insights_with_retention_and_cmk(default):
    stack, db, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    key_id = stack.get_logical_id(db.encryption_key.node.default_child)
    assert instance["Properties"]["EnablePerformanceInsights"] is True
    assert instance["Properties"]["PerformanceInsightsRetentionPeriod"] == 7
    assert instance["Properties"]["PerformanceInsightsKMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_db05_performance_insights_explicit_opt_out_on_a_class_without_it(no_insights):
    _, instance = _only(no_insights, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["DBInstanceClass"] == "db.t4g.small"
    assert props["EnablePerformanceInsights"] is False
    assert "PerformanceInsightsKMSKeyId" not in props
    assert "PerformanceInsightsRetentionPeriod" not in props


# ---- DB-03 / DB-07 / RES-02 ------------------------------------------------------------------
def test_db03_multi_az(default):
    _, _, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    assert instance["Properties"]["MultiAZ"] is True


def test_db07_backups_windows_and_deletion_protection(default):
    _, _, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["BackupRetentionPeriod"] == 7
    assert props["PreferredBackupWindow"] == "03:00-04:00"
    assert props["PreferredMaintenanceWindow"] == "sun:05:00-sun:06:00"
    assert props["CopyTagsToSnapshot"] is True
    assert props["DeletionProtection"] is True
    assert props["DeleteAutomatedBackups"] is False


def test_res02_instance_snapshot_policies(default):
    _, _, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    assert instance["DeletionPolicy"] == "Snapshot"
    assert instance["UpdateReplacePolicy"] == "Snapshot"


# ---- ENC-03 storage --------------------------------------------------------------------------
def test_enc03_gp3_storage_encrypted_with_the_cmk(default):
    stack, db, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    key_id = stack.get_logical_id(db.encryption_key.node.default_child)
    assert props["StorageType"] == "gp3"
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["AllocatedStorage"] == "20"
    assert props["MaxAllocatedStorage"] == 100
    assert props["DBInstanceClass"] == "db.t4g.medium"


# ---- DB-01 credentials ---------------------------------------------------------------------------
def test_db01_generated_secret_encrypted_with_cmk_and_retained(default):
    stack, db, template = default
    key_id = stack.get_logical_id(db.encryption_key.node.default_child)
    secret_id, secret = _only(template, "AWS::SecretsManager::Secret")
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert secret["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
    _, instance = _only(template, "AWS::RDS::DBInstance")
    password = json.dumps(instance["Properties"]["MasterUserPassword"])
    assert "{{resolve:secretsmanager:" in password
    assert secret_id in password
    # no password (or any other) parameter: only CDK's bootstrap version
    assert list(template.get("Parameters", {})) == ["BootstrapVersion"]


def test_db01_hosted_rotation_in_the_vpc_with_the_cmk(default):
    stack, db, template = default
    key_id = stack.get_logical_id(db.encryption_key.node.default_child)
    _, schedule = _only(template, "AWS::SecretsManager::RotationSchedule")
    _, attachment = _only(template, "AWS::SecretsManager::SecretTargetAttachment")
    props = schedule["Properties"]
    assert props["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    hosted = props["HostedRotationLambda"]
    assert hosted["RotationType"] == "MySQLSingleUser"
    assert hosted["KmsKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert hosted["VpcSubnetIds"] == ",".join(PRIVATE)
    assert hosted["VpcSecurityGroupIds"] == {
        "Fn::GetAtt": [_logical_id(stack, db.rotation_security_group), "GroupId"]
    }
    assert props["SecretId"]["Ref"] in template["Resources"]
    assert attachment["Properties"]["TargetType"] == "AWS::RDS::DBInstance"
    assert template["Transform"] == "AWS::SecretsManager-2024-09-16"


# ---- DB-09 -------------------------------------------------------------------------------------
def test_db09_iam_database_authentication(default):
    _, _, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    assert instance["Properties"]["EnableIAMDatabaseAuthentication"] is True


# ---- DB-02 network -------------------------------------------------------------------------------
def test_db02_isolated_subnets_not_public_non_default_port(default):
    _, _, template = default
    _, instance = _only(template, "AWS::RDS::DBInstance")
    _, subnet_group = _only(template, "AWS::RDS::DBSubnetGroup")
    assert instance["Properties"]["PubliclyAccessible"] is False
    assert instance["Properties"]["Port"] == "3307"
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
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 3307, 3307)
        assert rule["Description"].strip()
        assert "CidrIp" not in rule


def test_db02_explicit_egress_no_allow_all(default):
    stack, db, template = default
    db_sg = template["Resources"][_logical_id(stack, db.security_group)]["Properties"]
    assert db_sg["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    rotation = template["Resources"][_logical_id(stack, db.rotation_security_group)]
    (https,) = rotation["Properties"]["SecurityGroupEgress"]
    assert (https["CidrIp"], https["IpProtocol"], https["FromPort"], https["ToPort"]) == (
        VPC_CIDR,
        "tcp",
        443,
        443,
    )
    assert https["Description"].strip()
    db_sg_id = {"Fn::GetAtt": [_logical_id(stack, db.security_group), "GroupId"]}
    egress = [
        rule["Properties"]
        for rule in _resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if rule["Properties"]["DestinationSecurityGroupId"] == db_sg_id
    ]
    # the peers' own egress rules toward the DB port (they restrict outbound traffic)
    assert len(egress) == 2
    assert {(rule["FromPort"], rule["ToPort"]) for rule in egress} == {(3307, 3307)}


def test_allow_from_requires_a_description() -> None:
    stack = new_stack()
    db = _database(stack)
    with pytest.raises(ValueError, match=r"SecureDatabase: description=' ' is invalid"):
        db.allow_from(ec2.SecurityGroup(stack, "Other", vpc=db.instance.vpc), " ")


# ---- public API -----------------------------------------------------------------------------
def test_public_attributes_are_typed_children(default):
    _, db, _ = default
    assert isinstance(db.instance, rds.DatabaseInstance)
    assert db.instance.node.id == "Resource"
    assert cdk.Token.is_unresolved(db.secret.secret_arn)
    assert db.secret.encryption_key is db.encryption_key
    assert isinstance(db.security_group, ec2.SecurityGroup)
    assert isinstance(db.parameter_group, rds.ParameterGroup)
    assert isinstance(db.option_group, rds.OptionGroup)
    assert isinstance(db.monitoring_role, iam.Role)
    assert isinstance(db.rotation_schedule, secretsmanager.RotationSchedule)
    assert set(db.log_groups) == set(LOG_EXPORTS)
    assert db.port == 3307


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
    assert ":dbuser:" in connect
    assert connect.endswith('"/app_iam_user"]]}')
    secret_read = statements.pop(
        '["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]'
    )
    assert secret_read == json.dumps({"Ref": stack.get_logical_id(db.secret.node.default_child)})
    assert statements == {}
    # decrypting the secret is granted on the key, only through Secrets Manager
    key = template["Resources"][stack.get_logical_id(db.encryption_key.node.default_child)]
    (decrypt,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"AWS": {"Fn::GetAtt": [role_id, "Arn"]}}
    ]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }


def test_grant_connect_requires_a_db_user() -> None:
    stack = new_stack()
    db = _database(stack)
    role = iam.Role(stack, "OtherRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    with pytest.raises(ValueError, match=r"^SecureDatabase: db_user='' is invalid"):
        db.grant_connect(role, "")


def test_metrics_delegate_to_the_instance(default):
    _, db, _ = default
    expected = {
        db.metric_cpu(): "CPUUtilization",
        db.metric_free_storage(): "FreeStorageSpace",
        db.metric_connections(): "DatabaseConnections",
    }
    for metric, name in expected.items():
        assert metric.namespace == "AWS/RDS"
        assert metric.metric_name == name
        assert "DBInstanceIdentifier" in metric.dimensions
    assert db.metric_cpu(period=cdk.Duration.minutes(1), statistic="Maximum").statistic == (
        "Maximum"
    )


# ---- arguments that change behaviour --------------------------------------------------------
def test_custom_engine_class_storage_and_availability(custom):
    _, _, template = custom
    _, instance = _only(template, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["EngineVersion"] == "8.4.10"
    assert props["DBInstanceClass"] == "db.m7g.large"
    assert props["AllocatedStorage"] == "100"
    assert "MaxAllocatedStorage" not in props
    assert props["MultiAZ"] is False
    assert props["DeletionProtection"] is False
    assert props["DBInstanceIdentifier"] == "orders-db"
    assert props["DBName"] == "orders"
    _, group = _only(template, "AWS::RDS::DBParameterGroup")
    assert group["Properties"]["Family"] == "mysql8.4"
    _, option_group = _only(template, "AWS::RDS::OptionGroup")
    assert option_group["Properties"]["MajorEngineVersion"] == "8.4"


def test_custom_backups_monitoring_and_insights(custom):
    _, _, template = custom
    _, instance = _only(template, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["BackupRetentionPeriod"] == 35
    assert props["PreferredBackupWindow"] == "22:00-22:30"
    assert props["PreferredMaintenanceWindow"] == "wed:01:00-wed:02:00"
    assert props["MonitoringInterval"] == 15
    assert props["PerformanceInsightsRetentionPeriod"] == 731


def test_custom_port_parameter_reaches_instance_and_rules(custom):
    _, db, template = custom
    assert cdk.Token.is_unresolved(db.port)
    _, instance = _only(template, "AWS::RDS::DBInstance")
    assert instance["Properties"]["Port"] == {"Ref": "DatabasePort"}
    for type_ in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        for rule in _resources(template, type_).values():
            assert rule["Properties"]["FromPort"] == {"Ref": "DatabasePort"}
            assert rule["Properties"]["ToPort"] == {"Ref": "DatabasePort"}


def test_custom_logging_audit_and_retention(custom):
    _, _, template = custom
    _, group = _only(template, "AWS::RDS::DBParameterGroup")
    assert group["Properties"]["Parameters"]["general_log"] == "0"
    assert group["Properties"]["Parameters"]["long_query_time"] == "5"
    assert group["Properties"]["Parameters"]["require_secure_transport"] == "ON"
    _, option_group = _only(template, "AWS::RDS::OptionGroup")
    (setting,) = option_group["Properties"]["OptionConfigurations"][0]["OptionSettings"]
    assert setting["Value"] == "CONNECT,QUERY_DML_NO_SELECT"
    for log_group in _resources(template, "AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] == 90
        assert log_group["Properties"]["LogGroupName"].startswith("/aws/rds/instance/orders-db/")


def test_custom_rotation_schedule_subnets_and_peer(custom):
    stack, db, template = custom
    _, schedule = _only(template, "AWS::SecretsManager::RotationSchedule")
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(7 days)"}
    assert schedule["Properties"]["HostedRotationLambda"]["VpcSubnetIds"] == ",".join(ISOLATED)
    rotation = template["Resources"][_logical_id(stack, db.rotation_security_group)]
    (egress,) = rotation["Properties"]["SecurityGroupEgress"]
    assert (egress["CidrIp"], egress["FromPort"]) == ("0.0.0.0/0", 443)
    _, secret = _only(template, "AWS::SecretsManager::Secret")
    assert "ordersadmin" in secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"]


# ---- bad input ------------------------------------------------------------------------------
BAD_INPUT = [
    ({"backup_retention_days": 3}, r"backup_retention_days=3 is invalid; use a value between 7"),
    ({"backup_retention_days": 36}, r"backup_retention_days=36 is invalid"),
    ({"port": 70000}, r"port=70000 is invalid; use a value between 1150 and 65535"),
    ({"port": 3306}, r"port=3306 is invalid; DB-02 asks for a non-default port"),
    ({"port": 3307.5}, r"port=3307.5 is invalid; pass a whole number"),
    (
        {"instance_type": ec2.InstanceType("t3.micro")},
        r"instance_type='t3.micro' is invalid; RDS for MySQL has no Performance Insights",
    ),
    ({"instance_type": ec2.InstanceType("db.m7g.large")}, r"instance_type='db.m7g.large'"),
    ({"engine_version": rds.MysqlEngineVersion.VER_8_0}, r"engine_version='8.0' .*pinned minor"),
    ({"engine_version": rds.MysqlEngineVersion.VER_5_7_44}, r"engine_version='5.7.44'"),
    ({"allocated_storage_gib": 10}, r"allocated_storage_gib=10 is invalid"),
    (
        {"allocated_storage_gib": 100, "max_allocated_storage_gib": 105},
        r"max_allocated_storage_gib=105 is invalid; use at least 10 % more",
    ),
    ({"preferred_backup_window": "3:00-4:00"}, r"preferred_backup_window='3:00-4:00'"),
    ({"preferred_backup_window": "03:00-03:15"}, r"preferred_backup_window=.*at least 30 min"),
    ({"preferred_maintenance_window": "sun:05:00"}, r"preferred_maintenance_window='sun:05:00'"),
    (
        {"preferred_maintenance_window": "xyz:05:00-xyz:06:00"},
        r"preferred_maintenance_window='xyz:05:00-xyz:06:00' is invalid; use ddd:hh:mm-ddd",
    ),
    (
        {"preferred_maintenance_window": "sun:05:00-sun:05:10"},
        r"preferred_maintenance_window=.*at least 30 minutes",
    ),
    (
        {"preferred_maintenance_window": "mon:03:30-mon:04:30"},
        r"preferred_maintenance_window='mon:03:30-mon:04:30' .*overlap",
    ),
    (
        {
            "preferred_backup_window": "23:30-00:30",
            "preferred_maintenance_window": "tue:00:00-tue:00:45",
        },
        r"preferred_maintenance_window=.*does not overlap preferred_backup_window='23:30-00:30'",
    ),
    ({"monitoring_interval": cdk.Duration.seconds(45)}, r"monitoring_interval='45s' is invalid"),
    ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.*explicit retention"),
    ({"rotation_days": 0}, r"rotation_days=0 is invalid"),
    ({"audit_events": ("CONNECT", "EVERYTHING")}, r"audit_events=\['CONNECT', 'EVERYTHING'\]"),
    ({"audit_events": ()}, r"audit_events=\[\] is invalid"),
    ({"database_name": "1orders"}, r"database_name='1orders' is invalid"),
    ({"master_username": "admin"}, r"master_username='admin' is invalid"),
    ({"instance_identifier": "Orders_DB"}, r"instance_identifier='Orders_DB' is invalid"),
    ({"slow_query_seconds": -1}, r"slow_query_seconds=-1 is invalid"),
    (
        {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)},
        r"subnets='subnet_type=SubnetType.PUBLIC' is invalid; DB-02",
    ),
    (
        {"subnets": ec2.SubnetSelection(subnet_group_name="Public")},
        r"subnets='public subnets' is invalid",
    ),
    (
        {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)},
        r"subnets='subnet_type=SubnetType.PRIVATE_WITH_EGRESS' is invalid; DB-02",
    ),
    (
        {"subnets": ec2.SubnetSelection(subnets=[])},
        r"subnets='0 subnet\(s\)' is invalid; select subnets in at least two",
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
    with pytest.raises(ValueError, match=rf"^SecureDatabase: {message}"):
        SecureDatabase(stack, "Db", **arguments)
    assert stack.node.try_find_child("Db") is None


def test_port_token_is_accepted_without_range_check(network):
    stack, vpc, key = network
    port = cdk.CfnParameter(stack, "Port", type="Number")
    db = SecureDatabase(
        stack,
        "Db",
        vpc=vpc,
        encryption_key=key,
        rotation_subnets=ROTATION_SUBNETS,
        port=port.value_as_number,
    )
    assert db.port == port.value_as_number


def test_no_synth_warnings_or_errors(default):
    stack, _, _ = default
    annotations = Annotations.from_stack(stack)
    assert annotations.find_warning("*", Match.any_value()) == []
    assert annotations.find_error("*", Match.any_value()) == []


# ---- gates ------------------------------------------------------------------------------------
def test_nag_clean_under_the_four_packs() -> None:
    assert nag_findings(_database) == []


@pytest.mark.parametrize("variant", ["default", "custom"])
def test_cfn_lint_reports_nothing(variant, request):
    _, _, template = request.getfixturevalue(variant)
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []


def test_cfn_lint_reports_nothing_without_performance_insights(no_insights):
    matches = lint(json.dumps(no_insights), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []
