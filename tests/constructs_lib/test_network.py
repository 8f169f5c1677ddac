"""Tests for ``constructs_lib.network.SecureVpc`` (NET-01..05, NET-07, NET-10, LOG-03, RES-02).

Every assertion reads the synthesized template. Templates are built once per module (three
variants, plus one nag synth); each synth costs seconds on a shared machine.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from botocore.exceptions import ClientError
from cfnlint.api import lint

from constructs_lib.network import (
    ACL_RULES,
    DEFAULT_INTERFACE_ENDPOINTS,
    SecureVpc,
    inline_handler_source,
)
from tests.support import nag_findings, new_stack

ANYWHERE = "0.0.0.0/0"
EPHEMERAL = (1024, 65535)
GET_AZS = {"Fn::GetAZs": ""}
KEY_ID = "LogsKey"
#: Literal AZ names such as us-east-1a or us-gov-west-1b must never appear in a template.
AZ_NAME = re.compile(r"\b[a-z]{2}(-gov)?-[a-z]+-\d[a-z]\b")


@dataclass
class Built:
    """One synthesized variant: the construct, its template and the raw template JSON."""

    construct: SecureVpc
    template: Template

    @property
    def json(self) -> dict[str, Any]:
        return dict(self.template.to_json())

    def resources(self, resource_type: str) -> dict[str, Any]:
        return dict(self.template.find_resources(resource_type))


# ---- builders ---------------------------------------------------------------------------------
def _key(stack: cdk.Stack) -> kms.Key:
    return kms.Key(stack, KEY_ID, enable_key_rotation=True, removal_policy=cdk.RemovalPolicy.RETAIN)


def _imported_bucket(stack: cdk.Stack) -> s3.IBucket:
    return s3.Bucket.from_bucket_name(stack, "FlowLogBucket", "flow-log-bucket")


def build_default(stack: cdk.Stack, **overrides: Any) -> SecureVpc:
    arguments: dict[str, Any] = {
        "flow_log_key": _key(stack),
        "flow_log_bucket": _imported_bucket(stack),
        **overrides,
    }
    return SecureVpc(stack, "Vpc", **arguments)


def _synth(build: Callable[[cdk.Stack], SecureVpc]) -> tuple[Built, cdk.Stack]:
    stack = new_stack()
    construct = build(stack)
    return Built(construct, Template.from_stack(stack)), stack


@pytest.fixture(scope="module")
def default() -> Built:
    return _synth(build_default)[0]


@pytest.fixture(scope="module")
def three_az() -> Built:
    return _synth(lambda stack: build_default(stack, max_azs=3, cidr="10.20.0.0/24"))[0]


@pytest.fixture(scope="module")
def relaxed_and_stack() -> tuple[Built, cdk.Stack]:
    """Every behaviour-changing argument at once, an imported log key and a CMK-encrypted bucket."""

    def build(stack: cdk.Stack) -> SecureVpc:
        bucket_key = kms.Key(stack, "BucketKey", enable_key_rotation=True)
        bucket = s3.Bucket(stack, "FlowLogBucket", encryption_key=bucket_key)
        port = cdk.CfnParameter(stack, "DatabasePort", type="Number", default=5432)
        return SecureVpc(
            stack,
            "Vpc",
            flow_log_key=kms.Key.from_key_arn(
                stack,
                "ImportedKey",
                "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555",
            ),
            flow_log_bucket=bucket,
            nat_gateway_per_az=False,
            gateway_endpoints_dynamodb=True,
            additional_interface_endpoints=[
                ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
                ec2.InterfaceVpcEndpointAwsService.SSM,  # already a default: not duplicated
            ],
            database_port=port.value_as_number,
            app_port=8080,
            log_retention=logs.RetentionDays.THREE_MONTHS,
        )

    return _synth(build)


@pytest.fixture(scope="module")
def relaxed(relaxed_and_stack: tuple[Built, cdk.Stack]) -> Built:
    return relaxed_and_stack[0]


# ---- template navigation ----------------------------------------------------------------------
def _ref(value: Any) -> str:
    assert isinstance(value, dict) and set(value) == {"Ref"}, value
    return str(value["Ref"])


def _tier_subnets(built: Built, tier: str) -> dict[str, Any]:
    """Subnets of one tier (CDK tags each subnet with its group name)."""
    return {
        logical_id: subnet["Properties"]
        for logical_id, subnet in built.resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-name", "Value": tier} in subnet["Properties"]["Tags"]
    }


def _route_table_of(built: Built) -> dict[str, str]:
    """Subnet logical ID -> route table logical ID."""
    return {
        _ref(assoc["Properties"]["SubnetId"]): _ref(assoc["Properties"]["RouteTableId"])
        for assoc in built.resources("AWS::EC2::SubnetRouteTableAssociation").values()
    }


def _routes_of(built: Built, route_table: str) -> list[dict[str, Any]]:
    return [
        route["Properties"]
        for route in built.resources("AWS::EC2::Route").values()
        if _ref(route["Properties"]["RouteTableId"]) == route_table
    ]


def _acl_entries(built: Built, tier: str) -> set[tuple[str, int, str, Any, Any]]:
    """(direction, rule number, CIDR, from port, to port) of the allow entries of a tier's ACL."""
    entries = set()
    for entry in built.resources("AWS::EC2::NetworkAclEntry").values():
        props = entry["Properties"]
        if not _ref(props["NetworkAclId"]).startswith(f"Vpc{tier}NetworkAcl"):
            continue
        assert props["Protocol"] == 6, props  # TCP only: never "all protocols"
        assert props["RuleAction"] == "allow", props
        direction = "out" if props.get("Egress") else "in"
        port_range = props["PortRange"]
        entries.add(
            (
                direction,
                props["RuleNumber"],
                props["CidrBlock"],
                json.dumps(port_range["From"]),
                json.dumps(port_range["To"]),
            )
        )
    return entries


