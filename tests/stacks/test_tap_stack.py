"""TapStack (seed 002): one test per control of its SPEC 2.3 profile, snapshot, pinned IDs.

Every test reads the template that ``cdk synth`` writes (the session fixture), never a
re-synthesized copy, so what is proven here is what ships.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from tests.stacks.queries import (
    as_list,
    mentions,
    properties,
    ref,
    rendered,
    resources,
    statements,
    tag_value,
    the,
)

Template = dict[str, Any]

#: Stateful resources whose logical IDs must never change by accident: a new ID replaces the
#: resource (a new, empty database or bucket). Renaming one is a migration, not a refactor.
PINNED_STATEFUL_IDS = {
    "AWS::KMS::Key": {"DataKey5CEB6F76"},
    "AWS::S3::Bucket": {
        "AccessLogsBucketFA218D2A",
        "AlbLogsBucket698B8C8C",
        "ConfigBucketE7CC15D9",
        "FlowLogsBucket9AC74A68",
        "TrailBucketFC732D74",
    },
    "AWS::RDS::DBInstance": {"DatabaseF44359DD"},
    "AWS::SecretsManager::Secret": {"DatabaseSecret3B817195"},
    "AWS::SQS::Queue": {"AlarmTopicDeadLetterQueueD25B3C4C"},
    "AWS::Logs::LogGroup": {
        "AppFleetLogGroup7019B4FF",
        "AuditTrailLogGroup28BB9333",
        "DatabaseAuditLog0F81DE5F",
        "DatabaseErrorLog7CF11521",
        "DatabaseGeneralLog88AB7C89",
        "DatabaseSlowqueryLog5BF892D0",
        "NetworkDefaultSgHandlerLogGroup05C3597D",
        "NetworkFlowLogGroup4F8CEEEF",
        "WebAclLogs68403EB9",
    },
}


@pytest.fixture(scope="module")
def tap(templates: dict[str, Template]) -> Template:
    return templates["TapStack"]


# ---- snapshot and pinned identities -------------------------------------------------------------
def _masked(template: Template) -> Template:
    """The template with asset hashes and CDK version details masked."""
    text = json.dumps(template, sort_keys=True)
    text = re.sub(r"[0-9a-f]{64}", "<asset-hash>", text)
    text = re.sub(r'"/cdk-bootstrap/[^"]*"', '"<bootstrap-parameter>"', text)
    return dict(json.loads(text))


def test_template_snapshot(tap: Template, snapshot: SnapshotAssertion) -> None:
    assert _masked(tap) == snapshot


@pytest.mark.parametrize("resource_type", sorted(PINNED_STATEFUL_IDS))
def test_stateful_logical_ids_are_pinned(tap: Template, resource_type: str) -> None:
    assert set(resources(tap, resource_type)) == PINNED_STATEFUL_IDS[resource_type]


# ---- NET ----------------------------------------------------------------------------------------
def test_NET_01_subnets_span_two_azs_from_getazs_and_one_vpc_cidr(tap: Template) -> None:
    subnets = properties(tap, "AWS::EC2::Subnet")
    assert len(subnets) == 6
    azs = {json.dumps(s["AvailabilityZone"], sort_keys=True) for s in subnets}
    assert azs == {
        json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}, sort_keys=True) for i in (0, 1)
    }
    assert not re.search(r'"[a-z]{2}-[a-z]+-\d[a-f]"', json.dumps(tap)), "literal AZ name"
    (_, vpc) = the(tap, "AWS::EC2::VPC")
    assert vpc["Properties"]["CidrBlock"] == "10.0.0.0/16"
    assert all(s["CidrBlock"].startswith("10.0.") for s in subnets)


def _route_tables_by_subnet(tap: Template) -> dict[str, str]:
    return {
        a["Properties"]["SubnetId"]["Ref"]: a["Properties"]["RouteTableId"]["Ref"]
        for a in resources(tap, "AWS::EC2::SubnetRouteTableAssociation").values()
    }


def _subnets_of_tier(tap: Template, tier: str) -> list[str]:
    return [
        logical_id
        for logical_id, subnet in resources(tap, "AWS::EC2::Subnet").items()
        if tag_value(subnet, "aws-cdk:subnet-name") == tier
    ]


def test_NET_02_three_tiers_and_isolated_subnets_on_own_route_tables(tap: Template) -> None:
    tables = _route_tables_by_subnet(tap)
    data = _subnets_of_tier(tap, "Data")
    assert len(_subnets_of_tier(tap, "Public")) == len(_subnets_of_tier(tap, "App")) == 2
    assert len(data) == 2
    assert len({tables[s] for s in data}) == 2, "each data subnet needs its own route table"
    data_tables = {tables[s] for s in data}
    for route in properties(tap, "AWS::EC2::Route"):
        if route["RouteTableId"]["Ref"] in data_tables:
            assert "GatewayId" not in route and "NatGatewayId" not in route


def test_NET_03_one_nat_per_az_and_private_routes_to_own_az(tap: Template) -> None:
    nats = resources(tap, "AWS::EC2::NatGateway")
    assert len(nats) == 2
    nat_subnet = {nat_id: n["Properties"]["SubnetId"]["Ref"] for nat_id, n in nats.items()}
    subnet_az = {
        logical_id: json.dumps(s["Properties"]["AvailabilityZone"], sort_keys=True)
        for logical_id, s in resources(tap, "AWS::EC2::Subnet").items()
    }
    tables = _route_tables_by_subnet(tap)
    app = _subnets_of_tier(tap, "App")
    assert len({tables[s] for s in app}) == len(app), "one route table per private subnet"
    for subnet in app:
        [route] = [
            r
            for r in properties(tap, "AWS::EC2::Route")
            if r["RouteTableId"]["Ref"] == tables[subnet]
            and r["DestinationCidrBlock"] == "0.0.0.0/0"
        ]
        nat = route["NatGatewayId"]["Ref"]
        assert subnet_az[nat_subnet[nat]] == subnet_az[subnet], f"{subnet} routes to another AZ"


def test_NET_04_flow_logs_all_traffic_to_encrypted_logs_and_s3(tap: Template) -> None:
    flow_logs = properties(tap, "AWS::EC2::FlowLog")
    assert {f["TrafficType"] for f in flow_logs} == {"ALL"}
    destinations = {f.get("LogDestinationType", "cloud-watch-logs") for f in flow_logs}
    assert destinations == {"cloud-watch-logs", "s3"}
    [cw] = [f for f in flow_logs if "DeliverLogsPermissionArn" in f]
    group_id = cw["LogGroupName"]["Ref"]
    group = tap["Resources"][group_id]["Properties"]
    assert "KmsKeyId" in group and "RetentionInDays" in group
    role_id = cw["DeliverLogsPermissionArn"]["Fn::GetAtt"][0]
    assert mentions(tap["Resources"][role_id], "vpc-flow-logs.amazonaws.com")
    [s3_log] = [f for f in flow_logs if f.get("LogDestinationType") == "s3"]
    assert mentions(s3_log["LogDestination"], "FlowLogsBucket")


def test_NET_05_network_acls_on_every_tier_with_explicit_entries(tap: Template) -> None:
    acls = resources(tap, "AWS::EC2::NetworkAcl")
    assert len(acls) == 3
    entries = properties(tap, "AWS::EC2::NetworkAclEntry")
    for acl_id in acls:
        mine = [e for e in entries if e["NetworkAclId"] == ref(acl_id)]
        assert any(e.get("Egress") for e in mine) and any(not e.get("Egress") for e in mine)
        assert all(e["Protocol"] != -1 or e.get("RuleAction") == "deny" for e in mine), (
            f"{acl_id} allows all protocols"
        )
    associations = properties(tap, "AWS::EC2::SubnetNetworkAclAssociation")
    assert len(associations) == 6


def test_NET_06_security_groups_least_privilege(tap: Template) -> None:
    groups = resources(tap, "AWS::EC2::SecurityGroup")
    for group_id, group in groups.items():
        props = group["Properties"]
        egress = props.get("SecurityGroupEgress")
        assert egress, f"{group_id} has no explicit egress: EC2 would add allow-all"
        assert not any(
            e.get("CidrIp") == "0.0.0.0/0" and e.get("IpProtocol") == "-1" for e in egress
        )
        for rule in [*egress, *props.get("SecurityGroupIngress", [])]:
            assert rule.get("Description"), f"{group_id} has a rule without description"
    world_ingress = [
        rule
        for rule in properties(tap, "AWS::EC2::SecurityGroupIngress")
        + [r for g in groups.values() for r in g["Properties"].get("SecurityGroupIngress", [])]
        if rule.get("CidrIp") == "0.0.0.0/0"
    ]
    assert world_ingress and {r["FromPort"] for r in world_ingress} <= {80, 443}
    for rule in properties(tap, "AWS::EC2::SecurityGroupIngress"):
        assert rule.get("Description")
    db_ingress = [
        r
        for r in properties(tap, "AWS::EC2::SecurityGroupIngress")
        if mentions(r["GroupId"], "DatabaseSecurityGroup")
    ]
    assert db_ingress and all("SourceSecurityGroupId" in r for r in db_ingress)
    assert {r["FromPort"] for r in db_ingress} == {3307}
    assert any(mentions(r["SourceSecurityGroupId"], "AppFleetSecurityGroup") for r in db_ingress)


def test_NET_07_gateway_and_interface_endpoints_with_private_dns(tap: Template) -> None:
    endpoints = properties(tap, "AWS::EC2::VPCEndpoint")
    gateway = [e for e in endpoints if e.get("VpcEndpointType", "Gateway") == "Gateway"]
    interface = [e for e in endpoints if e.get("VpcEndpointType") == "Interface"]
    assert any(mentions(e["ServiceName"], ".s3") for e in gateway)
    services = json.dumps([e["ServiceName"] for e in interface])
    for service in ("ssm", "ssmmessages", "ec2messages", "secretsmanager", "kms", "logs", "sts"):
        assert f".{service}" in services, service
    assert all(e["PrivateDnsEnabled"] is True for e in interface)
    assert all(len(e["SecurityGroupIds"]) == 1 for e in interface)


# ---- ENC ----------------------------------------------------------------------------------------
def test_ENC_01_customer_key_with_rotation_and_alias(tap: Template) -> None:
    key_id, key = the(tap, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    (_, alias) = the(tap, "AWS::KMS::Alias")
    assert alias["Properties"]["TargetKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_ENC_02_key_policy_separates_administration_from_use(tap: Template) -> None:
    (_, key) = the(tap, "AWS::KMS::Key")
    policy = key["Properties"]["KeyPolicy"]["Statement"]
    for statement in policy:
        actions = as_list(statement["Action"])
        assert "kms:*" not in actions and "*" not in actions
        principal = statement["Principal"]
        if "Service" in principal:
            assert statement.get("Condition"), f"{statement.get('Sid')}: unscoped service"
    [usage] = [s for s in policy if s.get("Sid") == "KeyUsageThroughAwsServices"]
    assert "kms:ViaService" in usage["Condition"]["StringEquals"]
    [admin] = [s for s in policy if s.get("Sid") == "KeyAdministration"]
    assert not {"kms:Encrypt", "kms:Decrypt"} & set(admin["Action"])


def test_ENC_03_every_store_encrypted_with_the_customer_key(tap: Template) -> None:
    kms_arn = {"Fn::GetAtt": [next(iter(resources(tap, "AWS::KMS::Key"))), "Arn"]}
    for group in properties(tap, "AWS::Logs::LogGroup"):
        assert group["KmsKeyId"] == kms_arn
    (_, db) = the(tap, "AWS::RDS::DBInstance")
    assert db["Properties"]["StorageEncrypted"] is True and "KmsKeyId" in db["Properties"]
    assert "PerformanceInsightsKMSKeyId" in db["Properties"]
    assert all("KmsMasterKeyId" in t for t in properties(tap, "AWS::SNS::Topic"))
    assert all("KmsMasterKeyId" in q for q in properties(tap, "AWS::SQS::Queue"))
    assert all("KmsKeyId" in s for s in properties(tap, "AWS::SecretsManager::Secret"))
    (_, trail) = the(tap, "AWS::CloudTrail::Trail")
    assert trail["Properties"]["KMSKeyId"] == kms_arn
    for bucket in properties(tap, "AWS::S3::Bucket"):
        sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"aws:kms", "AES256"}
    [volume] = properties(tap, "AWS::EC2::LaunchTemplate")[0]["LaunchTemplateData"][
        "BlockDeviceMappings"
    ]
    assert volume["Ebs"]["KmsKeyId"] == kms_arn


def test_ENC_04_tls_everywhere(tap: Template) -> None:
    for policy in properties(tap, "AWS::S3::BucketPolicy"):
        assert any(
            s["Effect"] == "Deny" and mentions(s.get("Condition"), "aws:SecureTransport")
            for s in policy["PolicyDocument"]["Statement"]
        )
    (_, params) = the(tap, "AWS::RDS::DBParameterGroup")
    assert params["Properties"]["Parameters"]["require_secure_transport"] == "ON"
    listeners = resources(tap, "AWS::ElasticLoadBalancingV2::Listener")
    [https] = [
        listener for listener in listeners.values() if listener["Properties"]["Protocol"] == "HTTPS"
    ]
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    [http] = [
        listener for listener in listeners.values() if listener["Properties"]["Protocol"] == "HTTP"
    ]
    action = http["Properties"]["DefaultActions"][0]
    assert mentions(action, "HasCertificate") and mentions(action, "HTTPS")


# ---- IAM ----------------------------------------------------------------------------------------
def test_IAM_01_no_wildcard_actions_and_managed_policies_acknowledged(tap: Template) -> None:
    for statement in statements(tap, "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        assert "*" not in as_list(statement["Action"]), statement
    assert resources(tap, "AWS::IAM::Policy") == {} or all(
        mentions(p, "DefaultPolicy") for p in resources(tap, "AWS::IAM::Policy")
    )


def test_IAM_05_fleet_has_own_role_with_separate_policies_and_scoped_secret_read(
    tap: Template,
) -> None:
    (_, profile) = the(tap, "AWS::IAM::InstanceProfile")
    role_id = profile["Properties"]["Roles"][0]["Ref"]
    role = tap["Resources"][role_id]["Properties"]
    managed = json.dumps(role["ManagedPolicyArns"])
    assert "AmazonSSMManagedInstanceCore" in managed and "CloudWatchAgentServerPolicy" in managed
    attached = [
        p for p in properties(tap, "AWS::IAM::ManagedPolicy") if ref(role_id) in p.get("Roles", [])
    ]
    assert len(attached) >= 2, "separate customer-managed policies per concern"
    secret_reads = [
        s
        for p in attached
        for s in p["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    assert secret_reads and all(s["Resource"] != "*" for s in secret_reads)


def test_IAM_06_service_roles_for_monitoring_flow_logs_config_and_trail(tap: Template) -> None:
    trusted = json.dumps([r["AssumeRolePolicyDocument"] for r in properties(tap, "AWS::IAM::Role")])
    for service in (
        "monitoring.rds.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
        "config.amazonaws.com",
        "cloudtrail.amazonaws.com",
    ):
        assert service in trusted, service


# ---- CMP ----------------------------------------------------------------------------------------
def _launch_data(tap: Template) -> dict[str, Any]:
    (_, template) = the(tap, "AWS::EC2::LaunchTemplate")
    data: dict[str, Any] = template["Properties"]["LaunchTemplateData"]
    return data


def test_CMP_01_launch_template_with_ssm_parameter_ami(tap: Template) -> None:
    assert "Mappings" not in tap
    image = _launch_data(tap)["ImageId"]["Ref"]
    assert tap["Parameters"][image]["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert "al2023" in tap["Parameters"][image]["Default"]
    assert resources(tap, "AWS::EC2::Instance") == {}
    assert resources(tap, "AWS::AutoScaling::LaunchConfiguration") == {}


def test_CMP_02_imdsv2_required(tap: Template) -> None:
    assert _launch_data(tap)["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 1,
        "HttpTokens": "required",
    }


def test_CMP_03_root_volume_gp3_encrypted_deleted_on_termination(tap: Template) -> None:
    [mapping] = _launch_data(tap)["BlockDeviceMappings"]
    ebs = mapping["Ebs"]
    assert (ebs["VolumeType"], ebs["Encrypted"], ebs["DeleteOnTermination"]) == ("gp3", True, True)


def _user_data(tap: Template) -> str:
    """The launch template's user data as the script text (references rendered as JSON)."""
    return rendered(_launch_data(tap)["UserData"]["Fn::Base64"])


