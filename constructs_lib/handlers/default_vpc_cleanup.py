"""NET-09 custom resource (inlined): delete default VPCs in enabled regions but KeepRegion.

Skips VPCs with network interfaces; DryRun only reports; Delete does nothing; Data: region->outcome.
"""

import json
import os
import urllib.request
from typing import Any

PHYSICAL_ID = "DefaultVpcCleanup"
RESERVE_MS = 60_000  # no region is started with less time left


def clean(ec2: Any, dry_run: bool) -> str:
    done = []
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]:
        vid = vpc["VpcId"]
        ours = [{"Name": "vpc-id", "Values": [vid]}]
        if enis := ec2.describe_network_interfaces(Filters=ours)["NetworkInterfaces"]:
            return f"skipped {vid}: {len(enis)} network interfaces"
        igws = ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [vid]}]
        )["InternetGateways"]
        subnets = ec2.describe_subnets(Filters=ours)["Subnets"]
        if dry_run:
            done.append(f"would-delete {vid} ({len(igws)} igw, {len(subnets)} subnets)")
            continue
        for igw in igws:
            ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vid)
            ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
        for subnet in subnets:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vid)
        done.append(f"deleted {vid}")
    return "; ".join(done) or "none"


def run(props: dict[str, Any], time_left: Any) -> dict[str, str]:
    import boto3
    from botocore.config import Config

    dry_run = str(props.get("DryRun", "false")).lower()
    if dry_run not in ("true", "false"):
        raise ValueError(f"DryRun={dry_run!r}: not true/false")
    keep = props.get("KeepRegion") or os.environ["AWS_REGION"]
    config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3})
    home = boto3.client("ec2", config=config)  # the function's region
    regions = sorted(r["RegionName"] for r in home.describe_regions(AllRegions=False)["Regions"])
    if keep not in regions:
        raise ValueError(f"KeepRegion={keep!r}: not an enabled region")
    report = {}
    for region in regions:
        if region == keep:
            report[region] = "kept: deployment region"
        elif time_left() < RESERVE_MS:
            report[region] = "error: out of time"
        else:
            try:
                ec2 = boto3.client("ec2", region_name=region, config=config)
                report[region] = clean(ec2, dry_run == "true")
            except Exception as error:
                code = getattr(error, "response", {}).get("Error", {}).get("Code")
                report[region] = f"error: {code or type(error).__name__}"[:60]
    return report


def handler(event: dict[str, Any], context: Any) -> None:
    request = event.get("RequestType")
    status, data = "SUCCESS", {}
    try:
        if request == "Delete":
            reason = "nothing to do"
        elif request in ("Create", "Update"):
            time_left = getattr(context, "get_remaining_time_in_millis", lambda: 900_000)
            data = run(event.get("ResourceProperties", {}), time_left)
            words = [outcome.split()[0].rstrip(":") for outcome in data.values()]
            reason = ", ".join(f"{w} {words.count(w)}" for w in sorted(set(words)))
        else:
            raise ValueError(f"RequestType={request!r}: not supported")
    except Exception as error:
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:500]
    answer = {key: event.get(key) for key in ("StackId", "RequestId", "LogicalResourceId")}
    answer.update(Status=status, Reason=reason, Data=data)
    answer["PhysicalResourceId"] = event.get("PhysicalResourceId") or PHYSICAL_ID
    print(json.dumps({"RequestType": request, **answer}))
    put = urllib.request.Request(
        event["ResponseURL"], json.dumps(answer).encode(), {"Content-Type": ""}, method="PUT"
    )
    urllib.request.urlopen(put, timeout=30).close()
