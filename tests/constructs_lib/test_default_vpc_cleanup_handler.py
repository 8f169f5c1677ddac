"""The default-VPC cleanup handler (NET-09), run without AWS against a fake multi-region account.

``Account`` holds VPCs, subnets, internet gateways and network interfaces per region and hands
out one fake EC2 client per region (``boto3.client`` is replaced). Every call is validated against
botocore's EC2 API model (operation and parameter names and types), recorded, and applied with
EC2's dependency rules (a VPC with subnets, an attached gateway or interfaces cannot be deleted;
an attached gateway cannot be deleted; detaching needs the right VPC), so a wrong order fails as
it would in AWS. The answer to CloudFormation is captured by replacing ``urllib.request.urlopen``.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from constructs_lib.handlers import default_vpc_cleanup
from constructs_lib.handlers.default_vpc_cleanup import PHYSICAL_ID

RESPONSE_URL = "https://cloudformation-custom-resource-response.example/signed?X-Amz-Signature=abc"
HOME = "us-east-1"
#: The account's enabled regions, in no particular order (the handler sorts them).
ENABLED = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1"]
DESTRUCTIVE = {"DetachInternetGateway", "DeleteInternetGateway", "DeleteSubnet", "DeleteVpc"}

_EC2 = botocore.session.get_session().get_service_model("ec2")
_OPERATIONS = {xform_name(name): name for name in _EC2.operation_names}
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):017x}"


@dataclass
class Region:
    """One region's network: resource ID -> owning VPC (gateways: attached VPC or None)."""

    name: str
    vpcs: dict[str, bool] = field(default_factory=dict)  # VPC ID -> is default
    subnets: dict[str, str] = field(default_factory=dict)
    gateways: dict[str, str | None] = field(default_factory=dict)
    interfaces: dict[str, str] = field(default_factory=dict)
    #: operation name -> error code it answers with
    failures: dict[str, str] = field(default_factory=dict)

    def in_vpc(self, vpc_id: str) -> list[str]:
        """Everything that still lives in or is attached to ``vpc_id``."""
        return [
            resource
            for table in (self.subnets, self.gateways, self.interfaces)
            for resource, owner in table.items()
            if owner == vpc_id
        ]


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (fake)"}}, operation)


def _matches(filters: list[dict[str, Any]] | None, attributes: dict[str, str]) -> bool:
    for entry in filters or []:
        assert entry["Name"] in attributes, f"fake EC2 does not know filter {entry['Name']}"
        if attributes[entry["Name"]] not in entry["Values"]:
            return False
    return True


class FakeEc2:
    """An EC2 client for one region of an :class:`Account`."""

    def __init__(self, account: Account, region: str) -> None:
        self.account = account
        self.region = account.regions[region]

    def __getattr__(self, method: str) -> Callable[..., dict[str, Any]]:
        operation = _OPERATIONS[method]  # KeyError: not an EC2 API call

        def call(**params: Any) -> dict[str, Any]:
            validate_parameters(params, _EC2.operation_model(operation).input_shape)
            self.account.calls.append((self.region.name, operation, params))
            if operation in self.region.failures:
                raise _error(self.region.failures[operation], operation)
            result: dict[str, Any] = getattr(self, f"_{method}")(**params)
            return result

        return call

    def _describe_regions(self, AllRegions: bool = False) -> dict[str, Any]:  # noqa: N803
        return {"Regions": [{"RegionName": name} for name in self.account.regions]}

    def _describe_vpcs(self, Filters: Any = None) -> dict[str, Any]:  # noqa: N803
        return {
            "Vpcs": [
                {"VpcId": vpc, "IsDefault": default}
                for vpc, default in self.region.vpcs.items()
                if _matches(Filters, {"isDefault": str(default).lower(), "vpc-id": vpc})
            ]
        }

    def _describe_network_interfaces(self, Filters: Any = None) -> dict[str, Any]:  # noqa: N803
        found = self.region.interfaces.items()
        return {
            "NetworkInterfaces": [
                {"NetworkInterfaceId": eni, "VpcId": vpc}
                for eni, vpc in found
                if _matches(Filters, {"vpc-id": vpc})
            ]
        }

    def _describe_internet_gateways(self, Filters: Any = None) -> dict[str, Any]:  # noqa: N803
        return {
            "InternetGateways": [
                {"InternetGatewayId": igw, "Attachments": [{"VpcId": vpc}] if vpc else []}
                for igw, vpc in self.region.gateways.items()
                if _matches(Filters, {"attachment.vpc-id": vpc or ""})
            ]
        }

    def _describe_subnets(self, Filters: Any = None) -> dict[str, Any]:  # noqa: N803
        return {
            "Subnets": [
                {"SubnetId": subnet, "VpcId": vpc}
                for subnet, vpc in self.region.subnets.items()
                if _matches(Filters, {"vpc-id": vpc})
            ]
        }

    def _detach_internet_gateway(self, InternetGatewayId: str, VpcId: str) -> dict[str, Any]:  # noqa: N803
        if self.region.gateways.get(InternetGatewayId) != VpcId:
            raise _error("Gateway.NotAttached", "DetachInternetGateway")
        self.region.gateways[InternetGatewayId] = None
        return {}

    def _delete_internet_gateway(self, InternetGatewayId: str) -> dict[str, Any]:  # noqa: N803
        if self.region.gateways[InternetGatewayId] is not None:
            raise _error("DependencyViolation", "DeleteInternetGateway")
        del self.region.gateways[InternetGatewayId]
        return {}

    def _delete_subnet(self, SubnetId: str) -> dict[str, Any]:  # noqa: N803
        if self.region.subnets[SubnetId] in self.region.interfaces.values():
            raise _error("DependencyViolation", "DeleteSubnet")
        del self.region.subnets[SubnetId]
        return {}

    def _delete_vpc(self, VpcId: str) -> dict[str, Any]:  # noqa: N803
        if self.region.in_vpc(VpcId):
            raise _error("DependencyViolation", "DeleteVpc")
        del self.region.vpcs[VpcId]
        return {}


