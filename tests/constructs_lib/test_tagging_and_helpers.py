"""Standard tags (GOV-01) and the shared validation and acknowledgment helpers."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from constructs import Construct

from constructs_lib.acknowledgments import MIN_REASON_LENGTH, acknowledge, check_reason, logical_id
from constructs_lib.encryption import EncryptionKey
from constructs_lib.storage import SecureBucket
from constructs_lib.tagging import StandardTags, apply_standard_tags
from constructs_lib.validation import (
    invalid,
    require_choice,
    require_cidr,
    require_non_empty,
    require_range,
)
from tests.support import cdk_json_context, new_stack

TAGS = StandardTags(
    environment="prod",
    project="hardened-stacks",
    owner="platform-team@example.com",
    cost_center="CC-1234",
    extra={"Compliance": "PCI-DSS"},
)
GOOD_REASON = "The service requires this wildcard; it is scoped to one prefix of one bucket."


def _fast_app() -> cdk.App:
    """The project's cdk.json context without the built-in CloudFormation validation."""
    return cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


@dataclass(frozen=True)
class Built:
    resources: dict[str, Any]
    ids: dict[str, str]

    def tags(self, name: str) -> dict[str, Any]:
        tags = self.resources[self.ids[name]]["Properties"]["Tags"]
        return {tag["Key"]: tag["Value"] for tag in tags}


@pytest.fixture(scope="module")
def built() -> Built:
    stack = new_stack(_fast_app())
    key = EncryptionKey(stack, "Key", alias="tags", description="Tagged key", services=["s3"])
    bucket = SecureBucket(
        stack,
        "Bucket",
        encryption_key=key.key,
        access_log_destination=True,
    )
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    apply_standard_tags(stack, TAGS)

    resources = Template.from_stack(stack).to_json()["Resources"]
    return Built(
        resources=resources,
        ids={
            "key": logical_id(key.key),
            "bucket": logical_id(bucket.bucket),
            "role": logical_id(role),
        },
    )


# ---- GOV-01 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["key", "bucket", "role"])
def test_standard_tags_reach_resources(built: Built, name: str) -> None:
    assert built.tags(name) == {
        "Environment": "prod",
        "Project": "hardened-stacks",
        "Owner": "platform-team@example.com",
        "CostCenter": "CC-1234",
        "ManagedBy": "CloudFormation",
        "Compliance": "PCI-DSS",
    }


def test_tag_values_may_be_deploy_time_parameters() -> None:
    stack = new_stack(_fast_app())
    owner = cdk.CfnParameter(stack, "Owner", default="platform")
    key = EncryptionKey(stack, "Key", alias="later", description="Key tagged at deploy time")
    apply_standard_tags(
        stack,
        StandardTags(
            environment="dev",
            project="hardened-stacks",
            owner=owner.value_as_string,
            cost_center="CC-1",
        ),
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    tags = Built(resources=resources, ids={"key": logical_id(key.key)}).tags("key")
    assert tags["Owner"] == {"Ref": "Owner"}
    assert tags["Environment"] == "dev"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"environment": "prod<script>"}, r"StandardTags: Environment='prod<script>' is invalid"),
        ({"owner": ""}, r"StandardTags: Owner='' is invalid; use 1-256"),
        ({"cost_center": "x" * 257}, r"StandardTags: CostCenter='x{257}' is invalid"),
        ({"extra": {"aws:createdBy": "me"}}, r"StandardTags: key='aws:createdBy' is invalid"),
        ({"extra": {"AWS:Thing": "me"}}, r"StandardTags: key='AWS:Thing' is invalid"),
        ({"extra": {"K" * 129: "v"}}, r"StandardTags: key='K{129}' is invalid; use 1-128"),
        ({"extra": {"Bad{Key}": "v"}}, r"StandardTags: key='Bad\{Key\}' is invalid"),
    ],
)
def test_invalid_tags_raise(settings: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "environment": "prod",
        "project": "p",
        "owner": "o",
        "cost_center": "c",
        **settings,
    }
    tags = StandardTags(**arguments)
    with pytest.raises(ValueError, match=message):
        tags.as_dict()
    with pytest.raises(ValueError, match=message):
        apply_standard_tags(new_stack(_fast_app()), tags)


# ---- validation helpers -------------------------------------------------------------------------
def test_invalid_names_construct_argument_value_and_fix() -> None:
    error = invalid("SecureVpc", "max_azs", 1, "use 2 or more")
    assert isinstance(error, ValueError)
    assert str(error) == "SecureVpc: max_azs=1 is invalid; use 2 or more"


