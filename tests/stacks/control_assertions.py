"""Per-control assertions on a synthesized reference template, shared by the stack tests.

Each ``check_<CONTROL>_...`` proves one control of SPEC section 3 on one template, with the
stack's own expectations (AZ count, database port, condition names, outputs...). The stack test
modules run every control of their profile through :func:`check`; a profile control without an
assertion here fails loudly instead of passing silently.

These are independent of the ``controls`` package (the audit command): two implementations of
the catalogue that must agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, kw_only=True)
class Expectations:
    """What one stack promises beyond the catalogue's defaults."""

    azs: int = 2
    nat_per_az: bool = True
    database_port: int = 3307
    #: The parameter the database port comes from, when the stack has one (DB-02).
    database_port_parameter: str | None = None
    #: Tags every taggable resource carries on top of the governance tags (GOV-01).
    compliance_tags: dict[str, str] = field(default_factory=dict)
    #: Resource types whose data events the trail records (LOG-01).
    data_event_types: frozenset[str] = frozenset({"AWS::S3::Object"})
    #: The parameter admitting ingress to the load balancer (NET-08).
    ingress_parameter: str | None = None
    #: The parameter the VPC CIDR comes from, when the stack has one (NET-01).
    vpc_cidr_parameter: str | None = None
    min_backup_retention_days: int = 7
    min_keys: int = 1
    certificate_condition: str = "HasCertificate"
    email_condition: str = "HasAlertEmail"
    webhook_condition: str = "HasAlertWebhook"
    parameters: frozenset[str] = frozenset()
    conditions: frozenset[str] = frozenset()
    outputs: frozenset[str] = frozenset()
    #: Name tag expected on a resource type, rendered (``${Param}`` for references).
    names: dict[str, str] = field(default_factory=dict)
    #: Service principals that must have their own role (IAM-06).
    service_roles: frozenset[str] = frozenset(
        {"monitoring.rds.amazonaws.com", "vpc-flow-logs.amazonaws.com"}
    )
    #: The deployment region (the default-VPC cleanup keeps it, NET-09).
    region: str = ""
    #: Construct IDs of the application fleets (their security groups reach the database).
    fleets: tuple[str, ...] = ("AppFleet",)
    #: The ingress parameter may admit the world (a public API) on 80/443 only (NET-08).
    public_ingress: bool = False
    #: Health-check path, interval (s) and listener paths the stack fixes (EDGE-04/05).
    health_check_path: str | None = None
    health_check_interval: int | None = None
    path_patterns: tuple[str, ...] = ()
    #: Parameters that must carry the blue/green weights (DEP-01).
    weight_parameters: tuple[str, ...] = ()
    #: Functions that reach private resources and so must run in the VPC (CMP-09).
    vpc_functions: tuple[str, ...] = ()
    #: Condition of the Route 53 zone (EDGE-06).
    domain_condition: str = "HasDomain"


# ---- NET ----------------------------------------------------------------------------------------
def check_NET_01_subnets_span_two_azs_from_getazs_and_one_vpc_cidr(
    tap: Template, e: Expectations
) -> None:
    subnets = properties(tap, "AWS::EC2::Subnet")
    assert len(subnets) == 3 * e.azs
    azs = {json.dumps(s["AvailabilityZone"], sort_keys=True) for s in subnets}
    assert azs == {
        json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}, sort_keys=True) for i in range(e.azs)
    }
    assert not re.search(r'"[a-z]{2}-[a-z]+-\d[a-f]"', json.dumps(tap)), "literal AZ name"
    (vpc_id, vpc) = the(tap, "AWS::EC2::VPC")
    if e.vpc_cidr_parameter:
        assert vpc["Properties"]["CidrBlock"] == ref(e.vpc_cidr_parameter)
        for subnet in subnets:
            _, blocks = subnet["CidrBlock"]["Fn::Select"]
            assert blocks["Fn::Cidr"][0] == {"Fn::GetAtt": [vpc_id, "CidrBlock"]}
    else:
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


def check_NET_02_three_tiers_and_isolated_subnets_on_own_route_tables(
    tap: Template, e: Expectations
) -> None:
    tables = _route_tables_by_subnet(tap)
    data = _subnets_of_tier(tap, "Data")
    assert len(_subnets_of_tier(tap, "Public")) == len(_subnets_of_tier(tap, "App")) == e.azs
    assert len(data) == e.azs
    assert len({tables[s] for s in data}) == e.azs, "each data subnet needs its own route table"
    data_tables = {tables[s] for s in data}
    for route in properties(tap, "AWS::EC2::Route"):
        if route["RouteTableId"]["Ref"] in data_tables:
            assert "GatewayId" not in route and "NatGatewayId" not in route


def check_NET_03_one_nat_per_az_and_private_routes_to_own_az(
    tap: Template, e: Expectations
) -> None:
    nats = resources(tap, "AWS::EC2::NatGateway")
    assert len(nats) == (e.azs if e.nat_per_az else 1)
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


def check_NET_04_flow_logs_all_traffic_to_encrypted_logs_and_s3(
    tap: Template, e: Expectations
) -> None:
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


def check_NET_05_network_acls_on_every_tier_with_explicit_entries(
    tap: Template, e: Expectations
) -> None:
    acls = resources(tap, "AWS::EC2::NetworkAcl")
    assert len(acls) == 3
    entries = properties(tap, "AWS::EC2::NetworkAclEntry")
    for acl_id in acls:
        mine = [x for x in entries if x["NetworkAclId"] == ref(acl_id)]
        assert any(x.get("Egress") for x in mine) and any(not x.get("Egress") for x in mine)
        assert all(x["Protocol"] != -1 or x.get("RuleAction") == "deny" for x in mine), (
            f"{acl_id} allows all protocols"
        )
    associations = properties(tap, "AWS::EC2::SubnetNetworkAclAssociation")
    assert len(associations) == 3 * e.azs


def check_NET_06_security_groups_least_privilege(tap: Template, e: Expectations) -> None:
    groups = resources(tap, "AWS::EC2::SecurityGroup")
    for group_id, group in groups.items():
        props = group["Properties"]
        egress = props.get("SecurityGroupEgress")
        assert egress, f"{group_id} has no explicit egress: EC2 would add allow-all"
        assert not any(
            x.get("CidrIp") == "0.0.0.0/0" and x.get("IpProtocol") == "-1" for x in egress
        )
        for rule in [*egress, *props.get("SecurityGroupIngress", [])]:
            assert rule.get("Description"), f"{group_id} has a rule without description"
    world_ingress = [
        rule
        for rule in properties(tap, "AWS::EC2::SecurityGroupIngress")
        + [r for g in groups.values() for r in g["Properties"].get("SecurityGroupIngress", [])]
        if rule.get("CidrIp") == "0.0.0.0/0"
    ]
    if e.ingress_parameter:
        assert not world_ingress, "ingress comes only from the validated parameter"
        from_parameter = [
            r
            for r in properties(tap, "AWS::EC2::SecurityGroupIngress")
            if r.get("CidrIp") == ref(e.ingress_parameter)
        ]
        assert from_parameter and {r["FromPort"] for r in from_parameter} == {80, 443}
    else:
        assert world_ingress and {r["FromPort"] for r in world_ingress} <= {80, 443}
    for rule in properties(tap, "AWS::EC2::SecurityGroupIngress"):
        assert rule.get("Description")
    db_ingress = [
        r
        for r in properties(tap, "AWS::EC2::SecurityGroupIngress")
        if mentions(r["GroupId"], "DatabaseSecurityGroup")
    ]
    assert db_ingress and all("SourceSecurityGroupId" in r for r in db_ingress)
    port = ref(e.database_port_parameter) if e.database_port_parameter else e.database_port
    assert all(r["FromPort"] == r["ToPort"] == port for r in db_ingress)
    assert not [r for r in db_ingress if not mentions(r["GroupId"], "DatabaseSecurityGroup")]
    for fleet in e.fleets:
        assert any(
            mentions(r["SourceSecurityGroupId"], f"{fleet}SecurityGroup") for r in db_ingress
        ), f"{fleet} reaches the database"


