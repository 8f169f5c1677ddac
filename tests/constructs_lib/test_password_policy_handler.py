"""The password-policy custom-resource handler (IAM-03), run without AWS.

The IAM client is a real botocore client behind a ``Stubber``: it checks every call's operation
and exact parameters against the IAM API model and fails on any call that was not expected. The
answer to CloudFormation is captured by replacing ``urllib.request.urlopen``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from constructs_lib.handlers import password_policy
from constructs_lib.handlers.password_policy import BASELINE, NOT_CREATED, PHYSICAL_ID

RESPONSE_URL = "https://cloudformation-custom-resource-response.example/signed?X-Amz-Signature=abc"

#: The policy the construct asks for, as CloudFormation delivers it: every value a string.
PROPERTIES = {
    "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:PasswordPolicy",
    "ServiceTimeout": "600",
    "MinimumPasswordLength": "16",
    "RequireUppercaseCharacters": "true",
    "RequireLowercaseCharacters": "true",
    "RequireNumbers": "true",
    "RequireSymbols": "false",
    "PasswordReusePrevention": "12",
    "MaxPasswordAge": "60",
    "AllowUsersToChangePassword": "true",
    "HardExpiry": "true",
    "OnDelete": "restore",
}
APPLIED = {
    "MinimumPasswordLength": 16,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "RequireNumbers": True,
    "RequireSymbols": False,
    "PasswordReusePrevention": 12,
    "MaxPasswordAge": 60,
    "AllowUsersToChangePassword": True,
    "HardExpiry": True,
}
EXISTING = {"MinimumPasswordLength": 8, "RequireSymbols": False, "ExpirePasswords": False}


class Answers:
    """What the handler PUT to the response URL, and whether it created a client at all."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.clients: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    @property
    def only(self) -> dict[str, Any]:
        (request,) = self.requests
        assert request.get_method() == "PUT"
        assert request.full_url == RESPONSE_URL
        # The pre-signed URL is signed without a content type; any other value breaks it.
        assert request.get_header("Content-type") == ""
        return json.loads(request.data)


@pytest.fixture
def iam() -> Iterator[Stubber]:
    client = boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch, iam: Stubber) -> Answers:
    captured = Answers()

    class _Response:
        def close(self) -> None:
            pass

    def urlopen(request: Any, timeout: float) -> _Response:
        assert timeout <= 60
        captured.requests.append(request)
        return _Response()

    def client(*args: Any, **kwargs: Any) -> Any:
        captured.clients.append((args, kwargs))
        return iam.client

    monkeypatch.setattr(boto3, "client", client)
    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return captured


def event(
    request_type: str, properties: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/Identity/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "PasswordPolicy4B0A08FE",
        "ResourceType": "Custom::AccountPasswordPolicy",
        "ResourceProperties": dict(PROPERTIES if properties is None else properties),
        **extra,
    }


def expect_current_policy(iam: Stubber, policy: dict[str, Any] | None = EXISTING) -> None:
    if policy is None:
        iam.add_client_error(
            "get_account_password_policy", service_error_code="NoSuchEntity", http_status_code=404
        )
    else:
        iam.add_response("get_account_password_policy", {"PasswordPolicy": policy}, {})


def expect_update(iam: Stubber, policy: dict[str, Any]) -> None:
    iam.add_response("update_account_password_policy", {}, policy)


# ---- Create / Update ---------------------------------------------------------------------------
def test_create_applies_exactly_the_configured_policy(iam: Stubber, answers: Answers):
    expect_current_policy(iam, None)  # a fresh account has no policy
    expect_update(iam, APPLIED)
    password_policy.handler(event("Create"), None)
    iam.assert_no_pending_responses()  # every expected IAM call was made
    answer = answers.only
    assert answer == {
        "Status": "SUCCESS",
        "Reason": "password policy applied",
        "PhysicalResourceId": PHYSICAL_ID,
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/Identity/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "PasswordPolicy4B0A08FE",
    }
    ((service,), _) = answers.clients[0]
    assert service == "iam"


def test_update_applies_the_new_policy_and_keeps_the_physical_id(iam: Stubber, answers: Answers):
    changed = {**PROPERTIES, "MinimumPasswordLength": "20", "RequireSymbols": "true"}
    expect_current_policy(iam)
    expect_update(iam, {**APPLIED, "MinimumPasswordLength": 20, "RequireSymbols": True})
    password_policy.handler(
        event(
            "Update",
            changed,
            PhysicalResourceId=PHYSICAL_ID,
            OldResourceProperties=PROPERTIES,
        ),
        None,
    )
    iam.assert_no_pending_responses()  # every expected IAM call was made
    answer = answers.only
    assert answer["Status"] == "SUCCESS"
    # A different ID would make CloudFormation delete the "old" policy after the update.
    assert answer["PhysicalResourceId"] == PHYSICAL_ID


def test_typed_properties_are_accepted_too(iam: Stubber, answers: Answers):
    typed = {**APPLIED, "OnDelete": "restore"}
    expect_current_policy(iam)
    expect_update(iam, APPLIED)
    password_policy.handler(event("Create", typed), None)
    assert answers.only["Status"] == "SUCCESS"


# ---- Delete ------------------------------------------------------------------------------------
def test_delete_restores_the_baseline(iam: Stubber, answers: Answers):
    expect_current_policy(iam)
    expect_update(iam, BASELINE)
    password_policy.handler(event("Delete", PhysicalResourceId=PHYSICAL_ID), None)
    iam.assert_no_pending_responses()  # every expected IAM call was made
    answer = answers.only
    assert answer["Status"] == "SUCCESS"
    assert answer["Reason"] == "baseline policy restored"
    assert answer["PhysicalResourceId"] == PHYSICAL_ID


