"""SecureFunction (CMP-09, ENC-01..03, LOG-03, LOG-07).

One app with two stacks is synthesized once for the module: ``Defaults`` (outside a VPC, with
environment variables) and ``Variants`` (VPC, passed-in key/queue, changed sizes), plus one gated
synth for cdk-nag.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.encryption import EncryptionKey
from constructs_lib.serverless import SecureFunction
from tests.support import cdk_json_context, nag_findings, new_stack

NO_VPC = "the function calls only public AWS APIs and reaches no private resource in a VPC"
CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
IMPORTED_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"


@dataclass
class Built:
    stack: cdk.Stack
    template: dict[str, Any]
    function: SecureFunction
    log_key: EncryptionKey

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.template["Resources"][logical_id(construct)])

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.resource(construct)["Properties"])

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}


def _vpc(stack: cdk.Stack) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-12345678",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=["subnet-11111111", "subnet-22222222"],
        private_subnet_route_table_ids=["rtb-11111111", "rtb-22222222"],
    )


def build_defaults(stack: cdk.Stack) -> tuple[SecureFunction, EncryptionKey]:
    log_key = EncryptionKey(stack, "LogKey", alias="logs", description="log groups")
    function = SecureFunction(
        stack,
        "Fn",
        code=CODE,
        handler="index.handler",
        log_encryption_key=log_key,
        environment={"TABLE_NAME": "audit", "STAGE": "dev"},
        no_vpc_reason=NO_VPC,
    )
    return function, log_key


def build_variants(stack: cdk.Stack) -> tuple[SecureFunction, EncryptionKey]:
    log_key = EncryptionKey(stack, "LogKey", alias="logs", description="log groups")
    env_key = EncryptionKey(stack, "EnvKey", alias="env", description="shared environment")
    queue_key = EncryptionKey(
        stack, "QueueKey", alias="queue", description="queue", services=["sqs"]
    )
    queue = sqs.Queue(
        stack,
        "SharedDlq",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=queue_key.key,
        enforce_ssl=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    function = SecureFunction(
        stack,
        "Fn",
        code=CODE,
        handler="app.main",
        log_encryption_key=log_key.key,
        environment={"AB": "1"},
        environment_key=env_key,
        vpc=_vpc(stack),
        reserved_concurrency=3,
        timeout=cdk.Duration.minutes(5),
        memory_size=1024,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        dead_letter_queue=queue,
        runtime=lambda_.Runtime.PYTHON_3_13,
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    function.grant_invoke(caller)
    return function, log_key


@pytest.fixture(scope="module")
def stacks() -> dict[str, Built]:
    app = cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )
    built = {
        name: (stack, build(stack))
        for name, build in (("defaults", build_defaults), ("variants", build_variants))
        for stack in [new_stack(app, name.capitalize())]
    }
    return {
        name: Built(stack, dict(Template.from_stack(stack).to_json()), *constructs)
        for name, (stack, constructs) in built.items()
    }


@pytest.fixture(scope="module")
def defaults(stacks: dict[str, Built]) -> Built:
    return stacks["defaults"]


@pytest.fixture(scope="module")
def variants(stacks: dict[str, Built]) -> Built:
    return stacks["variants"]


def _ref(construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(construct), "Arn"]}


def _key_statements(built: Built, key: Any) -> dict[str, dict[str, Any]]:
    return {s.get("Sid", ""): s for s in built.props(key)["KeyPolicy"]["Statement"]}


def _managed_statements(built: Built) -> list[dict[str, Any]]:
    return [
        statement
        for policy in built.of_type("AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


# ---- CMP-09 defaults ---------------------------------------------------------------------------
def test_cmp09_function_defaults(defaults: Built):
    props = defaults.props(defaults.function.function)
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == 10
    assert props["Runtime"] == "python3.14"
    assert props["Timeout"] == 30
    assert props["MemorySize"] == 256
    assert props["DeadLetterConfig"] == {"TargetArn": _ref(defaults.function.dead_letter_queue)}
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": logical_id(defaults.function.log_group)}}
    assert "VpcConfig" not in props
    assert logical_id(defaults.function.function).startswith("FnResource") is False  # ID "Resource"
    assert defaults.function.function.node.id == "Resource"


def test_enc03_environment_is_encrypted_with_the_functions_own_key(defaults: Built):
    function = defaults.function
    props = defaults.props(function.function)
    assert props["Environment"] == {"Variables": {"TABLE_NAME": "audit", "STAGE": "dev"}}
    assert function.own_key is not None
    assert function.environment_key is function.own_key.key
    assert props["KmsKeyArn"] == _ref(function.own_key.key)


def test_enc01_own_key_rotates_has_an_alias_and_is_retained(defaults: Built):
    own = defaults.function.own_key
    assert own is not None
    key = defaults.resource(own.key)
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    alias = defaults.props(own.alias)
    assert alias["TargetKeyId"] == _ref(own.key)
    assert "lambda/Fn-" in json.dumps(alias["AliasName"])


def test_enc02_only_the_function_role_may_decrypt_the_environment(defaults: Built):
    own = defaults.function.own_key
    assert own is not None
    statements = _key_statements(defaults, own.key)
    role = _ref(defaults.function.role)
    decrypting = {
        sid: s
        for sid, s in statements.items()
        if s["Effect"] == "Allow" and "kms:Decrypt" in json.dumps(s["Action"])
    }
    assert set(decrypting) == {
        "DecryptEnvironmentOnlyAsTheFunctionRole",
        "DeadLettersOnlyAsTheFunctionRole",
    }
    for statement in decrypting.values():
        assert statement["Principal"] == {"AWS": role}
    assert decrypting["DecryptEnvironmentOnlyAsTheFunctionRole"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "lambda.us-east-1.amazonaws.com"}
    }
    encrypt = statements["EncryptEnvironmentThroughLambda"]
    assert encrypt["Action"] == "kms:Encrypt"
    assert encrypt["Condition"]["StringEquals"]["kms:ViaService"] == (
        "lambda.us-east-1.amazonaws.com"
    )
    # no kms:* and no usage for the account outside the administration statement
    assert "kms:*" not in json.dumps(statements)


def test_enc02_role_grant_is_a_customer_managed_policy(defaults: Built):
    own = defaults.function.own_key
    assert own is not None
    assert defaults.of_type("AWS::IAM::Policy") == {}
    statements = {s["Sid"]: s for s in _managed_statements(defaults)}
    assert statements["DecryptEnvironmentThroughLambda"]["Resource"] == _ref(own.key)
    assert statements["DecryptEnvironmentThroughLambda"]["Action"] == "kms:Decrypt"
    assert statements["SendDeadLetters"]["Resource"] == _ref(defaults.function.dead_letter_queue)
    assert statements["EncryptDeadLettersThroughSqs"]["Resource"] == _ref(own.key)
    assert statements["WriteOwnLogGroup"]["Resource"] == _ref(defaults.function.log_group)
    roles = {
        json.dumps(p["Properties"]["Roles"])
        for p in defaults.of_type("AWS::IAM::ManagedPolicy").values()
    }
    assert roles == {json.dumps([{"Ref": logical_id(defaults.function.role)}])}


def test_function_waits_for_its_policies(defaults: Built):
    depends = set(defaults.resource(defaults.function.function)["DependsOn"])
    assert depends == {logical_id(p) for p in defaults.function.policies}


def test_cmp09_created_dead_letter_queue(defaults: Built):
    function = defaults.function
    queue = defaults.resource(function.dead_letter_queue)
    assert queue["DeletionPolicy"] == "Retain"
    assert queue["Properties"]["KmsMasterKeyId"] == _ref(function.environment_key)
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = defaults.of_type("AWS::SQS::QueuePolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_log03_log_group_is_cmk_encrypted_with_retention_and_retained(defaults: Built):
    group = defaults.resource(defaults.function.log_group)
    assert group["Properties"]["KmsKeyId"] == _ref(defaults.log_key.key)
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "Retain"


def test_log03_log_key_lets_cloudwatch_logs_use_it(defaults: Built):
    statements = _key_statements(defaults, defaults.log_key.key)
    (logs_statement,) = [s for sid, s in statements.items() if sid.startswith("CloudWatchLogs")]
    assert logs_statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert "kms:EncryptionContext:aws:logs:arn" in logs_statement["Condition"]["ArnLike"]


# ---- behaviour-changing arguments -------------------------------------------------------------
def test_vpc_config_and_explicit_egress(variants: Built):
    function = variants.function
    props = variants.props(function.function)
    assert props["VpcConfig"]["SubnetIds"] == ["subnet-11111111", "subnet-22222222"]
    assert function.security_group is not None
    assert props["VpcConfig"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [logical_id(function.security_group), "GroupId"]}
    ]
    group = variants.props(function.security_group)
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "10.0.0.0/16",
            "Description": "HTTPS to interface VPC endpoints in the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert "SecurityGroupIngress" not in group
    eni = [s for s in _managed_statements(variants) if s["Sid"] == "ManageVpcNetworkInterfaces"]
    assert len(eni) == 1
    assert not any(
        "AWSLambdaVPCAccessExecutionRole" in json.dumps(r)
        for r in variants.of_type("AWS::IAM::Role").values()
    )


def test_sizes_runtime_and_retention_arguments(variants: Built):
    props = variants.props(variants.function.function)
    assert props["ReservedConcurrentExecutions"] == 3
    assert props["Timeout"] == 300
    assert props["MemorySize"] == 1024
    assert props["Runtime"] == "python3.13"
    assert props["Handler"] == "app.main"
    group = variants.props(variants.function.log_group)
    assert group["RetentionInDays"] == 90


def test_passed_key_and_queue_are_used_and_no_key_is_created(variants: Built):
    function = variants.function
    props = variants.props(function.function)
    assert function.own_key is None
    assert props["KmsKeyArn"] == _ref(function.environment_key)
    assert logical_id(function.environment_key).startswith("EnvKey")
    assert props["DeadLetterConfig"]["TargetArn"] == _ref(function.dead_letter_queue)
    statements = _key_statements(variants, function.environment_key)
    assert "DecryptEnvironmentOnlyAsTheFunctionRole" in statements
    assert "DeadLettersOnlyAsTheFunctionRole" not in statements
    sqs_statement = [
        s for s in _managed_statements(variants) if s["Sid"] == "EncryptDeadLettersThroughSqs"
    ]
    assert sqs_statement[0]["Resource"]["Fn::GetAtt"][0].startswith("QueueKey")


def test_grant_invoke_and_metric(variants: Built):
    statements = [
        s
        for p in variants.of_type("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(s["Action"] == "lambda:InvokeFunction" for s in statements)
    metric = variants.function.metric_errors()
    assert metric.metric_name == "Errors"
    assert metric.namespace == "AWS/Lambda"


def test_imported_environment_key_is_reported():
    stack = new_stack()
    SecureFunction(
        stack,
        "Fn",
        code=CODE,
        handler="index.handler",
        log_encryption_key=kms.Key.from_key_arn(stack, "LogKey", IMPORTED_KEY_ARN),
        environment_key=kms.Key.from_key_arn(stack, "EnvKey", IMPORTED_KEY_ARN),
        no_vpc_reason=NO_VPC,
    )
    annotations = Annotations.from_stack(stack)
    for message in ("environment_key is imported", "log_encryption_key is imported"):
        annotations.has_warning("/TestStack/Fn", Match.string_like_regexp(f"^{message}"))


# ---- bad input ---------------------------------------------------------------------------------
BAD = [
    (
        {"reserved_concurrency": 0},
        r"SecureFunction: reserved_concurrency=0 is invalid; use a value between 1",
    ),
    ({"reserved_concurrency": 2.5}, r"reserved_concurrency=2.5 is invalid; pass a whole number"),
    ({"memory_size": 64}, r"memory_size=64 is invalid"),
    ({"timeout": cdk.Duration.minutes(16)}, r"timeout='16 minutes' is invalid; use 1 second to 15"),
    ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.* LOG-03 needs"),
    ({"log_encryption_key": None}, r"log_encryption_key=None is invalid; LOG-03 needs a CMK"),
    ({"handler": " "}, r"handler=' ' is invalid"),
    ({"code": "print(1)"}, r"code='print\(1\)' is invalid; pass a lambda_.Code"),
    ({"environment": {"AWS_REGION": "x"}}, r"environment='AWS_REGION' is invalid; Lambda reserves"),
    ({"environment": {"1BAD": "x"}}, r"environment='1BAD' is invalid"),
    ({"environment": {"A": "x"}}, r"environment='A' is invalid; use 2\+ characters"),
    ({"environment": {"NUM": 1}}, r"environment\['NUM'\]=1 is invalid; values must be strings"),
    ({"no_vpc_reason": None}, r"vpc=None is invalid; CMP-09 .* no_vpc_reason="),
    ({"no_vpc_reason": "short"}, r"vpc=None is invalid"),
    ({"security_group": "sg-1"}, r"security_group='sg-1' is invalid; pass vpc as well"),
    ({"alias": "alias/x"}, r"alias='alias/x' is invalid"),
    (
        {"dead_letter_queue": "arn:aws:sqs:us-east-1:1:q"},
        r"dead_letter_queue=.* pass an sqs.IQueue",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_input_is_rejected_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    key = kms.Key(stack, "LogKey")
    arguments: dict[str, Any] = {
        "code": CODE,
        "handler": "index.handler",
        "log_encryption_key": key,
        "no_vpc_reason": NO_VPC,
        **overrides,
    }
    with pytest.raises(ValueError, match=message):
        SecureFunction(stack, "Fn", **arguments)
    assert stack.node.try_find_child("Fn") is None


def test_no_vpc_reason_with_a_vpc_is_rejected():
    stack = new_stack()
    with pytest.raises(ValueError, match=r"no_vpc_reason=.* the function runs in vpc"):
        SecureFunction(
            stack,
            "Fn",
            code=CODE,
            handler="index.handler",
            log_encryption_key=kms.Key(stack, "LogKey"),
            vpc=_vpc(stack),
            no_vpc_reason=NO_VPC,
        )


# ---- gates -------------------------------------------------------------------------------------
def test_nag_clean():
    def build(stack: cdk.Stack) -> None:
        build_defaults(stack)
        nested = stack
        log_key = EncryptionKey(nested, "VpcLogKey", alias="vpc-logs", description="logs")
        SecureFunction(
            nested,
            "VpcFn",
            code=CODE,
            handler="index.handler",
            log_encryption_key=log_key,
            vpc=_vpc(nested),
        )

    assert nag_findings(build) == []


@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_cfn_lint_clean(stacks: dict[str, Built], variant: str):
    matches = lint(json.dumps(stacks[variant].template), regions=["us-east-1"])
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
