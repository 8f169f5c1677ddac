"""S3 — storage controls."""

from __future__ import annotations

import fnmatch
from typing import Any

from controls.analysis import Statement, bucket_policies, is_cmk_reference, log_buckets
from controls.catalogue import Context, control
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import as_bool, as_list
from controls.template import Resource, Template

PUBLIC_ACCESS_BLOCK = (
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
)
SSE_S3_WRITERS = {"alb-access-logs", "s3-access-logs"}


def _no_buckets() -> Outcome:
    return not_applicable("no AWS::S3::Bucket")


def public_statements(t: Template, statements: list[Statement]) -> list[Statement]:
    """Allow statements for everyone without any condition."""
    return [
        s
        for s in statements
        if s.effect == "Allow" and t.resolve(s.principal) in ("*", {"AWS": "*"}) and not s.condition
    ]


def blocks_public_access(t: Template, bucket: Resource) -> list[str]:
    """The public-access-block settings that are not true."""
    config = t.get(bucket, "PublicAccessBlockConfiguration")
    config = config if isinstance(config, dict) else {}
    return [name for name in PUBLIC_ACCESS_BLOCK if as_bool(config.get(name)) is not True]


@control(
    "S3-01",
    title="Private, versioned, CMK-encrypted buckets",
    severity=Severity.CRITICAL,
    requirement="""Block public access (all four), owner-enforced ownership (except where a log
    service needs ACLs), versioning, encryption (CMK unless the writing service requires SSE-S3,
    e.g. ALB logs).""",
    impact="""A public or ACL-governed bucket leaks data; without versioning a delete or overwrite
    is final; SSE-S3 gives no key-policy control over who can read.""",
    fix="""Set PublicAccessBlockConfiguration (all four true), OwnershipControls
    BucketOwnerEnforced, VersioningConfiguration Enabled and SSE-KMS with the stack's key (SSE-S3
    only for ALB/S3 access-log buckets); never a public canned ACL or public policy.""",
)
def s3_01(ctx: Context) -> Outcome:
    """Each AWS::S3::Bucket: all four PublicAccessBlockConfiguration flags true; no public canned
    AccessControl and no unconditioned Allow for Principal *; OwnershipControls
    BucketOwnerEnforced (absent = the S3 default since 2023; ObjectWriter/Preferred only for a
    CloudFront log bucket); VersioningConfiguration Enabled; SSE-KMS with a CMK, or SSE-S3 for
    ALB / S3 access-log destinations."""
    t = ctx.template
    buckets = t.of_type("AWS::S3::Bucket")
    if not buckets:
        return _no_buckets()
    a = Assessment()
    policies = bucket_policies(t)
    writers = log_buckets(t)
    for bucket in buckets:
        lid = bucket.logical_id
        missing = blocks_public_access(t, bucket)
        a.check(
            lid,
            not missing,
            "public access blocked",
            f"public access not blocked ({', '.join(missing)} not true)",
        )
        acl = t.get(bucket, "AccessControl")
        if acl not in (None, "Private", "BucketOwnerFullControl", "LogDeliveryWrite"):
            a.fail(lid, f"canned ACL {acl} makes the bucket public")
        for statement in public_statements(t, policies.get(lid, [])):
            a.fail(
                lid, f"bucket policy allows {', '.join(statement.actions) or 'actions'} to everyone"
            )
        ownership = t.get(bucket, "OwnershipControls", "Rules", 0, "ObjectOwnership")
        if ownership is None:
            a.ok(lid, "ACLs disabled (S3 default BucketOwnerEnforced)")
            a.note("buckets without OwnershipControls rely on the S3 default (BucketOwnerEnforced)")
        elif ownership == "BucketOwnerEnforced":
            a.ok(lid, "BucketOwnerEnforced")
        elif "cloudfront-logs" in writers.get(lid, []):
            a.ok(lid, f"{ownership}: CloudFront standard logs need ACLs")
        else:
            a.fail(lid, f"ObjectOwnership {ownership}: ACLs stay enabled")
        versioning = t.get(bucket, "VersioningConfiguration", "Status")
        a.check(
            lid,
            versioning == "Enabled",
            "versioning enabled",
            f"versioning {versioning or 'not enabled'}",
        )
        _check_bucket_key(t, a, bucket, writers.get(lid, []))
    return a.outcome()