def check_NET_07_gateway_and_interface_endpoints_with_private_dns(
    tap: Template, e: Expectations
) -> None:
    endpoints = properties(tap, "AWS::EC2::VPCEndpoint")
    gateway = [x for x in endpoints if x.get("VpcEndpointType", "Gateway") == "Gateway"]
    interface = [x for x in endpoints if x.get("VpcEndpointType") == "Interface"]
    assert any(mentions(x["ServiceName"], ".s3") for x in gateway)
    services = json.dumps([e["ServiceName"] for e in interface])
    for service in ("ssm", "ssmmessages", "ec2messages", "secretsmanager", "kms", "logs", "sts"):
        assert f".{service}" in services, service
    assert all(x["PrivateDnsEnabled"] is True for x in interface)
    assert all(len(x["SecurityGroupIds"]) == 1 for x in interface)


# ---- ENC ----------------------------------------------------------------------------------------
def check_ENC_01_customer_keys_with_rotation_and_aliases(tap: Template, e: Expectations) -> None:
    keys = resources(tap, "AWS::KMS::Key")
    assert len(keys) >= e.min_keys
    aliased = {json.dumps(a["TargetKeyId"]) for a in properties(tap, "AWS::KMS::Alias")}
    for key_id, key in keys.items():
        assert key["Properties"]["EnableKeyRotation"] is True, key_id
        assert json.dumps({"Fn::GetAtt": [key_id, "Arn"]}) in aliased, f"{key_id} has no alias"


def check_ENC_02_key_policies_separate_administration_from_use(
    tap: Template, e: Expectations
) -> None:
    for key_id, key in resources(tap, "AWS::KMS::Key").items():
        policy = key["Properties"]["KeyPolicy"]["Statement"]
        for statement in policy:
            actions = as_list(statement["Action"])
            assert "kms:*" not in actions and "*" not in actions, key_id
            principal = statement["Principal"]
            if "Service" in principal or principal == {"AWS": "*"}:
                assert statement.get("Condition"), f"{key_id}/{statement.get('Sid')}: unscoped"
        [admin] = [s for s in policy if s.get("Sid") == "KeyAdministration"]
        assert not {"kms:Encrypt", "kms:Decrypt"} & set(admin["Action"])
        usage = [s for s in policy if s.get("Sid") == "KeyUsageThroughAwsServices"]
        assert all("kms:ViaService" in s["Condition"]["StringEquals"] for s in usage)
        denies = {s.get("Sid") for s in policy if s["Effect"] == "Deny"}
        assert {"DenyInsecureTransport", "DenyKeyDeletionWithoutMfa"} <= denies, key_id


def _key_arns(tap: Template) -> list[dict[str, Any]]:
    return [{"Fn::GetAtt": [key_id, "Arn"]} for key_id in resources(tap, "AWS::KMS::Key")]


def check_ENC_03_every_store_encrypted_with_a_customer_key(tap: Template, e: Expectations) -> None:
    keys = _key_arns(tap)
    for group in properties(tap, "AWS::Logs::LogGroup"):
        assert group["KmsKeyId"] in keys
    for cluster in properties(tap, "AWS::RDS::DBCluster"):
        assert cluster["StorageEncrypted"] is True and cluster["KmsKeyId"] in keys
    for db in properties(tap, "AWS::RDS::DBInstance"):
        if "DBClusterIdentifier" not in db:  # Aurora instances store in the cluster volume
            assert db["StorageEncrypted"] is True and "KmsKeyId" in db
        if db.get("EnablePerformanceInsights"):
            assert db["PerformanceInsightsKMSKeyId"] in keys
    assert all(t["KmsMasterKeyId"] in keys for t in properties(tap, "AWS::SNS::Topic"))
    assert all(q["KmsMasterKeyId"] in keys for q in properties(tap, "AWS::SQS::Queue"))
    assert all(s["KmsKeyId"] in keys for s in properties(tap, "AWS::SecretsManager::Secret"))
    assert all(t["KMSKeyId"] in keys for t in properties(tap, "AWS::CloudTrail::Trail"))
    assert all(v["EncryptionKeyArn"] in keys for v in properties(tap, "AWS::Backup::BackupVault"))
    for bucket in properties(tap, "AWS::S3::Bucket"):
        sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"aws:kms", "AES256"}
    for template in properties(tap, "AWS::EC2::LaunchTemplate"):
        for mapping in template["LaunchTemplateData"]["BlockDeviceMappings"]:
            assert mapping["Ebs"]["Encrypted"] is True and mapping["Ebs"]["KmsKeyId"] in keys