def _asg(tap: Template) -> dict[str, Any]:
    (_, group) = the(tap, "AWS::AutoScaling::AutoScalingGroup")
    return group


def test_CMP_04_asg_over_private_subnets_with_elb_health_and_notifications(tap: Template) -> None:
    props = _asg(tap)["Properties"]
    app = _subnets_of_tier(tap, "App")
    assert sorted(s["Ref"] for s in props["VPCZoneIdentifier"]) == sorted(app)
    assert props["HealthCheckType"] == "ELB" and props["HealthCheckGracePeriod"] > 0
    assert int(props["MinSize"]) >= 2
    assert props["DesiredCapacity"] == ref("InstanceCount")
    assert props["MetricsCollection"]
    [notification] = props["NotificationConfigurations"]
    assert len(notification["NotificationTypes"]) == 4
    assert props["TargetGroupARNs"]


def test_CMP_05_rolling_update_and_creation_policy_wait_for_signals(tap: Template) -> None:
    group = _asg(tap)
    rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True and rolling["MinInstancesInService"] >= 1
    assert group["CreationPolicy"]["ResourceSignal"]["Count"] >= 2
    script = _user_data(tap)
    # The signal is sent from the EXIT trap with the script's exit code, and the script only
    # exits 0 after the application answered its health check.
    assert re.search(r"trap exitTrap EXIT", script)
    assert re.search(r"cfn-signal .*-e \$exitCode", script)
    assert "set -euo pipefail" in script
    readiness = script.index("http://127.0.0.1:80/health")
    assert script.index("exit 1", readiness) > readiness


