"""DefaultVpcCleanup (NET-09, CMP-09, LOG-03): the custom resource, its function and permissions.

Three stacks are synthesized once for the module: ``Defaults``, ``Variants`` (every
behaviour-changing argument, an imported log key) and ``Agnostic`` (no region: the kept region and
the IAM guard become ``AWS::Region``), plus one gated synth for cdk-nag. The handler's behaviour is
tested in ``test_default_vpc_cleanup_handler.py``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.default_vpc_cleanup import (
    DELETE_ACTIONS,
    DESCRIBE_ACTIONS,
    EC2_ACTIONS,
    HANDLER_FILE,
    DefaultVpcCleanup,
)
from tests.support import cdk_json_context, nag_findings, new_stack

IMPORTED_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"


@dataclass
class Synthesized:
    stack: cdk.Stack
    template: dict[str, Any]
    cleanup: DefaultVpcCleanup

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.resources[logical_id(construct)])

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.resource(construct)["Properties"])


def _own_key(stack: cdk.Stack) -> kms.Key:
    return kms.Key(
        stack, "LogsKey", enable_key_rotation=True, removal_policy=cdk.RemovalPolicy.RETAIN
    )


def build_defaults(stack: cdk.Stack) -> DefaultVpcCleanup:
    return DefaultVpcCleanup(stack, "DefaultVpcCleanup", encryption_key=_own_key(stack))


def build_variants(stack: cdk.Stack, key: kms.IKey | None = None) -> DefaultVpcCleanup:
    """Every behaviour-changing argument; an imported log key unless ``key`` is given."""
    return DefaultVpcCleanup(
        stack,
        "DefaultVpcCleanup",
        encryption_key=key or kms.Key.from_key_arn(stack, "ImportedKey", IMPORTED_KEY_ARN),
        dry_run=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        timeout=cdk.Duration.minutes(15),
    )


def _fast_app() -> cdk.App:
    """The project's cdk.json context without the built-in CloudFormation validation."""
    return cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


@pytest.fixture(scope="module")
def stacks() -> dict[str, Synthesized]:
    app = _fast_app()
    built = {
        "defaults": (stack := new_stack(app, "Defaults"), build_defaults(stack)),
        "variants": (stack := new_stack(app, "Variants"), build_variants(stack)),
        "agnostic": (stack := cdk.Stack(app, "Agnostic"), build_defaults(stack)),
    }
    # Template.from_stack synthesizes the app: every stack must exist before the first call.
    return {
        name: Synthesized(stack, dict(Template.from_stack(stack).to_json()), cleanup)
        for name, (stack, cleanup) in built.items()
    }


@pytest.fixture(scope="module")
def defaults(stacks: dict[str, Synthesized]) -> Synthesized:
    return stacks["defaults"]


@pytest.fixture(scope="module")
def variants(stacks: dict[str, Synthesized]) -> Synthesized:
    return stacks["variants"]