def _port(value: int) -> tuple[str, str]:
    return json.dumps(value), json.dumps(value)


def _az_index(subnet: dict[str, Any]) -> int:
    selection = subnet["AvailabilityZone"]["Fn::Select"]
    assert selection[1] == GET_AZS, selection
    return int(selection[0])


# ---- NET-01: AZs and CIDRs ---------------------------------------------------------------------
@pytest.mark.parametrize(("variant", "az_count"), [("default", 2), ("three_az", 3)])
def test_net01_azs_come_from_get_azs(request: pytest.FixtureRequest, variant: str, az_count: int):
    built: Built = request.getfixturevalue(variant)
    for tier in ("Public", "App", "Data"):
        subnets = _tier_subnets(built, tier)
        assert sorted(_az_index(subnet) for subnet in subnets.values()) == list(range(az_count))
    assert built.construct.availability_zone_count == az_count
    assert not AZ_NAME.search(json.dumps(built.json)), "literal AZ name in the template"


@pytest.mark.parametrize(
    ("variant", "vpc_cidr"), [("default", "10.0.0.0/16"), ("three_az", "10.20.0.0/24")]
)
def test_net01_subnet_cidrs_are_carved_from_the_vpc_cidr(
    request: pytest.FixtureRequest, variant: str, vpc_cidr: str
):
    built: Built = request.getfixturevalue(variant)
    built.template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": vpc_cidr})
    network = ipaddress.IPv4Network(vpc_cidr)
    blocks = [
        ipaddress.IPv4Network(subnet["Properties"]["CidrBlock"])
        for subnet in built.resources("AWS::EC2::Subnet").values()
    ]
    assert len(blocks) == 3 * built.construct.availability_zone_count
    assert all(block.subnet_of(network) for block in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


# ---- NET-02: tiers, own route tables, isolated data tier --------------------------------------
def test_net02_three_tiers_each_subnet_on_its_own_route_table(default: Built):
    route_table_of = _route_table_of(default)
    for tier in ("Public", "App", "Data"):
        assert len(_tier_subnets(default, tier)) == 2
    assert len(route_table_of) == 6
    assert len(set(route_table_of.values())) == 6, "a route table is shared between subnets"
    for subnet in default.resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


@pytest.mark.parametrize("variant", ["default", "three_az", "relaxed"])
def test_net02_data_subnets_have_no_route_to_an_internet_or_nat_gateway(
    request: pytest.FixtureRequest, variant: str
):
    built: Built = request.getfixturevalue(variant)
    route_table_of = _route_table_of(built)
    for subnet_id in _tier_subnets(built, "Data"):
        assert _routes_of(built, route_table_of[subnet_id]) == []


def test_net02_only_public_subnets_route_to_the_internet_gateway(default: Built):
    route_table_of = _route_table_of(default)
    public_tables = {route_table_of[s] for s in _tier_subnets(default, "Public")}
    for route in default.resources("AWS::EC2::Route").values():
        if "GatewayId" in route["Properties"]:
            assert _ref(route["Properties"]["RouteTableId"]) in public_tables


# ---- NET-03: one NAT per AZ, app routes to its own AZ's NAT -----------------------------------
@pytest.mark.parametrize(("variant", "az_count"), [("default", 2), ("three_az", 3)])
def test_net03_one_nat_per_az_and_app_routes_use_their_own_az(
    request: pytest.FixtureRequest, variant: str, az_count: int
):
    built: Built = request.getfixturevalue(variant)
    subnets = {**_tier_subnets(built, "Public"), **_tier_subnets(built, "App")}
    nats = built.resources("AWS::EC2::NatGateway")
    assert len(nats) == az_count
    nat_az = {
        nat_id: _az_index(subnets[_ref(nat["Properties"]["SubnetId"])])
        for nat_id, nat in nats.items()
    }
    assert sorted(nat_az.values()) == list(range(az_count))

    route_table_of = _route_table_of(built)
    used = set()
    for subnet_id, subnet in _tier_subnets(built, "App").items():
        (default_route,) = [
            r
            for r in _routes_of(built, route_table_of[subnet_id])
            if r["DestinationCidrBlock"] == ANYWHERE
        ]
        nat_id = _ref(default_route["NatGatewayId"])
        assert nat_az[nat_id] == _az_index(subnet), f"{subnet_id} routes to another AZ's NAT"
        used.add(nat_id)
    assert used == set(nats)


def test_net03_relaxation_shares_one_nat(relaxed: Built):
    nats = relaxed.resources("AWS::EC2::NatGateway")
    assert len(nats) == 1
    route_table_of = _route_table_of(relaxed)
    for subnet_id in _tier_subnets(relaxed, "App"):
        (route,) = _routes_of(relaxed, route_table_of[subnet_id])
        assert _ref(route["NatGatewayId"]) in nats
    assert relaxed.construct.nat_gateway_count == 1


# ---- NET-05: network ACLs ----------------------------------------------------------------------
def test_net05_every_subnet_is_associated_with_its_tiers_acl(default: Built):
    assert len(default.resources("AWS::EC2::NetworkAcl")) == 3
    acl_of = {
        _ref(assoc["Properties"]["SubnetId"]): _ref(assoc["Properties"]["NetworkAclId"])
        for assoc in default.resources("AWS::EC2::SubnetNetworkAclAssociation").values()
    }
    for tier in ("Public", "App", "Data"):
        for subnet_id in _tier_subnets(default, tier):
            assert acl_of[subnet_id].startswith(f"Vpc{tier}NetworkAcl")


def test_net05_acl_entries_are_explicit_and_least_privilege(default: Built):
    public = ["10.0.0.0/19", "10.0.32.0/19"]
    app = ["10.0.64.0/19", "10.0.96.0/19"]
    data = ["10.0.128.0/19", "10.0.160.0/19"]
    vpc = "10.0.0.0/16"
    https, http, mysql, eph = (
        _port(443),
        _port(80),
        _port(3306),
        tuple(json.dumps(p) for p in EPHEMERAL),
    )
    assert _acl_entries(default, "Public") == {
        ("in", 100, ANYWHERE, *https),
        ("in", 110, ANYWHERE, *http),
        ("in", 120, ANYWHERE, *eph),
        ("out", 100, ANYWHERE, *https),
        ("out", 110, ANYWHERE, *http),
        ("out", 120, ANYWHERE, *eph),
        ("out", 130, app[0], *http),
        ("out", 140, app[1], *http),
    }
    assert _acl_entries(default, "App") == {
        ("in", 100, public[0], *http),
        ("in", 110, public[1], *http),
        ("in", 120, vpc, *https),
        ("in", 130, ANYWHERE, *eph),
        ("out", 100, ANYWHERE, *https),
        ("out", 110, ANYWHERE, *http),
        ("out", 120, data[0], *mysql),
        ("out", 130, data[1], *mysql),
        ("out", 140, vpc, *eph),
    }
    assert _acl_entries(default, "Data") == {
        ("in", 100, app[0], *mysql),
        ("in", 110, app[1], *mysql),
        ("out", 100, app[0], *eph),
        ("out", 110, app[1], *eph),
    }


def test_net05_acl_ports_follow_the_arguments(relaxed: Built):
    database = json.dumps({"Ref": "DatabasePort"})
    app_port = json.dumps(8080)
    data_in = {e for e in _acl_entries(relaxed, "Data") if e[0] == "in"}
    assert {(e[3], e[4]) for e in data_in} == {(database, database)}
    app_in_from_public = {e for e in _acl_entries(relaxed, "App") if e[0] == "in" and e[1] < 120}
    assert {(e[3], e[4]) for e in app_in_from_public} == {(app_port, app_port)}


def test_net05_every_acl_rule_documents_its_reason():
    for rules in ACL_RULES.values():
        assert all(len(rule.why) > 30 for rule in rules)


# ---- NET-04 / LOG-03 / RES-02: flow logs --------------------------------------------------------
def _logical_id(built: Built, resource_type: str, prefix: str) -> str:
    (logical_id,) = [i for i in built.resources(resource_type) if i.startswith(prefix)]
    return logical_id


def test_net04_flow_logs_capture_all_traffic_to_cloudwatch_and_s3(default: Built):
    group = _logical_id(default, "AWS::Logs::LogGroup", "VpcFlowLogGroup")
    role = _logical_id(default, "AWS::IAM::Role", "VpcFlowLogRole")
    vpc = _logical_id(default, "AWS::EC2::VPC", "Vpc")
    flow_logs = [f["Properties"] for f in default.resources("AWS::EC2::FlowLog").values()]
    assert len(flow_logs) == 2
    by_type = {f["LogDestinationType"]: f for f in flow_logs}
    assert set(by_type) == {"cloud-watch-logs", "s3"}
    for flow_log in flow_logs:
        assert flow_log["TrafficType"] == "ALL"
        assert flow_log["ResourceType"] == "VPC"
        assert _ref(flow_log["ResourceId"]) == vpc
    assert _ref(by_type["cloud-watch-logs"]["LogGroupName"]) == group
    assert by_type["cloud-watch-logs"]["DeliverLogsPermissionArn"] == {"Fn::GetAtt": [role, "Arn"]}
    assert by_type["s3"]["LogDestination"] == "arn:aws:s3:::flow-log-bucket/vpc-flow-logs/"


def test_net04_flow_log_group_is_cmk_encrypted_with_retention_and_retained(default: Built):
    key = _logical_id(default, "AWS::KMS::Key", KEY_ID)
    group = default.resources("AWS::Logs::LogGroup")[
        _logical_id(default, "AWS::Logs::LogGroup", "VpcFlowLogGroup")
    ]
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == 365
    assert "LogGroupName" not in group["Properties"]  # a fixed name would block re-creation
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"


def test_log03_every_log_group_is_encrypted_retained_and_expires(default: Built, relaxed: Built):
    for built, days in ((default, 365), (relaxed, 90)):
        groups = built.resources("AWS::Logs::LogGroup")
        assert len(groups) == 2  # flow logs + default-SG handler
        for group in groups.values():
            assert "KmsKeyId" in group["Properties"]
            assert group["Properties"]["RetentionInDays"] == days
            assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"


def test_net04_flow_log_role_is_dedicated_and_scoped_to_its_log_group(default: Built):
    role = _logical_id(default, "AWS::IAM::Role", "VpcFlowLogRole")
    group = _logical_id(default, "AWS::Logs::LogGroup", "VpcFlowLogGroup")
    default.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {"aws:SourceArn": Match.any_value()},
                        },
                    }
                ]
            }
        },
    )
    attached = [
        p["Properties"]
        for p in default.resources("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
    ]
    assert len(attached) == 1
    (statement,) = attached[0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Fn::GetAtt": [group, "Arn"]}
    assert set(statement["Action"]) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogStreams",
    }
    assert default.resources("AWS::IAM::Policy") == {}  # no inline policies


def test_net04_key_policy_lets_cloudwatch_logs_use_the_key(default: Built):
    default.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {
                                    "Service": {
                                        "Fn::Join": [
                                            "",
                                            ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"],
                                        ]
                                    }
                                },
                                "Action": [
                                    "kms:Decrypt*",
                                    "kms:Encrypt*",
                                    "kms:GenerateDataKey*",
                                    "kms:ReEncrypt*",
                                ],
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": Match.any_value()
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_net04_bucket_cmk_lets_log_delivery_write(relaxed: Built):
    relaxed.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                                "Action": Match.array_with(["kms:GenerateDataKey*"]),
                                "Condition": {
                                    "StringEquals": {
                                        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
                                    },
                                    "ArnLike": {"aws:SourceArn": Match.any_value()},
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_net04_imported_key_is_reported(relaxed_and_stack: tuple[Built, cdk.Stack]):
    Annotations.from_stack(relaxed_and_stack[1]).has_warning(
        "/TestStack/Vpc", Match.string_like_regexp("flow_log_key is imported")
    )


# ---- NET-07: endpoints ---------------------------------------------------------------------------
def _endpoints(built: Built, endpoint_type: str) -> list[dict[str, Any]]:
    return [
        e["Properties"]
        for e in built.resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == endpoint_type
    ]


def _service(endpoint: dict[str, Any]) -> str:
    """``com.amazonaws.us-east-1.ssm``; gateway services render as ``com.amazonaws.<Region>.s3``."""
    name = endpoint["ServiceName"]
    if isinstance(name, str):
        return name
    return "".join(part if isinstance(part, str) else "<Region>" for part in name["Fn::Join"][1])


def test_net07_gateway_endpoints(default: Built, relaxed: Built):
    route_table_of = _route_table_of(default)
    (s3_endpoint,) = _endpoints(default, "Gateway")
    assert _service(s3_endpoint) == "com.amazonaws.<Region>.s3"
    # every tier's route table reaches S3 privately, the isolated data tier included
    assert sorted(_ref(t) for t in s3_endpoint["RouteTableIds"]) == sorted(route_table_of.values())
    services = sorted(_service(e) for e in _endpoints(relaxed, "Gateway"))
    assert services == ["com.amazonaws.<Region>.dynamodb", "com.amazonaws.<Region>.s3"]


def test_net07_interface_endpoints_with_private_dns_in_app_subnets(default: Built, relaxed: Built):
    group = _logical_id(default, "AWS::EC2::SecurityGroup", "VpcEndpointSecurityGroup")
    app_subnets = [{"Ref": s} for s in _tier_subnets(default, "App")]
    endpoints = _endpoints(default, "Interface")
    assert sorted(_service(e) for e in endpoints) == sorted(
        f"com.amazonaws.us-east-1.{s}"
        for s in ("ssm", "ssmmessages", "ec2messages", "secretsmanager", "kms", "logs", "sts")
    )
    for endpoint in endpoints:
        assert endpoint["PrivateDnsEnabled"] is True
        assert endpoint["SecurityGroupIds"] == [{"Fn::GetAtt": [group, "GroupId"]}]
        assert sorted(endpoint["SubnetIds"], key=json.dumps) == sorted(app_subnets, key=json.dumps)
    extra = {_service(e) for e in _endpoints(relaxed, "Interface")}
    assert (
        len(extra) == len(_endpoints(relaxed, "Interface")) == len(DEFAULT_INTERFACE_ENDPOINTS) + 1
    )
    assert "com.amazonaws.us-east-1.monitoring" in extra


def test_net07_endpoint_security_group_admits_https_from_the_vpc_only(default: Built):
    groups = default.resources("AWS::EC2::SecurityGroup")
    assert list(groups) == [
        _logical_id(default, "AWS::EC2::SecurityGroup", "VpcEndpointSecurityGroup")
    ]
    props = next(iter(groups.values()))["Properties"]
    assert props["SecurityGroupIngress"] == [
        {
            "CidrIp": "10.0.0.0/16",
            "Description": "HTTPS to the interface endpoints from inside the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    # CDK's placeholder for "no egress": a rule that matches no traffic.
    assert props["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    assert default.resources("AWS::EC2::SecurityGroupIngress") == {}
    assert default.resources("AWS::EC2::SecurityGroupEgress") == {}


# ---- NET-10 / default security group ----------------------------------------------------------
def test_net10_no_admin_port_is_opened(default: Built):
    for group in default.resources("AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert not rule["FromPort"] <= 22 <= rule["ToPort"]
            assert not rule["FromPort"] <= 3389 <= rule["ToPort"]
    for entry in default.resources("AWS::EC2::NetworkAclEntry").values():
        props = entry["Properties"]
        if not props.get("Egress"):
            assert not props["PortRange"]["From"] <= 22 <= props["PortRange"]["To"]


def test_default_security_group_is_stripped_by_an_inline_handler(default: Built):
    vpc = _logical_id(default, "AWS::EC2::VPC", "Vpc")
    handler = _logical_id(default, "AWS::Lambda::Function", "VpcDefaultSgHandler")
    (custom,) = default.resources("Custom::VpcRestrictDefaultSG").values()
    assert custom["Properties"]["DefaultSecurityGroupId"] == {
        "Fn::GetAtt": [vpc, "DefaultSecurityGroup"]
    }
    assert custom["Properties"]["ServiceToken"] == {"Fn::GetAtt": [handler, "Arn"]}
    function = default.resources("AWS::Lambda::Function")[handler]["Properties"]
    assert function["Code"]["ZipFile"] == inline_handler_source()  # no asset: plain CFN deploys it
    assert function["Runtime"] == "python3.14"
    assert function["ReservedConcurrentExecutions"] == 1
    policy = next(
        p["Properties"]["PolicyDocument"]
        for i, p in default.resources("AWS::IAM::ManagedPolicy").items()
        if i.startswith("VpcDefaultSgHandlerPolicy")
    )
    ec2_statement = next(s for s in policy["Statement"] if s["Action"][0].startswith("ec2:"))
    assert ec2_statement["Action"] == [
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
    ]
    assert {"Fn::GetAtt": [vpc, "DefaultSecurityGroup"]} in ec2_statement["Resource"]["Fn::Join"][1]
    assert any(d.startswith("VpcDefaultSgHandlerPolicy") for d in custom["DependsOn"])


# ---- the inlined handler ----------------------------------------------------------------------
class _FakeEc2:
    def __init__(self, failures: dict[str, str] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures = failures or {}

    def _call(self, operation: str, arguments: dict[str, Any]) -> None:
        self.calls.append((operation, arguments))
        if operation in self.failures:
            error = {"Error": {"Code": self.failures[operation], "Message": "boom"}}
            raise ClientError(error, operation)

    def revoke_security_group_ingress(self, **arguments: Any) -> None:
        self._call("ingress", arguments)

    def revoke_security_group_egress(self, **arguments: Any) -> None:
        self._call("egress", arguments)


def _invoke(
    monkeypatch: pytest.MonkeyPatch, request_type: str, ec2_client: _FakeEc2
) -> dict[str, Any]:
    """Run the handler exactly as inlined into the template; return what it sent CloudFormation."""
    import boto3

    sent: list[Any] = []

    class _Response:
        def close(self) -> None:
            pass

    def urlopen(request: Any, timeout: int) -> _Response:
        sent.append(request)
        return _Response()

    monkeypatch.setattr(boto3, "client", lambda service: ec2_client)
    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    namespace: dict[str, Any] = {}
    exec(compile(inline_handler_source(), "index.py", "exec"), namespace)
    event = {
        "RequestType": request_type,
        "ResponseURL": "https://example.com/response",
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "Restrict",
        "ResourceProperties": {"DefaultSecurityGroupId": "sg-0123", "AccountId": "111122223333"},
    }
    namespace["handler"](event, None)
    (request,) = sent
    assert request.get_method() == "PUT"
    return json.loads(request.data)


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_handler_revokes_both_default_rules(monkeypatch: pytest.MonkeyPatch, request_type: str):
    client = _FakeEc2()
    response = _invoke(monkeypatch, request_type, client)
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == "sg-0123"
    assert client.calls == [
        (
            "ingress",
            {
                "GroupId": "sg-0123",
                "IpPermissions": [
                    {
                        "IpProtocol": "-1",
                        "UserIdGroupPairs": [{"GroupId": "sg-0123", "UserId": "111122223333"}],
                    }
                ],
            },
        ),
        (
            "egress",
            {
                "GroupId": "sg-0123",
                "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": ANYWHERE}]}],
            },
        ),
    ]


def test_handler_accepts_rules_that_are_already_gone(monkeypatch: pytest.MonkeyPatch):
    client = _FakeEc2(
        {"ingress": "InvalidPermission.NotFound", "egress": "InvalidPermission.NotFound"}
    )
    assert _invoke(monkeypatch, "Create", client)["Status"] == "SUCCESS"


def test_handler_reports_other_errors_instead_of_hanging(monkeypatch: pytest.MonkeyPatch):
    response = _invoke(monkeypatch, "Create", _FakeEc2({"egress": "UnauthorizedOperation"}))
    assert response["Status"] == "FAILED"
    assert "UnauthorizedOperation" in response["Reason"]


def test_handler_leaves_the_group_closed_on_delete(monkeypatch: pytest.MonkeyPatch):
    client = _FakeEc2()
    assert _invoke(monkeypatch, "Delete", client)["Status"] == "SUCCESS"
    assert client.calls == []


def test_handler_fits_cloudformation_zipfile_limit():
    assert len(inline_handler_source()) < 4096


# ---- public API ---------------------------------------------------------------------------------
def test_children_are_typed_public_attributes(default: Built):
    vpc = default.construct
    assert isinstance(vpc.vpc, ec2.Vpc) and vpc.vpc.node.id == "Resource"
    assert len(vpc.public_subnets) == len(vpc.app_subnets) == len(vpc.data_subnets) == 2
    assert isinstance(vpc.flow_log_group, logs.LogGroup)
    assert isinstance(vpc.endpoint_security_group, ec2.SecurityGroup)
    for acl in (vpc.public_network_acl, vpc.app_network_acl, vpc.data_network_acl):
        assert isinstance(acl, ec2.NetworkAcl)
    assert set(vpc.interface_endpoints) == {s.short_name for s in DEFAULT_INTERFACE_ENDPOINTS}
    assert vpc.dynamodb_endpoint is None
    for selection, subnets in (
        (vpc.public_subnet_selection(), vpc.public_subnets),
        (vpc.app_subnet_selection(), vpc.app_subnets),
        (vpc.data_subnet_selection(), vpc.data_subnets),
    ):
        selected = vpc.vpc.select_subnets(subnet_group_name=selection.subnet_group_name).subnets
        assert [s.node.path for s in selected] == [s.node.path for s in subnets]
    with pytest.raises(ValueError, match=r"SecureVpc: tier='Web' is invalid"):
        vpc.subnet_selection("Web")


# ---- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cidr": "10.0.0.0/8"}, r"cidr='10.0.0.0/8' is invalid; use a prefix of /16 or longer"),
        ({"cidr": "nonsense"}, r"cidr='nonsense' is invalid; pass an IPv4 CIDR"),
        (
            {"cidr": "10.0.0.0/25"},
            r"cidr='10.0.0.0/25' is invalid; use a prefix between /16 and /24",
        ),
        ({"cidr": "10.0.0.1/16"}, r"cidr='10.0.0.1/16' is invalid"),
        ({"cidr": "0.0.0.0/0"}, r"cidr='0.0.0.0/0' is invalid"),
        ({"max_azs": 1}, r"max_azs=1 is invalid; use a value between 2 and 3"),
        ({"max_azs": 4}, r"max_azs=4 is invalid; use a value between 2 and 3"),
        ({"max_azs": 2.5}, r"max_azs=2.5 is invalid; pass the integer 2 or 3"),
        ({"max_azs": True}, r"max_azs=True is invalid"),
        ({"app_port": 0}, r"app_port=0 is invalid; use a value between 1 and 65535"),
        ({"app_port": 80.5}, r"app_port=80.5 is invalid; pass a whole port number"),
        ({"database_port": 70000}, r"database_port=70000 is invalid"),
        ({"database_port": "3306"}, r"database_port='3306' is invalid; pass a number"),
        ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.* is invalid; LOG-03"),
        (
            {"additional_interface_endpoints": [ec2.GatewayVpcEndpointAwsService.S3]},
            r"additional_interface_endpoints=.* is invalid; pass ec2.InterfaceVpcEndpointAws",
        ),
    ],
)
def test_bad_input_raises_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    with pytest.raises(ValueError, match=rf"^SecureVpc: {message}"):
        build_default(stack, **overrides)
    assert stack.node.try_find_child("Vpc") is None


def test_token_cidr_is_rejected_with_a_fix():
    stack = new_stack()
    cidr = cdk.CfnParameter(stack, "VpcCidr", default="10.0.0.0/16").value_as_string
    with pytest.raises(ValueError, match=r"cidr=.* is invalid; pass a literal IPv4 CIDR"):
        build_default(stack, cidr=cidr)


def test_literal_deploy_time_cidr_is_rejected_with_a_fix():
    with pytest.raises(ValueError, match=r"deploy_time_cidr='10.1.0.0/16' is invalid; pass a tok"):
        build_default(new_stack(), deploy_time_cidr="10.1.0.0/16")


# ---- deploy-time CIDR (a VpcCidr parameter) ---------------------------------------------------
@pytest.fixture(scope="module")
def parameterized() -> Built:
    def build(stack: cdk.Stack) -> SecureVpc:
        cidr = cdk.CfnParameter(stack, "VpcCidr", default="10.0.0.0/16")
        return build_default(stack, deploy_time_cidr=cidr.value_as_string, max_azs=3)

    return _synth(build)[0]


def _cidr_position(value: Any, vpc_id: str) -> int:
    """The index of a ``Fn::Select`` over ``Fn::Cidr`` of the VPC's CidrBlock (fails otherwise)."""
    index, cidr = value["Fn::Select"]
    block, count, bits = cidr["Fn::Cidr"]
    assert block == {"Fn::GetAtt": [vpc_id, "CidrBlock"]}
    assert (count, bits) == (9, "12")  # 9 planned /20 blocks of a /16
    return int(index)


def test_deploy_time_cidr_is_the_vpc_block(parameterized: Built):
    vpc = parameterized.resources("AWS::EC2::VPC")
    assert [v["Properties"]["CidrBlock"] for v in vpc.values()] == [{"Ref": "VpcCidr"}]


def test_deploy_time_cidr_subnets_are_cut_from_the_vpc_block_in_planned_order(parameterized: Built):
    vpc_id = next(iter(parameterized.resources("AWS::EC2::VPC")))
    construct = parameterized.construct
    subnets = [*construct.public_subnets, *construct.app_subnets, *construct.data_subnets]
    resources = parameterized.json["Resources"]
    positions = [
        _cidr_position(
            resources[cdk.Stack.of(s).get_logical_id(s.node.default_child)]["Properties"][  # type: ignore[arg-type]
                "CidrBlock"
            ],
            vpc_id,
        )
        for s in subnets
    ]
    assert positions == list(range(9))
    assert "10.0." not in json.dumps(resources)  # no planned literal is left anywhere


def test_deploy_time_cidr_acl_entries_and_endpoint_rule_follow_the_parameter(parameterized: Built):
    vpc_id = next(iter(parameterized.resources("AWS::EC2::VPC")))
    entries = parameterized.resources("AWS::EC2::NetworkAclEntry").values()
    derived = [
        e["Properties"]["CidrBlock"] for e in entries if e["Properties"]["CidrBlock"] != ANYWHERE
    ]
    assert derived
    for cidr in derived:
        if "Fn::Select" in cidr:
            _cidr_position(cidr, vpc_id)
        else:
            assert cidr == {"Fn::GetAtt": [vpc_id, "CidrBlock"]}
    groups = parameterized.resources("AWS::EC2::SecurityGroup").values()
    ingress = [r for g in groups for r in g["Properties"].get("SecurityGroupIngress", [])]
    assert {json.dumps(r["CidrIp"]) for r in ingress} == {
        json.dumps({"Fn::GetAtt": [vpc_id, "CidrBlock"]})
    }


# ---- gates ------------------------------------------------------------------------------------
def test_nag_clean():
    assert nag_findings(build_default) == []


@pytest.mark.parametrize("variant", ["default", "relaxed", "parameterized"])
def test_cfn_lint_clean(request: pytest.FixtureRequest, variant: str):
    built: Built = request.getfixturevalue(variant)
    matches = lint(json.dumps(built.json), regions=["us-east-1"])
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