def test_baseline_meets_iam_03():
    assert BASELINE["MinimumPasswordLength"] >= 14
    assert all(
        BASELINE[name]
        for name in (
            "RequireUppercaseCharacters",
            "RequireLowercaseCharacters",
            "RequireNumbers",
            "RequireSymbols",
        )
    )
    assert BASELINE["PasswordReusePrevention"] == 24
    assert BASELINE["MaxPasswordAge"] == 90


def test_delete_mode_deletes_the_policy(iam: Stubber, answers: Answers):
    expect_current_policy(iam)
    iam.add_response("delete_account_password_policy", {}, {})
    delete_mode = {**PROPERTIES, "OnDelete": "delete"}
    password_policy.handler(event("Delete", delete_mode, PhysicalResourceId=PHYSICAL_ID), None)
    iam.assert_no_pending_responses()  # every expected IAM call was made
    assert answers.only["Status"] == "SUCCESS"
    assert answers.only["Reason"] == "password policy deleted"


def test_delete_mode_succeeds_when_the_policy_is_already_gone(iam: Stubber, answers: Answers):
    expect_current_policy(iam, None)  # no delete call expected: the Stubber would reject it
    delete_mode = {**PROPERTIES, "OnDelete": "delete"}
    password_policy.handler(event("Delete", delete_mode, PhysicalResourceId=PHYSICAL_ID), None)
    assert answers.only["Status"] == "SUCCESS"


# ---- failures are answered, never raised -------------------------------------------------------
def test_an_iam_error_answers_failed_with_the_reason(iam: Stubber, answers: Answers):
    expect_current_policy(iam)
    iam.add_client_error(
        "update_account_password_policy",
        service_error_code="AccessDenied",
        service_message="not authorized to perform iam:UpdateAccountPasswordPolicy",
        http_status_code=403,
        expected_params=APPLIED,
    )
    password_policy.handler(event("Update", PhysicalResourceId=PHYSICAL_ID), None)  # no raise
    answer = answers.only
    assert answer["Status"] == "FAILED"
    assert "AccessDenied" in answer["Reason"]
    assert "iam:UpdateAccountPasswordPolicy" in answer["Reason"]
    assert answer["PhysicalResourceId"] == PHYSICAL_ID


def test_a_failed_create_is_marked_and_its_rollback_delete_changes_nothing(
    iam: Stubber, answers: Answers
):
    iam.add_client_error("get_account_password_policy", service_error_code="ServiceFailure")
    password_policy.handler(event("Create"), None)
    failed = answers.only
    assert failed["Status"] == "FAILED"
    assert failed["PhysicalResourceId"] == NOT_CREATED

    answers.requests.clear()
    answers.clients.clear()
    # No IAM response is queued: any call would be refused by the Stubber and answer FAILED.
    password_policy.handler(event("Delete", PhysicalResourceId=NOT_CREATED), None)
    assert answers.only["Status"] == "SUCCESS"
    assert answers.clients == []


def test_unknown_request_type_answers_failed(iam: Stubber, answers: Answers):
    password_policy.handler(event("Restart", PhysicalResourceId=PHYSICAL_ID), None)
    answer = answers.only
    assert answer["Status"] == "FAILED"
    assert "RequestType='Restart'" in answer["Reason"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"RequireSymbols": "yes"}, "RequireSymbols='yes': not true/false"),
        ({"MinimumPasswordLength": "fourteen"}, "ValueError: invalid literal for int()"),
        ({"OnDelete": "keep"}, "OnDelete='keep': not supported"),
    ],
)
def test_bad_properties_answer_failed_before_touching_iam(
    iam: Stubber, answers: Answers, changes: dict[str, str], reason: str
):
    password_policy.handler(event("Create", {**PROPERTIES, **changes}), None)
    answer = answers.only
    assert answer["Status"] == "FAILED"
    assert reason in answer["Reason"]


def test_a_missing_property_answers_failed(iam: Stubber, answers: Answers):
    properties = {k: v for k, v in PROPERTIES.items() if k != "HardExpiry"}
    password_policy.handler(event("Create", properties), None)
    assert answers.only["Status"] == "FAILED"
    assert "KeyError: 'HardExpiry'" in answers.only["Reason"]


def test_logs_the_previous_policy_but_never_the_response_url(
    iam: Stubber, answers: Answers, capsys: pytest.CaptureFixture[str]
):
    expect_current_policy(iam)
    expect_update(iam, APPLIED)
    password_policy.handler(event("Create"), None)
    output = capsys.readouterr().out
    assert json.dumps({"PreviousPolicy": EXISTING}) in output
    assert "X-Amz-Signature" not in output  # the pre-signed URL is a bearer credential


# ---- shipped as index.py -----------------------------------------------------------------------
def test_the_file_runs_on_its_own_as_the_lambda_index(iam: Stubber, answers: Answers):
    """The template ships this file as ``index.py``: no package imports may be needed."""
    assert password_policy.__file__ is not None
    with open(password_policy.__file__, encoding="utf-8") as source:
        code = compile(source.read(), "index.py", "exec")
    namespace: dict[str, Any] = {"__name__": "index"}
    exec(code, namespace)
    expect_current_policy(iam)
    expect_update(iam, APPLIED)
    namespace["handler"](event("Create"), None)
    assert answers.only["Status"] == "SUCCESS"


def test_the_file_fits_the_classic_zipfile_limit():
    assert password_policy.__file__ is not None
    with open(password_policy.__file__, encoding="utf-8") as source:
        assert len(source.read()) < 4096
