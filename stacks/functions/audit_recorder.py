"""FinSecure audit recorder (inlined): append one audit event to the DynamoDB audit table.

Event: {"actor": str, "action": str, "resource": str, "detail": {...}} -> {"recorded": id}.
Items are keyed actor (partition) and "<ISO time>#<uuid>" (sort) and never overwritten.
"""

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

REQUIRED = ("actor", "action", "resource")
MAX_FIELD = 256
MAX_DETAIL = 16_384


def item_for(event: Any, now: datetime, event_id: str) -> dict[str, Any]:
    """The DynamoDB item of one audit event; ValueError names the bad field."""
    if not isinstance(event, dict):
        raise ValueError(f"event must be a JSON object, got {type(event).__name__}")
    item: dict[str, Any] = {}
    for field in REQUIRED:
        value = event.get(field)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD:
            raise ValueError(f"{field}={value!r}: pass a non-empty string of at most 256 chars")
        item[field] = {"S": value}
    detail = json.dumps(event.get("detail", {}), sort_keys=True, default=str)
    if len(detail) > MAX_DETAIL:
        raise ValueError(f"detail is {len(detail)} bytes: keep it under {MAX_DETAIL}")
    item["recordedAt"] = {"S": f"{now.isoformat()}#{event_id}"}
    item["detail"] = {"S": detail}
    return item


def record(dynamodb: Any, table: str, event: Any) -> dict[str, str]:
    event_id = str(uuid.uuid4())
    dynamodb.put_item(
        TableName=table,
        Item=item_for(event, datetime.now(UTC), event_id),
        ConditionExpression="attribute_not_exists(recordedAt)",
    )
    return {"recorded": event_id}


def handler(event: Any, context: Any) -> dict[str, str]:
    import boto3

    return record(boto3.client("dynamodb"), os.environ["AUDIT_TABLE_NAME"], event)
