"""The FinSecure audit-recorder function, without AWS (botocore Stubber)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from stacks.functions import audit_recorder

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EVENT = {"actor": "alice", "action": "transfer.approve", "resource": "txn-42", "detail": {"n": 1}}


def test_item_carries_every_field_and_a_unique_sort_key() -> None:
    item = audit_recorder.item_for(EVENT, NOW, "id-1")
    assert item == {
        "actor": {"S": "alice"},
        "action": {"S": "transfer.approve"},
        "resource": {"S": "txn-42"},
        "recordedAt": {"S": "2026-11-22T12:00:00+00:00#id-1"},
        "detail": {"S": json.dumps({"n": 1})},
    }


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], r"event must be a JSON object, got list"),
        ({**EVENT, "actor": ""}, r"actor='': pass a non-empty string"),
        ({**EVENT, "action": None}, r"action=None: pass a non-empty string"),
        ({**EVENT, "resource": "x" * 257}, r"resource='x+': pass a non-empty string"),
        ({**EVENT, "detail": {"blob": "x" * 20_000}}, r"detail is \d+ bytes: keep it under"),
    ],
)
def test_bad_events_are_rejected_with_the_field_named(event: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        audit_recorder.item_for(event, NOW, "id")


def test_record_appends_and_never_overwrites() -> None:
    client = boto3.client("dynamodb", region_name="us-east-2")
    with Stubber(client) as stub:
        stub.add_response(
            "put_item",
            {},
            {
                "TableName": "audit",
                "Item": ANY,
                "ConditionExpression": "attribute_not_exists(recordedAt)",
            },
        )
        result = audit_recorder.record(client, "audit", EVENT)
        stub.assert_no_pending_responses()
    assert set(result) == {"recorded"} and len(result["recorded"]) == 36


def test_inline_source_fits_the_zipfile_limit() -> None:
    from stacks.fin_secure_stack import audit_recorder_source

    assert len(audit_recorder_source()) <= 4096
