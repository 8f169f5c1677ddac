"""Static resolution of intrinsic functions: decide what can be decided, say why not otherwise."""

from __future__ import annotations

import base64

import pytest

from controls.resolve import NO_VALUE, Opaque, Resolver, ResourceRef, Unknown, same_text
from tests.controls.helpers import yaml_doc

TEMPLATE = yaml_doc("""
Parameters:
  Env: {Type: String, Default: prod, AllowedValues: [dev, prod]}
  Suffix: {Type: String}
  Cidr: {Type: String, Default: 10.1.0.0/16}
  Zones: {Type: CommaDelimitedList, Default: "a, b"}
  Ami: {Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", Default: /aws/service/ami}
  Count: {Type: Number, Default: 3}
Mappings:
  Sizes: {prod: {Instance: m5.large}, dev: {Instance: t3.micro}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  HasSuffix: !Not [!Equals [!Ref Suffix, ""]]
  ProdOrSuffix: !Or [!Condition IsProd, !Condition HasSuffix]
  DevAndSuffix: !And [!Condition IsDev, !Condition HasSuffix]
  ProdAndSuffix: !And [!Condition IsProd, !Condition HasSuffix]
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: !Ref Cidr}}
  Bucket: {Type: AWS::S3::Bucket, Condition: IsDev}
""")


@pytest.fixture
def resolver() -> Resolver:
    return Resolver(TEMPLATE)


def test_refs_to_parameters_resources_and_pseudo_parameters(resolver: Resolver):
    assert resolver.resolve({"Ref": "Env"}) == "prod"
    assert resolver.resolve({"Ref": "Zones"}) == ["a", "b"]
    assert resolver.resolve({"Ref": "Count"}) == 3
    assert resolver.resolve({"Ref": "Vpc"}) == ResourceRef("Vpc")
    no_default = resolver.resolve({"Ref": "Suffix"})
    assert isinstance(no_default, Unknown) and "has no default" in no_default.reason
    ssm = resolver.resolve({"Ref": "Ami"})
    assert isinstance(ssm, Unknown) and "/aws/service/ami at deploy time" in ssm.reason
    region = resolver.resolve({"Ref": "AWS::Region"})
    assert isinstance(region, Unknown) and "AWS::Region" in region.reason
    assert not region  # an Unknown is never truthy


def test_no_value_removes_properties_and_list_items(resolver: Resolver):
    value = {"A": {"Ref": "AWS::NoValue"}, "B": [1, {"Ref": "AWS::NoValue"}, 2]}
    assert resolver.resolve(value) == {"B": [1, 2]}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_conditions_from_defaults(resolver: Resolver):
    assert resolver.condition("IsProd") is True
    assert resolver.condition("IsDev") is False
    assert resolver.condition("ProdOrSuffix") is True  # Or decided by a known True
    assert resolver.condition("DevAndSuffix") is False  # And decided by a known False
    undecided = resolver.condition("ProdAndSuffix")
    assert isinstance(undecided, Unknown) and "Suffix has no default" in undecided.reason
    assert resolver.resource_enabled("Bucket") is False
    assert isinstance(resolver.condition("Missing"), Unknown)


def test_condition_overrides(resolver: Resolver):
    as_dev = resolver.with_conditions({"IsProd": False})
    assert as_dev.condition("IsDev") is True
    assert as_dev.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "small"
    assert resolver.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "big"
    assert isinstance(resolver.resolve({"Fn::If": ["HasSuffix", 1, 2]}), Unknown)


def test_sub_join_select_split_find_in_map(resolver: Resolver):
    assert resolver.resolve({"Fn::Sub": "app-${Env}-${!Literal}"}) == "app-prod-${Literal}"
    assert resolver.resolve({"Fn::Sub": ["${A}-${Env}", {"A": {"Ref": "Count"}}]}) == "3-prod"
    assert isinstance(resolver.resolve({"Fn::Sub": "${AWS::StackName}-x"}), Unknown)
    assert isinstance(resolver.resolve({"Fn::Sub": "${Vpc.CidrBlock}"}), str)  # VPC CIDR is known
    assert isinstance(resolver.resolve({"Fn::Sub": "${Bucket.Arn}"}), Unknown)
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 1]]}) == "a-prod-1"
    assert isinstance(resolver.resolve({"Fn::Join": ["", ["arn:", {"Ref": "Vpc"}]]}), Unknown)
    assert resolver.resolve({"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    getazs = resolver.resolve({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
    assert isinstance(getazs, Unknown) and "Fn::GetAZs" in getazs.reason
    size = {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Instance"]}
    assert resolver.resolve(size) == "m5.large"
    region = resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "Instance"]})
    assert isinstance(region, Unknown)