@pytest.fixture(scope="module")
def agnostic(stacks: dict[str, Synthesized]) -> Synthesized:
    return stacks["agnostic"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _custom(built: Synthesized) -> dict[str, Any]:
    (custom,) = built.of_type("Custom::DefaultVpcCleanup").values()
    return dict(custom)


def _ec2_arn(resource: str, partition: Any = "aws") -> dict[str, Any]:
    prefix: list[Any] = (
        [f"arn:{partition}:ec2:*:"]
        if isinstance(partition, str)
        else ["arn:", partition, ":ec2:*:"]
    )
    return {"Fn::Join": ["", [*prefix, {"Ref": "AWS::AccountId"}, f":{resource}/*"]]}


# ---- NET-09 custom resource --------------------------------------------------------------------
def test_net09_custom_resource_keeps_the_stack_region_and_deletes_by_default(
    defaults: Synthesized,
):
    custom = _custom(defaults)
    assert custom["Properties"] == {
        "ServiceToken": {"Fn::GetAtt": [logical_id(defaults.cleanup.function), "Arn"]},
        "ServiceTimeout": "720",  # the function's 10 minutes plus 2 to answer
        "KeepRegion": "us-east-1",
        "DryRun": "false",
    }
    cleanup = defaults.cleanup
    policies = (
        cleanup.policy,
        cleanup.logs_policy,
        cleanup.tracing_policy,
        cleanup.dead_letter_policy,
    )
    assert sorted(custom["DependsOn"]) == sorted(logical_id(p) for p in policies)
    assert cleanup.keep_region == "us-east-1" and cleanup.dry_run is False


def test_net09_dry_run_and_timeout_reach_the_custom_resource(variants: Synthesized):
    properties = _custom(variants)["Properties"]
    assert properties["DryRun"] == "true"
    assert properties["ServiceTimeout"] == "1020"
    assert variants.props(variants.cleanup.function)["Timeout"] == 900


def test_net09_region_agnostic_stack_keeps_the_deployment_region(agnostic: Synthesized):
    assert _custom(agnostic)["Properties"]["KeepRegion"] == {"Ref": "AWS::Region"}


def test_net09_outcome_reads_the_region_from_the_response_data(defaults: Synthesized):
    outcome = defaults.stack.resolve(defaults.cleanup.outcome("eu-west-1"))
    assert outcome == {"Fn::GetAtt": [logical_id(defaults.cleanup.resource), "eu-west-1"]}


def test_net09_inlined_source_is_the_handler_file(defaults: Synthesized):
    function = defaults.props(defaults.cleanup.function)
    assert function["Code"] == {"ZipFile": HANDLER_FILE.read_text(encoding="utf-8")}
    assert function["Handler"] == "index.handler"
    assert not [p for p in defaults.template.get("Parameters", {}) if "Asset" in p]


# ---- CMP-09 / LOG-03 ---------------------------------------------------------------------------
def test_cmp09_function_settings(defaults: Synthesized):
    function = defaults.props(defaults.cleanup.function)
    assert function["Runtime"] == lambda_.Runtime.PYTHON_3_14.name
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["Timeout"] == 600
    assert function["MemorySize"] == 128
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert "Environment" not in function  # nothing to encrypt
    assert "VpcConfig" not in function  # it deletes VPCs; it must not live in one
    assert function["LoggingConfig"] == {
        "LogGroup": {"Ref": logical_id(defaults.cleanup.log_group)}
    }
    assert function["Role"] == {"Fn::GetAtt": [logical_id(defaults.cleanup.role), "Arn"]}
    assert function["DeadLetterConfig"] == {
        "TargetArn": {"Fn::GetAtt": [logical_id(defaults.cleanup.dead_letter_queue), "Arn"]}
    }


def test_cmp09_dead_letter_queue_is_cmk_encrypted_ssl_only_and_retained(
    defaults: Synthesized, variants: Synthesized
):
    queue = defaults.resource(defaults.cleanup.dead_letter_queue)
    key_id = next(iter(defaults.of_type("AWS::KMS::Key")))
    assert queue["Properties"] == {
        "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "MessageRetentionPeriod": 14 * 24 * 3600,
    }
    assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == "Retain"
    (policy,) = defaults.of_type("AWS::SQS::QueuePolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    imported = variants.props(variants.cleanup.dead_letter_queue)
    assert imported["KmsMasterKeyId"] == IMPORTED_KEY_ARN


def test_catalogue_audit_passes_the_controls_the_construct_implements(defaults: Synthesized):
    """The independent audit (controls/) reads the template as it would read anyone's."""
    from tests.controls.helpers import messages, outcome

    for control in ("NET-09", "CMP-09", "LOG-03", "ENC-03", "RES-02"):
        result = outcome(control, defaults.template)
        assert result.status.value == "pass", f"{control}: {messages(result)}"


def test_log03_log_group_is_cmk_encrypted_with_retention_and_retained(
    defaults: Synthesized, variants: Synthesized
):
    group = defaults.resource(defaults.cleanup.log_group)
    key_id = next(iter(defaults.of_type("AWS::KMS::Key")))
    assert group["Properties"] == {
        "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "RetentionInDays": 365,
    }
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    relaxed = variants.resource(variants.cleanup.log_group)
    assert relaxed["Properties"] == {"KmsKeyId": IMPORTED_KEY_ARN, "RetentionInDays": 90}
    assert relaxed["DeletionPolicy"] == "Retain"


def test_log03_key_lets_cloudwatch_logs_use_it_for_this_accounts_log_groups(
    defaults: Synthesized,
):
    (key,) = defaults.of_type("AWS::KMS::Key").values()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid", "").startswith("CloudWatchLogsDefaultVpcCleanup")
    ]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    ["arn:aws:logs:us-east-1:", {"Ref": "AWS::AccountId"}, ":log-group:*"],
                ]
            }
        }
    }
    assert "kms:*" not in _as_list(statement["Action"])


def test_imported_key_is_reported_because_its_policy_cannot_change(variants: Synthesized):
    Annotations.from_stack(variants.stack).has_warning(
        "/Variants/DefaultVpcCleanup", Match.string_like_regexp("encryption_key is imported")
    )


