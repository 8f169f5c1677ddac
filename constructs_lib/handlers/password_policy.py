"""Custom resource for the IAM account password policy (IAM-03); inlined as ZipFile.

Create/Update apply the (string) resource properties; Delete restores BASELINE, or deletes the
policy if OnDelete is "delete". Logs the previous policy; always answers CloudFormation.
"""

import json
import urllib.request
from typing import Any

#: Restored on Delete unless OnDelete is "delete" (CIS; the construct's defaults).
BASELINE: dict[str, Any] = {
    "MinimumPasswordLength": 14,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "PasswordReusePrevention": 24,
    "MaxPasswordAge": 90,
    "AllowUsersToChangePassword": True,
    "HardExpiry": False,
}
#: Never changes, so an Update never triggers a Delete.
PHYSICAL_ID = "IamAccountPasswordPolicy"
#: Answered to a failed Create: its rollback Delete changes nothing.
NOT_CREATED = PHYSICAL_ID + "-not-created"


def policy_from(properties: dict[str, Any]) -> dict[str, Any]:
    """UpdateAccountPasswordPolicy arguments from the (string) resource properties."""
    policy: dict[str, Any] = {}
    for name, baseline in BASELINE.items():
        value = str(properties[name]).lower()
        if isinstance(baseline, bool):
            if value not in ("true", "false"):
                raise ValueError(f"{name}={value!r}: not true/false")
            policy[name] = value == "true"
        else:
            policy[name] = int(value)
    return policy


def apply(iam: Any, request: str, properties: dict[str, Any]) -> str:
    """Carry out one request; return what was done."""
    from botocore.exceptions import ClientError

    on_delete = properties.get("OnDelete", "restore")
    if request not in ("Create", "Update", "Delete") or on_delete not in ("restore", "delete"):
        raise ValueError(f"RequestType={request!r}, OnDelete={on_delete!r}: not supported")
    policy = BASELINE if request == "Delete" else policy_from(properties)
    try:
        previous = iam.get_account_password_policy()["PasswordPolicy"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        previous = None
    print(json.dumps({"PreviousPolicy": previous}, default=str))
    if request == "Delete" and on_delete == "delete":
        if previous is not None:
            iam.delete_account_password_policy()
        return "password policy deleted"
    iam.update_account_password_policy(**policy)
    return "baseline policy restored" if request == "Delete" else "password policy applied"


def handler(event: dict[str, Any], context: Any) -> None:
    """Lambda entry point: apply the request, then answer CloudFormation."""
    import boto3
    from botocore.config import Config

    request = event.get("RequestType")
    physical_id = event.get("PhysicalResourceId") or PHYSICAL_ID
    status = "SUCCESS"
    try:
        if request == "Delete" and physical_id == NOT_CREATED:
            reason = "nothing to undo: the create failed"
        else:
            config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3})
            iam = boto3.client("iam", config=config)
            reason = apply(iam, str(request), event.get("ResourceProperties", {}))
    except Exception as error:
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:900]
        if request == "Create":
            physical_id = NOT_CREATED
    print(json.dumps({"RequestType": request, "Status": status, "Reason": reason}))
    ids = {key: event.get(key) for key in ("StackId", "RequestId", "LogicalResourceId")}
    answer = {"Status": status, "Reason": reason, "PhysicalResourceId": physical_id, **ids}
    put = urllib.request.Request(
        event["ResponseURL"], json.dumps(answer).encode(), {"Content-Type": ""}, method="PUT"
    )
    urllib.request.urlopen(put, timeout=30).close()