def _check_bucket_key(
    t: Template, a: Assessment, bucket: Resource, bucket_writers: list[str]
) -> None:
    lid = bucket.logical_id
    rules = t.raw(bucket, "BucketEncryption", "ServerSideEncryptionConfiguration")
    defaults = [
        r.get("ServerSideEncryptionByDefault", {}) for r in as_list(rules) if isinstance(r, dict)
    ]
    algorithm = next(
        (t.resolve(d.get("SSEAlgorithm")) for d in defaults if isinstance(d, dict)), None
    )
    key = next((d.get("KMSMasterKeyID") for d in defaults if isinstance(d, dict)), None)
    needs_sse_s3 = sorted(set(bucket_writers) & SSE_S3_WRITERS)
    if needs_sse_s3 and algorithm in ("aws:kms", "aws:kms:dsse"):
        a.fail(lid, f"{', '.join(needs_sse_s3)} can only be delivered to SSE-S3 buckets")
    elif algorithm in ("aws:kms", "aws:kms:dsse") and is_cmk_reference(t, key):
        a.ok(lid, "SSE-KMS with a customer-managed key")
    elif algorithm == "AES256" and needs_sse_s3:
        a.ok(lid, f"SSE-S3 as required by {', '.join(needs_sse_s3)}")
    elif algorithm in ("aws:kms", "aws:kms:dsse"):
        a.fail(lid, "SSE-KMS without a customer-managed key (aws/s3)")
    else:
        a.fail(lid, f"encryption {algorithm or 'not configured'}, not SSE-KMS with a CMK")


@control(
    "S3-02",
    title="Server access logging to a dedicated log bucket",
    severity=Severity.MEDIUM,
    requirement="""Server access logging to a dedicated log bucket.""",
    impact="""Without access logs there is no record of who read or changed objects.""",
    fix="""Set LoggingConfiguration.DestinationBucketName to a separate access-log bucket (CDK:
    `server_access_logs_bucket=`).""",
)
def s3_02(ctx: Context) -> Outcome:
    """Each bucket that is not itself an access-log destination needs
    LoggingConfiguration.DestinationBucketName pointing at another bucket (dedicated: used as a
    log destination, not the bucket itself)."""
    t = ctx.template
    buckets = t.of_type("AWS::S3::Bucket")
    if not buckets:
        return _no_buckets()
    a = Assessment()
    destinations = {
        t.target(t.raw(b, "LoggingConfiguration", "DestinationBucketName")) for b in buckets
    } - {None}
    receivers = {
        d
        for d in destinations
        if any(
            t.target(t.raw(b, "LoggingConfiguration", "DestinationBucketName")) == d
            and b.logical_id != d
            for b in buckets
        )
    }
    for bucket in buckets:
        lid = bucket.logical_id
        if lid in receivers:
            a.note(f"{lid} receives access logs; it does not log into itself")
            continue
        destination_raw = t.raw(bucket, "LoggingConfiguration", "DestinationBucketName")
        if bucket.properties.get("LoggingConfiguration") is None:
            a.fail(lid, "no server access logging")
            continue
        destination = t.target(destination_raw)
        if destination is None:
            a.ok(lid, f"access logs to {t.text(destination_raw) or 'the bucket itself'}")
        elif destination == lid:
            a.fail(lid, "logs into itself")
        else:
            a.ok(lid, f"access logs to {destination}")
    return a.outcome()


def _rules(t: Template, bucket: Resource) -> list[dict[str, Any]]:
    rules = t.get(bucket, "LifecycleConfiguration", "Rules")
    return [r for r in as_list(rules) if isinstance(r, dict) and r.get("Status") == "Enabled"]


