"""MfaEnforcement (IAM-02), PasswordPolicy (IAM-03, CMP-09, LOG-03) and AccessKeyGuards (IAM-04).

Two stacks are synthesized once for the module: ``Defaults`` (every construct with its defaults)
and ``Variants`` (every behaviour-changing argument), plus one gated synth for cdk-nag. The
handler's behaviour is tested in ``test_password_policy_handler.py``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_config as config
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.identity import (
    BASELINE_PASSWORD_POLICY,
    HANDLER_FILE,
    MFA_SELF_SERVICE_ACTIONS,
    AccessKeyGuards,
    MfaEnforcement,
    PasswordPolicy,
)
from tests.support import cdk_json_context, nag_findings, new_stack

WEAKER_REASON = "legacy SSO bridge cannot type symbols; tracked in SEC-1234 until 2026-12"
IMPORTED_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
OWN_USER = {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":user/${aws:username}"]]}
OWN_MFA = {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":mfa/${aws:username}"]]}


@dataclass
class Synthesized:
    stack: cdk.Stack
    template: dict[str, Any]
    mfa: MfaEnforcement
    password: PasswordPolicy
    guards: AccessKeyGuards

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.resources[logical_id(construct)])

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.resource(construct)["Properties"])


def build_defaults(stack: cdk.Stack) -> tuple[MfaEnforcement, PasswordPolicy, AccessKeyGuards]:
    key = kms.Key(
        stack, "LogsKey", enable_key_rotation=True, removal_policy=cdk.RemovalPolicy.RETAIN
    )
    return (
        MfaEnforcement(stack, "Mfa"),
        PasswordPolicy(stack, "PasswordPolicy", encryption_key=key),
        AccessKeyGuards(stack, "AccessKeyGuards"),
    )


def build_variants(
    stack: cdk.Stack, key: kms.IKey | None = None
) -> tuple[MfaEnforcement, PasswordPolicy, AccessKeyGuards]:
    """Every behaviour-changing argument; an imported log key unless ``key`` is given."""
    mfa = MfaEnforcement(stack, "Mfa", group_name="mfa-required")
    mfa.add_user(iam.User(stack, "Operator"))
    mfa.add_user(iam.User.from_user_name(stack, "Alice", "alice"))
    password = PasswordPolicy(
        stack,
        "PasswordPolicy",
        encryption_key=key or kms.Key.from_key_arn(stack, "ImportedKey", IMPORTED_KEY_ARN),
        minimum_length=20,
        require_symbols=False,
        allow_weaker_policy_reason=WEAKER_REASON,
        reuse_prevention=5,
        max_age_days=365,
        allow_users_to_change=False,
        hard_expiry=True,
        on_delete="delete",
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )
    recorder = config.CfnConfigurationRecorder(
        stack,
        "Recorder",
        role_arn="arn:aws:iam::111122223333:role/config",
        recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
            all_supported=True, include_global_resource_types=True
        ),
    )
    guards = AccessKeyGuards(
        stack,
        "AccessKeyGuards",
        max_access_key_age_days=45,
        depends_on=recorder,
        evaluation_frequency=config.MaximumExecutionFrequency.TWELVE_HOURS,
    )
    return mfa, password, guards


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
        name: (stack, build(stack))
        for name, build in (("defaults", build_defaults), ("variants", build_variants))
        for stack in [new_stack(app, name.capitalize())]
    }
    # Template.from_stack synthesizes the app: every stack must exist before the first call.
    return {
        name: Synthesized(stack, dict(Template.from_stack(stack).to_json()), *constructs)
        for name, (stack, constructs) in built.items()
    }


@pytest.fixture(scope="module")
def defaults(stacks: dict[str, Synthesized]) -> Synthesized:
    return stacks["defaults"]


@pytest.fixture(scope="module")
def variants(stacks: dict[str, Synthesized]) -> Synthesized:
    return stacks["variants"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(built: Synthesized) -> dict[str, dict[str, Any]]:
    document = built.props(built.mfa.policy)["PolicyDocument"]
    return {statement["Sid"]: statement for statement in document["Statement"]}


# ---- IAM-02 MFA enforcement --------------------------------------------------------------------
def test_iam02_denies_everything_but_self_service_when_mfa_is_absent(defaults: Synthesized):
    statements = _statements(defaults)
    (deny,) = [s for s in statements.values() if s["Effect"] == "Deny"]
    assert "Action" not in deny
    assert sorted(deny["NotAction"]) == sorted(MFA_SELF_SERVICE_ACTIONS)
    assert deny["Resource"] == "*"
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def test_iam02_self_service_list_is_exactly_the_mfa_setup():
    assert sorted(MFA_SELF_SERVICE_ACTIONS) == [
        "iam:ChangePassword",
        "iam:CreateVirtualMFADevice",
        "iam:EnableMFADevice",
        "iam:GetAccountPasswordPolicy",
        "iam:GetUser",
        "iam:ListAccountAliases",
        "iam:ListMFADevices",
        "iam:ListVirtualMFADevices",
        "iam:ResyncMFADevice",
        "sts:GetSessionToken",
    ]


def test_iam02_allows_are_exact_and_limited_to_the_own_user(defaults: Synthesized):
    statements = _statements(defaults)
    allows = {sid: s for sid, s in statements.items() if s["Effect"] == "Allow"}
    assert {sid: sorted(_as_list(s["Action"])) for sid, s in allows.items()} == {
        "AllowViewAccountInfo": [
            "iam:GetAccountPasswordPolicy",
            "iam:ListAccountAliases",
            "iam:ListVirtualMFADevices",
        ],
        "AllowManageOwnPassword": ["iam:ChangePassword", "iam:GetUser"],
        "AllowCreateOwnVirtualMfaDevice": ["iam:CreateVirtualMFADevice"],
        "AllowManageOwnMfaDevices": [
            "iam:EnableMFADevice",
            "iam:ListMFADevices",
            "iam:ResyncMFADevice",
        ],
        "AllowDeactivateOwnMfaDeviceOnlyWithMfa": ["iam:DeactivateMFADevice"],
    }
    # Resource "*" only where IAM supports no resource-level permission.
    assert allows["AllowViewAccountInfo"]["Resource"] == "*"
    assert allows["AllowCreateOwnVirtualMfaDevice"]["Resource"] == OWN_MFA
    for sid in ("AllowManageOwnPassword", "AllowManageOwnMfaDevices"):
        assert allows[sid]["Resource"] == OWN_USER
    deactivate = allows["AllowDeactivateOwnMfaDeviceOnlyWithMfa"]
    assert deactivate["Resource"] == OWN_USER
    assert deactivate["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    # Everything allowed without MFA escapes the deny; only deactivation needs MFA.
    allowed = {a for s in allows.values() for a in _as_list(s["Action"])}
    assert allowed - set(MFA_SELF_SERVICE_ACTIONS) == {"iam:DeactivateMFADevice"}


def test_iam02_policy_is_attached_to_its_group(defaults: Synthesized):
    group = defaults.props(defaults.mfa.group)
    assert group == {"ManagedPolicyArns": [{"Ref": logical_id(defaults.mfa.policy)}]}
    assert "GroupName" not in group  # a generated name never blocks replacement


def test_iam02_group_name_and_members(variants: Synthesized):
    group_id = logical_id(variants.mfa.group)
    assert variants.props(variants.mfa.group)["GroupName"] == "mfa-required"
    operator = next(props["Properties"] for props in variants.of_type("AWS::IAM::User").values())
    assert operator["Groups"] == [{"Ref": group_id}]
    (addition,) = variants.of_type("AWS::IAM::UserToGroupAddition").values()
    assert addition["Properties"] == {"GroupName": {"Ref": group_id}, "Users": ["alice"]}


# ---- IAM-03 password policy --------------------------------------------------------------------
def _custom(built: Synthesized) -> dict[str, Any]:
    (custom,) = built.of_type("Custom::AccountPasswordPolicy").values()
    return dict(custom)


def test_iam03_custom_resource_carries_the_secure_defaults(defaults: Synthesized):
    custom = _custom(defaults)
    function_id = logical_id(defaults.password.function)
    assert custom["Properties"] == {
        "ServiceToken": {"Fn::GetAtt": [function_id, "Arn"]},
        "ServiceTimeout": "600",
        "MinimumPasswordLength": 14,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "PasswordReusePrevention": 24,
        "MaxPasswordAge": 90,
        "AllowUsersToChangePassword": True,
        "HardExpiry": False,
        "OnDelete": "restore",
    }
    # What a stack delete restores is what a default deployment applies.
    assert defaults.password.settings == BASELINE_PASSWORD_POLICY


def test_iam03_arguments_reach_the_custom_resource(variants: Synthesized):
    properties = _custom(variants)["Properties"]
    assert {k: v for k, v in properties.items() if k not in ("ServiceToken", "ServiceTimeout")} == {
        "MinimumPasswordLength": 20,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "RequireNumbers": True,
        "RequireSymbols": False,
        "PasswordReusePrevention": 5,
        "MaxPasswordAge": 365,
        "AllowUsersToChangePassword": False,
        "HardExpiry": True,
        "OnDelete": "delete",
    }


def test_iam03_custom_resource_waits_for_every_function_policy(defaults: Synthesized):
    password = defaults.password
    assert sorted(_custom(defaults)["DependsOn"]) == sorted(
        logical_id(p)
        for p in (
            password.policy,
            password.logs_policy,
            password.tracing_policy,
            password.dead_letter_policy,
        )
    )


def test_iam03_inlined_source_is_the_handler_file(defaults: Synthesized):
    function = defaults.props(defaults.password.function)
    assert function["Code"] == {"ZipFile": HANDLER_FILE.read_text(encoding="utf-8")}
    assert function["Handler"] == "index.handler"
    assert not [p for p in defaults.template.get("Parameters", {}) if "Asset" in p]


def test_cmp09_function_settings(defaults: Synthesized):
    function = defaults.props(defaults.password.function)
    assert function["Runtime"] == lambda_.Runtime.PYTHON_3_14.name
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["Timeout"] == 120
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert "Environment" not in function  # nothing to encrypt
    assert function["LoggingConfig"] == {
        "LogGroup": {"Ref": logical_id(defaults.password.log_group)}
    }
    assert function["Role"] == {"Fn::GetAtt": [logical_id(defaults.password.role), "Arn"]}


def test_log03_log_group_is_cmk_encrypted_with_retention_and_retained(
    defaults: Synthesized, variants: Synthesized
):
    group = defaults.resource(defaults.password.log_group)
    key_id = next(iter(defaults.of_type("AWS::KMS::Key")))
    assert group["Properties"] == {
        "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "RetentionInDays": 365,
    }
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    relaxed = variants.props(variants.password.log_group)
    assert relaxed == {"KmsKeyId": IMPORTED_KEY_ARN, "RetentionInDays": 90}


def test_log03_key_lets_cloudwatch_logs_use_it_for_this_accounts_log_groups(
    defaults: Synthesized,
):
    (key,) = defaults.of_type("AWS::KMS::Key").values()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid", "").startswith("CloudWatchLogsPasswordPolicy")
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
        "/Variants/PasswordPolicy", Match.string_like_regexp("encryption_key is imported")
    )


def test_iam03_function_role_can_only_manage_the_password_policy(defaults: Synthesized):
    password = defaults.password
    role_id = logical_id(password.role)
    role = defaults.props(password.role)
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]
    assert not defaults.of_type("AWS::IAM::Policy"), "inline policies"
    by_policy = {
        logical: [
            (s["Sid"], s["Effect"], sorted(_as_list(s["Action"])), s["Resource"])
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        for logical, policy in defaults.of_type("AWS::IAM::ManagedPolicy").items()
        if policy["Properties"].get("Roles") == [{"Ref": role_id}]
    }
    assert by_policy == {
        logical_id(password.policy): [
            (
                "ManageAccountPasswordPolicy",
                "Allow",
                [
                    "iam:DeleteAccountPasswordPolicy",
                    "iam:GetAccountPasswordPolicy",
                    "iam:UpdateAccountPasswordPolicy",
                ],
                "*",
            )
        ],
        logical_id(password.logs_policy): [
            (
                "WriteOwnLogGroup",
                "Allow",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                {"Fn::GetAtt": [logical_id(password.log_group), "Arn"]},
            )
        ],
        logical_id(password.tracing_policy): [
            (
                "SendTraceSegments",
                "Allow",
                ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                "*",
            )
        ],
        logical_id(password.dead_letter_policy): [
            (
                "SendToOwnDeadLetterQueue",
                "Allow",
                ["sqs:SendMessage"],
                {"Fn::GetAtt": [logical_id(password.dead_letter_queue), "Arn"]},
            ),
            (
                "EncryptForOwnDeadLetterQueue",
                "Allow",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                {"Fn::GetAtt": [next(iter(defaults.of_type("AWS::KMS::Key"))), "Arn"]},
            ),
        ],
    }


# ---- IAM-04 Config rules -----------------------------------------------------------------------
def _rules(built: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        rule["Properties"]["Source"]["SourceIdentifier"]: rule
        for rule in built.of_type("AWS::Config::ConfigRule").values()
    }


def test_iam04_rules_for_key_rotation_and_mfa(defaults: Synthesized):
    rules = _rules(defaults)
    assert sorted(rules) == [
        "ACCESS_KEYS_ROTATED",
        "IAM_USER_MFA_ENABLED",
        "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
        "ROOT_ACCOUNT_MFA_ENABLED",
    ]
    for rule in rules.values():
        assert rule["Properties"]["Source"]["Owner"] == "AWS"
        assert rule["Properties"]["MaximumExecutionFrequency"] == "TwentyFour_Hours"
        assert "ConfigRuleName" not in rule["Properties"]
        assert "DependsOn" not in rule
    assert rules["ACCESS_KEYS_ROTATED"]["Properties"]["InputParameters"] == {"maxAccessKeyAge": 90}
    assert len(defaults.guards.rules) == 4


def test_iam04_arguments_and_recorder_dependency(variants: Synthesized):
    rules = _rules(variants)
    assert rules["ACCESS_KEYS_ROTATED"]["Properties"]["InputParameters"] == {"maxAccessKeyAge": 45}
    (recorder_id,) = variants.of_type("AWS::Config::ConfigurationRecorder")
    for rule in rules.values():
        assert rule["DependsOn"] == [recorder_id]
        assert rule["Properties"]["MaximumExecutionFrequency"] == "Twelve_Hours"


# ---- public API --------------------------------------------------------------------------------
def test_children_are_typed_public_attributes(defaults: Synthesized):
    mfa, password, guards = defaults.mfa, defaults.password, defaults.guards
    assert isinstance(mfa.policy, iam.ManagedPolicy) and mfa.policy.node.id == "Resource"
    assert isinstance(mfa.group, iam.Group)
    assert isinstance(password.resource, cdk.CustomResource)
    assert password.resource.node.id == "Resource"
    assert isinstance(password.function, lambda_.Function)
    assert isinstance(password.log_group, logs.LogGroup)
    assert isinstance(password.role, iam.Role)
    for policy in (password.policy, password.logs_policy, password.tracing_policy):
        assert isinstance(policy, iam.ManagedPolicy)
    assert password.on_delete == "restore"
    assert all(isinstance(rule, config.ManagedRule) for rule in guards.rules)
    assert guards.rules == [
        guards.access_keys_rotated,
        guards.iam_user_mfa_enabled,
        guards.console_mfa_enabled,
        guards.root_account_mfa_enabled,
    ]


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"minimum_length": 8}, r"minimum_length=8 is invalid; use a value between 14 and 128"),
        ({"minimum_length": 129}, r"minimum_length=129 is invalid"),
        ({"minimum_length": 14.5}, r"minimum_length=14.5 is invalid; pass a whole number"),
        ({"reuse_prevention": 0}, r"reuse_prevention=0 is invalid; use a value between 1 and 24"),
        ({"reuse_prevention": 25}, r"reuse_prevention=25 is invalid"),
        ({"max_age_days": 2000}, r"max_age_days=2000 is invalid; use a value between 1 and 1095"),
        ({"max_age_days": 0}, r"max_age_days=0 is invalid"),
        (
            {"require_symbols": False},
            r"require_symbols=False is invalid; IAM-03 requires every character class; to relax "
            r"the policy pass allow_weaker_policy_reason=",
        ),
        (
            {"reuse_prevention": 12},
            r"reuse_prevention=12 is invalid; IAM-03 requires the last 24 passwords blocked; to "
            r"relax the policy pass allow_weaker_policy_reason=",
        ),
        (
            {"max_age_days": 180},
            r"max_age_days=180 is invalid; IAM-03 requires expiry within 90 days; to relax",
        ),
        (
            {"require_uppercase": False, "allow_weaker_policy_reason": "legacy"},
            r"require_uppercase=False is invalid; IAM-03 requires every character class",
        ),
        (
            {"allow_weaker_policy_reason": WEAKER_REASON},
            r"allow_weaker_policy_reason=.* is invalid; the policy meets IAM-03, so there is "
            r"nothing to allow",
        ),
        ({"hard_expiry": "false"}, r"hard_expiry='false' is invalid; pass True or False"),
        ({"on_delete": "keep"}, r"on_delete='keep' is invalid; use one of \['restore', 'delete'\]"),
        (
            {"log_retention": logs.RetentionDays.INFINITE},
            r"log_retention=.* is invalid; LOG-03 needs an explicit retention",
        ),
        ({"encryption_key": None}, r"encryption_key=None is invalid; pass the kms.IKey"),
    ],
)
def test_password_policy_bad_input_raises_before_anything_is_created(
    overrides: dict[str, Any], message: str
):
    stack = new_stack(_fast_app())
    key = kms.Key.from_key_arn(stack, "Key", IMPORTED_KEY_ARN)
    with pytest.raises(ValueError, match=rf"^PasswordPolicy: {message}"):
        PasswordPolicy(stack, "PasswordPolicy", **{"encryption_key": key, **overrides})
    assert stack.node.try_find_child("PasswordPolicy") is None


@pytest.mark.parametrize(
    ("construct", "overrides", "message"),
    [
        (MfaEnforcement, {"group_name": "no spaces"}, r"^MfaEnforcement: group_name='no spaces'"),
        (MfaEnforcement, {"group_name": "x" * 129}, r"^MfaEnforcement: group_name='x+' is inv"),
        (
            AccessKeyGuards,
            {"max_access_key_age_days": 180},
            r"^AccessKeyGuards: max_access_key_age_days=180 is invalid; use a value between 1",
        ),
        (AccessKeyGuards, {"max_access_key_age_days": 0}, r"max_access_key_age_days=0 is inv"),
        (AccessKeyGuards, {"depends_on": "recorder"}, r"depends_on='recorder' is invalid"),
        (
            AccessKeyGuards,
            {"evaluation_frequency": "TwentyFour_Hours"},
            r"evaluation_frequency='TwentyFour_Hours' is invalid",
        ),
    ],
)
def test_guards_bad_input(construct: type, overrides: dict[str, Any], message: str):
    stack = new_stack(_fast_app())
    with pytest.raises(ValueError, match=message):
        construct(stack, "Guard", **overrides)
    assert stack.node.try_find_child("Guard") is None


# ---- gates -------------------------------------------------------------------------------------
def test_nag_clean():
    def build(stack: cdk.Stack) -> None:
        build_defaults(stack)
        app = stack.node.root
        assert isinstance(app, cdk.App)
        variants = new_stack(app, "Variants")
        # An imported key is reported as a warning on purpose (tested above); own one here.
        build_variants(variants, kms.Key(variants, "LogsKey", enable_key_rotation=True))

    assert nag_findings(build) == []


@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_cfn_lint_clean(stacks: dict[str, Synthesized], variant: str):
    matches = lint(json.dumps(stacks[variant].template), regions=["us-east-1"])
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