class Account:
    """Regions with their networks, the clients handed out and every call made."""

    def __init__(self, regions: list[str] = ENABLED) -> None:
        self.regions = {name: Region(name) for name in regions}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.clients: list[tuple[str, str | None]] = []

    def add_vpc(
        self,
        region: str,
        *,
        default: bool = True,
        subnets: int = 3,
        gateway: bool = True,
        interfaces: int = 0,
    ) -> str:
        network = self.regions[region]
        vpc = new_id("vpc")
        network.vpcs[vpc] = default
        network.subnets.update({new_id("subnet"): vpc for _ in range(subnets)})
        if gateway:
            network.gateways[new_id("igw")] = vpc
        network.interfaces.update({new_id("eni"): vpc for _ in range(interfaces)})
        return vpc

    def client(self, service: str, region_name: str | None = None, **kwargs: Any) -> FakeEc2:
        assert service == "ec2"
        config = kwargs["config"]  # timeouts and retries are set for every client
        assert config.connect_timeout <= 10 and config.read_timeout <= 60
        self.clients.append((service, region_name))
        # Without a region, boto3 uses AWS_REGION: Lambda sets it to the function's region.
        return FakeEc2(self, region_name or os.environ["AWS_REGION"])

    def operations(self, region: str | None = None) -> list[str]:
        return [op for r, op, _ in self.calls if region is None or r == region]

    def destructive_calls(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [call for call in self.calls if call[1] in DESTRUCTIVE]

    def snapshot(self) -> dict[str, Any]:
        return {
            name: (dict(r.vpcs), dict(r.subnets), dict(r.gateways), dict(r.interfaces))
            for name, r in self.regions.items()
        }


class Answers:
    """What the handler PUT to the response URL."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    @property
    def only(self) -> dict[str, Any]:
        (request,) = self.requests
        assert request.get_method() == "PUT"
        assert request.full_url == RESPONSE_URL
        # The pre-signed URL is signed without a content type; any other value breaks it.
        assert request.get_header("Content-type") == ""
        return json.loads(request.data)

    def last(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].data)


#: Every EC2 operation any test made, for the IAM comparison at the end of the module.
RECORDED: set[str] = set()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    fake = Account()
    monkeypatch.setattr(boto3, "client", fake.client)
    monkeypatch.setenv("AWS_REGION", HOME)
    yield fake
    RECORDED.update(fake.operations())


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    captured = Answers()

    class _Response:
        def close(self) -> None:
            pass

    def urlopen(request: Any, timeout: float) -> _Response:
        assert timeout <= 60
        captured.requests.append(request)
        return _Response()

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return captured


class Context:
    """Lambda context whose remaining time follows ``remaining`` (one value per call)."""

    def __init__(self, *remaining: int) -> None:
        self.remaining = list(remaining)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


def event(request_type: str, dry_run: str = "false", **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/FinSecure/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "DefaultVpcCleanupD4E4842E",
        "ResourceType": "Custom::DefaultVpcCleanup",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:Cleanup",
            "ServiceTimeout": "720",
            "KeepRegion": HOME,
            "DryRun": dry_run,
        },
        **extra,
    }


def run(request: dict[str, Any], context: Any = None) -> None:
    default_vpc_cleanup.handler(request, context or Context(600_000))


# ---- the acceptance criterion ------------------------------------------------------------------
def test_default_vpcs_in_three_regions_exactly_the_two_outside_the_deployment_region_go(
    account: Account, answers: Answers
):
    kept = account.add_vpc(HOME)
    ireland = account.add_vpc("eu-west-1")
    sydney = account.add_vpc("ap-southeast-2", subnets=6)
    run(event("Create"))
    answer = answers.only
    assert answer == {
        "Status": "SUCCESS",
        "Reason": "deleted 2, kept 1, none 2",
        "PhysicalResourceId": PHYSICAL_ID,
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/FinSecure/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "DefaultVpcCleanupD4E4842E",
        "Data": {
            "ap-southeast-2": f"deleted {sydney}",
            "eu-central-1": "none",
            "eu-west-1": f"deleted {ireland}",
            "us-east-1": "kept: deployment region",
            "us-west-2": "none",
        },
    }
    # The deployment region's default VPC and everything in it is untouched ...
    assert account.regions[HOME].vpcs == {kept: True}
    assert len(account.regions[HOME].in_vpc(kept)) == 4
    assert account.operations(HOME) == ["DescribeRegions"]  # ... and not even looked at.
    # The other two are gone with their subnets and gateways.
    for region in ("eu-west-1", "ap-southeast-2"):
        network = account.regions[region]
        assert not (network.vpcs or network.subnets or network.gateways)
    assert {region for region, _, _ in account.destructive_calls()} == {
        "eu-west-1",
        "ap-southeast-2",
    }


def test_enabled_regions_only_and_one_client_per_region(account: Account, answers: Answers):
    run(event("Create"))
    assert account.calls[0] == (HOME, "DescribeRegions", {"AllRegions": False})
    assert account.operations().count("DescribeRegions") == 1
    others = sorted(region for _, region in account.clients if region is not None)
    assert account.clients[0] == ("ec2", None)  # the region list comes from the own region
    assert others == sorted(set(ENABLED) - {HOME})  # the kept region gets no client


def test_keep_region_falls_back_to_the_function_region(
    account: Account, answers: Answers, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    ireland = account.add_vpc("eu-west-1")
    virginia = account.add_vpc(HOME)
    request = event("Create")
    del request["ResourceProperties"]["KeepRegion"]
    run(request)
    data = answers.only["Data"]
    assert data["eu-west-1"] == "kept: deployment region"
    assert data[HOME] == f"deleted {virginia}"
    assert ireland in account.regions["eu-west-1"].vpcs


def test_keep_region_that_is_not_enabled_fails_before_touching_anything(
    account: Account, answers: Answers
):
    account.add_vpc("eu-west-1")
    before = account.snapshot()
    request = event("Create")
    request["ResourceProperties"]["KeepRegion"] = "us-east-9"
    run(request)
    answer = answers.only
    assert answer["Status"] == "FAILED"
    assert "KeepRegion='us-east-9': not an enabled region" in answer["Reason"]
    assert account.snapshot() == before
    assert account.destructive_calls() == []


# ---- only default VPCs, never while in use -----------------------------------------------------
def test_a_non_default_vpc_is_never_touched(account: Account, answers: Answers):
    default = account.add_vpc("eu-west-1")
    custom = account.add_vpc("eu-west-1", default=False, subnets=2)
    only_custom = account.add_vpc("us-west-2", default=False)
    run(event("Create"))
    data = answers.only["Data"]
    assert data["eu-west-1"] == f"deleted {default}"
    assert data["us-west-2"] == "none"
    assert account.regions["eu-west-1"].vpcs == {custom: False}
    assert len(account.regions["eu-west-1"].in_vpc(custom)) == 3  # 2 subnets + its gateway
    assert account.regions["us-west-2"].vpcs == {only_custom: False}
    touched = json.dumps(account.destructive_calls())
    assert custom not in touched and only_custom not in touched
    for region, operation, params in account.calls:
        if operation == "DescribeVpcs":
            assert params == {"Filters": [{"Name": "isDefault", "Values": ["true"]}]}, region


def test_a_default_vpc_with_network_interfaces_is_skipped_and_reported(
    account: Account, answers: Answers
):
    busy = account.add_vpc("eu-west-1", interfaces=2)
    idle = account.add_vpc("us-west-2")
    before = account.snapshot()["eu-west-1"]
    run(event("Create"))
    answer = answers.only
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"]["eu-west-1"] == f"skipped {busy}: 2 network interfaces"
    assert answer["Data"]["us-west-2"] == f"deleted {idle}"
    assert answer["Reason"] == "deleted 1, kept 1, none 2, skipped 1"
    assert account.snapshot()["eu-west-1"] == before  # not a single part removed
    assert "eu-west-1" not in {region for region, _, _ in account.destructive_calls()}


# ---- dry run, re-run, delete -------------------------------------------------------------------
def test_dry_run_deletes_nothing_and_reports_what_would_go(account: Account, answers: Answers):
    ireland = account.add_vpc("eu-west-1", subnets=3)
    oregon = account.add_vpc("us-west-2", subnets=4, gateway=False)
    account.add_vpc(HOME)
    before = account.snapshot()
    run(event("Create", dry_run="true"))
    answer = answers.only
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"]["eu-west-1"] == f"would-delete {ireland} (1 igw, 3 subnets)"
    assert answer["Data"]["us-west-2"] == f"would-delete {oregon} (0 igw, 4 subnets)"
    assert answer["Reason"] == "kept 1, none 2, would-delete 2"
    assert account.snapshot() == before
    assert account.destructive_calls() == []


def test_rerun_with_nothing_left_succeeds_and_changes_nothing(account: Account, answers: Answers):
    account.add_vpc("eu-west-1")
    account.add_vpc("ap-southeast-2")
    run(event("Create"))
    assert answers.last()["Reason"] == "deleted 2, kept 1, none 2"
    first_calls = len(account.calls)
    before = account.snapshot()

    run(event("Update", PhysicalResourceId=PHYSICAL_ID, OldResourceProperties={}))
    again = answers.last()
    assert again["Status"] == "SUCCESS"
    assert again["PhysicalResourceId"] == PHYSICAL_ID  # an Update never replaces the resource
    assert again["Reason"] == "kept 1, none 4"
    assert account.snapshot() == before
    assert [op for _, op, _ in account.calls[first_calls:] if op in DESTRUCTIVE] == []


def test_delete_does_nothing_and_succeeds(account: Account, answers: Answers):
    account.add_vpc("eu-west-1")
    before = account.snapshot()
    run(event("Delete", PhysicalResourceId=PHYSICAL_ID))
    answer = answers.only
    assert answer["Status"] == "SUCCESS"
    assert answer["Reason"] == "nothing to do"
    assert answer["PhysicalResourceId"] == PHYSICAL_ID
    assert answer["Data"] == {}
    assert account.clients == [] and account.calls == []
    assert account.snapshot() == before


# ---- errors ------------------------------------------------------------------------------------
def test_an_api_error_in_one_region_is_reported_and_the_others_proceed(
    account: Account, answers: Answers
):
    account.add_vpc("ap-southeast-2")
    account.regions["ap-southeast-2"].failures["DescribeVpcs"] = "UnauthorizedOperation"
    blocked = account.add_vpc("eu-central-1")
    # A security group someone added would block DeleteVpc the same way.
    account.regions["eu-central-1"].failures["DeleteVpc"] = "DependencyViolation"
    ireland = account.add_vpc("eu-west-1")
    oregon = account.add_vpc("us-west-2")
    run(event("Create"))
    answer = answers.only
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"] == {
        "ap-southeast-2": "error: UnauthorizedOperation",
        "eu-central-1": "error: DependencyViolation",
        "eu-west-1": f"deleted {ireland}",
        "us-east-1": "kept: deployment region",
        "us-west-2": f"deleted {oregon}",
    }
    assert answer["Reason"] == "deleted 2, error 2, kept 1"
    assert blocked in account.regions["eu-central-1"].vpcs


def test_an_unexpected_exception_in_a_region_is_reported_by_type(
    account: Account, answers: Answers, monkeypatch: pytest.MonkeyPatch
):
    real_client = account.client

    def flaky(service: str, region_name: str | None = None, **kwargs: Any) -> FakeEc2:
        if region_name == "eu-west-1":
            raise TimeoutError("connect timeout")
        return real_client(service, region_name, **kwargs)

    monkeypatch.setattr(boto3, "client", flaky)
    run(event("Create"))
    assert answers.only["Data"]["eu-west-1"] == "error: TimeoutError"
    assert answers.only["Status"] == "SUCCESS"


def test_when_the_regions_cannot_be_listed_the_run_fails_with_the_reason(
    account: Account, answers: Answers
):
    account.regions[HOME].failures["DescribeRegions"] = "UnauthorizedOperation"
    run(event("Create"))
    answer = answers.only
    assert answer["Status"] == "FAILED"
    assert "UnauthorizedOperation" in answer["Reason"]
    assert answer["Data"] == {}


def test_regions_the_function_has_no_time_for_are_reported_not_started(
    account: Account, answers: Answers
):
    account.add_vpc("ap-southeast-2")
    account.add_vpc("eu-central-1")
    # Plenty of time for the first region, then less than the reserve.
    run(event("Create"), Context(600_000, 30_000))
    data = answers.only["Data"]
    assert data["ap-southeast-2"].startswith("deleted ")
    assert data["eu-central-1"] == data["eu-west-1"] == data["us-west-2"] == "error: out of time"
    assert answers.only["Status"] == "SUCCESS"
    assert account.operations("eu-central-1") == []


@pytest.mark.parametrize(
    ("request_type", "dry_run", "reason"),
    [
        ("Create", "maybe", "DryRun='maybe': not true/false"),
        ("Restart", "false", "RequestType='Restart': not supported"),
    ],
)
def test_bad_requests_answer_failed_before_touching_ec2(
    account: Account, answers: Answers, request_type: str, dry_run: str, reason: str
):
    run(event(request_type, dry_run=dry_run, PhysicalResourceId=PHYSICAL_ID))
    answer = answers.only
    assert answer["Status"] == "FAILED"
    assert reason in answer["Reason"]
    assert account.calls == []


def test_the_answer_fits_cloudformations_limit_with_many_failing_regions(
    account: Account, answers: Answers
):
    many = [f"xx-{name}-{n}" for name in ("northeast", "southeast", "central") for n in range(12)]
    account.regions = {name: Region(name) for name in [HOME, *many]}
    for name in many:
        account.regions[name].failures["DescribeVpcs"] = "InvalidClientTokenId.WithAVeryLongCode"
    run(event("Create"))
    assert len(answers.requests[0].data) < 4096
    assert all(len(outcome) <= 60 for outcome in answers.only["Data"].values())


def test_logs_every_region_but_never_the_response_url(
    account: Account, answers: Answers, capsys: pytest.CaptureFixture[str]
):
    vpc = account.add_vpc("eu-west-1")
    run(event("Create"))
    (line,) = capsys.readouterr().out.splitlines()
    logged = json.loads(line)
    assert logged["RequestType"] == "Create"
    assert logged["Data"]["eu-west-1"] == f"deleted {vpc}"
    assert "X-Amz-Signature" not in line  # the pre-signed URL is a bearer credential


# ---- shipped as index.py, with exactly the permissions it needs --------------------------------
def test_the_file_runs_on_its_own_as_the_lambda_index(account: Account, answers: Answers):
    """The template ships this file as ``index.py``: no package imports may be needed."""
    assert default_vpc_cleanup.__file__ is not None
    with open(default_vpc_cleanup.__file__, encoding="utf-8") as source:
        code = compile(source.read(), "index.py", "exec")
    namespace: dict[str, Any] = {"__name__": "index"}
    exec(code, namespace)
    vpc = account.add_vpc("eu-west-1")
    namespace["handler"](event("Create"), Context(600_000))
    assert answers.only["Data"]["eu-west-1"] == f"deleted {vpc}"


def test_the_file_fits_the_classic_zipfile_limit():
    assert default_vpc_cleanup.__file__ is not None
    with open(default_vpc_cleanup.__file__, encoding="utf-8") as source:
        assert len(source.read()) < 4096


def test_every_call_the_handler_makes_is_exactly_the_policy(account: Account, answers: Answers):
    """A full run (gateway, subnets, VPC) makes every kind of call; the policy grants no more."""
    from constructs_lib.default_vpc_cleanup import DELETE_ACTIONS, EC2_ACTIONS

    account.add_vpc("eu-west-1")
    run(event("Create"))
    made = {f"ec2:{operation}" for operation in account.operations()}
    assert made == set(EC2_ACTIONS)
    # The order EC2 requires: detach, delete the gateway, the subnets, then the VPC.
    destructive = [f"ec2:{op}" for _, op, _ in account.destructive_calls()]
    assert list(dict.fromkeys(destructive)) == list(DELETE_ACTIONS)


def test_zz_every_call_made_anywhere_in_this_module_is_granted():
    """Runs last: the union of calls of every scenario above stays inside the policy."""
    from constructs_lib.default_vpc_cleanup import EC2_ACTIONS

    assert RECORDED, "no scenario ran"
    assert {f"ec2:{operation}" for operation in RECORDED} <= set(EC2_ACTIONS)
