"""FinSecureStack (seed 003): every control of its SPEC 2.4 profile, snapshot, pinned IDs.

The per-control assertions live in ``tests/stacks/control_assertions.py``; this module says what
the stack promises on top: the deploy-time ``VpcCidr``, ``CorporateIPRange`` and ``DatabasePort``
parameters and where they end up, separate keys for the Lambda environment and CloudTrail, the
append-only audit recorder, the conditional CloudFront certificate, PCI-DSS/SOX tags and 30-day
database backups.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from controls.profiles import PROFILES
from stacks.base import CORPORATE_CIDR_PATTERN, VPC_CIDR_PATTERN
from stacks.fin_secure_stack import COMPLIANCE_TAGS, SITE_CERTIFICATE_ARN_PATTERN
from tests.stacks.control_assertions import Expectations, check
from tests.stacks.queries import as_list, mentions, properties, ref, rendered, resources, the
from tests.stacks.snapshots import masked

Template = dict[str, Any]
STACK = "FinSecureStack"

#: Stateful resources whose logical IDs must never change by accident (a new ID replaces them).
PINNED_STATEFUL_IDS = {
    "AWS::KMS::Key": {
        "AlertsKeyB38A053B",
        "AuditRecorderEnvironmentKey39F4246C",
        "BackupKey57137946",
        "ComputeKey953A3236",
        "DatabaseKey01218F75",
        "LogsKey195F8DFC",
        "S3Key62461993",
        "TableKeyCCA6FF29",
        "TrailKey37E679A9",
    },
    "AWS::S3::Bucket": {
        "AccessLogsBucketFA218D2A",
        "AlbLogsBucket698B8C8C",
        "ConfigBucketE7CC15D9",
        "FlowLogsBucket9AC74A68",
        "StaticSiteContentCE8A2759",
        "StaticSiteLogsDC78F97E",
        "TrailBucketFC732D74",
    },
    "AWS::DynamoDB::Table": {"AuditTable95FCF458"},
    "AWS::RDS::DBInstance": {"DatabaseF44359DD"},
    "AWS::SecretsManager::Secret": {"DatabaseSecret3B817195"},
    "AWS::SQS::Queue": {
        "AlarmTopicDeadLetterQueueD25B3C4C",
        "AuditRecorderDeadLetterQueueAC16DDA0",
        "DefaultVpcCleanupDeadLetterQueue4B1DB3DF",
        "NetworkDefaultSgHandlerDeadLetterQueue668E8BF0",
        "PasswordPolicyDeadLetterQueue1B6EE3BB",
    },
    "AWS::Backup::BackupVault": {"BackupVaultADF21B19"},
    "AWS::Logs::LogGroup": {
        "AppFleetLogGroup7019B4FF",
        "AuditRecorderLogGroup65A89828",
        "AuditTrailLogGroup28BB9333",
        "BastionLogGroup702D4ECA",
        "DatabaseAuditLog0F81DE5F",
        "DatabaseErrorLog7CF11521",
        "DatabaseGeneralLog88AB7C89",
        "DatabaseSlowqueryLog5BF892D0",
        "DefaultVpcCleanupLogGroup2A21D7C7",
        "NetworkDefaultSgHandlerLogGroup05C3597D",
        "NetworkFlowLogGroup4F8CEEEF",
        "PasswordPolicyLogGroupC420C649",
        "WebAclLogs68403EB9",
    },
}

REQUIRED_OUTPUTS = (
    "VPCId",
    "VPCCidr",
    "LoadBalancerDNS",
    "ApplicationUrl",
    "DatabaseEndpoint",
    "DatabasePort",
    "DatabaseSecretArn",
    "AutoScalingGroupName",
    "AuditTableName",
    "AuditTableArn",
    "AuditRecorderFunctionArn",
    "AuditRecorderKeyArn",
    "StaticSiteUrl",
    "StaticSiteDistributionId",
    "CloudTrailArn",
    "AlarmTopicArn",
    "TrailKeyArn",
    "TableKeyArn",
    "MfaGroupName",
    "DefaultVpcCleanupLogGroup",
    "AppParametersPath",
    "SamplingRuleArn",
)

EXPECTATIONS = Expectations(
    region="us-east-2",
    vpc_functions=("AuditRecorder",),
    min_keys=9,
    min_backup_retention_days=30,
    database_port_parameter="DatabasePort",
    ingress_parameter="CorporateIPRange",
    vpc_cidr_parameter="VpcCidr",
    compliance_tags=COMPLIANCE_TAGS,
    data_event_types=frozenset(
        {"AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"}
    ),
    parameters=frozenset(
        {
            "VpcCidr",
            "CorporateIPRange",
            "DatabasePort",
            "DesiredCapacity",
            "CertificateArn",
            "SiteDomainName",
            "SiteCertificateArn",
            "KeyPairName",
            "AlertEmail",
            "AlertWebhookUrl",
        }
    ),
    conditions=frozenset(
        {
            "HasCertificate",
            "HasSiteCertificate",
            "HasKeyPair",
            "HasAlertEmail",
            "HasAlertWebhook",
        }
    ),
    outputs=frozenset(REQUIRED_OUTPUTS),
    names={
        "AWS::EC2::VPC": "finsecure-prod-vpc",
        "AWS::RDS::DBInstance": "finsecure-prod-rds",
        "AWS::ElasticLoadBalancingV2::LoadBalancer": "finsecure-prod-alb",
        "AWS::AutoScaling::AutoScalingGroup": "finsecure-prod-app-asg",
        "AWS::DynamoDB::Table": "finsecure-prod-audit-table",
        "AWS::CloudTrail::Trail": "finsecure-prod-cloudtrail",
        "AWS::WAFv2::WebACL": "finsecure-prod-waf",
    },
    service_roles=frozenset(
        {
            "monitoring.rds.amazonaws.com",
            "vpc-flow-logs.amazonaws.com",
            "backup.amazonaws.com",
            "config.amazonaws.com",
            "cloudtrail.amazonaws.com",
        }
    ),
)


@pytest.fixture(scope="module")
def fin(templates: dict[str, Template]) -> Template:
    return templates[STACK]


def key_arn(key_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [key_id, "Arn"]}


# ---- snapshot, pinned identities, the profile ---------------------------------------------------
def test_template_snapshot(fin: Template, snapshot: SnapshotAssertion) -> None:
    assert masked(fin) == snapshot


@pytest.mark.parametrize("resource_type", sorted(PINNED_STATEFUL_IDS))
def test_stateful_logical_ids_are_pinned(fin: Template, resource_type: str) -> None:
    assert set(resources(fin, resource_type)) == PINNED_STATEFUL_IDS[resource_type]


@pytest.mark.parametrize("control", PROFILES[STACK])
def test_control(fin: Template, control: str) -> None:
    check(control, fin, EXPECTATIONS)


# ---- deploy-time network parameters (NET-01, NET-08) --------------------------------------------
def test_vpc_cidr_parameter_accepts_private_slash_16_only() -> None:
    pattern = re.compile(VPC_CIDR_PATTERN)
    for good in (
        "10.0.0.0/16",
        "10.255.0.0/16",
        "172.16.0.0/16",
        "172.31.0.0/16",
        "192.168.0.0/16",
    ):
        assert pattern.fullmatch(good), good
    for bad in ("10.0.0.0/8", "10.0.0.0/20", "11.0.0.0/16", "172.32.0.0/16", "10.0.1.0/16", ""):
        assert not pattern.fullmatch(bad), bad


def test_corporate_range_pattern_refuses_the_world_and_wide_blocks() -> None:
    pattern = re.compile(CORPORATE_CIDR_PATTERN)
    for good in ("203.0.113.0/24", "198.51.100.7/32", "10.0.0.0/8"):
        assert pattern.fullmatch(good), good
    for bad in ("0.0.0.0/0", "10.0.0.0/7", "256.0.0.0/24", "203.0.113.0", "203.0.113.0/33"):
        assert not pattern.fullmatch(bad), bad


def test_subnets_are_cut_from_the_vpc_cidr_parameter(fin: Template) -> None:
    (vpc_id, vpc) = the(fin, "AWS::EC2::VPC")
    assert vpc["Properties"]["CidrBlock"] == ref("VpcCidr")
    subnets = properties(fin, "AWS::EC2::Subnet")
    assert len(subnets) == 6
    for subnet in subnets:
        _index, cidr = subnet["CidrBlock"]["Fn::Select"]
        assert cidr["Fn::Cidr"][0] == {"Fn::GetAtt": [vpc_id, "CidrBlock"]}
    assert sorted(s["CidrBlock"]["Fn::Select"][0] for s in subnets) == list(range(6))
    # The default lays out whole, non-overlapping /19s inside the /16.
    default = ipaddress.ip_network(fin["Parameters"]["VpcCidr"]["Default"])
    blocks = list(default.subnets(new_prefix=32 - int(cidr["Fn::Cidr"][2])))
    assert len(blocks) >= 6


def test_load_balancer_admits_only_the_corporate_range(fin: Template) -> None:
    (_, alb) = the(fin, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    [group] = alb["Properties"]["SecurityGroups"]
    rules = [r for r in properties(fin, "AWS::EC2::SecurityGroupIngress") if r["GroupId"] == group]
    assert sorted((r["FromPort"], json.dumps(r["CidrIp"])) for r in rules) == [
        (80, json.dumps(ref("CorporateIPRange"))),
        (443, json.dumps(ref("CorporateIPRange"))),
    ]


def test_database_port_parameter_reaches_the_network_acls(fin: Template) -> None:
    entries = [
        e
        for e in properties(fin, "AWS::EC2::NetworkAclEntry")
        if e.get("PortRange", {}).get("From") == ref("DatabasePort")
    ]
    assert entries and all(e["PortRange"]["To"] == ref("DatabasePort") for e in entries)
    parameter = fin["Parameters"]["DatabasePort"]
    assert parameter["Default"] == 3307 and parameter["MinValue"] == 1150


# ---- keys: Lambda and CloudTrail have their own (ENC-01) -----------------------------------------
def test_lambda_environment_and_trail_use_keys_of_their_own(fin: Template) -> None:
    recorder = fin["Resources"]["AuditRecorder4B5E01D3"]["Properties"]
    assert recorder["KmsKeyArn"] == key_arn("AuditRecorderEnvironmentKey39F4246C")
    [trail] = properties(fin, "AWS::CloudTrail::Trail")
    assert trail["KMSKeyId"] == key_arn("TrailKey37E679A9")
    users = {
        key_id: [
            logical_id
            for logical_id, resource in fin["Resources"].items()
            if resource["Type"] not in ("AWS::KMS::Key", "AWS::KMS::Alias")
            and mentions(resource.get("Properties"), key_id)
            and resource["Type"] != "AWS::IAM::ManagedPolicy"
        ]
        for key_id in ("AuditRecorderEnvironmentKey39F4246C", "TrailKey37E679A9")
    }
    assert users["TrailKey37E679A9"] == [next(iter(resources(fin, "AWS::CloudTrail::Trail")))]
    assert set(users["AuditRecorderEnvironmentKey39F4246C"]) == {
        "AuditRecorder4B5E01D3",
        "AuditRecorderDeadLetterQueueAC16DDA0",
    }


def test_audit_table_has_its_own_key(fin: Template) -> None:
    [table] = properties(fin, "AWS::DynamoDB::Table")
    assert table["SSESpecification"]["KMSMasterKeyId"] == key_arn("TableKeyCCA6FF29")


# ---- the append-only audit recorder (CMP-09, DB-10) ---------------------------------------------
def test_recorder_may_only_put_items_in_the_audit_table(fin: Template) -> None:
    role = fin["Resources"]["AuditRecorder4B5E01D3"]["Properties"]["Role"]
    role_id = role["Fn::GetAtt"][0]
    dynamo_actions = {
        action
        for policy in properties(fin, "AWS::IAM::ManagedPolicy")
        if {"Ref": role_id} in policy.get("Roles", [])
        for statement in policy["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
        if action.startswith("dynamodb:")
    }
    assert dynamo_actions == {"dynamodb:PutItem"}


def test_recorder_runs_in_the_app_subnets(fin: Template) -> None:
    vpc_config = fin["Resources"]["AuditRecorder4B5E01D3"]["Properties"]["VpcConfig"]
    app_subnets = {
        logical_id
        for logical_id, subnet in resources(fin, "AWS::EC2::Subnet").items()
        if "AppSubnet" in logical_id
    }
    assert {s["Ref"] for s in vpc_config["SubnetIds"]} == app_subnets


def test_the_audit_table_is_backed_up(fin: Template) -> None:
    selections = properties(fin, "AWS::Backup::BackupSelection")
    assert any(
        mentions(s["BackupSelection"].get("Resources"), "AuditTable95FCF458") for s in selections
    )


# ---- static site certificate (ENC-04, EDGE-02) ---------------------------------------------------
def test_site_certificate_is_conditional_and_from_us_east_1(fin: Template) -> None:
    pattern = re.compile(SITE_CERTIFICATE_ARN_PATTERN)
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    assert pattern.fullmatch(arn) and pattern.fullmatch("")
    assert not pattern.fullmatch(arn.replace("us-east-1", "us-east-2"))
    [distribution] = properties(fin, "AWS::CloudFront::Distribution")
    viewer = distribution["DistributionConfig"]["ViewerCertificate"]["Fn::If"]
    assert viewer[0] == "HasSiteCertificate"
    assert viewer[1]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert viewer[2] == {"CloudFrontDefaultCertificate": True}
    condition = fin["Conditions"]["HasSiteCertificate"]
    assert mentions(condition, "SiteCertificateArn") and mentions(condition, "SiteDomainName")


# ---- compliance and data safety -----------------------------------------------------------------
def test_compliance_tags_name_pci_dss_and_sox(fin: Template) -> None:
    assert COMPLIANCE_TAGS == {"Compliance": "PCI-DSS", "Compliance-SOX": "in-scope"}
    tagged = [
        r
        for r in fin["Resources"].values()
        if isinstance(r.get("Properties", {}).get("Tags"), list)
    ]
    assert len(tagged) > 100


def test_database_keeps_thirty_days_of_backups_in_every_environment(fin: Template) -> None:
    [db] = properties(fin, "AWS::RDS::DBInstance")
    assert db["BackupRetentionPeriod"] >= 30 and db["MultiAZ"] is True


def test_every_name_tag_follows_finsecure_environment_component(fin: Template) -> None:
    names = [
        rendered(tag["Value"])
        for resource in fin["Resources"].values()
        for tag in (
            resource.get("Properties", {}).get("Tags")
            if isinstance(resource.get("Properties", {}).get("Tags"), list)
            else []
        )
        if isinstance(tag, dict) and tag.get("Key") == "Name"
    ]
    assert len(names) > 90
    assert [n for n in names if not re.fullmatch(r"finsecure-prod-[a-z0-9]+(-[a-z0-9]+)*", n)] == []
