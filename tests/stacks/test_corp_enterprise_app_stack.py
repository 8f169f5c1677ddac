"""CorpEnterpriseAppStack (seed 001): every control of its SPEC 2.2 profile, snapshot, pinned IDs.

The per-control assertions live in ``tests/stacks/control_assertions.py``; this module says what
the stack promises on top: ``corp-<resource-type>-<ApplicationName>`` names, separate keys per
data domain, TLS only with a real domain (``HasValidDomain``), the identity guards (MFA policy,
password policy, IAM-04 Config rules), a NAT gateway per AZ, a validated multi-region trail, the
WAF's SQL-injection rules, and a bastion that is private unless a public one is requested.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from syrupy.assertion import SnapshotAssertion

from app import register_nag_packs
from config import load_config
from controls.profiles import PROFILES
from stacks.corp_enterprise_app_stack import (
    APPLICATION_NAME_PATTERN,
    DEFAULT_APPLICATION_NAME,
    CorpEnterpriseAppStack,
)
from tests.stacks.control_assertions import Expectations, check
from tests.stacks.queries import as_list, mentions, properties, ref, rendered, resources, tag_value
from tests.stacks.snapshots import masked
from tests.support import new_app

Template = dict[str, Any]
STACK = "CorpEnterpriseAppStack"

#: Stateful resources whose logical IDs must never change by accident (a new ID replaces them).
PINNED_STATEFUL_IDS = {
    "AWS::KMS::Key": {
        "AlertsKeyB38A053B",
        "BackupKey57137946",
        "ComputeKey953A3236",
        "DatabaseKey01218F75",
        "LogsKey195F8DFC",
        "S3Key62461993",
    },
    "AWS::S3::Bucket": {
        "AccessLogsBucketFA218D2A",
        "AlbLogsBucket698B8C8C",
        "ConfigBucketE7CC15D9",
        "FlowLogsBucket9AC74A68",
        "TrailBucketFC732D74",
    },
    "AWS::RDS::DBInstance": {"DatabaseF44359DD"},
    "AWS::SecretsManager::Secret": {"DatabaseSecret3B817195"},
    "AWS::SQS::Queue": {
        "AlarmTopicDeadLetterQueueD25B3C4C",
        "NetworkDefaultSgHandlerDeadLetterQueue668E8BF0",
        "PasswordPolicyDeadLetterQueue1B6EE3BB",
    },
    "AWS::Backup::BackupVault": {"BackupVaultADF21B19"},
    "AWS::Logs::LogGroup": {
        "AppFleetLogGroup7019B4FF",
        "AuditTrailLogGroup28BB9333",
        "BastionLogGroup702D4ECA",
        "DatabaseAuditLog0F81DE5F",
        "DatabaseErrorLog7CF11521",
        "DatabaseGeneralLog88AB7C89",
        "DatabaseSlowqueryLog5BF892D0",
        "NetworkDefaultSgHandlerLogGroup05C3597D",
        "NetworkFlowLogGroup4F8CEEEF",
        "PasswordPolicyLogGroupC420C649",
        "WebAclLogs68403EB9",
    },
}

#: SPEC 2.2 / seed 001: DatabaseSecretArn, bastion access, WebACL, trail and alarm topic, plus the
#: load balancer, database, fleet, keys and buckets.
REQUIRED_OUTPUTS = (
    "VPCId",
    "PublicSubnet1Id",
    "PublicSubnet2Id",
    "PrivateSubnet1Id",
    "PrivateSubnet2Id",
    "DataSubnet1Id",
    "DataSubnet2Id",
    "LoadBalancerDNS",
    "LoadBalancerArn",
    "ApplicationUrl",
    "DatabaseEndpoint",
    "DatabasePort",
    "DatabaseSecretArn",
    "AutoScalingGroupName",
    "LaunchTemplateId",
    "BastionInstanceId",
    "BastionSessionCommand",
    "BastionSecurityGroupId",
    "WebACLArn",
    "CloudTrailArn",
    "AlarmTopicArn",
    "S3KeyArn",
    "DatabaseKeyArn",
    "LogsKeyArn",
    "ComputeKeyArn",
    "AlertsKeyArn",
    "BackupKeyArn",
    "TrailBucketName",
    "ConfigBucketName",
    "FlowLogsBucketName",
    "AlbLogsBucketName",
    "AccessLogsBucketName",
    "BackupVaultName",
    "BackupPlanId",
    "MfaGroupName",
    "CertificateArn",
)

EXPECTATIONS = Expectations(
    min_keys=6,
    certificate_condition="HasValidDomain",
    parameters=frozenset(
        {
            "ApplicationName",
            "DesiredCapacity",
            "DomainName",
            "HostedZoneId",
            "KeyPairName",
            "AlertEmail",
            "AlertWebhookUrl",
        }
    ),
    conditions=frozenset(
        {"HasValidDomain", "HasHostedZone", "HasKeyPair", "HasAlertEmail", "HasAlertWebhook"}
    ),
    outputs=frozenset(REQUIRED_OUTPUTS),
    names={
        "AWS::EC2::VPC": "corp-vpc-${ApplicationName}",
        "AWS::RDS::DBInstance": "corp-rds-${ApplicationName}",
        "AWS::ElasticLoadBalancingV2::LoadBalancer": "corp-alb-${ApplicationName}",
        "AWS::AutoScaling::AutoScalingGroup": "corp-asg-${ApplicationName}",
        "AWS::SNS::Topic": "corp-sns-alarms-${ApplicationName}",
        "AWS::EC2::Instance": "corp-ec2-bastion-${ApplicationName}",
        "AWS::CloudTrail::Trail": "corp-cloudtrail-${ApplicationName}",
        "AWS::WAFv2::WebACL": "corp-waf-${ApplicationName}",
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

KEYS = {
    "s3": "S3Key62461993",
    "rds": "DatabaseKey01218F75",
    "logs": "LogsKey195F8DFC",
    "compute": "ComputeKey953A3236",
    "alerts": "AlertsKeyB38A053B",
    "backup": "BackupKey57137946",
}


def key_arn(domain: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [KEYS[domain], "Arn"]}


@pytest.fixture(scope="module")
def corp(templates: dict[str, Template]) -> Template:
    return templates[STACK]


# ---- snapshot, pinned identities, the profile ---------------------------------------------------
def test_template_snapshot(corp: Template, snapshot: SnapshotAssertion) -> None:
    assert masked(corp) == snapshot


@pytest.mark.parametrize("resource_type", sorted(PINNED_STATEFUL_IDS))
def test_stateful_logical_ids_are_pinned(corp: Template, resource_type: str) -> None:
    assert set(resources(corp, resource_type)) == PINNED_STATEFUL_IDS[resource_type]


@pytest.mark.parametrize("control", PROFILES[STACK])
def test_control(corp: Template, control: str) -> None:
    check(control, corp, EXPECTATIONS)


def test_no_allow_statement_grants_wildcards(corp: Template) -> None:
    """IAM-01 as this stack needs it: NotAction only in denies, no ``*`` action anywhere."""
    for policy_type in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for props in properties(corp, policy_type):
            for statement in props["PolicyDocument"]["Statement"]:
                if "NotAction" in statement:
                    assert statement["Effect"] == "Deny", statement
                    continue
                actions = as_list(statement["Action"])
                assert "*" not in actions and not any(a.endswith(":*") for a in actions)


# ---- naming (GOV-02) ----------------------------------------------------------------------------
def test_every_name_tag_is_corp_resource_type_application_name(corp: Template) -> None:
    names = [
        rendered(tag_value(resource, "Name"))
        for resource in corp["Resources"].values()
        if tag_value(resource, "Name") is not None
    ]
    assert len(names) > 90
    offenders = [
        name
        for name in names
        if not re.fullmatch(r"corp-[a-z0-9]+(-[a-z0-9]+)*-\$\{ApplicationName\}", name)
    ]
    assert offenders == []


def test_application_name_parameter_is_validated_and_defaults_to_enterpriseapp(
    corp: Template,
) -> None:
    parameter = corp["Parameters"]["ApplicationName"]
    assert parameter["Default"] == DEFAULT_APPLICATION_NAME == "enterpriseapp"
    assert parameter["AllowedPattern"] == APPLICATION_NAME_PATTERN
    pattern = re.compile(APPLICATION_NAME_PATTERN)
    for good in ("enterpriseapp", "app", "corp-portal-2", "a" * 20):
        assert pattern.fullmatch(good), good
    for bad in ("", "ab", "a" * 21, "Enterprise", "app_1", "-app", "app-", "1app", "my app"):
        assert not pattern.fullmatch(bad), bad


# ---- keys per data domain (ENC-01, ENC-02) -------------------------------------------------------
def test_each_data_domain_has_its_own_key(corp: Template) -> None:
    for bucket in properties(corp, "AWS::S3::Bucket"):
        sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        master = sse["ServerSideEncryptionByDefault"].get("KMSMasterKeyID")
        assert master in (None, key_arn("s3"))  # None: SSE-S3 for access/ALB logs
    [db] = properties(corp, "AWS::RDS::DBInstance")
    assert db["KmsKeyId"] == db["PerformanceInsightsKMSKeyId"] == key_arn("rds")
    assert db["KmsKeyId"] != key_arn("s3")
    [secret] = properties(corp, "AWS::SecretsManager::Secret")
    assert secret["KmsKeyId"] == key_arn("rds")
    for logical_id, group in resources(corp, "AWS::Logs::LogGroup").items():
        assert group["Properties"]["KmsKeyId"] == key_arn("logs"), logical_id
    for template in properties(corp, "AWS::EC2::LaunchTemplate"):
        for mapping in template["LaunchTemplateData"]["BlockDeviceMappings"]:
            assert mapping["Ebs"]["KmsKeyId"] == key_arn("compute")
    [trail] = properties(corp, "AWS::CloudTrail::Trail")
    assert trail["KMSKeyId"] == key_arn("logs")
    [topic] = properties(corp, "AWS::SNS::Topic")
    queue = corp["Resources"]["AlarmTopicDeadLetterQueueD25B3C4C"]["Properties"]
    assert topic["KmsMasterKeyId"] == queue["KmsMasterKeyId"] == key_arn("alerts")
    # every queue (the handlers' dead-letter queues too) is in the alerts domain
    for logical_id, handler_queue in resources(corp, "AWS::SQS::Queue").items():
        assert handler_queue["Properties"]["KmsMasterKeyId"] == key_arn("alerts"), logical_id
    [vault] = properties(corp, "AWS::Backup::BackupVault")
    assert vault["EncryptionKeyArn"] == key_arn("backup")


def _via_services(key: dict[str, Any]) -> set[str]:
    [usage] = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "KeyUsageThroughAwsServices"
    ]
    return {
        rendered(service).split(".")[0]
        for service in as_list(usage["Condition"]["StringEquals"]["kms:ViaService"])
    }


def test_each_key_is_usable_only_through_the_services_of_its_domain(corp: Template) -> None:
    keys = resources(corp, "AWS::KMS::Key")
    assert {domain: _via_services(keys[key_id]) for domain, key_id in KEYS.items()} == {
        "s3": {"s3"},
        "rds": {"rds", "secretsmanager"},
        # s3: reading the trail's log files.
        "logs": {"s3"},
        "compute": {"ec2"},
        "alerts": {"sns", "sqs"},
        "backup": {"backup"},
    }
    for key_id, key in keys.items():
        denies = {
            s["Sid"] for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"
        }
        assert denies == {"DenyInsecureTransport", "DenyKeyDeletionWithoutMfa"}, key_id


def test_only_the_logs_key_lets_cloudwatch_logs_in(corp: Template) -> None:
    for domain, key_id in KEYS.items():
        statements = corp["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
        logs = [
            s
            for s in statements
            if any(
                rendered(service).startswith("logs.")
                for service in as_list(s["Principal"].get("Service", []))
            )
        ]
        assert bool(logs) == (domain == "logs"), domain
        for statement in logs:
            assert statement["Condition"], f"{domain}: unscoped CloudWatch Logs statement"


# ---- TLS only with a real domain (EDGE-02, ENC-04) ----------------------------------------------
def test_certificate_and_https_listener_exist_only_with_a_valid_domain(corp: Template) -> None:
    [(cert_id, certificate)] = resources(corp, "AWS::CertificateManager::Certificate").items()
    assert certificate["Condition"] == "HasValidDomain"
    props = certificate["Properties"]
    assert props["DomainName"] == ref("DomainName") and props["ValidationMethod"] == "DNS"
    assert props["DomainValidationOptions"]["Fn::If"][0] == "HasHostedZone"
    assert corp["Parameters"]["DomainName"]["Default"] == ""
    listeners = resources(corp, "AWS::ElasticLoadBalancingV2::Listener")
    [https] = [x for x in listeners.values() if x["Properties"]["Protocol"] == "HTTPS"]
    assert https["Condition"] == "HasValidDomain"
    assert https["Properties"]["Certificates"] == [{"CertificateArn": ref(cert_id)}]
    [http] = [x for x in listeners.values() if x["Properties"]["Protocol"] == "HTTP"]
    assert "Condition" not in http  # the HTTP-only deployment serves on port 80
    [action] = http["Properties"]["DefaultActions"]
    assert mentions(action, "HasValidDomain") and mentions(action, "redirect")
    # Nothing outside the condition references the certificate.
    for logical_id, resource in corp["Resources"].items():
        if mentions(resource.get("Properties"), cert_id):
            assert resource.get("Condition") == "HasValidDomain", logical_id
    assert corp["Outputs"]["CertificateArn"]["Condition"] == "HasValidDomain"
    url = corp["Outputs"]["ApplicationUrl"]["Value"]["Fn::If"]
    assert url[0] == "HasValidDomain" and mentions(url[1], "https://")
    assert mentions(url[2], "http://")


# ---- identity (IAM-02..04) -----------------------------------------------------------------------
def test_mfa_policy_denies_everything_but_mfa_self_service_without_mfa(corp: Template) -> None:
    [policy] = [
        p
        for p in properties(corp, "AWS::IAM::ManagedPolicy")
        if p.get("Description", "").startswith("IAM-02")
    ]
    [deny] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Resource"] == "*" and "Action" not in deny
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert {"iam:EnableMFADevice", "iam:CreateVirtualMFADevice"} <= set(deny["NotAction"])
    assert not {"s3:*", "ec2:*", "iam:*", "sts:AssumeRole"} & set(deny["NotAction"])
    [policy_id] = [
        logical_id
        for logical_id, p in resources(corp, "AWS::IAM::ManagedPolicy").items()
        if p["Properties"] is policy
    ]
    groups = properties(corp, "AWS::IAM::Group")
    assert [g["ManagedPolicyArns"] for g in groups] == [[ref(policy_id)]]


def test_password_policy_custom_resource_requires_14_characters(corp: Template) -> None:
    [(_, policy)] = resources(corp, "Custom::AccountPasswordPolicy").items()
    props = policy["Properties"]
    assert props["MinimumPasswordLength"] >= 14
    assert props["PasswordReusePrevention"] == 24 and props["MaxPasswordAge"] <= 90
    assert mentions(props["ServiceToken"], "PasswordPolicyFunction")


def test_iam_04_config_rules_exist_after_the_recorder(corp: Template) -> None:
    (recorder_id, _) = next(iter(resources(corp, "AWS::Config::ConfigurationRecorder").items()))
    guards = {
        r["Properties"]["Source"]["SourceIdentifier"]: r
        for logical_id, r in resources(corp, "AWS::Config::ConfigRule").items()
        if logical_id.startswith("AccessKeyGuards")
    }
    assert set(guards) == {
        "ACCESS_KEYS_ROTATED",
        "IAM_USER_MFA_ENABLED",
        "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
        "ROOT_ACCOUNT_MFA_ENABLED",
    }
    assert guards["ACCESS_KEYS_ROTATED"]["Properties"]["InputParameters"] == {"maxAccessKeyAge": 90}
    for rule in guards.values():
        assert recorder_id in as_list(rule["DependsOn"])


# ---- network, audit, WAF -------------------------------------------------------------------------
def test_a_nat_gateway_in_each_public_subnet(corp: Template) -> None:
    nats = properties(corp, "AWS::EC2::NatGateway")
    assert len(nats) == 2
    assert {json.dumps(n["SubnetId"]) for n in nats} == {
        json.dumps(ref(s))
        for s, subnet in resources(corp, "AWS::EC2::Subnet").items()
        if tag_value(subnet, "aws-cdk:subnet-name") == "Public"
    }


def test_trail_is_multi_region_validated_on_an_immutable_cmk_bucket(corp: Template) -> None:
    [trail] = properties(corp, "AWS::CloudTrail::Trail")
    assert trail["EnableLogFileValidation"] is True
    assert trail["IsMultiRegionTrail"] is True and trail["IncludeGlobalServiceEvents"] is True
    assert trail["S3BucketName"] == ref("TrailBucketFC732D74")
    assert mentions(trail["AdvancedEventSelectors"], "AWS::Lambda::Function")
    [policy] = [
        p["PolicyDocument"]["Statement"]
        for p in properties(corp, "AWS::S3::BucketPolicy")
        if p["Bucket"] == ref("TrailBucketFC732D74")
    ]
    sids = {s.get("Sid") for s in policy if s["Effect"] == "Deny"}
    assert {"DenyLogDeletion", "DenyRetentionTampering"} <= sids


def test_waf_blocks_sql_injection(corp: Template) -> None:
    [acl] = properties(corp, "AWS::WAFv2::WebACL")
    [sqli] = [
        rule
        for rule in acl["Rules"]
        if rule["Statement"].get("ManagedRuleGroupStatement", {}).get("Name")
        == "AWSManagedRulesSQLiRuleSet"
    ]
    assert sqli["Statement"]["ManagedRuleGroupStatement"]["VendorName"] == "AWS"
    assert sqli["OverrideAction"] == {"None": {}}  # enforced, not count-only
    assert acl["DefaultAction"] == {"Allow": {}}


# ---- bastion and backups (CMP-08, NET-10, RES-01) ---------------------------------------------
def test_bastion_is_private_with_its_own_security_group_by_default(corp: Template) -> None:
    [(bastion_id, bastion)] = resources(corp, "AWS::EC2::Instance").items()
    template_id = bastion["Properties"]["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    data = corp["Resources"][template_id]["Properties"]["LaunchTemplateData"]
    [interface] = data["NetworkInterfaces"]
    assert interface["AssociatePublicIpAddress"] is False
    [group] = interface["Groups"]
    group_id = group["Fn::GetAtt"][0]
    assert group_id.startswith("BastionSecurityGroup")
    assert "SecurityGroupIngress" not in corp["Resources"][group_id]["Properties"]
    assert not any(
        rule["GroupId"] == group and rule.get("CidrIp")
        for rule in properties(corp, "AWS::EC2::SecurityGroupIngress")
    )
    assert "BastionPublicIp" not in corp["Outputs"]
    assert mentions(corp["Outputs"]["BastionSessionCommand"], "aws ssm start-session")
    assert corp["Outputs"]["BastionInstanceId"]["Value"] == ref(bastion_id)


def test_backup_covers_the_database_the_bastion_and_tagged_volumes(corp: Template) -> None:
    selections = json.dumps(properties(corp, "AWS::Backup::BackupSelection"))
    assert "DatabaseF44359DD" in selections and "Bastion2B4CEC30" in selections
    assert '"ConditionKey": "Backup"' in selections
    for template in properties(corp, "AWS::EC2::LaunchTemplate"):
        volume_tags = [
            spec["Tags"]
            for spec in template["LaunchTemplateData"]["TagSpecifications"]
            if spec["ResourceType"] == "volume"
        ]
        assert any({"Key": "Backup", "Value": "true"} in tags for tags in volume_tags)


def test_database_is_multi_az_with_deletion_protection_and_performance_insights(
    corp: Template,
) -> None:
    [db] = properties(corp, "AWS::RDS::DBInstance")
    assert db["MultiAZ"] is True and db["DeletionProtection"] is True
    assert db["EnablePerformanceInsights"] is True and db["MonitoringInterval"] == 60


# ---- variants: a public bastion, an account whose Config recorder exists -----------------------
PUBLIC_BASTION_CIDR = "203.0.113.0/24"


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    """The stack with a public bastion and without its own Config recorder, through the gates."""
    outdir = tmp_path_factory.mktemp("corp-variant")
    app = new_app(str(outdir))
    register_nag_packs(app)
    stack = CorpEnterpriseAppStack(
        app,
        STACK,
        config=load_config(None),
        public_bastion_cidr=PUBLIC_BASTION_CIDR,
        create_config_recorder=False,
    )
    try:
        app.synth()
    except RuntimeError as error:
        report = (outdir / "validation-report.json").read_text()
        raise AssertionError(f"gated synth failed: {error}\n{report[:20000]}") from error
    path = outdir / stack.template_file
    return json.loads(path.read_text()), path


def test_public_bastion_opens_ssh_only_from_the_requested_block(
    variant: tuple[Template, Path],
) -> None:
    template, _ = variant
    [(bastion_id, bastion)] = resources(template, "AWS::EC2::Instance").items()
    template_id = bastion["Properties"]["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    data = template["Resources"][template_id]["Properties"]["LaunchTemplateData"]
    [interface] = data["NetworkInterfaces"]
    assert interface["AssociatePublicIpAddress"] is True
    assert mentions(interface["SubnetId"], "PublicSubnet")
    ssh = [
        rule
        for rule in properties(template, "AWS::EC2::SecurityGroupIngress")
        if rule.get("FromPort") == 22
    ]
    assert [(r["CidrIp"], r["ToPort"]) for r in ssh] == [(PUBLIC_BASTION_CIDR, 22)]
    assert template["Outputs"]["BastionPublicIp"]["Value"] == {
        "Fn::GetAtt": [bastion_id, "PublicIp"]
    }


def test_without_a_recorder_the_config_rules_stay(variant: tuple[Template, Path]) -> None:
    template, _ = variant
    assert resources(template, "AWS::Config::ConfigurationRecorder") == {}
    assert resources(template, "AWS::Config::DeliveryChannel") == {}
    check("IAM-04", template, EXPECTATIONS)


def test_variant_is_cfn_lint_clean(variant: tuple[Template, Path]) -> None:
    _, path = variant
    assert [str(m) for m in lint_file(path, config=ManualArgs(regions=["us-east-1"]))] == []


def test_a_world_open_public_bastion_is_refused() -> None:
    with pytest.raises(ValueError, match="ssh_ingress_cidr"):
        CorpEnterpriseAppStack(
            new_app(), STACK, config=load_config(None), public_bastion_cidr="0.0.0.0/0"
        )