@control(
    "S3-03",
    title="Lifecycle: tiering, noncurrent expiry, abort multipart",
    severity=Severity.LOW,
    requirement="""Lifecycle: tiering, noncurrent-version expiry, abort incomplete multipart
    uploads.""",
    impact="""Versioned buckets without lifecycle grow without bound: old versions and abandoned
    multipart parts are billed forever.""",
    fix="""Add enabled lifecycle rules with a transition (or Intelligent-Tiering),
    NoncurrentVersionExpiration and AbortIncompleteMultipartUpload.""",
)
def s3_03(ctx: Context) -> Outcome:
    """Each bucket's enabled LifecycleConfiguration rules must include a transition (Transitions
    or Transition, or an IntelligentTieringConfiguration), NoncurrentVersionExpiration (or
    …InDays) and AbortIncompleteMultipartUpload."""
    t = ctx.template
    buckets = t.of_type("AWS::S3::Bucket")
    if not buckets:
        return _no_buckets()
    a = Assessment()
    for bucket in buckets:
        lid = bucket.logical_id
        rules = _rules(t, bucket)
        tiering = any(r.get("Transitions") or r.get("Transition") for r in rules) or bool(
            bucket.properties.get("IntelligentTieringConfigurations")
        )
        noncurrent = any(
            r.get("NoncurrentVersionExpiration") is not None
            or r.get("NoncurrentVersionExpirationInDays") is not None
            for r in rules
        )
        multipart = any(r.get("AbortIncompleteMultipartUpload") is not None for r in rules)
        a.check(lid, tiering, "tiering transition", "no storage-class transition")
        a.check(lid, noncurrent, "noncurrent versions expire", "no NoncurrentVersionExpiration")
        a.check(lid, multipart, "incomplete uploads aborted", "no AbortIncompleteMultipartUpload")
    return a.outcome()