def test_CMP_06_target_tracking_step_predictive_hooks_and_mixed_instances(tap: Template) -> None:
    policies = properties(tap, "AWS::AutoScaling::ScalingPolicy")
    kinds = {p.get("PolicyType", "SimpleScaling") for p in policies}
    assert {"TargetTrackingScaling", "StepScaling", "PredictiveScaling"} <= kinds
    tracked = json.dumps([p.get("TargetTrackingConfiguration") for p in policies])
    assert "ASGAverageCPUUtilization" in tracked and "ALBRequestCountPerTarget" in tracked
    hooks = properties(tap, "AWS::AutoScaling::LifecycleHook")
    assert {h["LifecycleTransition"] for h in hooks} == {
        "autoscaling:EC2_INSTANCE_LAUNCHING",
        "autoscaling:EC2_INSTANCE_TERMINATING",
    }
    overrides = _asg(tap)["Properties"]["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
    assert len(overrides) >= 3


def test_CMP_07_cloudwatch_agent_ships_memory_disk_and_logs(tap: Template) -> None:
    script = _user_data(tap)
    assert "amazon-cloudwatch-agent-ctl -a fetch-config" in script
    config = json.loads(script.split("<<'CWAGENTCONFIG'\n")[1].split("CWAGENTCONFIG")[0])
    metrics = config["metrics"]["metrics_collected"]
    assert "mem_used_percent" in metrics["mem"]["measurement"]
    assert "used_percent" in metrics["disk"]["measurement"]
    shipped = {f["file_path"] for f in config["logs"]["logs_collected"]["files"]["collect_list"]}
    assert {"/var/log/messages", "/var/log/app/app.log"} <= shipped


# ---- DB -----------------------------------------------------------------------------------------
def _db(tap: Template) -> dict[str, Any]:
    (_, db) = the(tap, "AWS::RDS::DBInstance")
    props: dict[str, Any] = db["Properties"]
    return props


def test_DB_01_credentials_generated_in_secrets_manager_with_rotation(tap: Template) -> None:
    assert not any(p.get("NoEcho") for p in tap["Parameters"].values())
    assert mentions(_db(tap)["MasterUserPassword"], "resolve:secretsmanager")
    [secret] = properties(tap, "AWS::SecretsManager::Secret")
    assert "GenerateSecretString" in secret and "KmsKeyId" in secret
    [rotation] = properties(tap, "AWS::SecretsManager::RotationSchedule")
    assert rotation["RotationRules"] and "HostedRotationLambda" in rotation


def test_DB_02_isolated_private_non_default_port(tap: Template) -> None:
    db = _db(tap)
    assert db["PubliclyAccessible"] is False
    assert db["Port"] == "3307"
    (_, group) = the(tap, "AWS::RDS::DBSubnetGroup")
    assert sorted(s["Ref"] for s in group["Properties"]["SubnetIds"]) == sorted(
        _subnets_of_tier(tap, "Data")
    )


def test_DB_03_multi_az(tap: Template) -> None:
    assert _db(tap)["MultiAZ"] is True


def test_DB_04_parameter_group_forces_tls(tap: Template) -> None:
    (group_id, group) = the(tap, "AWS::RDS::DBParameterGroup")
    assert group["Properties"]["Parameters"]["require_secure_transport"] == "ON"
    assert _db(tap)["DBParameterGroupName"] == ref(group_id)


def test_DB_05_enhanced_monitoring_and_performance_insights(tap: Template) -> None:
    db = _db(tap)
    assert db["MonitoringInterval"] == 60 and "MonitoringRoleArn" in db
    assert db["EnablePerformanceInsights"] is True
    assert db["PerformanceInsightsRetentionPeriod"] >= 7


def test_DB_06_log_exports(tap: Template) -> None:
    assert set(_db(tap)["EnableCloudwatchLogsExports"]) == {
        "error",
        "general",
        "slowquery",
        "audit",
    }


def test_DB_07_backups_windows_tags_protection_and_snapshot_policy(tap: Template) -> None:
    (_, resource) = the(tap, "AWS::RDS::DBInstance")
    db = resource["Properties"]
    assert db["BackupRetentionPeriod"] >= 7
    assert db["PreferredBackupWindow"] and db["PreferredMaintenanceWindow"]
    assert db["CopyTagsToSnapshot"] is True and db["DeletionProtection"] is True
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Snapshot"


def test_DB_08_engine_pinned_to_mysql_8_0_minor_with_auto_upgrades(tap: Template) -> None:
    db = _db(tap)
    assert db["Engine"] == "mysql"
    assert re.fullmatch(r"8\.0\.\d+", db["EngineVersion"])
    assert db["AutoMinorVersionUpgrade"] is True


def test_DB_09_iam_database_authentication(tap: Template) -> None:
    assert _db(tap)["EnableIAMDatabaseAuthentication"] is True


# ---- S3 -----------------------------------------------------------------------------------------
def test_S3_01_buckets_private_owner_enforced_versioned_encrypted(tap: Template) -> None:
    for logical_id, bucket in resources(tap, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values()), logical_id
        assert len(props["PublicAccessBlockConfiguration"]) == 4
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        algorithm = sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        if logical_id.startswith(("AccessLogsBucket", "AlbLogsBucket")):
            assert algorithm == "AES256"  # the writing services require SSE-S3
        else:
            assert algorithm == "aws:kms"


def test_S3_02_access_logging_to_the_dedicated_bucket(tap: Template) -> None:
    buckets = resources(tap, "AWS::S3::Bucket")
    [log_bucket] = [b for b in buckets if b.startswith("AccessLogsBucket")]
    for logical_id, bucket in buckets.items():
        if logical_id != log_bucket:
            target = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]
            assert target == ref(log_bucket), logical_id


