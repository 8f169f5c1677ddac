"""Fragment builders for the control tests (no CDK: plain dicts and YAML text)."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest

from controls import CATALOGUE, Settings, parse_template
from controls.catalogue import Context
from controls.engine import run_control
from controls.model import Outcome
from controls.template import Template

Doc = dict[str, Any]

SHARED = Path(__file__).resolve().parents[3] / "shared"
"""The product's shared directory (SPEC, seeds) next to the repository, as in CI."""


def shared_path(relative: str) -> Path:
    """A file or directory under ``../shared``; fails (never skips) when it is missing."""
    path = SHARED / relative
    if not path.exists():
        pytest.fail(
            f"{path} is missing: the shared/ directory (SPEC.md, seeds/) must sit next to the "
            "repository as ../shared, as it does in CI",
            pytrace=False,
        )
    return path


def yaml_doc(text: str) -> Doc:
    """A template dict from YAML text (short tags allowed)."""
    return dict(parse_template(textwrap.dedent(text)).data)


def merge(*docs: Doc) -> Doc:
    """Merge template sections (later documents win on duplicate keys)."""
    merged: Doc = {}
    for doc in docs:
        for section, body in doc.items():
            if isinstance(body, dict):
                merged.setdefault(section, {}).update(copy.deepcopy(body))
            else:
                merged[section] = copy.deepcopy(body)
    return merged


def as_template(source: str | Doc | Template) -> Template:
    if isinstance(source, Template):
        return source
    if isinstance(source, str):
        return parse_template(textwrap.dedent(source))
    return Template(source)


def outcome(
    control_id: str, source: str | Doc | Template, settings: Settings | None = None
) -> Outcome:
    """Run one control on a fragment (errors propagate: a crashing check fails the test)."""
    context = Context(as_template(source), settings or Settings())
    result = CATALOGUE[control_id].check(context)
    assert result == run_control(CATALOGUE[control_id], context)
    return result


def messages(result: Outcome) -> str:
    return "\n".join(item.render() for item in result.items) + "\n" + result.reason


# SecureDatabase: a deploy-time unique identifier derived from the stack ID, and the export log
# groups created up front under the same expression (the instance DependsOn them).
DB_IDENTIFIER = {
    "Fn::Join": [
        "-",
        [
            "db-1a2b3c4d",
            {
                "Fn::Select": [
                    4,
                    {
                        "Fn::Split": [
                            "-",
                            {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]},
                        ]
                    },
                ]
            },
        ],
    ]
}


def joined(*parts: Any) -> Doc:
    """``Fn::Join`` with an empty delimiter (how CDK concatenates tokens)."""
    return {"Fn::Join": ["", list(parts)]}


def az(index: int) -> Doc:
    return {"Fn::Select": [index, {"Fn::GetAZs": ""}]}


def ref(name: str) -> Doc:
    return {"Ref": name}


def get_att(logical_id: str, attribute: str) -> Doc:
    return {"Fn::GetAtt": [logical_id, attribute]}


def network(
    azs: int = 2,
    *,
    isolated: bool = True,
    nat_per_az: bool = True,
    share_private_table: bool = False,
    share_isolated_table: bool = False,
    hard_coded_azs: bool = False,
) -> Doc:
    """A CDK-shaped VPC: per AZ a public, a private (NAT) and an isolated subnet."""
    resources: Doc = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Igw": {"Type": "AWS::EC2::InternetGateway", "Properties": {}},
    }
    blocks = iter(f"10.0.{n * 16}.0/20" for n in range(16))

    def subnet(name: str, index: int) -> None:
        zone: Any = f"us-east-1{'abc'[index]}" if hard_coded_azs else az(index)
        resources[name] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": ref("Vpc"),
                "AvailabilityZone": zone,
                "CidrBlock": next(blocks),
            },
        }

    def table(name: str) -> None:
        resources.setdefault(
            name, {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": ref("Vpc")}}
        )

    def associate(subnet_name: str, table_name: str) -> None:
        resources[f"{subnet_name}Assoc"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": ref(subnet_name), "RouteTableId": ref(table_name)},
        }

    for index in range(azs):
        n = index + 1
        subnet(f"Public{n}", index)
        table(f"PublicTable{n}")
        associate(f"Public{n}", f"PublicTable{n}")
        resources[f"PublicRoute{n}"] = {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": ref(f"PublicTable{n}"),
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": ref("Igw"),
            },
        }
        if nat_per_az or index == 0:
            resources[f"Nat{n}"] = {
                "Type": "AWS::EC2::NatGateway",
                "Properties": {
                    "SubnetId": ref(f"Public{n}"),
                    "AllocationId": get_att(f"Eip{n}", "AllocationId"),
                },
            }
            resources[f"Eip{n}"] = {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}}
        subnet(f"Private{n}", index)
        private_table = "PrivateTable1" if share_private_table else f"PrivateTable{n}"
        table(private_table)
        associate(f"Private{n}", private_table)
        if f"PrivateRoute{private_table}" not in resources:
            nat = f"Nat{n}" if nat_per_az else "Nat1"
            resources[f"PrivateRoute{private_table}"] = {
                "Type": "AWS::EC2::Route",
                "Properties": {
                    "RouteTableId": ref(private_table),
                    "DestinationCidrBlock": "0.0.0.0/0",
                    "NatGatewayId": ref(nat),
                },
            }
        if isolated:
            subnet(f"Data{n}", index)
            data_table = "DataTable1" if share_isolated_table else f"DataTable{n}"
            table(data_table)
            associate(f"Data{n}", data_table)
    return {"Resources": resources}


def assert_pass(
    control_id: str, source: str | Doc | Template, settings: Settings | None = None
) -> Outcome:
    result = outcome(control_id, source, settings)
    assert result.status.value == "pass", f"{control_id} expected pass:\n{messages(result)}"
    return result


def assert_fail(
    control_id: str, source: str | Doc | Template, *needles: str, settings: Settings | None = None
) -> Outcome:
    result = outcome(control_id, source, settings)
    assert result.status.value == "fail", f"{control_id} expected fail:\n{messages(result)}"
    text = messages(result)
    for needle in needles:
        assert needle in text, f"{control_id}: {needle!r} not in:\n{text}"
    return result


def assert_status(
    control_id: str,
    source: str | Doc | Template,
    status: str,
    *needles: str,
    settings: Settings | None = None,
) -> Outcome:
    result = outcome(control_id, source, settings)
    assert result.status.value == status, f"{control_id} expected {status}:\n{messages(result)}"
    text = messages(result)
    for needle in needles:
        assert needle in text, f"{control_id}: {needle!r} not in:\n{text}"
    return result