def check_ENC_04_tls_everywhere(tap: Template, e: Expectations) -> None:
    for policy in properties(tap, "AWS::S3::BucketPolicy"):
        assert any(
            s["Effect"] == "Deny" and mentions(s.get("Condition"), "aws:SecureTransport")
            for s in policy["PolicyDocument"]["Statement"]
        )
    if _aurora(tap):
        assert _cluster_parameters(tap)["rds.force_ssl"] == "1"
    else:
        (_, params) = the(tap, "AWS::RDS::DBParameterGroup")
        assert params["Properties"]["Parameters"]["require_secure_transport"] == "ON"
    listeners = list(resources(tap, "AWS::ElasticLoadBalancingV2::Listener").values())
    albs = resources(tap, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    https = [x for x in listeners if x["Properties"]["Protocol"] == "HTTPS"]
    http = [x for x in listeners if x["Properties"]["Protocol"] == "HTTP"]
    assert len(https) == len(http) == len(albs), "one HTTPS and one HTTP listener per ALB"
    for listener in https:
        assert listener["Condition"] == e.certificate_condition
        assert listener["Properties"]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    for listener in http:
        action = listener["Properties"]["DefaultActions"][0]
        assert mentions(action, e.certificate_condition) and mentions(action, "HTTPS")


# ---- IAM ----------------------------------------------------------------------------------------
def check_IAM_01_no_wildcard_actions_and_managed_policies_acknowledged(
    tap: Template, e: Expectations
) -> None:
    for statement in statements(tap, "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        assert "*" not in as_list(statement.get("Action", [])), statement
        if "NotAction" in statement:  # only as a guard rail, never to grant
            assert statement["Effect"] == "Deny", statement
    assert resources(tap, "AWS::IAM::Policy") == {} or all(
        mentions(p, "DefaultPolicy") for p in resources(tap, "AWS::IAM::Policy")
    )


def _fleet_launch_templates(tap: Template) -> list[tuple[str, dict[str, Any]]]:
    """The launch templates the application Auto Scaling groups launch from (one per group)."""
    found = []
    for group in _asgs(tap):
        props = group["Properties"]
        spec = (
            props["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]
            if "MixedInstancesPolicy" in props
            else props["LaunchTemplate"]
        )
        template_id = spec["LaunchTemplateId"]["Ref"]
        found.append((template_id, tap["Resources"][template_id]))
    assert found, "an application Auto Scaling group"
    return found


def _role_of_profile(tap: Template, profile_arn: Any) -> str:
    profile_id = profile_arn["Fn::GetAtt"][0]
    role_id: str = tap["Resources"][profile_id]["Properties"]["Roles"][0]["Ref"]
    return role_id


def _fleet_roles(tap: Template) -> list[str]:
    return [
        _role_of_profile(
            tap, template["Properties"]["LaunchTemplateData"]["IamInstanceProfile"]["Arn"]
        )
        for _, template in _fleet_launch_templates(tap)
    ]


def _policies_of(tap: Template, role_id: str) -> list[dict[str, Any]]:
    return [
        p for p in properties(tap, "AWS::IAM::ManagedPolicy") if ref(role_id) in p.get("Roles", [])
    ]


def check_IAM_05_fleet_has_own_role_with_separate_policies_and_scoped_secret_read(
    tap: Template, e: Expectations
) -> None:
    for role_id in _fleet_roles(tap):
        role = tap["Resources"][role_id]["Properties"]
        managed = json.dumps(role["ManagedPolicyArns"])
        assert "AmazonSSMManagedInstanceCore" in managed, role_id
        assert "CloudWatchAgentServerPolicy" in managed, role_id
        attached = _policies_of(tap, role_id)
        assert len(attached) >= 2, "separate customer-managed policies per concern"
        secret_reads = [
            s
            for p in attached
            for s in p["PolicyDocument"]["Statement"]
            if "secretsmanager:GetSecretValue" in as_list(s["Action"])
        ]
        assert secret_reads and all(s["Resource"] != "*" for s in secret_reads), role_id
    profiles = [p["Roles"][0]["Ref"] for p in properties(tap, "AWS::IAM::InstanceProfile")]
    assert len(profiles) == len(set(profiles)), "every compute resource has its own role"


def check_IAM_06_service_roles_for_monitoring_flow_logs_config_and_trail(
    tap: Template, e: Expectations
) -> None:
    trusted = json.dumps([r["AssumeRolePolicyDocument"] for r in properties(tap, "AWS::IAM::Role")])
    for service in e.service_roles:
        assert service in trusted, service


# ---- CMP ----------------------------------------------------------------------------------------
def _launch_datas(tap: Template) -> list[dict[str, Any]]:
    return [t["Properties"]["LaunchTemplateData"] for _, t in _fleet_launch_templates(tap)]


def check_CMP_01_launch_template_with_ssm_parameter_ami(tap: Template, e: Expectations) -> None:
    assert "Mappings" not in tap
    for template in properties(tap, "AWS::EC2::LaunchTemplate"):
        image = template["LaunchTemplateData"]["ImageId"]["Ref"]
        parameter = tap["Parameters"][image]
        assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
        assert parameter["Default"].startswith("/aws/service/ami-amazon-linux-latest/al2023")
    for logical_id, instance in resources(tap, "AWS::EC2::Instance").items():
        assert "LaunchTemplate" in instance["Properties"], f"{logical_id} has no launch template"
        assert "ImageId" not in instance["Properties"], logical_id
    assert resources(tap, "AWS::AutoScaling::LaunchConfiguration") == {}


def check_CMP_02_imdsv2_required(tap: Template, e: Expectations) -> None:
    for data in _launch_datas(tap):
        assert data["MetadataOptions"] == {
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
            "HttpTokens": "required",
        }


def check_CMP_03_root_volume_gp3_encrypted_deleted_on_termination(
    tap: Template, e: Expectations
) -> None:
    for data in _launch_datas(tap):
        [mapping] = data["BlockDeviceMappings"]
        ebs = mapping["Ebs"]
        assert (ebs["VolumeType"], ebs["Encrypted"], ebs["DeleteOnTermination"]) == (
            "gp3",
            True,
            True,
        )


def _user_datas(tap: Template) -> list[str]:
    """Each fleet launch template's user data as script text (references rendered as JSON)."""
    return [rendered(data["UserData"]["Fn::Base64"]) for data in _launch_datas(tap)]


def _asgs(tap: Template) -> list[dict[str, Any]]:
    return list(resources(tap, "AWS::AutoScaling::AutoScalingGroup").values())


def check_CMP_04_asg_over_private_subnets_with_elb_health_and_notifications(
    tap: Template, e: Expectations
) -> None:
    app = _subnets_of_tier(tap, "App")
    for group in _asgs(tap):
        props = group["Properties"]
        assert sorted(s["Ref"] for s in props["VPCZoneIdentifier"]) == sorted(app)
        assert props["HealthCheckType"] == "ELB" and props["HealthCheckGracePeriod"] > 0
        assert int(props["MinSize"]) >= 2
        desired = props.get("DesiredCapacity")
        if desired is not None:  # a deploy-time parameter, validated to at least two instances
            assert tap["Parameters"][desired["Ref"]]["MinValue"] >= 2
        assert props["MetricsCollection"]
        [notification] = props["NotificationConfigurations"]
        assert len(notification["NotificationTypes"]) == 4
        assert props["TargetGroupARNs"]


def check_CMP_05_rolling_update_and_creation_policy_wait_for_signals(
    tap: Template, e: Expectations
) -> None:
    for group in _asgs(tap):
        rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
        assert rolling["WaitOnResourceSignals"] is True and rolling["MinInstancesInService"] >= 1
        assert group["CreationPolicy"]["ResourceSignal"]["Count"] >= 2
    for script in _user_datas(tap):
        # The signal is sent from the EXIT trap with the script's exit code, and the script
        # only exits 0 after the application answered its health check.
        assert re.search(r"trap exitTrap EXIT", script)
        assert re.search(r"cfn-signal .*-e \$exitCode", script)
        assert "set -euo pipefail" in script
        readiness = script.index("http://127.0.0.1:80/health")
        assert script.index("exit 1", readiness) > readiness


def check_CMP_06_target_tracking_step_predictive_hooks_and_mixed_instances(
    tap: Template, e: Expectations
) -> None:
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
    for group in _asgs(tap):
        mixed = group["Properties"]["MixedInstancesPolicy"]["LaunchTemplate"]
        assert len(mixed["Overrides"]) >= 3
    # Every fleet scales on CPU and on requests per target, by steps and predictively.
    for group_id in resources(tap, "AWS::AutoScaling::AutoScalingGroup"):
        own = [p for p in policies if p["AutoScalingGroupName"] == ref(group_id)]
        assert {"TargetTrackingScaling", "StepScaling", "PredictiveScaling"} <= {
            p.get("PolicyType", "SimpleScaling") for p in own
        }, group_id
        assert "ALBRequestCountPerTarget" in json.dumps(own), group_id
        assert [h for h in hooks if h["AutoScalingGroupName"] == ref(group_id)], group_id


def check_CMP_07_cloudwatch_agent_ships_memory_disk_and_logs(
    tap: Template, e: Expectations
) -> None:
    for script in _user_datas(tap):
        assert "amazon-cloudwatch-agent-ctl -a fetch-config" in script
        config = json.loads(script.split("<<'CWAGENTCONFIG'\n")[1].split("CWAGENTCONFIG")[0])
        metrics = config["metrics"]["metrics_collected"]
        assert "mem_used_percent" in metrics["mem"]["measurement"]
        assert "used_percent" in metrics["disk"]["measurement"]
        files = config["logs"]["logs_collected"]["files"]["collect_list"]
        assert {"/var/log/messages", "/var/log/app/app.log"} <= {f["file_path"] for f in files}


# ---- DB -----------------------------------------------------------------------------------------
def _aurora(tap: Template) -> bool:
    """Whether the stack's database is an Aurora cluster (PayFlow) rather than an instance."""
    return bool(resources(tap, "AWS::RDS::DBCluster"))


def _db(tap: Template) -> dict[str, Any]:
    """Properties of the database: the Aurora cluster, or the one RDS instance."""
    (_, db) = the(tap, "AWS::RDS::DBCluster" if _aurora(tap) else "AWS::RDS::DBInstance")
    props: dict[str, Any] = db["Properties"]
    return props


def _cluster_instances(tap: Template) -> list[dict[str, Any]]:
    return properties(tap, "AWS::RDS::DBInstance")


def _cluster_parameters(tap: Template) -> dict[str, Any]:
    (group_id, group) = the(tap, "AWS::RDS::DBClusterParameterGroup")
    assert _db(tap)["DBClusterParameterGroupName"] == ref(group_id)
    parameters: dict[str, Any] = group["Properties"]["Parameters"]
    return parameters


def check_DB_01_credentials_generated_in_secrets_manager_with_rotation(
    tap: Template, e: Expectations
) -> None:
    assert not any(p.get("NoEcho") for p in tap["Parameters"].values())
    assert mentions(_db(tap)["MasterUserPassword"], "resolve:secretsmanager")
    [secret] = properties(tap, "AWS::SecretsManager::Secret")
    assert "GenerateSecretString" in secret and "KmsKeyId" in secret
    [rotation] = properties(tap, "AWS::SecretsManager::RotationSchedule")
    assert rotation["RotationRules"] and "HostedRotationLambda" in rotation


def check_DB_02_isolated_private_non_default_port(tap: Template, e: Expectations) -> None:
    db = _db(tap)
    instances = _cluster_instances(tap)
    assert instances and all(i["PubliclyAccessible"] is False for i in instances)
    if e.database_port_parameter:
        assert db["Port"] == ref(e.database_port_parameter)
        group_id = db["VPCSecurityGroups"][0]["Fn::GetAtt"][0]
        ingress = [
            r
            for r in properties(tap, "AWS::EC2::SecurityGroupIngress")
            if r["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
        ]
        assert ingress and all(
            r["FromPort"] == r["ToPort"] == ref(e.database_port_parameter) for r in ingress
        )
        assert all("SourceSecurityGroupId" in r and "CidrIp" not in r for r in ingress)
    else:
        assert str(db["Port"]) == str(e.database_port)
        assert e.database_port not in (3306, 5432), "a non-default port"
    (_, group) = the(tap, "AWS::RDS::DBSubnetGroup")
    assert sorted(s["Ref"] for s in group["Properties"]["SubnetIds"]) == sorted(
        _subnets_of_tier(tap, "Data")
    )


def check_DB_03_multi_az(tap: Template, e: Expectations) -> None:
    if not _aurora(tap):
        assert _db(tap)["MultiAZ"] is True
        return
    # Aurora: a writer and readers in other AZs with promotion tiers, readers auto-scaled.
    instances = _cluster_instances(tap)
    assert len(instances) >= 3
    zones = [json.dumps(i["AvailabilityZone"], sort_keys=True) for i in instances]
    assert len(set(zones)) == len(zones), "every instance in its own AZ"
    tiers = sorted(i["PromotionTier"] for i in instances)
    assert tiers[0] == 0 and len(set(tiers)) == len(tiers), "distinct failover priorities"
    (_, target) = the(tap, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["ScalableDimension"] == "rds:cluster:ReadReplicaCount"
    assert target["Properties"]["MinCapacity"] >= 2
    policies = properties(tap, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert any(p["PolicyType"] == "TargetTrackingScaling" for p in policies)


def check_DB_04_parameter_group_forces_tls(tap: Template, e: Expectations) -> None:
    if _aurora(tap):
        parameters = _cluster_parameters(tap)
        assert parameters["rds.force_ssl"] == "1"
        assert parameters["log_connections"] == parameters["log_disconnections"] == "1"
        assert "pg_stat_statements" in parameters["shared_preload_libraries"].split(",")
        return
    (group_id, group) = the(tap, "AWS::RDS::DBParameterGroup")
    assert group["Properties"]["Parameters"]["require_secure_transport"] == "ON"
    assert _db(tap)["DBParameterGroupName"] == ref(group_id)


def check_DB_05_enhanced_monitoring_and_performance_insights(
    tap: Template, e: Expectations
) -> None:
    for db in _cluster_instances(tap):
        assert db["MonitoringInterval"] == 60 and "MonitoringRoleArn" in db
        assert db["EnablePerformanceInsights"] is True
        assert db["PerformanceInsightsRetentionPeriod"] >= 7


def check_DB_06_log_exports(tap: Template, e: Expectations) -> None:
    expected = {"postgresql"} if _aurora(tap) else {"error", "general", "slowquery", "audit"}
    assert set(_db(tap)["EnableCloudwatchLogsExports"]) == expected


def check_DB_07_backups_windows_tags_protection_and_snapshot_policy(
    tap: Template, e: Expectations
) -> None:
    resource_type = "AWS::RDS::DBCluster" if _aurora(tap) else "AWS::RDS::DBInstance"
    (_, resource) = the(tap, resource_type)
    db = resource["Properties"]
    assert db["BackupRetentionPeriod"] >= e.min_backup_retention_days
    assert db["PreferredBackupWindow"] and db["PreferredMaintenanceWindow"]
    assert db["CopyTagsToSnapshot"] is True and db["DeletionProtection"] is True
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Snapshot"


def check_DB_08_engine_pinned_to_a_supported_minor_with_auto_upgrades(
    tap: Template, e: Expectations
) -> None:
    db = _db(tap)
    if _aurora(tap):
        assert db["Engine"] == "aurora-postgresql"
        major, minor = (int(part) for part in db["EngineVersion"].split("."))
        assert major >= 14 and minor >= 0, "a PostgreSQL major in standard support"
    else:
        assert db["Engine"] == "mysql"
        assert re.fullmatch(r"8\.0\.\d+", db["EngineVersion"])
    assert all(i["AutoMinorVersionUpgrade"] is True for i in _cluster_instances(tap))


def check_DB_09_iam_database_authentication(tap: Template, e: Expectations) -> None:
    assert _db(tap)["EnableIAMDatabaseAuthentication"] is True


# ---- S3 -----------------------------------------------------------------------------------------
def check_S3_01_buckets_private_owner_enforced_versioned_encrypted(
    tap: Template, e: Expectations
) -> None:
    for logical_id, bucket in resources(tap, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values()), logical_id
        assert len(props["PublicAccessBlockConfiguration"]) == 4
        # CloudFront standard logs are delivered with ACLs: that bucket prefers the owner.
        ownership = (
            "BucketOwnerPreferred"
            if logical_id in _cloudfront_log_buckets(tap)
            else ("BucketOwnerEnforced")
        )
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": ownership}]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        algorithm = sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        if logical_id.startswith(("AccessLogsBucket", "AlbLogsBucket")):
            assert algorithm == "AES256"  # the writing services require SSE-S3
        else:
            assert algorithm == "aws:kms"


def _cloudfront_log_buckets(tap: Template) -> set[str]:
    return {
        d["DistributionConfig"]["Logging"]["Bucket"]["Fn::GetAtt"][0]
        for d in properties(tap, "AWS::CloudFront::Distribution")
        if "Logging" in d["DistributionConfig"]
    }


def _cloudfront_origin_buckets(tap: Template) -> set[str]:
    return {
        origin["DomainName"]["Fn::GetAtt"][0]
        for d in properties(tap, "AWS::CloudFront::Distribution")
        for origin in d["DistributionConfig"]["Origins"]
        if "S3OriginConfig" in origin
    }


def check_S3_02_access_logging_to_the_dedicated_bucket(tap: Template, e: Expectations) -> None:
    buckets = resources(tap, "AWS::S3::Bucket")
    [log_bucket] = [b for b in buckets if b.startswith("AccessLogsBucket")]
    for logical_id, bucket in buckets.items():
        if logical_id != log_bucket:
            target = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]
            assert target == ref(log_bucket), logical_id


def check_S3_03_lifecycle_tiering_noncurrent_expiry_and_multipart_cleanup(
    tap: Template, e: Expectations
) -> None:
    for logical_id, bucket in resources(tap, "AWS::S3::Bucket").items():
        [rule] = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert rule["Transitions"], logical_id
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
        assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] > 0


def check_S3_04_log_buckets_immutable_and_service_writes_conditioned(
    tap: Template, e: Expectations
) -> None:
    content = _cloudfront_origin_buckets(tap)
    for policy in properties(tap, "AWS::S3::BucketPolicy"):
        if policy["Bucket"]["Ref"] in content:
            continue  # site content, not a log bucket (S3-05 checks its policy)
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
def check_LOG_01_trail_multi_region_validated_encrypted_streamed_with_data_events(
    tap: Template, e: Expectations
) -> None:
    (_, trail) = the(tap, "AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert props["IsMultiRegionTrail"] and props["IncludeGlobalServiceEvents"]
    assert props["EnableLogFileValidation"] is True and "KMSKeyId" in props
    assert "CloudWatchLogsLogGroupArn" in props and "CloudWatchLogsRoleArn" in props
    for resource_type in e.data_event_types:
        assert mentions(props["AdvancedEventSelectors"], resource_type), resource_type


def check_LOG_02_config_records_everything_into_an_encrypted_bucket(
    tap: Template, e: Expectations
) -> None:
    (_, recorder) = the(tap, "AWS::Config::ConfigurationRecorder")
    group = recorder["Properties"]["RecordingGroup"]
    assert group == {"AllSupported": True, "IncludeGlobalResourceTypes": True}
    (_, channel) = the(tap, "AWS::Config::DeliveryChannel")
    assert "S3KmsKeyArn" in channel["Properties"]
    role_id = recorder["Properties"]["RoleARN"]["Fn::GetAtt"][0]
    assert mentions(tap["Resources"][role_id], "AWS_ConfigRole")
    assert len(resources(tap, "AWS::Config::ConfigRule")) >= 20


def check_LOG_03_every_log_group_encrypted_with_retention(tap: Template, e: Expectations) -> None:
    for logical_id, group in resources(tap, "AWS::Logs::LogGroup").items():
        assert "KmsKeyId" in group["Properties"], logical_id
        assert group["Properties"].get("RetentionInDays"), logical_id


def _albs(tap: Template) -> list[dict[str, Any]]:
    albs = list(resources(tap, "AWS::ElasticLoadBalancingV2::LoadBalancer").values())
    assert albs, "an application load balancer"
    return albs


def check_LOG_04_alb_access_logs_to_s3_with_lifecycle(tap: Template, e: Expectations) -> None:
    for alb in _albs(tap):
        attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
        assert attributes["access_logs.s3.enabled"] == "true"
        bucket_id = attributes["access_logs.s3.bucket"]["Ref"]
        rules = tap["Resources"][bucket_id]["Properties"]["LifecycleConfiguration"]["Rules"]
        assert rules[0]["ExpirationInDays"] == 90


def check_LOG_05_waf_logging_to_encrypted_log_group(tap: Template, e: Expectations) -> None:
    (_, logging) = the(tap, "AWS::WAFv2::LoggingConfiguration")
    destination = logging["Properties"]["LogDestinationConfigs"]
    assert mentions(destination, "aws-waf-logs-") or mentions(destination, "WebAcl")


# ---- EDGE ---------------------------------------------------------------------------------------
def check_EDGE_01_alb_hardened_attributes(tap: Template, e: Expectations) -> None:
    for alb in _albs(tap):
        attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
        assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
        assert attributes["routing.http.preserve_host_header.enabled"] == "true"
        assert attributes["deletion_protection.enabled"] == "true"


def check_EDGE_02_certificate_is_optional_through_a_condition(
    tap: Template, e: Expectations
) -> None:
    condition = tap["Conditions"][e.certificate_condition]
    [parameter_name] = [
        name for name in tap["Parameters"] if mentions(condition, json.dumps(ref(name)))
    ]
    parameter = tap["Parameters"][parameter_name]
    assert parameter["Default"] == "" and "AllowedPattern" in parameter
    assert condition == {"Fn::Not": [{"Fn::Equals": [ref(parameter_name), ""]}]}
    conditioned = [
        r for r in tap["Resources"].values() if r.get("Condition") == e.certificate_condition
    ]
    assert any(r["Type"] == "AWS::ElasticLoadBalancingV2::Listener" for r in conditioned)


def check_EDGE_03_waf_managed_rule_groups_and_rate_rule_with_metrics(
    tap: Template, e: Expectations
) -> None:
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
    associations = properties(tap, "AWS::WAFv2::WebACLAssociation")
    assert all(a["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]} for a in associations)
    protected = {json.dumps(a["ResourceArn"]) for a in associations}
    for alb_id in resources(tap, "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        assert json.dumps(ref(alb_id)) in protected, f"{alb_id} has no web ACL"


def check_EDGE_04_target_group_health_checks_and_deregistration_delay(
    tap: Template, e: Expectations
) -> None:
    groups = resources(tap, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert groups
    for group_id, group in groups.items():
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
            assert key in props, f"{group_id}: {key}"
        assert props["HealthCheckProtocol"] == props["Protocol"], "over the backend protocol"
        if e.health_check_path:
            assert props["HealthCheckPath"] == e.health_check_path, group_id
        if e.health_check_interval:
            assert props["HealthCheckIntervalSeconds"] == e.health_check_interval, group_id
        attributes = {a["Key"]: a["Value"] for a in props["TargetGroupAttributes"]}
        assert attributes["deregistration_delay.timeout_seconds"] == "30", group_id


# ---- MON ----------------------------------------------------------------------------------------
def check_MON_01_alarm_topic_encrypted_with_subscriptions_and_dead_letter_queue(
    tap: Template, e: Expectations
) -> None:
    (_, topic) = the(tap, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    subscriptions = list(resources(tap, "AWS::SNS::Subscription").values())
    by_protocol = {s["Properties"]["Protocol"]: s for s in subscriptions}
    assert set(by_protocol) == {"email", "https"}
    assert by_protocol["email"]["Condition"] == e.email_condition
    assert by_protocol["https"]["Condition"] == e.webhook_condition
    for subscription in subscriptions:
        assert mentions(subscription["Properties"]["RedrivePolicy"], "DeadLetterQueue")


def check_MON_02_alarms_with_actions_descriptions_and_zero_safe_error_rate(
    tap: Template, e: Expectations
) -> None:
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
    storage = "FreeLocalStorage" if _aurora(tap) else "FreeStorageSpace"
    for metric in ("CPUUtilization", "UnHealthyHostCount", storage, "DatabaseConnections"):
        assert metric in metric_names, metric
    assert '"p99"' in metric_names


def check_MON_03_composite_alarm_with_ok_actions(tap: Template, e: Expectations) -> None:
    (_, composite) = the(tap, "AWS::CloudWatch::CompositeAlarm")
    props = composite["Properties"]
    assert props["AlarmActions"] and props["OKActions"]
    assert mentions(props["AlarmRule"], "ALARM(")


def check_MON_04_dashboard(tap: Template, e: Expectations) -> None:
    (_, dashboard) = the(tap, "AWS::CloudWatch::Dashboard")
    assert mentions(dashboard["Properties"]["DashboardBody"], "widgets")


# ---- RES ----------------------------------------------------------------------------------------
def check_RES_02_stateful_resources_retained_and_database_snapshotted(
    tap: Template, e: Expectations
) -> None:
    keep = {"Retain", "Snapshot"}
    for resource_type in (
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
        "AWS::SQS::Queue",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
    ):
        for logical_id, resource in resources(tap, resource_type).items():
            if "DBClusterIdentifier" in resource["Properties"] and resource_type.endswith(
                "DBInstance"
            ):
                continue  # Aurora instances hold no data; the cluster is snapshotted
            assert resource.get("DeletionPolicy") in keep, logical_id
            assert resource.get("UpdateReplacePolicy") in keep, logical_id


# ---- GOV ----------------------------------------------------------------------------------------
TAGGABLE_SKIP = {"AWS::EC2::LaunchTemplate", "AWS::AutoScaling::AutoScalingGroup"}


def check_GOV_01_governance_tags_on_taggable_resources(tap: Template, e: Expectations) -> None:
    required = {"Environment", "Project", "Owner", "CostCenter", "ManagedBy"}
    tagged = 0
    for logical_id, resource in tap["Resources"].items():
        tags = resource.get("Properties", {}).get("Tags")
        if isinstance(tags, list) and tags and isinstance(tags[0], dict) and "Key" in tags[0]:
            keys = {t["Key"] for t in tags}
            assert required <= keys, f"{logical_id} lacks {required - keys}"
            values = {t["Key"]: t["Value"] for t in tags}
            for key, value in e.compliance_tags.items():
                assert values.get(key) == value, f"{logical_id}: {key}={values.get(key)}"
            tagged += 1
    assert tagged > 40


def check_GOV_02_name_tags_follow_the_convention(tap: Template, e: Expectations) -> None:
    assert e.names, "the stack declares its naming convention"
    for resource_type, expected in e.names.items():
        for logical_id, resource in resources(tap, resource_type).items():
            assert rendered(tag_value(resource, "Name")) == expected, logical_id
    for props in properties(tap, "AWS::S3::Bucket"):
        assert "BucketName" not in props, "physical names block replacement"
    for props in properties(tap, "AWS::RDS::DBInstance") + properties(tap, "AWS::RDS::DBCluster"):
        for key in ("DBInstanceIdentifier", "DBClusterIdentifier"):
            identifier = props.get(key)
            assert identifier is None or not isinstance(identifier, str), "fixed literal name"


def check_GOV_03_parameters_validated_and_grouped(tap: Template, e: Expectations) -> None:
    interface = tap["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = {p for group in interface["ParameterGroups"] for p in group["Parameters"]}
    assert grouped == e.parameters and e.parameters <= set(interface["ParameterLabels"])
    for name in e.parameters:
        parameter = tap["Parameters"][name]
        rules = {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue"} & set(parameter)
        assert rules and parameter["ConstraintDescription"], name
        assert parameter.get("Description"), name
    assert not any(
        p.get("NoEcho") is not True and "password" in name.lower()
        for name, p in tap["Parameters"].items()
    ), "a password parameter"


def check_GOV_04_conditions_for_optional_features(tap: Template, e: Expectations) -> None:
    assert e.conditions and e.conditions <= set(tap["Conditions"])
    used = json.dumps(tap["Resources"]) + json.dumps(tap.get("Outputs", {}))
    for name in e.conditions:
        assert f'"{name}"' in used, f"condition {name} is declared but gates nothing"


def check_GOV_05_outputs_exported_with_stack_name_prefix(tap: Template, e: Expectations) -> None:
    outputs = tap["Outputs"]
    assert e.outputs <= set(outputs), sorted(e.outputs - set(outputs))
    for name, output in outputs.items():
        assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + name}
        assert output["Description"]


# ---- controls only some stacks carry ----------------------------------------------------------
def check_NET_10_no_ssh_or_rdp_from_anywhere_and_ssm_bastion(
    tap: Template, e: Expectations
) -> None:
    groups = resources(tap, "AWS::EC2::SecurityGroup")
    rules = properties(tap, "AWS::EC2::SecurityGroupIngress") + [
        r for g in groups.values() for r in g["Properties"].get("SecurityGroupIngress", [])
    ]
    for rule in rules:
        if not isinstance(rule.get("FromPort", 0), int):  # a port parameter: from groups only
            assert "SourceSecurityGroupId" in rule and "CidrIp" not in rule, rule
            continue
        ports = range(rule.get("FromPort", 0), rule.get("ToPort", 65535) + 1)
        if 22 in ports or 3389 in ports:
            assert rule.get("CidrIp") not in ("0.0.0.0/0", None) or "SourceSecurityGroupId" in rule
            assert rule.get("CidrIp") != "0.0.0.0/0"
    for logical_id, instance in resources(tap, "AWS::EC2::Instance").items():
        role_id = _instance_role(tap, instance)
        managed = json.dumps(tap["Resources"][role_id]["Properties"]["ManagedPolicyArns"])
        assert "AmazonSSMManagedInstanceCore" in managed, logical_id


def _instance_launch_data(tap: Template, instance: dict[str, Any]) -> dict[str, Any]:
    template_id = instance["Properties"]["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    data: dict[str, Any] = tap["Resources"][template_id]["Properties"]["LaunchTemplateData"]
    return data


def _instance_role(tap: Template, instance: dict[str, Any]) -> str:
    profile = (
        instance["Properties"].get("IamInstanceProfile")
        or _instance_launch_data(tap, instance)["IamInstanceProfile"]["Arn"]
    )
    if isinstance(profile, dict) and "Ref" in profile:
        profile_props = tap["Resources"][profile["Ref"]]["Properties"]
        role_id: str = profile_props["Roles"][0]["Ref"]
        return role_id
    return _role_of_profile(tap, profile)


def check_CMP_08_bastion_ssm_managed_imdsv2_encrypted_own_role(
    tap: Template, e: Expectations
) -> None:
    (_, bastion) = the(tap, "AWS::EC2::Instance")
    data = _instance_launch_data(tap, bastion)
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpEndpoint"] == "enabled"
    for mapping in data["BlockDeviceMappings"]:
        assert mapping["Ebs"]["Encrypted"] is True and "KmsKeyId" in mapping["Ebs"]
    assert mentions(data["ImageId"], "Ssm") or mentions(data["ImageId"], "ssm")
    role_id = _instance_role(tap, bastion)
    assert role_id not in _fleet_roles(tap), "the bastion shares a fleet's role"


def check_IAM_02_mfa_enforced_by_a_group_policy(tap: Template, e: Expectations) -> None:
    [(policy_id, deny)] = [
        (policy_id, s)
        for policy_id, p in resources(tap, "AWS::IAM::ManagedPolicy").items()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and "NotAction" in s
        and mentions(s.get("Condition"), "aws:MultiFactorAuthPresent")
    ]
    assert deny["Condition"]["BoolIfExists"]["aws:MultiFactorAuthPresent"] == "false"
    assert "iam:EnableMFADevice" in deny["NotAction"]
    # Attached to a group: through the policy's Groups or the group's ManagedPolicyArns.
    policy = tap["Resources"][policy_id]["Properties"]
    in_group = any(
        ref(policy_id) in g.get("ManagedPolicyArns", []) for g in properties(tap, "AWS::IAM::Group")
    )
    assert policy.get("Groups") or in_group, "the MFA policy is attached to a group"


def check_IAM_03_account_password_policy_through_a_custom_resource(
    tap: Template, e: Expectations
) -> None:
    [policy] = properties(tap, "Custom::AccountPasswordPolicy")
    assert int(policy["MinimumPasswordLength"]) >= 14
    for flag in ("RequireUppercaseCharacters", "RequireLowercaseCharacters", "RequireNumbers",
                 "RequireSymbols"):  # fmt: skip
        assert str(policy[flag]).lower() == "true", flag
    assert int(policy["PasswordReusePrevention"]) >= 1 and int(policy["MaxPasswordAge"]) >= 1


def check_IAM_04_config_rules_for_key_rotation_and_mfa(tap: Template, e: Expectations) -> None:
    identifiers = {
        r["Source"]["SourceIdentifier"] for r in properties(tap, "AWS::Config::ConfigRule")
    }
    assert {
        "ACCESS_KEYS_ROTATED",
        "IAM_USER_MFA_ENABLED",
        "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
        "ROOT_ACCOUNT_MFA_ENABLED",
    } <= identifiers


def check_RES_01_backup_vault_plan_and_selections(tap: Template, e: Expectations) -> None:
    (_, vault) = the(tap, "AWS::Backup::BackupVault")
    assert vault["Properties"]["EncryptionKeyArn"] in _key_arns(tap)
    (_, plan) = the(tap, "AWS::Backup::BackupPlan")
    rules = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert len(rules) >= 3
    assert any(r.get("Lifecycle", {}).get("MoveToColdStorageAfterDays") for r in rules)
    assert all(r["Lifecycle"]["DeleteAfterDays"] > 0 for r in rules)
    selections = json.dumps(properties(tap, "AWS::Backup::BackupSelection"))
    (db_id, _) = the(tap, "AWS::RDS::DBCluster" if _aurora(tap) else "AWS::RDS::DBInstance")
    assert db_id in selections, "the database is covered"
    instances = resources(tap, "AWS::EC2::Instance")
    assert "ListOfTags" in selections or all(i in selections for i in instances), "EC2 volumes"
    # Tag selections only help when the fleets' volumes carry the tag.
    if "ListOfTags" in selections:
        for data in _launch_datas(tap):
            volume_tags = [
                spec["Tags"]
                for spec in data["TagSpecifications"]
                if spec["ResourceType"] == "volume"
            ]
            assert any(
                t["Key"] == "Backup" and t["Value"] == "true" for tags in volume_tags for t in tags
            )


# ---- FinSecure's additions ----------------------------------------------------------------------
def check_NET_08_ingress_only_from_a_validated_cidr_parameter(
    tap: Template, e: Expectations
) -> None:
    assert e.ingress_parameter, "the stack names its ingress parameter"
    parameter = tap["Parameters"][e.ingress_parameter]
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch(parameter["Default"])
    wide = () if e.public_ingress else ("0.0.0.0/0", "10.0.0.0/7")
    for bad in (*wide, "not-a-cidr", "10.0.0.0", "10.0.0.0/33", "256.0.0.0/8"):
        assert not pattern.fullmatch(bad), bad
    cidr_rules = [r for r in properties(tap, "AWS::EC2::SecurityGroupIngress") if "CidrIp" in r]
    from_parameter = [r for r in cidr_rules if r["CidrIp"] == ref(e.ingress_parameter)]
    assert {r["FromPort"] for r in from_parameter} == {80, 443}
    for rule in cidr_rules:
        assert rule["CidrIp"] != "0.0.0.0/0", rule
    for group in properties(tap, "AWS::EC2::SecurityGroup"):
        for rule in group.get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0", rule


def check_NET_09_default_vpcs_removed_outside_the_deployment_region(
    tap: Template, e: Expectations
) -> None:
    (_, cleanup) = the(tap, "Custom::DefaultVpcCleanup")
    assert e.region and cleanup["Properties"]["KeepRegion"] == e.region
    assert cleanup["Properties"]["DryRun"] == "false"
    handler_id = cleanup["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    code = tap["Resources"][handler_id]["Properties"]["Code"]["ZipFile"]
    assert "delete_vpc" in code and "describe_network_interfaces" in code


def _functions(tap: Template) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in resources(tap, "AWS::Lambda::Function").items()}


def check_CMP_09_functions_encrypted_dead_lettered_traced_reserved(
    tap: Template, e: Expectations
) -> None:
    functions = _functions(tap)
    assert functions
    for logical_id, function in functions.items():
        assert "TargetArn" in function.get("DeadLetterConfig", {}), logical_id
        assert function["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert function["ReservedConcurrentExecutions"] >= 1, logical_id
        assert "LogGroup" in function.get("LoggingConfig", {}), logical_id
        if "Environment" in function:
            key = function["KmsKeyArn"]["Fn::GetAtt"][0]
            assert tap["Resources"][key]["Type"] == "AWS::KMS::Key", logical_id
    for prefix in e.vpc_functions:
        [function] = [f for logical_id, f in functions.items() if logical_id.startswith(prefix)]
        assert "VpcConfig" in function, f"{prefix} reaches private resources from the VPC"


def check_DB_10_table_pitr_cmk_deletion_protection(tap: Template, e: Expectations) -> None:
    (_, table) = the(tap, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert "KMSMasterKeyId" in props["SSESpecification"]
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def check_DB_11_hierarchical_parameters_no_secrets_outside_secrets_manager(
    tap: Template, e: Expectations
) -> None:
    parameters = properties(tap, "AWS::SSM::Parameter")
    assert parameters
    for parameter in parameters:
        segments = rendered(parameter["Name"]).split("/")
        assert segments[0] == "" and len(segments) == 5, parameter["Name"]
        assert not re.search(r"password|secret|token", segments[-1], re.I)
    for function in _functions(tap).values():
        for key in function.get("Environment", {}).get("Variables", {}):
            assert not re.search(r"password|secret|token", key, re.I), key


def check_S3_05_static_site_through_cloudfront_origin_access_control(
    tap: Template, e: Expectations
) -> None:
    (distribution_id, distribution) = the(tap, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert "OriginAccessControlId" in origin and origin["S3OriginConfig"] == {
        "OriginAccessIdentity": ""
    }
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] in (
        "redirect-to-https",
        "https-only",
    )
    bucket_id = origin["DomainName"]["Fn::GetAtt"][0]
    block = tap["Resources"][bucket_id]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(block.values())
    [policy] = [
        p for p in properties(tap, "AWS::S3::BucketPolicy") if p["Bucket"] == ref(bucket_id)
    ]
    readers = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and "s3:GetObject" in as_list(s["Action"])
    ]
    assert readers and all(
        s["Principal"] == {"Service": "cloudfront.amazonaws.com"} and mentions(s, distribution_id)
        for s in readers
    )


def check_LOG_07_sampling_rule_active_tracing_and_instance_daemon(
    tap: Template, e: Expectations
) -> None:
    assert resources(tap, "AWS::XRay::SamplingRule")
    for logical_id, function in _functions(tap).items():
        assert function["TracingConfig"] == {"Mode": "Active"}, logical_id
    for script in _user_datas(tap):
        assert '"xray"' in script.replace('\\"', '"'), "every fleet's agent receives segments"


# ---- PayFlow's additions ------------------------------------------------------------------------
def check_LOG_06_database_audit_logs_exported(tap: Template, e: Expectations) -> None:
    exports = set(_db(tap)["EnableCloudwatchLogsExports"])
    if _aurora(tap):
        # PostgreSQL writes its connection audit (log_connections/disconnections) to this log.
        assert exports == {"postgresql"}
        assert _cluster_parameters(tap)["log_connections"] == "1"
    else:
        assert "audit" in exports
    groups = resources(tap, "AWS::Logs::LogGroup")
    for export in exports:
        named = [
            g
            for g in groups.values()
            if rendered(g["Properties"].get("LogGroupName", "")).endswith(f"/{export}")
        ]
        assert named and all("KmsKeyId" in g["Properties"] for g in named), export


def _rules(tap: Template) -> list[dict[str, Any]]:
    return properties(tap, "AWS::ElasticLoadBalancingV2::ListenerRule")


def _rule_paths(rule: dict[str, Any]) -> list[str]:
    return [
        path
        for condition in rule["Conditions"]
        if condition["Field"] == "path-pattern"
        for path in condition["PathPatternConfig"]["Values"]
    ]


def check_EDGE_05_path_based_listener_rules(tap: Template, e: Expectations) -> None:
    rules = _rules(tap)
    assert rules and all(_rule_paths(r) for r in rules), "every rule matches paths"
    routed = {path for rule in rules for path in _rule_paths(rule)}
    assert set(e.path_patterns) <= routed, sorted(set(e.path_patterns) - routed)
    groups = resources(tap, "AWS::ElasticLoadBalancingV2::TargetGroup")
    for rule in rules:
        assert any(mentions(rule["Actions"], group) for group in groups), "forwards to a group"
    priorities = [r["Priority"] for r in rules]
    assert len(priorities) == len(set(priorities))


def check_EDGE_06_route53_zone_weighted_records_health_checks_with_alarms(
    tap: Template, e: Expectations
) -> None:
    (zone_id, zone) = the(tap, "AWS::Route53::HostedZone")
    assert zone.get("Condition") == e.domain_condition
    assert zone["DeletionPolicy"] == "Retain"
    records = properties(tap, "AWS::Route53::RecordSet")
    assert len(records) >= 2 and all("Weight" in r and r["SetIdentifier"] for r in records)
    weights = {r["SetIdentifier"]: tap["Parameters"][r["Weight"]["Ref"]] for r in records}
    assert (weights["production"]["Default"], weights["canary"]["Default"]) == (90, 10)
    checks = resources(tap, "AWS::Route53::HealthCheck")
    alarms = properties(tap, "AWS::CloudWatch::Alarm")
    for record in records:
        assert record["HostedZoneId"] == {"Fn::GetAtt": [zone_id, "Id"]}
        check_id = record["HealthCheckId"]["Fn::GetAtt"][0]
        config = checks[check_id]["Properties"]["HealthCheckConfig"]
        assert config["Type"] == "HTTPS" and config["RequestInterval"] == 30
        assert config["ResourcePath"] == (e.health_check_path or config["ResourcePath"])
        assert any(
            mentions(a.get("Dimensions"), check_id) and a["MetricName"] == "HealthCheckStatus"
            for a in alarms
        ), f"{check_id} has no alarm"
    for resource in [*checks.values(), *resources(tap, "AWS::Route53::RecordSet").values()]:
        assert resource["Condition"] == e.domain_condition


def check_DEP_01_blue_green_target_groups_with_parameter_weights(
    tap: Template, e: Expectations
) -> None:
    weighted = [
        r
        for r in _rules(tap)
        if len(r["Actions"][0].get("ForwardConfig", {}).get("TargetGroups", [])) == 2
    ]
    [rule] = weighted
    groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert [g["Weight"] for g in groups] == [ref(name) for name in e.weight_parameters]
    for name in e.weight_parameters:
        parameter = tap["Parameters"][name]
        assert (parameter["MinValue"], parameter["MaxValue"]) == (0, 100), name
    assert [tap["Parameters"][n]["Default"] for n in e.weight_parameters] == [100, 0]
    fleets = json.dumps([g["Properties"]["TargetGroupARNs"] for g in _asgs(tap)])
    for group in groups:
        assert json.dumps(group["TargetGroupArn"]) in fleets, "each colour has a fleet"


def check_DEP_02_codedeploy_groups_roll_back_on_failure_and_alarms(
    tap: Template, e: Expectations
) -> None:
    assert resources(tap, "AWS::CodeDeploy::Application")
    groups = properties(tap, "AWS::CodeDeploy::DeploymentGroup")
    assert len(groups) == 2, "one deployment group per colour"
    for group in groups:
        rollback = group["AutoRollbackConfiguration"]
        assert rollback["Enabled"] is True
        assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(rollback["Events"])
        alarms = group["AlarmConfiguration"]
        assert alarms["Enabled"] is True and alarms["Alarms"]
        assert group["DeploymentStyle"]["DeploymentOption"] == "WITH_TRAFFIC_CONTROL"
        assert group["LoadBalancerInfo"]["TargetGroupInfoList"]


def check_DEP_03_state_machine_shifts_checks_alarms_rolls_back_and_reports(
    tap: Template, e: Expectations
) -> None:
    (_, machine) = the(tap, "AWS::StepFunctions::StateMachine")
    definition = rendered(machine["Properties"]["DefinitionString"])
    for needle in ('"action":"shift"', '"action":"check_alarms"', '"action":"rollback"'):
        assert needle in definition.replace(" ", ""), needle
    assert '"Type":"Wait"' in definition and '"Type":"Choice"' in definition
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
    (topic_id, _) = the(tap, "AWS::SNS::Topic")
    sources = {
        source
        for rule in properties(tap, "AWS::Events::Rule")
        if any(t["Arn"] == ref(topic_id) for t in rule["Targets"])
        for source in rule["EventPattern"]["source"]
    }
    assert {"aws.states", "aws.codedeploy"} <= sources


def check_GOV_06_budget_and_cost_anomaly_detection(tap: Template, e: Expectations) -> None:
    (_, budget) = the(tap, "AWS::Budgets::Budget")
    notifications = budget["Properties"]["NotificationsWithSubscribers"]
    assert {n["Notification"]["NotificationType"] for n in notifications} == {
        "ACTUAL",
        "FORECASTED",
    }
    assert resources(tap, "AWS::CE::AnomalyMonitor")
    [subscription] = properties(tap, "AWS::CE::AnomalySubscription")
    assert subscription["Subscribers"]


# ---- registry -----------------------------------------------------------------------------------
Check = Callable[[Template, Expectations], None]


def _registry() -> dict[str, Check]:
    checks: dict[str, Check] = {}
    for name, function in globals().items():
        match = re.match(r"^check_([A-Z0-9]+)_(\d\d)_", name)
        if match:
            checks[f"{match[1]}-{match[2]}"] = function
    return checks


CHECKS = _registry()


def check(control: str, template: Template, expectations: Expectations) -> None:
    """Run the assertion for ``control``; a control without one is a failure, not a pass."""
    assert control in CHECKS, (
        f"no assertion for {control}: add check_{control.replace('-', '_')}_..."
    )
    CHECKS[control](template, expectations)