IMMUTABILITY_ACTIONS = ("s3:DeleteObject", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy")
SCOPING_KEYS = ("aws:sourcearn", "aws:sourceaccount")


@control(
    "S3-04",
    title="Immutable log buckets with scoped service writes",
    severity=Severity.HIGH,
    requirement="""Log buckets are immutable (Object Lock or explicit denies on
    delete/lifecycle/policy changes); service writes allowed only with
    `aws:SourceArn`/`aws:SourceAccount` conditions.""",
    impact="""An attacker (or a mistake) that can delete or expire logs erases the audit trail;
    unconditioned service grants let other accounts' resources write into the bucket.""",
    fix="""Enable Object Lock with a default retention, or add Deny statements on
    s3:DeleteObject*, s3:PutLifecycleConfiguration and s3:PutBucketPolicy; condition every
    service-principal Allow on aws:SourceArn and aws:SourceAccount.""",
    limits="""Writes by ELB account principals (regions that predate the log-delivery
    service principal) cannot carry source conditions and are not flagged.""",
)
def s3_04(ctx: Context) -> Outcome:
    """Log buckets (destinations of S3 access logs, ALB logs, CloudTrail, Config, flow logs,
    CloudFront or WAF logs) need ObjectLockEnabled with a default retention rule, or bucket-policy
    Deny statements covering s3:DeleteObject, s3:PutLifecycleConfiguration and s3:PutBucketPolicy
    (wildcards count); every Allow to a Service principal needs an aws:SourceArn or
    aws:SourceAccount condition."""
    t = ctx.template
    writers = log_buckets(t)
    if not writers:
        return not_applicable("no log bucket (no bucket receives service logs)")
    a = Assessment()
    policies = bucket_policies(t)
    for lid, services in writers.items():
        bucket = t.resources[lid]
        statements = policies.get(lid, [])
        locked = (
            as_bool(t.get(bucket, "ObjectLockEnabled")) is True
            and t.raw(bucket, "ObjectLockConfiguration", "Rule") is not None
        )
        denied = [
            action
            for action in IMMUTABILITY_ACTIONS
            if any(
                s.effect == "Deny"
                and any(fnmatch.fnmatch(action.lower(), x.lower()) for x in s.actions)
                for s in statements
            )
        ]
        if locked:
            a.ok(lid, f"Object Lock with default retention (logs from {', '.join(services)})")
        elif len(denied) == len(IMMUTABILITY_ACTIONS):
            a.ok(lid, "explicit denies on delete, lifecycle and policy changes")
        else:
            missing = [x for x in IMMUTABILITY_ACTIONS if x not in denied]
            a.fail(
                lid,
                f"log bucket ({', '.join(services)}) is mutable: no Object Lock and no "
                f"Deny on {', '.join(missing)}",
            )
        for statement in statements:
            if statement.effect != "Allow":
                continue
            principal = t.resolve(statement.principal)
            services_allowed = (
                as_list(principal.get("Service")) if isinstance(principal, dict) else []
            )
            if not services_allowed:
                continue
            condition = t.text(statement.condition).lower() if statement.condition else ""
            scoped = any(key in condition for key in SCOPING_KEYS)
            a.check(
                lid,
                scoped,
                f"{', '.join(map(str, services_allowed))} write scoped",
                f"{', '.join(map(str, services_allowed))} may "
                f"{', '.join(statement.actions)} without aws:SourceArn/aws:SourceAccount",
            )
    return a.outcome()


def _s3_origins(t: Template, distribution: Resource) -> list[tuple[dict[str, Any], str | None]]:
    origins = t.get(distribution, "DistributionConfig", "Origins")
    raw = t.raw(distribution, "DistributionConfig", "Origins")
    found: list[tuple[dict[str, Any], str | None]] = []
    for index, origin in enumerate(as_list(origins)):
        if not isinstance(origin, dict):
            continue
        raw_origin = as_list(raw)[index] if isinstance(raw, list) and index < len(raw) else {}
        buckets = t.typed_references(
            raw_origin.get("DomainName") if isinstance(raw_origin, dict) else None,
            "AWS::S3::Bucket",
        )
        if (
            origin.get("S3OriginConfig") is not None
            or buckets
            or ".s3." in str(origin.get("DomainName"))
        ):
            found.append((origin, buckets[0] if buckets else None))
    return found


@control(
    "S3-05",
    title="Static sites through CloudFront with origin access control",
    severity=Severity.CRITICAL,
    requirement="""Static sites served through CloudFront with origin access control; the bucket is
    never public.""",
    impact="""A public website bucket exposes every object and bypasses the CDN's TLS, WAF and
    logging; legacy origin access identities lack SSE-KMS and new-region support.""",
    fix="""Keep the bucket private (no WebsiteConfiguration), add an
    AWS::CloudFront::OriginAccessControl and grant cloudfront.amazonaws.com s3:GetObject
    conditioned on AWS:SourceArn of the distribution.""",
)
def s3_05(ctx: Context) -> Outcome:
    """Buckets with WebsiteConfiguration fail; each CloudFront S3 origin needs an
    OriginAccessControlId (no legacy OriginAccessIdentity), and its bucket must block public
    access and grant cloudfront.amazonaws.com with an AWS:SourceArn condition in its policy."""
    t = ctx.template
    websites = [b for b in t.of_type("AWS::S3::Bucket") if b.properties.get("WebsiteConfiguration")]
    distributions = t.of_type("AWS::CloudFront::Distribution")
    origins = [(d, o, b) for d in distributions for o, b in _s3_origins(t, d)]
    if not websites and not origins:
        return not_applicable("no static site (no website bucket, no CloudFront S3 origin)")
    a = Assessment()
    for bucket in websites:
        a.fail(
            bucket.logical_id, "WebsiteConfiguration: the website endpoint needs a public bucket"
        )
    policies = bucket_policies(t)
    for distribution, origin, bucket_id in origins:
        lid = distribution.logical_id
        oai = (
            (origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity")
            if isinstance(origin.get("S3OriginConfig"), dict)
            else None
        )
        if oai:
            a.fail(lid, "legacy origin access identity; use origin access control")
        a.check(
            lid,
            bool(origin.get("OriginAccessControlId")),
            "origin access control",
            f"S3 origin {origin.get('Id', '')} without OriginAccessControlId",
        )
        if bucket_id is None:
            a.unknown(lid, "origin bucket outside the template")
            continue
        resource = t.resources[bucket_id]
        missing = blocks_public_access(t, resource)
        a.check(
            bucket_id,
            not missing,
            "site bucket blocks public access",
            f"site bucket does not block public access ({', '.join(missing)})",
        )
        grants = [
            s
            for s in policies.get(bucket_id, [])
            if s.effect == "Allow"
            and "cloudfront.amazonaws.com" in t.text(s.principal)
            and "aws:sourcearn" in t.text(s.condition).lower()
        ]
        a.check(
            bucket_id,
            bool(grants),
            "CloudFront read scoped to the distribution",
            "no bucket-policy grant to cloudfront.amazonaws.com with AWS:SourceArn",
        )
    return a.outcome()


__all__ = ["blocks_public_access", "public_statements"]