def test_S3_03_lifecycle_tiering_noncurrent_expiry_and_multipart_cleanup(tap: Template) -> None:
    for logical_id, bucket in resources(tap, "AWS::S3::Bucket").items():
        [rule] = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert rule["Transitions"], logical_id
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
        assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] > 0


def test_S3_04_log_buckets_immutable_and_service_writes_conditioned(tap: Template) -> None:
    for policy in properties(tap, "AWS::S3::BucketPolicy"):
        document = policy["PolicyDocument"]["Statement"]
        denies = [s for s in document if s["Effect"] == "Deny"]
        assert any("s3:DeleteObjectVersion" in as_list(s["Action"]) for s in denies)
        assert any("s3:PutBucketPolicy" in as_list(s["Action"]) for s in denies)
        for statement in document:
            principal = statement.get("Principal", {})
            writes = "s3:PutObject" in as_list(statement["Action"])
            if statement["Effect"] == "Allow" and isinstance(principal, dict) and writes:
                service = json.dumps(principal)
                if "logdelivery.elasticloadbalancing" in service or "AWS" in principal:
                    continue  # the ELB log-delivery account principal takes no conditions
                assert mentions(statement.get("Condition"), "aws:Source"), statement


# ---- LOG ----------------------------------------------------------------------------------------
def test_LOG_01_trail_multi_region_validated_encrypted_streamed_with_data_events(
    tap: Template,
) -> None:
    (_, trail) = the(tap, "AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert props["IsMultiRegionTrail"] and props["IncludeGlobalServiceEvents"]
    assert props["EnableLogFileValidation"] is True and "KMSKeyId" in props
    assert "CloudWatchLogsLogGroupArn" in props and "CloudWatchLogsRoleArn" in props
    assert mentions(props["AdvancedEventSelectors"], "AWS::S3::Object")


def test_LOG_02_config_records_everything_into_an_encrypted_bucket(tap: Template) -> None:
    (_, recorder) = the(tap, "AWS::Config::ConfigurationRecorder")
    group = recorder["Properties"]["RecordingGroup"]
    assert group == {"AllSupported": True, "IncludeGlobalResourceTypes": True}
    (_, channel) = the(tap, "AWS::Config::DeliveryChannel")
    assert "S3KmsKeyArn" in channel["Properties"]
    role_id = recorder["Properties"]["RoleARN"]["Fn::GetAtt"][0]
    assert mentions(tap["Resources"][role_id], "AWS_ConfigRole")
    assert len(resources(tap, "AWS::Config::ConfigRule")) >= 20


def test_LOG_03_every_log_group_encrypted_with_retention(tap: Template) -> None:
    for logical_id, group in resources(tap, "AWS::Logs::LogGroup").items():
        assert "KmsKeyId" in group["Properties"], logical_id
        assert group["Properties"].get("RetentionInDays"), logical_id


def test_LOG_04_alb_access_logs_to_s3_with_lifecycle(tap: Template) -> None:
    (_, alb) = the(tap, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    bucket_id = attributes["access_logs.s3.bucket"]["Ref"]
    rules = tap["Resources"][bucket_id]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rules[0]["ExpirationInDays"] == 90


def test_LOG_05_waf_logging_to_encrypted_log_group(tap: Template) -> None:
    (_, logging) = the(tap, "AWS::WAFv2::LoggingConfiguration")
    destination = logging["Properties"]["LogDestinationConfigs"]
    assert mentions(destination, "aws-waf-logs-") or mentions(destination, "WebAcl")


# ---- EDGE ---------------------------------------------------------------------------------------
def test_EDGE_01_alb_hardened_attributes(tap: Template) -> None:
    (_, alb) = the(tap, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.preserve_host_header.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"


def test_EDGE_02_certificate_is_optional_through_a_condition(tap: Template) -> None:
    parameter = tap["Parameters"]["CertificateArn"]
    assert parameter["Default"] == "" and "AllowedPattern" in parameter
    assert tap["Conditions"]["HasCertificate"] == {
        "Fn::Not": [{"Fn::Equals": [ref("CertificateArn"), ""]}]
    }
    conditioned = [r for r in tap["Resources"].values() if r.get("Condition") == "HasCertificate"]
    assert any(r["Type"] == "AWS::ElasticLoadBalancingV2::Listener" for r in conditioned)


def test_EDGE_03_waf_managed_rule_groups_and_rate_rule_with_metrics(tap: Template) -> None:
    (acl_id, acl) = the(tap, "AWS::WAFv2::WebACL")
    rules = acl["Properties"]["Rules"]
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    } <= managed
    assert any("RateBasedStatement" in r["Statement"] for r in rules)
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in rules)
    (_, association) = the(tap, "AWS::WAFv2::WebACLAssociation")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}


