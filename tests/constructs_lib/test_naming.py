"""NamingConvention: GOV-02 names through Name tags, tokens allowed, bad names refused."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from constructs_lib.naming import NamingConvention
from tests.support import new_stack


def test_literal_names_render_as_plain_strings() -> None:
    convention = NamingConvention("corp-{resource_type}-{application}", {"application": "app"})
    assert convention.name(resource_type="vpc") == "corp-vpc-app"


def test_webapp_component_convention() -> None:
    assert NamingConvention("webapp-{component}").name(component="alb") == "webapp-alb"


def test_token_values_become_a_join_and_land_on_the_name_tag() -> None:
    stack = new_stack()
    application = cdk.CfnParameter(stack, "ApplicationName", default="enterpriseapp")
    convention = NamingConvention(
        "corp-{resource_type}-{application}", {"application": application.value_as_string}
    )
    topic = sns.Topic(stack, "Topic")
    convention.tag(topic, resource_type="sns")
    tags = Template.from_stack(stack).to_json()["Resources"]
    [props] = [r["Properties"] for r in tags.values() if r["Type"] == "AWS::SNS::Topic"]
    assert {
        "Key": "Name",
        "Value": {"Fn::Join": ["", ["corp-sns-", {"Ref": "ApplicationName"}]]},
    } in props["Tags"]


def test_name_tag_wins_over_cdk_default_names() -> None:
    stack = new_stack()
    from aws_cdk import aws_ec2 as ec2

    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    NamingConvention("webapp-{component}").tag(vpc, component="vpc")
    [props] = [
        r["Properties"]
        for r in Template.from_stack(stack).to_json()["Resources"].values()
        if r["Type"] == "AWS::EC2::VPC"
    ]
    assert {"Key": "Name", "Value": "webapp-vpc"} in props["Tags"]


@pytest.mark.parametrize(
    ("template", "fixed", "values", "message"),
    [
        ("no-placeholders", {}, {}, r"template='no-placeholders'.*placeholder"),
        ("corp-{a}", {"b": "x"}, {}, r"fixed=\['b'\].*placeholders"),
        ("corp-{a}-{b}", {}, {"a": "x"}, r"also pass \['b'\]"),
        ("corp-{a}", {}, {"a": "x", "c": "y"}, r"values=\['c'\]"),
        ("corp-{a}", {}, {"a": "Upper_Case"}, r"a='Upper_Case'.*lower-case"),
        ("corp-{a}", {}, {"a": "double--hyphen"}, r"single hyphens"),
    ],
)
def test_bad_conventions_and_values_are_refused(template, fixed, values, message) -> None:
    with pytest.raises(ValueError, match=message):
        NamingConvention(template, fixed).name(**values)
