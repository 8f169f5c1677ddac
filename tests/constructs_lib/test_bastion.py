"""Bastion: CMP-01..03, CMP-08, NET-06, NET-08, NET-10, IAM-05 and LOG-03 on the template.

One app with three stacks is synthesized once for the module:

* ``Default``: only the required arguments (private, no ingress, no key pair);
* ``Public``: ``public=True`` with a literal ``ssh_ingress_cidr``, a Graviton instance type, a
  shorter retention, no termination protection and a rule to a database security group;
* ``KeyPair``: private, SSH from an optional, pattern-validated parameter behind a condition and
  an optional key pair behind a condition.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from cfnlint.api import ManualArgs, lint

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.bastion import (
    OPTIONAL_SSH_INGRESS_CIDR_PATTERN,
    SSH_INGRESS_CIDR_PATTERN,
    Bastion,
)
from tests.support import nag_findings, new_app, new_stack

PUBLIC_SUBNETS = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
PRIVATE_SUBNETS = ["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"]
ADMIN_CIDR = "203.0.113.0/24"


# ---- scaffolding -----------------------------------------------------------------------------
def _scaffold(stack: cdk.Stack) -> tuple[ec2.IVpc, kms.IKey]:
    """An imported two-AZ VPC (public + private subnets) and a rotating key."""
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a", "us-east-1b"],
        public_subnet_ids=PUBLIC_SUBNETS,
        public_subnet_route_table_ids=["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
        private_subnet_ids=PRIVATE_SUBNETS,
        private_subnet_route_table_ids=["rtb-0cccccccccccccccc", "rtb-0dddddddddddddddd"],
    )
    return vpc, kms.Key(stack, "Key", enable_key_rotation=True)


def _build_default(stack: cdk.Stack, vpc: ec2.IVpc, key: kms.IKey, name: str) -> Bastion:
    return Bastion(stack, name, vpc=vpc, encryption_key=key)


def _build_public(stack: cdk.Stack, vpc: ec2.IVpc, key: kms.IKey, name: str) -> Bastion:
    bastion = Bastion(
        stack,
        name,
        vpc=vpc,
        encryption_key=key,
        public=True,
        ssh_ingress_cidr=ADMIN_CIDR,
        instance_type="t4g.small",
        log_retention=logs.RetentionDays.THREE_MONTHS,
        termination_protection=False,
    )
    database = ec2.SecurityGroup(
        stack,
        f"{name}Database",
        vpc=vpc,
        description="Test database",
        allow_all_outbound=False,
    )
    bastion.allow_to(database, ec2.Port.tcp(3306), "MySQL to the database")
    return bastion


def _build_key_pair(stack: cdk.Stack, vpc: ec2.IVpc, key: kms.IKey, name: str) -> Bastion:
    cidr = cdk.CfnParameter(
        stack,
        "AdminCidr",
        default="",
        allowed_pattern=OPTIONAL_SSH_INGRESS_CIDR_PATTERN,
        constraint_description="empty, or an IPv4 CIDR from /16 to /32",
    )
    key_pair = cdk.CfnParameter(
        stack,
        "KeyPairName",
        default="",
        allowed_pattern=r"^[\x20-\x7E]{0,255}$",
        constraint_description="empty, or the name of an EC2 key pair",
    )
    has_cidr = cdk.CfnCondition(
        stack,
        "HasAdminCidr",
        expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(cidr.value_as_string, "")),
    )
    has_key_pair = cdk.CfnCondition(
        stack,
        "HasKeyPair",
        expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(key_pair.value_as_string, "")),
    )
    return Bastion(
        stack,
        name,
        vpc=vpc,
        encryption_key=key,
        ssh_ingress_cidr=cidr.value_as_string,
        ssh_ingress_condition=has_cidr,
        key_pair_name=key_pair.value_as_string,
        key_pair_condition=has_key_pair,
    )


Builder = Callable[[cdk.Stack, ec2.IVpc, kms.IKey, str], Bastion]
BUILDERS: dict[str, Builder] = {
    "Default": _build_default,
    "Public": _build_public,
    "KeyPair": _build_key_pair,
}


@dataclass
class Built:
    stack: cdk.Stack
    bastion: Bastion
    json: dict[str, Any]

    def logical_id(self, construct: Any) -> str:
        element = (
            construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        )
        return self.stack.get_logical_id(element)

    def resource(self, construct: Any) -> dict[str, Any]:
        resource: dict[str, Any] = self.json["Resources"][self.logical_id(construct)]
        return resource

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource
            for name, resource in self.json["Resources"].items()
            if resource["Type"] == resource_type
        }

    @property
    def instance(self) -> dict[str, Any]:
        return self.resource(self.bastion.instance)

    @property
    def launch_data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.resource(self.bastion.launch_template)["Properties"][
            "LaunchTemplateData"
        ]
        return data

    @property
    def group_id(self) -> dict[str, Any]:
        return {"Fn::GetAtt": [self.logical_id(self.bastion.security_group), "GroupId"]}

    @property
    def key_arn(self) -> dict[str, Any]:
        return {"Fn::GetAtt": [self.logical_id(self.stack.node.find_child("Key")), "Arn"]}

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    """Synthesize the three variants once; also proves the app needs no context lookups."""
    outdir = Path(tempfile.mkdtemp(prefix="cdk-bastion-"))
    app = new_app(str(outdir))
    made = {}
    for name, build in BUILDERS.items():
        stack = new_stack(app, name)
        vpc, key = _scaffold(stack)
        made[name] = (stack, build(stack, vpc, key, "Bastion"))
    app.synth()
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert not manifest.get("missing"), "Bastion must not need context lookups"
    return {
        name: Built(stack, bastion, json.loads((outdir / stack.template_file).read_text()))
        for name, (stack, bastion) in made.items()
    }


@pytest.fixture(scope="module")
def default(built: dict[str, Built]) -> Built:
    return built["Default"]


@pytest.fixture(scope="module")
def public(built: dict[str, Built]) -> Built:
    return built["Public"]


@pytest.fixture(scope="module")
def key_pair(built: dict[str, Built]) -> Built:
    return built["KeyPair"]


# ---- CMP-01: launch template, AL2023 AMI from the public SSM parameter ------------------------
def test_cmp01_instance_launched_from_template_with_al2023_ami_from_ssm(default: Built):
    assert "Mappings" not in default.json
    template_id = default.logical_id(default.bastion.launch_template)
    # The instance only points at the template; every host setting lives in the template.
    assert default.instance["Properties"] == {
        "DisableApiTermination": True,
        "LaunchTemplate": {
            "LaunchTemplateId": {"Ref": template_id},
            "Version": {"Fn::GetAtt": [template_id, "LatestVersionNumber"]},
        },
    }
    assert default.logical_id(default.bastion.instance).startswith("Bastion")
    image = default.launch_data["ImageId"]
    parameter = default.json["Parameters"][image["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert re.fullmatch(
        r"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-[0-9.a-z]+-x86_64",
        parameter["Default"],
    )
    assert not re.search(r"\bami-[0-9a-f]{8,17}\b", json.dumps(default.json))
    assert default.launch_data["InstanceType"] == "t3.micro"


def test_instance_type_selects_type_and_ami_architecture(public: Built):
    assert public.launch_data["InstanceType"] == "t4g.small"
    parameter = public.json["Parameters"][public.launch_data["ImageId"]["Ref"]]
    assert parameter["Default"].endswith("-arm64")


# ---- CMP-02: IMDSv2 --------------------------------------------------------------------------
def test_cmp02_imdsv2_tokens_required_endpoint_enabled_hop_limit_1(default: Built):
    assert default.launch_data["MetadataOptions"] == {
        "HttpTokens": "required",
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 1,
    }


# ---- CMP-03: encrypted gp3 root volume --------------------------------------------------------
def test_cmp03_root_volume_gp3_encrypted_with_cmk_deleted_on_termination(default: Built):
    assert default.launch_data["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "DeleteOnTermination": True,
                "Encrypted": True,
                "KmsKeyId": default.key_arn,
                "VolumeSize": 8,
                "VolumeType": "gp3",
            },
        }
    ]


# ---- CMP-08: detailed monitoring, termination protection ---------------------------------------
def test_cmp08_detailed_monitoring_and_termination_protection(default: Built, public: Built):
    assert default.launch_data["Monitoring"] == {"Enabled": True}
    assert default.instance["Properties"]["DisableApiTermination"] is True
    assert public.instance["Properties"]["DisableApiTermination"] is False


# ---- NET-10 / NET-06: no ingress, private placement, explicit egress ---------------------------
def test_net10_no_ingress_and_no_public_ip_by_default(default: Built):
    group = default.resource(default.bastion.security_group)["Properties"]
    assert "SecurityGroupIngress" not in group
    assert default.resources("AWS::EC2::SecurityGroupIngress") == {}
    assert default.bastion.ssh_ingress is None
    assert default.launch_data["NetworkInterfaces"] == [
        {
            "AssociatePublicIpAddress": False,
            "DeleteOnTermination": True,
            "DeviceIndex": 0,
            "Groups": [default.group_id],
            "SubnetId": PRIVATE_SUBNETS[0],
        }
    ]
    assert "SecurityGroupIds" not in default.launch_data
    assert "KeyName" not in default.launch_data
    assert default.bastion.public_ip is None
    assert default.bastion.key_pair is None


def test_net06_only_described_https_egress(default: Built):
    group = default.resource(default.bastion.security_group)["Properties"]
    (egress,) = group["SecurityGroupEgress"]
    description = egress.pop("Description")
    assert egress == {"CidrIp": "0.0.0.0/0", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}
    assert description.startswith("HTTPS to Session Manager")
    assert default.resources("AWS::EC2::SecurityGroupEgress") == {}


def test_net06_allow_to_adds_separate_rules_and_keeps_explicit_egress(public: Built):
    database = public.logical_id(public.stack.node.find_child("BastionDatabase"))
    database_id = {"Fn::GetAtt": [database, "GroupId"]}
    (egress,) = public.resources("AWS::EC2::SecurityGroupEgress").values()
    assert egress["Properties"] == {
        "Description": "MySQL to the database",
        "DestinationSecurityGroupId": database_id,
        "FromPort": 3306,
        "GroupId": public.group_id,
        "IpProtocol": "tcp",
        "ToPort": 3306,
    }
    (ingress,) = [
        r["Properties"]
        for r in public.resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == database_id
    ]
    assert ingress["SourceSecurityGroupId"] == public.group_id
    assert (ingress["FromPort"], ingress["ToPort"]) == (3306, 3306)
    # The inline HTTPS rule is still the only inline egress: no fallback to EC2's allow-all.
    group = public.resource(public.bastion.security_group)["Properties"]
    assert [rule["FromPort"] for rule in group["SecurityGroupEgress"]] == [443]


# ---- NET-08 / CMP-08: public SSH only when requested, from exactly that CIDR -------------------
def test_cmp08_public_with_cidr_opens_ssh_from_that_cidr_and_assigns_public_ip(public: Built):
    ssh = [
        r
        for r in public.resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == public.group_id
    ]
    assert ssh == [public.resource(public.bastion.ssh_ingress)]
    assert ssh[0]["Properties"] == {
        "CidrIp": ADMIN_CIDR,
        "Description": "SSH from the administrative network (explicitly requested)",
        "FromPort": 22,
        "GroupId": public.group_id,
        "IpProtocol": "tcp",
        "ToPort": 22,
    }
    assert "Condition" not in ssh[0]
    (interface,) = public.launch_data["NetworkInterfaces"]
    assert interface["AssociatePublicIpAddress"] is True
    assert interface["SubnetId"] == PUBLIC_SUBNETS[0]
    assert public.resolve(public.bastion.public_ip) == {
        "Fn::GetAtt": [public.logical_id(public.bastion.instance), "PublicIp"]
    }


def test_net08_ssh_from_validated_parameter_behind_condition(key_pair: Built):
    (ssh,) = key_pair.resources("AWS::EC2::SecurityGroupIngress").values()
    assert ssh == key_pair.resource(key_pair.bastion.ssh_ingress)
    assert ssh["Condition"] == "HasAdminCidr"
    assert ssh["Properties"]["CidrIp"] == {"Ref": "AdminCidr"}
    assert ssh["Properties"]["FromPort"] == ssh["Properties"]["ToPort"] == 22
    assert key_pair.json["Parameters"]["AdminCidr"]["AllowedPattern"] == (
        OPTIONAL_SSH_INGRESS_CIDR_PATTERN
    )
    # Private bastion: SSH over the private network (VPN/Direct Connect), no public IP.
    assert key_pair.launch_data["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is False
    assert key_pair.bastion.public_ip is None


def test_key_pair_with_condition_uses_fn_if_with_no_value(key_pair: Built):
    assert key_pair.launch_data["KeyName"] == {
        "Fn::If": ["HasKeyPair", {"Ref": "KeyPairName"}, {"Ref": "AWS::NoValue"}]
    }
    assert "KeyName" not in key_pair.instance["Properties"]


@pytest.mark.parametrize(
    ("cidr", "valid"),
    [
        (ADMIN_CIDR, True),
        ("10.1.0.0/16", True),
        ("192.0.2.10/32", True),
        ("0.0.0.0/0", False),
        ("10.0.0.0/8", False),
        ("10.0.0.0/15", False),
        ("256.0.0.0/24", False),
        ("10.0.0.0/33", False),
        ("not-a-cidr", False),
        ("", False),
    ],
)
def test_ssh_ingress_cidr_patterns_match_the_construct_rules(cidr: str, valid: bool):
    assert bool(re.fullmatch(SSH_INGRESS_CIDR_PATTERN, cidr)) is valid
    assert bool(re.fullmatch(OPTIONAL_SSH_INGRESS_CIDR_PATTERN, cidr)) is (valid or cidr == "")


# ---- IAM-05: own role and instance profile, customer-managed policy -----------------------------
def test_iam05_own_role_and_instance_profile_with_ssm_managed_policy(default: Built):
    role_id = default.logical_id(default.bastion.role)
    role = default.resource(default.bastion.role)["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
        }
    ]
    assert [arn["Fn::Join"][1][-1] for arn in role["ManagedPolicyArns"]] == [
        ":iam::aws:policy/AmazonSSMManagedInstanceCore"
    ]
    (profile,) = default.resources("AWS::IAM::InstanceProfile").values()
    assert profile["Properties"]["Roles"] == [{"Ref": role_id}]
    assert default.launch_data["IamInstanceProfile"] == {
        "Arn": {"Fn::GetAtt": [default.logical_id(default.bastion.instance_profile), "Arn"]}
    }


def test_iam05_session_logs_policy_scoped_to_own_log_group_and_no_inline_policy(default: Built):
    assert default.resources("AWS::IAM::Policy") == {}
    (policy,) = default.resources("AWS::IAM::ManagedPolicy").values()
    assert policy == default.resource(default.bastion.session_logs_policy)
    assert policy["Properties"]["Roles"] == [{"Ref": default.logical_id(default.bastion.role)}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [default.logical_id(default.bastion.log_group), "Arn"]},
            "Sid": "WriteSessionLogGroup",
        },
        {
            "Action": "logs:DescribeLogGroups",
            "Effect": "Allow",
            "Resource": "*",
            "Sid": "CheckSessionLogGroupEncryption",
        },
    ]


# ---- LOG-03: session logging to an encrypted, retained log group -------------------------------
def test_log03_log_group_encrypted_retained_with_key_policy(default: Built, public: Built):
    log_group = default.resource(default.bastion.log_group)
    assert log_group["Properties"] == {"KmsKeyId": default.key_arn, "RetentionInDays": 365}
    assert log_group["DeletionPolicy"] == "Retain"
    assert log_group["UpdateReplacePolicy"] == "Retain"
    assert public.resource(public.bastion.log_group)["Properties"]["RetentionInDays"] == 90
    (key,) = default.resources("AWS::KMS::Key").values()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    ]
    assert "kms:GenerateDataKey*" in statement["Action"]
    assert "kms:Decrypt*" in statement["Action"]
    condition = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    # This account's log groups in this region: arn:aws:logs:us-east-1:<account>:log-group:*
    assert condition == {
        "Fn::Join": ["", ["arn:aws:logs:us-east-1:", {"Ref": "AWS::AccountId"}, ":log-group:*"]]
    }


def test_log03_sessions_stream_to_the_encrypted_log_group(default: Built):
    document = default.resource(default.bastion.session_document)["Properties"]
    assert "Name" not in document  # generated: never blocks a replacement
    assert (document["DocumentType"], document["DocumentFormat"]) == ("Session", "JSON")
    content = document["Content"]
    assert content["sessionType"] == "Standard_Stream"
    assert content["inputs"] == {
        "cloudWatchLogGroupName": {"Ref": default.logical_id(default.bastion.log_group)},
        "cloudWatchEncryptionEnabled": True,
        "cloudWatchStreamingEnabled": True,
        "idleSessionTimeout": "20",
        "runAsEnabled": False,
    }


def test_instance_id_arn_and_ssm_session_command_with_the_logging_document(default: Built):
    instance = {"Ref": default.logical_id(default.bastion.instance)}
    document = {"Ref": default.logical_id(default.bastion.session_document)}
    assert default.resolve(default.bastion.instance_id) == instance
    assert default.resolve(default.bastion.instance_arn) == {
        "Fn::Join": [
            "",
            [
                "arn:aws:ec2:us-east-1:",
                {"Ref": "AWS::AccountId"},
                ":instance/",
                instance,
            ],
        ]
    }
    assert default.resolve(default.bastion.ssm_session_command) == {
        "Fn::Join": [
            "",
            [
                "aws ssm start-session --target ",
                instance,
                " --document-name ",
                document,
                " --region us-east-1",
            ],
        ]
    }


# ---- bad input -------------------------------------------------------------------------------
BAD_INPUT = [
    (
        {"ssh_ingress_cidr": "0.0.0.0/0"},
        r"ssh_ingress_cidr='0\.0\.0\.0/0' is invalid; a world-open CIDR is not allowed",
    ),
    (
        {"ssh_ingress_cidr": "10.0.0.0/8"},
        r"ssh_ingress_cidr='10\.0\.0\.0/8' is invalid; use a prefix of /16 or longer",
    ),
    (
        {"ssh_ingress_cidr": "not-a-cidr"},
        r"ssh_ingress_cidr='not-a-cidr' is invalid; pass an IPv4 CIDR",
    ),
    ({"public": True}, r"public=True is invalid; a public bastion needs ssh_ingress_cidr"),
    ({"instance_type": "huge"}, r"instance_type='huge' is invalid; pass an instance type"),
    ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.* finite retention"),
    ({"key_pair_name": ""}, r"key_pair_name='' is invalid; pass a non-empty value"),
    ({"public": "yes", "ssh_ingress_cidr": ADMIN_CIDR}, r"public='yes' is invalid"),
    (
        {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)},
        r"subnets=\['subnet-0a.*is invalid; select private subnets, or pass public=True",
    ),
    (
        {
            "public": True,
            "ssh_ingress_cidr": ADMIN_CIDR,
            "subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        },
        r"subnets=\['subnet-0c.*is invalid; select public subnets",
    ),
    (
        {"subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)},
        r"subnets=.* is invalid; select subnets the VPC has",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_raises_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    vpc, key = _scaffold(stack)
    with pytest.raises(ValueError, match=message) as error:
        Bastion(stack, "Bastion", vpc=vpc, encryption_key=key, **overrides)
    assert str(error.value).startswith("Bastion: ")
    assert stack.node.try_find_child("Bastion") is None


def _parameter(stack: cdk.Stack, pattern: str | None) -> str:
    return cdk.CfnParameter(stack, "AdminCidr", allowed_pattern=pattern).value_as_string


def _condition(stack: cdk.Stack) -> cdk.CfnCondition:
    return cdk.CfnCondition(stack, "Always", expression=cdk.Fn.condition_equals("a", "a"))


BAD_TOKENS: list[tuple[Callable[[cdk.Stack], dict[str, Any]], str]] = [
    (
        lambda stack: {"ssh_ingress_cidr": _parameter(stack, None)},
        r"ssh_ingress_cidr=\{'Ref': 'AdminCidr'\} is invalid; give parameter AdminCidr "
        r"allowed_pattern=SSH_INGRESS_CIDR_PATTERN",
    ),
    (
        lambda stack: {"ssh_ingress_cidr": _parameter(stack, r"^.*$")},
        r"give parameter AdminCidr allowed_pattern=SSH_INGRESS_CIDR_PATTERN",
    ),
    (
        lambda stack: {"ssh_ingress_cidr": _parameter(stack, OPTIONAL_SSH_INGRESS_CIDR_PATTERN)},
        r"parameter AdminCidr may be empty; pass ssh_ingress_condition",
    ),
    (
        lambda stack: {"ssh_ingress_cidr": cdk.Fn.import_value("AdminCidr")},
        r"ssh_ingress_cidr=\{'Fn::ImportValue': 'AdminCidr'\} is invalid; pass a literal CIDR or "
        r"the value of a CfnParameter",
    ),
    (
        lambda stack: {"ssh_ingress_condition": _condition(stack)},
        r"ssh_ingress_condition='.*Always' is invalid; pass it only together with ssh_ingress_cidr",
    ),
    (
        lambda stack: {"key_pair_condition": _condition(stack)},
        r"key_pair_condition='.*Always' is invalid; pass it only together with key_pair_name",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_TOKENS)
def test_bad_deploy_time_input_raises(
    arguments: Callable[[cdk.Stack], dict[str, Any]], message: str
):
    stack = new_stack()
    vpc, key = _scaffold(stack)
    with pytest.raises(ValueError, match=message):
        Bastion(stack, "Bastion", vpc=vpc, encryption_key=key, **arguments(stack))
    assert stack.node.try_find_child("Bastion") is None


def test_ssh_ingress_parameter_with_the_strict_pattern_needs_no_condition():
    stack = new_stack()
    vpc, key = _scaffold(stack)
    bastion = Bastion(
        stack,
        "Bastion",
        vpc=vpc,
        encryption_key=key,
        ssh_ingress_cidr=_parameter(stack, SSH_INGRESS_CIDR_PATTERN),
    )
    assert bastion.ssh_ingress is not None
    assert bastion.ssh_ingress.cfn_options.condition is None


def test_allow_to_rejects_bad_arguments():
    stack = new_stack()
    vpc, key = _scaffold(stack)
    bastion = Bastion(stack, "Bastion", vpc=vpc, encryption_key=key)
    peer = ec2.SecurityGroup(stack, "Peer", vpc=vpc, allow_all_outbound=False)
    with pytest.raises(ValueError, match=r"description='' is invalid"):
        bastion.allow_to(peer, ec2.Port.tcp(3306), "")
    with pytest.raises(ValueError, match=r"description='to \"db\"' is invalid"):
        bastion.allow_to(peer, ec2.Port.tcp(3306), 'to "db"')
    with pytest.raises(ValueError, match=r"port=3306 is invalid; pass an ec2.Port"):
        bastion.allow_to(peer, 3306, "MySQL to the database")  # type: ignore[arg-type]


# ---- gates -----------------------------------------------------------------------------------
def _build_all(stack: cdk.Stack) -> None:
    vpc, key = _scaffold(stack)
    for name, build in BUILDERS.items():
        bastion = build(stack, vpc, key, f"{name}Bastion")
        if name == "Public":
            # The caller relaxed termination protection, so the caller acknowledges it (as the
            # stacks do with their environment's relaxation reason); the construct does not.
            acknowledge(
                bastion.instance,
                "AwsSolutions-EC29",
                "Test caller: termination_protection=False is the explicit relaxation under test; "
                "the construct leaves its acknowledgment to the caller.",
            )


def test_nag_clean():
    """All three variants in one stack: one synth under the four packs."""
    assert nag_findings(_build_all) == []


@pytest.mark.parametrize("variant", list(BUILDERS))
def test_cfn_lint_reports_nothing(built: dict[str, Built], variant: str):
    matches = lint(json.dumps(built[variant].json), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} ({m.path})" for m in matches] == []