def test_EDGE_04_target_group_health_checks_and_deregistration_delay(tap: Template) -> None:
    (_, group) = the(tap, "AWS::ElasticLoadBalancingV2::TargetGroup")
    props = group["Properties"]
    for key in (
        "HealthCheckPath",
        "HealthCheckProtocol",
        "HealthCheckIntervalSeconds",
        "HealthCheckTimeoutSeconds",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "Matcher",
    ):
        assert key in props, key
    attributes = {a["Key"]: a["Value"] for a in props["TargetGroupAttributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "30"


# ---- MON ----------------------------------------------------------------------------------------
def test_MON_01_alarm_topic_encrypted_with_subscriptions_and_dead_letter_queue(
    tap: Template,
) -> None:
    (_, topic) = the(tap, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    [subscription] = resources(tap, "AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "HasAlertEmail"
    assert mentions(subscription["Properties"]["RedrivePolicy"], "DeadLetterQueue")


def test_MON_02_alarms_with_actions_descriptions_and_zero_safe_error_rate(tap: Template) -> None:
    (topic_id, _) = the(tap, "AWS::SNS::Topic")
    all_alarms = properties(tap, "AWS::CloudWatch::Alarm")
    alarms = [a for a in all_alarms if ref(topic_id) in a["AlarmActions"]]
    scaling = [a for a in all_alarms if a not in alarms]
    assert len(alarms) >= 8
    for alarm in alarms:
        assert alarm["OKActions"] == [ref(topic_id)] and alarm["AlarmDescription"]
        assert alarm["TreatMissingData"]
    # The rest are step-scaling triggers: they act on a scaling policy, not on people.
    for alarm in scaling:
        [action] = alarm["AlarmActions"]
        assert tap["Resources"][action["Ref"]]["Type"] == "AWS::AutoScaling::ScalingPolicy"
    expressions = json.dumps([a.get("Metrics") for a in alarms])
    assert "IF(requests > 0" in expressions
    metric_names = json.dumps(alarms)
    for metric in (
        "CPUUtilization",
        "UnHealthyHostCount",
        "FreeStorageSpace",
        "DatabaseConnections",
    ):
        assert metric in metric_names, metric
    assert '"p99"' in metric_names


def test_MON_03_composite_alarm_with_ok_actions(tap: Template) -> None:
    (_, composite) = the(tap, "AWS::CloudWatch::CompositeAlarm")
    props = composite["Properties"]
    assert props["AlarmActions"] and props["OKActions"]
    assert mentions(props["AlarmRule"], "ALARM(")


def test_MON_04_dashboard(tap: Template) -> None:
    (_, dashboard) = the(tap, "AWS::CloudWatch::Dashboard")
    assert mentions(dashboard["Properties"]["DashboardBody"], "widgets")


# ---- RES ----------------------------------------------------------------------------------------
def test_RES_02_stateful_resources_retained_and_database_snapshotted(tap: Template) -> None:
    keep = {"Retain", "Snapshot"}
    for resource_type in (
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
        "AWS::SQS::Queue",
        "AWS::RDS::DBInstance",
    ):
        for logical_id, resource in resources(tap, resource_type).items():
            assert resource.get("DeletionPolicy") in keep, logical_id
            assert resource.get("UpdateReplacePolicy") in keep, logical_id


# ---- GOV ----------------------------------------------------------------------------------------
TAGGABLE_SKIP = {"AWS::EC2::LaunchTemplate", "AWS::AutoScaling::AutoScalingGroup"}


def test_GOV_01_governance_tags_on_taggable_resources(tap: Template) -> None:
    required = {"Environment", "Project", "Owner", "CostCenter", "ManagedBy"}
    tagged = 0
    for logical_id, resource in tap["Resources"].items():
        tags = resource.get("Properties", {}).get("Tags")
        if isinstance(tags, list) and tags and isinstance(tags[0], dict) and "Key" in tags[0]:
            keys = {t["Key"] for t in tags}
            assert required <= keys, f"{logical_id} lacks {required - keys}"
            tagged += 1
    assert tagged > 40


def test_GOV_02_name_tags_follow_the_convention(tap: Template) -> None:
    (_, vpc) = the(tap, "AWS::EC2::VPC")
    assert rendered(tag_value(vpc, "Name")) == "tap-vpc-${EnvironmentSuffix}"
    (_, db) = the(tap, "AWS::RDS::DBInstance")
    assert rendered(tag_value(db, "Name")) == "tap-db-${EnvironmentSuffix}"
    data_names = sorted(
        rendered(tag_value(tap["Resources"][subnet_id], "Name"))
        for subnet_id in _subnets_of_tier(tap, "Data")
    )
    assert data_names == [
        "tap-data-subnet-1-${EnvironmentSuffix}",
        "tap-data-subnet-2-${EnvironmentSuffix}",
    ]
    for resource_type in ("AWS::S3::Bucket", "AWS::RDS::DBInstance", "AWS::KMS::Key"):
        for props in properties(tap, resource_type):
            assert "BucketName" not in props, "physical names block replacement"


def test_GOV_03_parameters_validated_and_grouped(tap: Template) -> None:
    interface = tap["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = {p for group in interface["ParameterGroups"] for p in group["Parameters"]}
    ours = {"EnvironmentSuffix", "InstanceCount", "CertificateArn", "AlertEmail"}
    assert grouped == ours and ours <= set(interface["ParameterLabels"])
    for name in ours:
        parameter = tap["Parameters"][name]
        rules = {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue"} & set(parameter)
        assert rules and parameter["ConstraintDescription"], name
    assert tap["Parameters"]["InstanceCount"]["MinValue"] >= 2


def test_GOV_04_conditions_for_optional_features(tap: Template) -> None:
    assert {"HasCertificate", "HasAlertEmail"} <= set(tap["Conditions"])


def test_GOV_05_outputs_exported_with_stack_name_prefix(tap: Template) -> None:
    required = {
        "VPCId", "PublicSubnet1Id", "PublicSubnet2Id", "PrivateSubnet1Id", "PrivateSubnet2Id",
        "ApplicationLoadBalancerDNS", "RDSInstanceEndpoint", "AutoScalingGroupName",
        "LaunchTemplateId", "KMSKeyId", "SNSTopicArn", "StackName", "EnvironmentSuffix",
    }  # fmt: skip
    outputs = tap["Outputs"]
    assert required <= set(outputs)
    for name, output in outputs.items():
        assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + name}
        assert output["Description"]