# ---- IAM ---------------------------------------------------------------------------------------
def _policies(built: Synthesized) -> dict[str, list[tuple[Any, ...]]]:
    role_id = logical_id(built.cleanup.role)
    return {
        logical: [
            (
                s["Sid"],
                s["Effect"],
                sorted(_as_list(s["Action"])),
                s["Resource"],
                s.get("Condition"),
            )
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        for logical, policy in built.of_type("AWS::IAM::ManagedPolicy").items()
        if policy["Properties"].get("Roles") == [{"Ref": role_id}]
    }


def test_net09_role_has_exactly_the_calls_of_the_handler(defaults: Synthesized):
    cleanup = defaults.cleanup
    role = defaults.props(cleanup.role)
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]
    assert not defaults.of_type("AWS::IAM::Policy"), "inline policies"
    assert _policies(defaults) == {
        logical_id(cleanup.policy): [
            ("FindDefaultVpcs", "Allow", sorted(DESCRIBE_ACTIONS), "*", None),
            (
                "DeleteDefaultVpcsOutsideDeploymentRegion",
                "Allow",
                sorted(DELETE_ACTIONS),
                [_ec2_arn("internet-gateway"), _ec2_arn("subnet"), _ec2_arn("vpc")],
                {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            ),
        ],
        logical_id(cleanup.logs_policy): [
            (
                "WriteOwnLogGroup",
                "Allow",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                {"Fn::GetAtt": [logical_id(cleanup.log_group), "Arn"]},
                None,
            )
        ],
        logical_id(cleanup.tracing_policy): [
            (
                "SendTraceSegments",
                "Allow",
                ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                "*",
                None,
            )
        ],
        logical_id(cleanup.dead_letter_policy): [
            (
                "SendToOwnDeadLetterQueue",
                "Allow",
                ["sqs:SendMessage"],
                {"Fn::GetAtt": [logical_id(cleanup.dead_letter_queue), "Arn"]},
                None,
            ),
            (
                "EncryptForOwnDeadLetterQueue",
                "Allow",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                {"Fn::GetAtt": [next(iter(defaults.of_type("AWS::KMS::Key"))), "Arn"]},
                {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}},
            ),
        ],
    }
    # The handler test compares EC2_ACTIONS with the calls it records.
    granted = {
        action
        for statements in _policies(defaults).values()
        for _, _, actions, _, _ in statements
        for action in actions
        if action.startswith("ec2:")
    }
    assert granted == set(EC2_ACTIONS)
    assert sorted(EC2_ACTIONS) == [
        "ec2:DeleteInternetGateway",
        "ec2:DeleteSubnet",
        "ec2:DeleteVpc",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeRegions",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:DetachInternetGateway",
    ]


def test_net09_deletes_are_denied_in_the_deployment_region_of_an_agnostic_stack(
    agnostic: Synthesized,
):
    (_, delete) = _policies(agnostic)[logical_id(agnostic.cleanup.policy)]
    assert delete[4] == {"StringNotEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}
    partition = {"Ref": "AWS::Partition"}
    assert delete[3] == [
        _ec2_arn("internet-gateway", partition),
        _ec2_arn("subnet", partition),
        _ec2_arn("vpc", partition),
    ]


# ---- public API --------------------------------------------------------------------------------
def test_children_are_typed_public_attributes(defaults: Synthesized):
    cleanup = defaults.cleanup
    assert isinstance(cleanup.resource, cdk.CustomResource)
    assert cleanup.resource.node.id == "Resource"
    assert isinstance(cleanup.function, lambda_.Function)
    assert isinstance(cleanup.log_group, logs.LogGroup)
    assert isinstance(cleanup.role, iam.Role)
    assert isinstance(cleanup.dead_letter_queue, sqs.Queue)
    for policy in (
        cleanup.policy,
        cleanup.logs_policy,
        cleanup.tracing_policy,
        cleanup.dead_letter_policy,
    ):
        assert isinstance(policy, iam.ManagedPolicy)


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"encryption_key": None}, r"encryption_key=None is invalid; pass the kms.IKey"),
        ({"dry_run": "true"}, r"dry_run='true' is invalid; pass True or False"),
        (
            {"log_retention": logs.RetentionDays.INFINITE},
            r"log_retention=.* is invalid; LOG-03 needs an explicit retention",
        ),
        ({"log_retention": 365}, r"log_retention=365 is invalid; pass a logs.RetentionDays"),
        ({"timeout": 600}, r"timeout=600 is invalid; pass a Duration"),
        (
            {"timeout": cdk.Duration.minutes(16)},
            r"timeout='16 minutes' is invalid; use 2 to 15 minutes",
        ),
        (
            {"timeout": cdk.Duration.seconds(90)},
            r"timeout='1 minute 30 seconds' is invalid; use 2 to 15 minutes",
        ),
    ],
)
def test_bad_input_raises_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack(_fast_app())
    key = kms.Key.from_key_arn(stack, "Key", IMPORTED_KEY_ARN)
    with pytest.raises(ValueError, match=rf"^DefaultVpcCleanup: {message}"):
        DefaultVpcCleanup(stack, "Cleanup", **{"encryption_key": key, **overrides})
    assert stack.node.try_find_child("Cleanup") is None


# ---- gates -------------------------------------------------------------------------------------
def test_nag_clean():
    def build(stack: cdk.Stack) -> None:
        build_defaults(stack)
        app = stack.node.root
        assert isinstance(app, cdk.App)
        # An imported key is reported as a warning on purpose (tested above); own one here.
        variants = new_stack(app, "Variants")
        build_variants(variants, _own_key(variants))
        # Without a region, cdk-nag prints the partition of the finding IDs as a reference.
        build_defaults(cdk.Stack(app, "Agnostic"))

    assert nag_findings(build) == []


@pytest.mark.parametrize("variant", ["defaults", "variants", "agnostic"])
def test_cfn_lint_clean(stacks: dict[str, Synthesized], variant: str):
    matches = lint(json.dumps(stacks[variant].template), regions=["us-east-1"])
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
