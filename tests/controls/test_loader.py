"""Template loading: JSON, YAML short tags, Markdown fences, errors with positions."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from controls import TemplateError, load_template, parse_template
from tests.controls.helpers import shared_path

SHORT_TAGS = """\
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Env: {Type: String, Default: prod}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsBoth: !And [!Condition IsProd, !Not [!Equals [!Ref Env, dev]]]
  IsEither: !Or [!Condition IsProd, !Equals [a, b]]
Mappings:
  M: {us-east-1: {Value: x}}
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
      Tags:
        - {Key: A, Value: !Sub "${AWS::StackName}-vpc"}
        - {Key: B, Value: !Join ["-", [a, !Select [0, !GetAZs ""]]]}
        - {Key: C, Value: !Select [1, !Split [",", "x,y"]]}
        - {Key: D, Value: !FindInMap [M, us-east-1, Value]}
        - {Key: E, Value: !Base64 text}
        - {Key: F, Value: !Select [0, !Cidr [!GetAtt Vpc.CidrBlock, 4, 8]]}
        - {Key: G, Value: !ImportValue shared-id}
        - {Key: H, Value: !If [IsProd, yes-prod, no-prod]}
        - {Key: I, Value: !GetAtt Db.Endpoint.Address}
  Db: {Type: AWS::RDS::DBInstance}
