"""AppParameters (DB-11): hierarchical Parameter Store settings, no secrets, path-scoped reads.

One stack is synthesized once for the module: a literal-environment component (String and
StringList settings, a read grant to a role and to an immutable role reference) and a component
whose environment is a deploy-time parameter; plus one gated synth for cdk-nag.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.app_config import (
    SECRET_KEY,
    SEGMENT_PATTERN,
    AppParameters,
    AppSetting,
    looks_like_secret,
)
from controls import CATALOGUE, Status, evaluate
from controls import Template as AuditTemplate
from controls.checks.database import SECRET_NAME
from tests.support import cdk_json_context, nag_findings, new_stack

IMPORTED_ROLE = "arn:aws:iam::111122223333:role/payflow-reader"


@dataclass
class Built:
    template: dict[str, Any]
    api: AppParameters
    hooks: AppParameters
    role: iam.Role
    imported_role: iam.IRole
    policies: dict[str, iam.ManagedPolicy]

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.template["Resources"][logical_id(construct)]["Properties"])

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}


def build(stack: cdk.Stack) -> tuple[AppParameters, AppParameters, iam.Role, iam.IRole, dict]:
    environment = cdk.CfnParameter(
        stack, "Environment", allowed_pattern=SEGMENT_PATTERN, default="prod"
    )
    api = AppParameters(
        stack,
        "ApiConfig",
        application="payflow",
        environment="prod",
        component="api",
        settings={
            "timeout-ms": AppSetting(
                value="3000",
                description="Upstream timeout in milliseconds",
                allowed_pattern=r"^\d+$",
            ),
            "allowed-origins": AppSetting(
                value=["https://pay.example.com", "https://admin.example.com"],
                description="Origins allowed by CORS",
            ),
        },
    )
    hooks = AppParameters(
        stack,
        "HooksConfig",
        application="payflow",
        environment=environment.value_as_string,
        component="webhooks",
        settings={"retry-limit": AppSetting(value="5", description="Delivery attempts")},
    )
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    imported = iam.Role.from_role_arn(stack, "Imported", IMPORTED_ROLE, mutable=False)
    policies = {
        "api-role": api.grant_read(role),
        "api-role-again": api.grant_read(role),
        "api-imported": api.grant_read(imported),
        "hooks-role": hooks.grant_read(role),
    }
    return api, hooks, role, imported, policies


@pytest.fixture(scope="module")
def built() -> Built:
    app = cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )
    stack = new_stack(app)
    constructs = build(stack)
    return Built(dict(Template.from_stack(stack).to_json()), *constructs)


def _arn(tail: Any) -> dict[str, Any]:
    """The ARN ``format_arn`` renders: a literal tail is merged into the last string."""
    parts = [f":parameter/{tail}"] if isinstance(tail, str) else [":parameter/", tail]
    return {"Fn::Join": ["", ["arn:aws:ssm:us-east-1:", {"Ref": "AWS::AccountId"}, *parts]]}


# ---- DB-11: names, types, tier ----------------------------------------------------------------
def test_db11_string_setting_is_a_hierarchical_standard_parameter(built: Built):
    props = built.props(built.api.parameters["timeout-ms"])
    assert props == {
        "Name": "/payflow/prod/api/timeout-ms",
        "Type": "String",
        "Value": "3000",
        "Description": "Upstream timeout in milliseconds",
        "AllowedPattern": r"^\d+$",
        "Tier": "Standard",
        "DataType": "text",
    }


def test_db11_sequence_becomes_a_string_list(built: Built):
    props = built.props(built.api.parameters["allowed-origins"])
    assert props["Name"] == "/payflow/prod/api/allowed-origins"
    assert props["Type"] == "StringList"
    assert props["Value"] == "https://pay.example.com,https://admin.example.com"
    assert props["Tier"] == "Standard"
    assert props["Description"] == "Origins allowed by CORS"


def test_only_plain_parameters_are_created(built: Built):
    parameters = built.of_type("AWS::SSM::Parameter")
    assert len(parameters) == 3
    assert {p["Properties"]["Type"] for p in parameters.values()} == {"String", "StringList"}
    assert set(built.api.parameters) == {"timeout-ms", "allowed-origins"}
    assert built.api.parameters["timeout-ms"].node.id == "timeout-ms"


def test_path_prefix_and_names(built: Built):
    assert built.api.path_prefix == "/payflow/prod/api"
    assert built.api.parameter_name("timeout-ms") == "/payflow/prod/api/timeout-ms"


def test_environment_may_be_a_deploy_time_parameter(built: Built):
    props = built.props(built.hooks.parameters["retry-limit"])
    assert props["Name"] == {
        "Fn::Join": ["/", ["/payflow", {"Ref": "Environment"}, "webhooks/retry-limit"]]
    }
    assert built.template["Parameters"]["Environment"]["AllowedPattern"] == SEGMENT_PATTERN


# ---- grant_read -------------------------------------------------------------------------------
def _statements(built: Built, policy: iam.ManagedPolicy) -> dict[str, dict[str, Any]]:
    document = built.props(policy)["PolicyDocument"]
    return {s["Sid"]: s for s in document["Statement"]}


def test_grant_read_is_scoped_to_the_component_path(built: Built):
    policy = built.policies["api-role"]
    statements = _statements(built, policy)
    assert statements == {
        "ReadSettingsByPath": {
            "Sid": "ReadSettingsByPath",
            "Effect": "Allow",
            "Action": "ssm:GetParametersByPath",
            "Resource": _arn("payflow/prod/api"),
        },
        "ReadSettingsByName": {
            "Sid": "ReadSettingsByName",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": _arn("payflow/prod/api/*"),
        },
    }
    assert built.props(policy)["Roles"] == [{"Ref": logical_id(built.role)}]
    assert "kms:" not in json.dumps(statements)


def test_grant_read_is_a_managed_policy_and_idempotent(built: Built):
    assert built.policies["api-role"] is built.policies["api-role-again"]
    assert built.of_type("AWS::IAM::Policy") == {}
    assert len(built.of_type("AWS::IAM::ManagedPolicy")) == 3


def test_grant_read_to_an_immutable_role_reference(built: Built):
    props = built.props(built.policies["api-imported"])
    assert props["Roles"] == ["payflow-reader"]


def test_grant_read_with_a_token_environment(built: Built):
    statements = _statements(built, built.policies["hooks-role"])
    by_path = statements["ReadSettingsByPath"]["Resource"]
    assert by_path == _arn({"Fn::Join": ["/", ["payflow", {"Ref": "Environment"}, "webhooks"]]})
    by_name = statements["ReadSettingsByName"]["Resource"]
    assert by_name == _arn({"Fn::Join": ["/", ["payflow", {"Ref": "Environment"}, "webhooks/*"]]})


def test_grant_read_refuses_a_principal_that_is_not_a_role():
    stack = new_stack()
    config = AppParameters(
        stack,
        "Config",
        application="payflow",
        environment="dev",
        component="api",
        settings={"timeout-ms": AppSetting(value="1", description="timeout")},
    )
    with pytest.raises(ValueError, match=r"AppParameters: grantee=.* pass an iam.IRole"):
        config.grant_read(iam.AccountRootPrincipal())


# ---- secrets are refused ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "xoxb-123456789012-abcdefghijkl",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
        "postgres://admin:hunter2@db.example.com:5432/pay",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ],
)
def test_values_that_look_like_secrets_are_recognised(value: str):
    assert looks_like_secret(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        "3000",
        "https://pay.example.com/api/v1",
        "arn:aws:secretsmanager:us-east-2:111122223333:secret:payflow/db-AbCdEf",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "123e4567-e89b-12d3-a456-426614174000",
        "payflow-prod-webhook-dead-letter-queue-name",
        "t3.medium,t3.large,m5.large",
    ],
)
def test_ordinary_configuration_is_not_taken_for_a_secret(value: str):
    assert looks_like_secret(value) is None


@pytest.mark.parametrize(
    "key",
    ["db-password", "pwd", "api-key", "apikey", "auth-token", "client-secret", "private-key"],
)
def test_secret_key_covers_what_the_db11_check_flags(key: str):
    assert SECRET_NAME.search(key)
    assert SECRET_KEY.search(key)


# ---- bad input --------------------------------------------------------------------------------
GOOD: dict[str, Any] = {
    "application": "payflow",
    "environment": "prod",
    "component": "api",
    "settings": {"timeout-ms": AppSetting(value="3000", description="timeout in ms")},
}
BAD = [
    ({"application": "PayFlow"}, r"AppParameters: application='PayFlow' is invalid; use 1-64"),
    ({"application": "aws-pay"}, r"application='aws-pay' is invalid; Parameter Store reserves"),
    ({"application": "ssmconfig"}, r"application='ssmconfig' is invalid; Parameter Store"),
    ({"environment": "prod/eu"}, r"environment='prod/eu' is invalid; use 1-64 lower-case"),
    ({"environment": ""}, r"environment='' is invalid"),
    ({"component": "-api"}, r"component='-api' is invalid"),
    ({"component": "a" * 65}, r"component='a{65}' is invalid"),
    ({"settings": {}}, r"settings=\{\} is invalid; pass at least one"),
    ({"settings": ["timeout-ms"]}, r"settings=\['timeout-ms'\] is invalid; pass at least one"),
    (
        {"settings": {"Timeout": AppSetting(value="1", description="d")}},
        r"settings key='Timeout' is invalid; use 1-64",
    ),
    (
        {"settings": {"db-password": AppSetting(value="x", description="d")}},
        r"settings key='db-password' is invalid; secrets go to Secrets Manager",
    ),
    (
        {"settings": {"stripe-api-key": AppSetting(value="x", description="d")}},
        r"settings key='stripe-api-key' is invalid; secrets go to Secrets Manager",
    ),
    (
        {"settings": {"webhook-token": AppSetting(value="x", description="d")}},
        r"settings key='webhook-token' is invalid; secrets go to Secrets Manager",
    ),
    (
        {"settings": {"signing": AppSetting(value="AKIAIOSFODNN7EXAMPLE", description="d")}},
        r"settings\['signing'\].value='AKIAIO...' is invalid; the value looks like an AWS access "
        r"key ID; secrets go to Secrets Manager",
    ),
    (
        {
            "settings": {
                "hosts": AppSetting(value=["a", "sk_live_4eC39HqLyjWDarjtT1"], description="d")
            }
        },
        r"settings\['hosts'\].value='sk_liv...' is invalid; the value looks like a vendor API key",
    ),
    ({"settings": {"timeout-ms": "3000"}}, r"settings\['timeout-ms'\]='3000' is invalid; pass App"),
    (
        {"settings": {"timeout-ms": AppSetting(value=3000, description="d")}},  # type: ignore[arg-type]
        r"settings\['timeout-ms'\].value=3000 is invalid; pass a string \(String\)",
    ),
    (
        {"settings": {"hosts": AppSetting(value=[], description="d")}},
        r"settings\['hosts'\].value=\[\] is invalid; pass a string",
    ),
    (
        {"settings": {"hosts": AppSetting(value=["a,b"], description="d")}},
        r"settings\['hosts'\].value='a,b' is invalid; StringList items must not contain commas",
    ),
    (
        {"settings": {"name": AppSetting(value=" ", description="d")}},
        r"settings\['name'\].value=' ' is invalid; pass a non-empty value",
    ),
    (
        {"settings": {"blob": AppSetting(value="x" * 4097, description="d")}},
        r"settings\['blob'\].value='x{20}...' is invalid; standard-tier parameters hold at most",
    ),
    (
        {"settings": {"name": AppSetting(value="x", description=" ")}},
        r"settings\['name'\].description=' ' is invalid; say what the setting controls",
    ),
    (
        {"settings": {"name": AppSetting(value="x", description="d" * 1025)}},
        r"settings\['name'\].description='d{40}...' is invalid; use at most 1024",
    ),
    (
        {"settings": {"n": AppSetting(value="x", description="d", allowed_pattern="(")}},
        r"settings\['n'\].allowed_pattern='\(' is invalid; pass a valid regular expression",
    ),
    (
        {"settings": {"n": AppSetting(value="abc", description="d", allowed_pattern=r"^\d+$")}},
        r"settings\['n'\].value='abc' is invalid; the value does not match allowed_pattern",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_input_is_rejected_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        AppParameters(stack, "Config", **{**GOOD, **overrides})
    assert stack.node.try_find_child("Config") is None


# ---- gates ------------------------------------------------------------------------------------
def test_db11_audit_passes(built: Built):
    report = evaluate(AuditTemplate(built.template), controls=[CATALOGUE["DB-11"]])
    (result,) = report.results
    assert result.status is Status.PASS, result.outcome.items


def test_nag_clean():
    assert nag_findings(lambda stack: build(stack)) == []


def test_cfn_lint_clean(built: Built):
    matches = lint(
        json.dumps(built.template), config=ManualArgs(regions=["us-east-1", "us-east-2"])
    )
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