def test_require_range() -> None:
    require_range("C", "n", 7, 7, 30)
    require_range("C", "n", 30, 7, 30)
    require_range("C", "n", cdk.Token.as_number({"Ref": "Count"}), 7, 30)
    with pytest.raises(ValueError, match=r"^C: n=6 is invalid; use a value between 7 and 30$"):
        require_range("C", "n", 6, 7, 30)
    with pytest.raises(ValueError, match=r"^C: n=31 is invalid"):
        require_range("C", "n", 31, 7, 30)
    with pytest.raises(ValueError, match=r"^C: n=True is invalid; pass a number between 7 and 30"):
        require_range("C", "n", True, 7, 30)
    with pytest.raises(ValueError, match=r"^C: n='8' is invalid; pass a number"):
        require_range("C", "n", "8", 7, 30)  # type: ignore[arg-type]


def test_require_choice() -> None:
    require_choice("C", "engine", "mysql", ["mysql", "postgres"])
    with pytest.raises(
        ValueError, match=r"^C: engine='oracle' is invalid; use one of \['mysql', 'postgres'\]$"
    ):
        require_choice("C", "engine", "oracle", ("mysql", "postgres"))


def test_require_cidr() -> None:
    require_cidr("C", "cidr", "10.0.0.0/16")
    require_cidr("C", "cidr", "0.0.0.0/0", allow_world=True)
    require_cidr("C", "cidr", cdk.Token.as_string({"Ref": "AdminCidr"}), min_prefix=16)
    with pytest.raises(ValueError, match=r"^C: cidr='10\.0\.0\.1/16' is invalid; pass an IPv4"):
        require_cidr("C", "cidr", "10.0.0.1/16")
    with pytest.raises(ValueError, match=r"^C: cidr='not-a-cidr' is invalid; pass an IPv4"):
        require_cidr("C", "cidr", "not-a-cidr")
    with pytest.raises(ValueError, match=r"^C: cidr='0\.0\.0\.0/0' is invalid; a world-open"):
        require_cidr("C", "cidr", "0.0.0.0/0")
    with pytest.raises(
        ValueError, match=r"^C: cidr='10\.0\.0\.0/8' is invalid; use a prefix of /16"
    ):
        require_cidr("C", "cidr", "10.0.0.0/8", min_prefix=16)


def test_require_non_empty() -> None:
    require_non_empty("C", "name", "x")
    require_non_empty("C", "name", cdk.Token.as_string({"Ref": "Name"}))
    for blank in (None, "", "   "):
        with pytest.raises(ValueError, match=r"^C: name=.* is invalid; pass a non-empty value$"):
            require_non_empty("C", "name", blank)


# ---- acknowledgments ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reason", ["ok", "N/A", "False positive", "  todo  ", "x" * (MIN_REASON_LENGTH - 1)]
)
def test_vague_or_short_reasons_are_refused(reason: str) -> None:
    with pytest.raises(
        ValueError, match=r"^acknowledge: reason=.* for AwsSolutions-S1 is too vague"
    ):
        check_reason("AwsSolutions-S1", reason)


def test_a_specific_reason_for_one_finding_passes() -> None:
    check_reason("AwsSolutions-S1", "x" * MIN_REASON_LENGTH)
    check_reason("AwsSolutions-IAM5[Resource::<BucketA1B2C3D4.Arn>/AWSLogs/*]", GOOD_REASON)


@pytest.mark.parametrize(
    "finding", ["AwsSolutions-S1,AwsSolutions-S2", "AwsSolutions-S1 AwsSolutions-S2"]
)
def test_one_acknowledgment_names_one_finding(finding: str) -> None:
    with pytest.raises(ValueError, match=r"names more than one finding"):
        check_reason(finding, GOOD_REASON)
    with pytest.raises(ValueError, match=r"names more than one finding"):
        acknowledge(new_stack(_fast_app()), finding, GOOD_REASON)


def test_acknowledge_refuses_a_vague_reason() -> None:
    with pytest.raises(ValueError, match=r"too vague"):
        acknowledge(new_stack(_fast_app()), "AwsSolutions-S1", "fine")


def test_logical_id_of_l2_l1_and_template_agree(built: Built) -> None:
    assert set(built.ids.values()) <= set(built.resources)
    stack = new_stack(_fast_app())
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cfn_role = role.node.default_child
    assert isinstance(cfn_role, cdk.CfnElement)
    assert logical_id(role) == logical_id(cfn_role)
    assert logical_id(role).startswith("Role")


def test_logical_id_without_a_resource_raises() -> None:
    stack = new_stack(_fast_app())
    with pytest.raises(ValueError, match=r"logical_id: TestStack/Empty has no CloudFormation"):
        logical_id(Construct(stack, "Empty"))
