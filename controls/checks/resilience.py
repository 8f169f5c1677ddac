"""RES — resilience and data-safety controls."""

from __future__ import annotations

import re
from typing import Any

from controls.analysis import databases, is_cmk_reference
from controls.catalogue import Context, control
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import as_int, as_list
from controls.template import Resource, Template

_CRON = re.compile(r"cron\((?P<fields>[^)]*)\)")


def schedule_kind(expression: Any) -> str | None:
    """daily / weekly / monthly for a Backup cron expression (``cron(m h dom mon dow y)``)."""
    match = _CRON.search(str(expression))
    if not match:
        return None
    fields = match.group("fields").split()
    if len(fields) != 6:
        return None
    day_of_month, day_of_week = fields[2], fields[4]
    if day_of_week not in ("?", "*"):
        return "weekly"
    if day_of_month not in ("?", "*"):
        return "monthly"
    return "daily"


def _selection_covers(t: Template, selection: Resource, target: Resource) -> bool | None:
    resources = t.raw(selection, "BackupSelection", "Resources")
    for item in as_list(resources):
        if target.logical_id in t.references(item):
            return True
        text = t.text(item)
        if target.type.startswith("AWS::EC2::") and re.search(
            r":ec2:.*:(volume|instance)/\*", text
        ):
            return True
        if target.type.startswith("AWS::RDS::") and re.search(r":rds:.*:(db|cluster):\*", text):
            return True
        if text == "*":
            return True
    tags = as_list(t.get(selection, "BackupSelection", "ListOfTags"))
    wanted = {
        (str(tag.get("ConditionKey")), str(tag.get("ConditionValue")))
        for tag in tags
        if isinstance(tag, dict)
    }
    if wanted:
        raw_tags = t.get(target, "Tags")
        if target.type == "AWS::EC2::LaunchTemplate":
            raw_tags = [
                tag
                for spec in as_list(t.get(target, "LaunchTemplateData", "TagSpecifications"))
                if isinstance(spec, dict) and spec.get("ResourceType") == "volume"
                for tag in as_list(spec.get("Tags"))
            ]
        present = {
            (str(tag.get("Key")), str(tag.get("Value")))
            for tag in as_list(raw_tags)
            if isinstance(tag, dict)
        }
        return bool(wanted & present)
    return False


@control(
    "RES-01",
    title="AWS Backup plan covering the database and EC2 volumes",
    severity=Severity.HIGH,
    requirement="""AWS Backup: vault with CMK, plan (daily/weekly/monthly, cold storage,
    retention), selections covering DB and EC2 volumes; optional cross-region copy.""",
    impact="""Without a central, encrypted backup plan, recovery points are incomplete,
    unencrypted with your key, and not retained for audits.""",
    fix="""Declare an AWS::Backup::BackupVault with EncryptionKeyArn, a BackupPlan with daily,
    weekly and monthly rules (retention, cold storage), and selections with the database ARN and
    EC2 volumes (ARN pattern or tags).""",
)
def res_01(ctx: Context) -> Outcome:
    """With a database or EC2 hosts present: an AWS::Backup::BackupVault with a CMK
    EncryptionKeyArn; a BackupPlan with daily, weekly and monthly cron rules, each with
    DeleteAfterDays and at least one MoveToColdStorageAfterDays; BackupSelections whose
    Resources (ARN references, ARN wildcards) or ListOfTags (matched against the resources'
    tags) cover every database and the EC2 volumes."""
    t = ctx.template
    dbs = [d.resource for d in databases(t)]
    hosts = [
        h
        for h in t.of_type("AWS::EC2::LaunchTemplate", "AWS::EC2::Instance", "AWS::EC2::Volume")
        if not (h.type == "AWS::EC2::Instance" and h.properties.get("LaunchTemplate"))
    ]
    if not dbs and not hosts:
        return not_applicable("no database and no EC2 volume to back up")
    a = Assessment()
    vaults = t.of_type("AWS::Backup::BackupVault")
    if not vaults:
        a.fail(None, "no AWS::Backup::BackupVault")
    for vault in vaults:
        a.check(
            vault.logical_id,
            is_cmk_reference(t, vault.properties.get("EncryptionKeyArn")),
            "vault encrypted with a CMK",
            "vault without a CMK EncryptionKeyArn",
        )
    plans = t.of_type("AWS::Backup::BackupPlan")
    if not plans:
        a.fail(None, "no AWS::Backup::BackupPlan")
    for plan in plans:
        rules = [
            r for r in as_list(t.get(plan, "BackupPlan", "BackupPlanRule")) if isinstance(r, dict)
        ]
        kinds = {schedule_kind(r.get("ScheduleExpression")) for r in rules}
        for kind in ("daily", "weekly", "monthly"):
            a.check(plan.logical_id, kind in kinds, f"{kind} rule", f"no {kind} backup rule")
        lifecycles: list[dict[str, Any]] = [
            r["Lifecycle"] if isinstance(r.get("Lifecycle"), dict) else {} for r in rules
        ]
        a.check(
            plan.logical_id,
            bool(rules) and all(as_int(x.get("DeleteAfterDays")) for x in lifecycles),
            "retention on every rule",
            "a rule without DeleteAfterDays (kept forever)",
        )
        a.check(
            plan.logical_id,
            any(x.get("MoveToColdStorageAfterDays") for x in lifecycles),
            "cold storage",
            "no rule moves recovery points to cold storage",
        )
        if any(r.get("CopyActions") for r in rules):
            a.note(f"{plan.logical_id} copies recovery points to another vault")
    selections = t.of_type("AWS::Backup::BackupSelection")
    for target in [*dbs, *hosts]:
        states = [_selection_covers(t, s, target) for s in selections]
        a.check(
            target.logical_id,
            any(states),
            "covered by a backup selection",
            "not covered by any backup selection",
        )
    return a.outcome()