def test_cidr_base64_getatt_import(resolver: Resolver):
    cidrs = resolver.resolve({"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 3, 8]})
    assert cidrs == ["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"]
    assert base64.b64decode(resolver.resolve({"Fn::Base64": {"Ref": "Env"}})) == b"prod"
    assert resolver.resolve({"Fn::GetAtt": ["Bucket", "Arn"]}) == ResourceRef("Bucket", "Arn")
    assert resolver.resolve({"Fn::GetAtt": "Bucket.Arn"}) == ResourceRef("Bucket", "Arn")
    assert isinstance(resolver.resolve({"Fn::ImportValue": "x"}), Unknown)
    assert isinstance(resolver.resolve({"Fn::ToJsonString": {}}), Unknown)
    assert isinstance(resolver.resolve({"Fn::Select": ["x", [1]]}), Unknown)


def test_text_keeps_known_parts_and_marks_runtime_values(resolver: Resolver):
    password = {
        "Fn::Join": [
            "",
            ["{{resolve:secretsmanager:", {"Ref": "Vpc"}, ":SecretString:password::}}"],
        ]
    }
    assert resolver.text(password) == "{{resolve:secretsmanager:${Vpc}:SecretString:password::}}"
    assert resolver.text({"Fn::Sub": "${AWS::StackName}-${Env}"}) == "${AWS::StackName}-prod"
    assert resolver.text({"Fn::If": ["HasSuffix", "a", "b"]}) == "${If:HasSuffix}"
    assert resolver.text({"Fn::Base64": {"Fn::Sub": "echo ${Env}"}}) == "echo prod"


def test_get_walks_through_intrinsics(resolver: Resolver):
    props = {"Options": {"Fn::If": ["IsProd", {"Tokens": "required"}, {"Tokens": "optional"}]}}
    assert resolver.get(props, "Options", "Tokens") == "required"
    assert resolver.get(props, "Missing", "Tokens") is None
    unknown = resolver.get({"Options": {"Fn::If": ["HasSuffix", {}, {}]}}, "Options", "Tokens")
    assert isinstance(unknown, Unknown)


def test_references_and_parameters_used(resolver: Resolver):
    value = {"Fn::Sub": ["${Vpc}-${Env}-${X}", {"X": {"Fn::GetAtt": ["Bucket", "Arn"]}}]}
    assert resolver.references(value) == {"Vpc", "Bucket"}
    assert resolver.parameters_used(value) == {"Env"}
    assert resolver.target({"Fn::If": ["IsProd", {"Ref": "Vpc"}, {"Ref": "Bucket"}]}) == "Vpc"


STACK_PART = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}


def test_concatenation_flattens_joins_and_subs(resolver: Resolver):
    nested = {"Fn::Join": ["", ["/logs/", {"Fn::Join": ["-", ["app", STACK_PART]]}, "/error"]]}
    flat = {"Fn::Join": ["", ["/logs/app-", STACK_PART, "/error"]]}
    sub = {"Fn::Sub": ["/logs/${Name}/error", {"Name": {"Fn::Join": ["-", ["app", STACK_PART]]}}]}
    expected = ("/logs/app-", Opaque.of(STACK_PART), "/error")
    for value in (nested, flat, sub):
        assert resolver.concatenation(value) == expected
    # known values are folded into the literal text; Sub names become Ref/GetAtt parts
    assert resolver.concatenation({"Fn::Sub": "${Env}/${Vpc.CidrBlock}/${Suffix}/${!x}"}) == (
        "prod/10.1.0.0/16/",
        Opaque.of({"Ref": "Suffix"}),
        "/${x}",
    )
    assert resolver.concatenation({"Fn::Sub": "${Bucket.Arn}"}) == (
        Opaque.of({"Fn::GetAtt": ["Bucket", "Arn"]}),
    )
    assert Opaque.of({"Fn::GetAtt": "Bucket.Arn"}) == Opaque.of({"Fn::GetAtt": ["Bucket", "Arn"]})
    assert resolver.concatenation({"Fn::If": ["IsProd", "a", STACK_PART]}) == ("a",)
    assert resolver.concatenation(None) == ()


def test_same_text_decides_only_what_the_parts_decide():
    part, other = Opaque.of(STACK_PART), Opaque.of({"Ref": "AWS::StackName"})
    assert same_text(("a/", part, "/b"), ("a/", part, "/b")) is True
    assert same_text(("a/b",), ("a/b",)) is True
    assert same_text(("a/b",), ("a/c",)) is False
    assert same_text(("a/", part, "/b"), ("x/", part, "/b")) is False  # prefixes differ
    assert same_text(("a/", part, "/b"), ("a/", part, "/c")) is False  # suffixes differ
    assert same_text(("a/", part, "/b"), ("a/", other, "/b")) is None
    assert same_text(("a/", part, "/b"), ("a/xyz/b",)) is None
    assert same_text(("a/", part), ("a/", part, "/b")) is None