"""


def test_yaml_short_tags_become_intrinsics():
    template = parse_template(SHORT_TAGS)
    assert template.data["AWSTemplateFormatVersion"] == "2010-09-09"  # not a date
    conditions = template.data["Conditions"]
    assert conditions["IsProd"] == {"Fn::Equals": [{"Ref": "Env"}, "prod"]}
    assert conditions["IsBoth"]["Fn::And"][0] == {"Condition": "IsProd"}
    tags = {t["Key"]: t["Value"] for t in template.data["Resources"]["Vpc"]["Properties"]["Tags"]}
    assert tags["A"] == {"Fn::Sub": "${AWS::StackName}-vpc"}
    assert tags["B"] == {"Fn::Join": ["-", ["a", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}]]}
    assert tags["D"] == {"Fn::FindInMap": ["M", "us-east-1", "Value"]}
    assert tags["E"] == {"Fn::Base64": "text"}
    assert tags["F"]["Fn::Select"][1] == {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 4, 8]}
    assert tags["G"] == {"Fn::ImportValue": "shared-id"}
    assert tags["H"] == {"Fn::If": ["IsProd", "yes-prod", "no-prod"]}
    assert tags["I"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}


def test_resource_lines_are_recorded():
    template = parse_template(SHORT_TAGS)
    assert template.resources["Vpc"].line == 11
    assert template.resources["Db"].line == 25


def test_json_template_and_lines(tmp_path: Path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}, indent=1))
    template = load_template(path)
    assert template.resources["Bucket"].type == "AWS::S3::Bucket"
    assert template.resources["Bucket"].line == 3
    assert template.assembly is None


def _error(text: str, source: str = "t.yaml") -> TemplateError:
    with pytest.raises(TemplateError) as raised:
        parse_template(textwrap.dedent(text), source)
    return raised.value


def test_yaml_syntax_error_names_line_and_column():
    error = _error("""\
        Resources:
          Bucket:
            Type: AWS::S3::Bucket
            Properties: {BucketName: [unclosed
        """)
    assert error.line == 5
    assert "YAML syntax error" in str(error)
    assert str(error).startswith("t.yaml:5:")


def test_duplicate_yaml_keys_are_an_error_with_position():
    error = _error("""\
        Resources:
          Bucket: {Type: AWS::S3::Bucket}
          Bucket: {Type: AWS::S3::Bucket}
        """)
    assert "duplicate key 'Bucket'" in error.message
    assert error.line == 3


def test_json_syntax_error_names_line_and_column():
    error = _error('{\n  "Resources": {\n    "B": {"Type": "AWS::S3::Bucket",}\n  }\n}\n', "t.json")
    assert (error.line, error.column) == (3, 37)
    assert "JSON syntax error" in error.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("just a sentence\n", "document is str"),
        ("Parameters: {}\n", "no top-level Resources section"),
        ("Resources: {}\n", "Resources must be a non-empty mapping"),
        ("Resources:\n  Bucket:\n    Properties: {}\n", "resource Bucket has no Type"),
        ("", "document is empty"),
    ],
)
def test_documents_that_are_not_templates(text: str, message: str):
    assert message in _error(text).message


def test_missing_file(tmp_path: Path):
    with pytest.raises(TemplateError, match="file not found"):
        load_template(tmp_path / "nope.yaml")


MARKDOWN = """\
# Ideal response

Some prose with `inline` code.

```bash
aws cloudformation deploy --template-file t.yaml
```

A fragment first, which is not a template:

```yaml
MetadataOptions:
  HttpTokens: required
```

```yaml
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Topic:
    Type: AWS::SNS::Topic
```

```json
{"Resources": {"Only": {"Type": "AWS::SNS::Topic"}}}
```
"""


def test_markdown_picks_the_fenced_block_that_is_a_template(tmp_path: Path):
    path = tmp_path / "answer.md"
    path.write_text(MARKDOWN)
    template = load_template(path)
    assert set(template.resources) == {"Bucket", "Topic"}
    assert template.resources["Bucket"].line == 19  # line in the Markdown file


def test_text_files_with_fences_are_detected_too(tmp_path: Path):
    path = tmp_path / "answer.txt"
    path.write_text(MARKDOWN)
    assert set(load_template(path).resources) == {"Bucket", "Topic"}


def test_markdown_syntax_error_reports_the_file_line(tmp_path: Path):
    path = tmp_path / "broken.md"
    path.write_text("Intro\n\n```yaml\nResources:\n  Bucket: {Type: [x\n```\n")
    with pytest.raises(TemplateError) as raised:
        load_template(path)
    assert raised.value.line == 6
    assert str(raised.value).startswith(f"{path}:6:")


def test_markdown_without_template_block(tmp_path: Path):
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\n```yaml\nfoo: bar\n```\n")
    with pytest.raises(TemplateError, match="no fenced code block is a CloudFormation template"):
        load_template(path)


def test_seed_analyses_are_not_templates():
    seeds = sorted(shared_path("seeds").glob("*.txt"))
    assert seeds, "no seed analyses (*.txt) in ../shared/seeds"
    for seed in seeds:
        with pytest.raises(TemplateError):
            load_template(seed)


def test_cloud_assembly_sidecar_is_read(tmp_path: Path):
    template = {"Resources": {"FnServiceRole": {"Type": "AWS::IAM::Role"}}}
    (tmp_path / "App.template.json").write_text(json.dumps(template))
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "App": {
                        "type": "aws:cloudformation:stack",
                        "properties": {
                            "templateFile": "App.template.json",
                            "terminationProtection": True,
                        },
                        "additionalMetadataFile": "App.metadata.json",
                    }
                }
            }
        )
    )
    (tmp_path / "App.metadata.json").write_text(
        json.dumps(
            {
                "/App/Fn": [
                    {
                        "type": "aws:cdk:acknowledged-rules",
                        "data": {"AwsSolutions-IAM4[Policy::x]": "reason"},
                    }
                ],
                "/App/Fn/ServiceRole/Resource": [
                    {"type": "aws:cdk:logicalId", "data": "FnServiceRole"}
                ],
            }
        )
    )
    loaded = load_template(tmp_path / "App.template.json")
    assert loaded.assembly is not None
    assert loaded.assembly.stack == "App"
    assert loaded.assembly.termination_protection is True
    assert loaded.assembly.acknowledgments == {
        "FnServiceRole": {"AwsSolutions-IAM4[Policy::x]": "reason"}
    }