STATEFUL_TYPES = (
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::Backup::BackupVault",
    "AWS::SQS::Queue",
    "AWS::EFS::FileSystem",
    "AWS::EC2::Volume",
)
SNAPSHOT_TYPES = {
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::EC2::Volume",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::Redshift::Cluster",
    "AWS::Neptune::DBCluster",
    "AWS::DocDB::DBCluster",
}


@control(
    "RES-02",
    title="Retain/Snapshot policies on stateful resources; termination protection",
    severity=Severity.HIGH,
    requirement="""Every stateful resource (DB, bucket, key, log group, secret, table, vault,
    queue) has `DeletionPolicy` and `UpdateReplacePolicy` of Retain or Snapshot; production stacks
    have termination protection.""",
    impact="""With the default Delete policy, a stack deletion or a replacing update destroys data
    (and keys, making backups unreadable) irrecoverably.""",
    fix="""Set DeletionPolicy and UpdateReplacePolicy to Retain (Snapshot for databases and
    volumes) — CDK: `removal_policy=RemovalPolicy.RETAIN/SNAPSHOT` — and enable termination
    protection on production stacks.""",
    limits="""Termination protection is a stack setting, not part of the template: it is checked
    only when the template sits in a CDK cloud assembly (manifest.json).""",
)
def res_02(ctx: Context) -> Outcome:
    """Every stateful resource (RDS instance outside a cluster, cluster, bucket, key, log group,
    secret, table, vault, queue, file system, volume) needs DeletionPolicy and
    UpdateReplacePolicy of Retain, RetainExceptOnCreate or Snapshot (Snapshot only where
    supported); in a CDK cloud assembly the stack's terminationProtection must be true."""
    t = ctx.template
    members = {m.logical_id for d in databases(t) for m in d.members}
    stateful = [r for r in t.of_type(*STATEFUL_TYPES) if r.logical_id not in members]
    if not stateful:
        return not_applicable("no stateful resource")
    a = Assessment()
    for resource in stateful:
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            value = resource.attribute(policy)
            if value == "Snapshot" and resource.type not in SNAPSHOT_TYPES:
                a.fail(
                    resource.logical_id, f"{policy} Snapshot is not supported for {resource.type}"
                )
            else:
                a.check(
                    resource.logical_id,
                    value in ("Retain", "RetainExceptOnCreate", "Snapshot"),
                    f"{policy} {value}",
                    f"{policy} {value or 'not set (Delete)'}",
                )
    assembly = t.assembly
    if assembly is None:
        a.note("termination protection is a stack setting: not visible in a bare template")
    else:
        a.check(
            None,
            assembly.termination_protection is True,
            f"stack {assembly.stack} has termination protection",
            f"stack {assembly.stack} has no termination protection",
        )
    return a.outcome()


__all__ = ["SNAPSHOT_TYPES", "STATEFUL_TYPES", "schedule_kind"]
