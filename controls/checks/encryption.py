"""ENC — encryption controls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from controls.analysis import (
    bucket_policies,
    databases,
    is_cmk_reference,
    key_of,
    normalized,
    parameter_group_values,
    policy_statements,
)
from controls.catalogue import Context, control
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import Unknown, as_bool, as_list
from controls.template import Resource, Template

# --------------------------------------------------------------------- key usage map

# (domain, resource type, path to the key reference)
_KEY_USES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("rds", "AWS::RDS::DBInstance", ("KmsKeyId",)),
    ("rds", "AWS::RDS::DBInstance", ("PerformanceInsightsKMSKeyId",)),
    ("rds", "AWS::RDS::DBCluster", ("KmsKeyId",)),
    ("rds", "AWS::RDS::DBCluster", ("PerformanceInsightsKmsKeyId",)),
    ("rds", "AWS::RDS::DBInstance", ("MasterUserSecret", "KmsKeyId")),
    ("rds", "AWS::RDS::DBCluster", ("MasterUserSecret", "KmsKeyId")),
    ("logs", "AWS::Logs::LogGroup", ("KmsKeyId",)),
    ("lambda", "AWS::Lambda::Function", ("KmsKeyArn",)),
    ("cloudtrail", "AWS::CloudTrail::Trail", ("KMSKeyId",)),
    ("sns", "AWS::SNS::Topic", ("KmsMasterKeyId",)),
    ("sqs", "AWS::SQS::Queue", ("KmsMasterKeyId",)),
    ("secrets", "AWS::SecretsManager::Secret", ("KmsKeyId",)),
    ("ebs", "AWS::EC2::Volume", ("KmsKeyId",)),
    ("dynamodb", "AWS::DynamoDB::Table", ("SSESpecification", "KMSMasterKeyId")),
    ("backup", "AWS::Backup::BackupVault", ("EncryptionKeyArn",)),
    ("efs", "AWS::EFS::FileSystem", ("KmsKeyId",)),
)
DOMAIN_TYPES: dict[str, tuple[str, ...]] = {
    "s3": ("AWS::S3::Bucket",),
    "ebs": ("AWS::EC2::Volume", "AWS::EC2::LaunchTemplate", "AWS::EC2::Instance"),
}
for _domain, _kind, _ in _KEY_USES:
    DOMAIN_TYPES[_domain] = tuple(dict.fromkeys((*DOMAIN_TYPES.get(_domain, ()), _kind)))
# key references a store may leave out (then it simply does not use a key for that)
_OPTIONAL_KEYS = {"PerformanceInsightsKMSKeyId", "PerformanceInsightsKmsKeyId", "MasterUserSecret"}


def _ebs_mappings(t: Template, resource: Resource) -> list[Any]:
    if resource.type == "AWS::EC2::LaunchTemplate":
        mappings = t.get(resource, "LaunchTemplateData", "BlockDeviceMappings")
    else:
        mappings = t.get(resource, "BlockDeviceMappings")
    return [m for m in as_list(mappings) if isinstance(m, dict) and isinstance(m.get("Ebs"), dict)]


def key_usage(t: Template) -> dict[str, list[tuple[str, str | None]]]:
    """Data domain → (resource, KMS key logical ID or None) for every store of the template."""
    usage: dict[str, list[tuple[str, str | None]]] = {}
    for domain, kind, path in _KEY_USES:
        for resource in t.of_type(kind):
            raw: Any = resource.properties
            for key in path:
                raw = raw.get(key) if isinstance(raw, dict) else None
            if raw is None and path[0] in _OPTIONAL_KEYS:
                continue
            usage.setdefault(domain, []).append(
                (resource.logical_id, key_of(t, raw) if raw is not None else None)
            )
    for bucket in t.of_type("AWS::S3::Bucket"):
        rules = t.raw(bucket, "BucketEncryption", "ServerSideEncryptionConfiguration")
        keys = [
            key_of(t, rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID"))
            for rule in as_list(rules)
            if isinstance(rule, dict)
        ]
        usage.setdefault("s3", []).append((bucket.logical_id, next((k for k in keys if k), None)))
    for resource in t.of_type("AWS::EC2::LaunchTemplate", "AWS::EC2::Instance"):
        for mapping in _ebs_mappings(t, resource):
            key = mapping["Ebs"].get("KmsKeyId")
            usage.setdefault("ebs", []).append((resource.logical_id, _key_from_resolved(t, key)))
    return usage


def _key_from_resolved(t: Template, value: Any) -> str | None:
    logical_id = getattr(value, "logical_id", None)
    if isinstance(logical_id, str):
        resource = t.resources.get(logical_id)
        if resource is not None and resource.type == "AWS::KMS::Alias":
            return t.target(resource.properties.get("TargetKeyId"))
        return logical_id
    return None


def database_secrets(t: Template) -> dict[str, str]:
    """Secret logical ID → the database (instance or cluster) whose credentials it holds: the
    target of a SecretTargetAttachment, or the secret the database's MasterUserPassword resolves
    (``{{resolve:secretsmanager:...}}``, directly or through an attachment)."""
    kinds = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster")
    dbs = {db.logical_id for db in t.of_type(*kinds)}
    owned: dict[str, str] = {}
    for attachment in t.of_type("AWS::SecretsManager::SecretTargetAttachment"):
        target = t.target(attachment.properties.get("TargetId"))
        secret = t.target(attachment.properties.get("SecretId"))
        if target in dbs and secret is not None:
            owned.setdefault(secret, target)
    for db in t.of_type(*kinds):
        raw = db.properties.get("MasterUserPassword")
        if raw is None or "{{resolve:secretsmanager:" not in t.text(raw):
            continue
        for secret in t.typed_references(
            raw, "AWS::SecretsManager::Secret", "AWS::SecretsManager::SecretTargetAttachment"
        ):
            resource = t.resources[secret]
            if resource.type == "AWS::SecretsManager::SecretTargetAttachment":
                secret = t.target(resource.properties.get("SecretId")) or secret
            owned.setdefault(secret, db.logical_id)
    return owned


def _separation_usage(
    t: Template,
    usage: dict[str, list[tuple[str, str | None]]],
    separate: tuple[str, ...],
    a: Assessment,
) -> dict[str, list[tuple[str, str | None]]]:
    """The key usage by data domain as ENC-01 separates it: a database's own credential secret
    belongs to rds, a function's dead-letter queue under its environment key to lambda, and
    CloudTrail log files to logs unless the stack separates cloudtrail."""
    owned = database_secrets(t)
    moves: dict[str, str] = {}  # resource → domain it moves to
    for secret, _ in usage.get("secrets", []):
        if secret in owned:
            moves[secret] = "rds"
            a.ok(secret, f"credential secret of {owned[secret]}, counted as rds")
    # A function's dead-letter queue under the function's own environment key holds that
    # function's failed events: the same data domain. Under any other key it stays sqs.
    environment_keys = dict(usage.get("lambda", []))
    dead_letter_queues = {
        queue: function.logical_id
        for function in t.of_type("AWS::Lambda::Function")
        for queue in t.references(function.properties.get("DeadLetterConfig"))
    }
    for queue, key in usage.get("sqs", []):
        function = dead_letter_queues.get(queue)
        if function is not None and key is not None and environment_keys.get(function) == key:
            moves[queue] = "lambda"
            a.ok(queue, f"dead-letter queue of {function} under its key, counted as lambda")
    if "cloudtrail" not in separate:
        for trail, _ in usage.get("cloudtrail", []):
            moves[trail] = "logs"
            a.ok(
                trail,
                "CloudTrail log files counted as logs (the stack does not separate cloudtrail)",
            )
    domains: dict[str, list[tuple[str, str | None]]] = {}
    for domain, entries in usage.items():
        for entry in entries:
            moved = moves.get(entry[0]) if domain in ("secrets", "cloudtrail", "sqs") else None
            domains.setdefault(moved or domain, []).append(entry)
    return domains


@control(
    "ENC-01",
    title="Customer-managed keys with rotation and aliases",
    severity=Severity.HIGH,
    requirement="""CMKs with rotation enabled and aliases; separate keys per data domain where a
    stack says so (e.g. S3 vs RDS vs logs vs Lambda vs CloudTrail vs SNS).""",
    impact="""Without customer-managed keys there is no control over who may decrypt, no
    separation of duties between data domains, and no crypto-shredding; unrotated keys widen the
    exposure of a leaked key.""",
    fix="""Create AWS::KMS::Key resources with EnableKeyRotation and an AWS::KMS::Alias each
    (CDK: `kms.Key(enable_key_rotation=True, alias=...)`), one per data domain where required.""",
)
def enc_01(ctx: Context) -> Outcome:
    """Every AWS::KMS::Key (symmetric) needs EnableKeyRotation true and an AWS::KMS::Alias whose
    TargetKeyId is that key; a template that stores data but declares no key fails. Where the
    stack requires separate keys (CorpEnterpriseAppStack: s3, rds, logs; FinSecureStack:
    lambda, cloudtrail), a key serving one of those domains must serve no other domain. Domains
    follow the store: a database's own credential secret (SecretTargetAttachment to it, or the
    secret its MasterUserPassword resolves; a MasterUserSecret key) is rds, not secrets; a
    function's dead-letter queue (DeadLetterConfig) under the function's own environment key is
    lambda, not sqs; CloudTrail log files are logs unless the stack separates cloudtrail itself."""
    t = ctx.template
    keys = t.of_type("AWS::KMS::Key")
    usage = key_usage(t)
    if not keys and not usage:
        return not_applicable("no KMS key and no data store in the template")
    a = Assessment()
    if not keys:
        a.fail(
            None,
            f"no customer-managed KMS key, although the template stores data "
            f"({', '.join(sorted(usage))})",
        )
    aliases: dict[str, list[str]] = {}
    for alias in t.of_type("AWS::KMS::Alias"):
        target = t.target(alias.properties.get("TargetKeyId"))
        if target:
            aliases.setdefault(target, []).append(alias.logical_id)
    for key in keys:
        spec = t.get(key, "KeySpec") or "SYMMETRIC_DEFAULT"
        if spec == "SYMMETRIC_DEFAULT":
            a.check(
                key.logical_id,
                as_bool(t.get(key, "EnableKeyRotation")) is True,
                "rotation enabled",
                "EnableKeyRotation is not true",
            )
        else:
            a.note(f"{key.logical_id}: {spec} keys cannot rotate automatically")
        a.check(
            key.logical_id,
            bool(aliases.get(key.logical_id)),
            f"alias {', '.join(aliases.get(key.logical_id, []))}",
            "no AWS::KMS::Alias",
        )
    separate = ctx.settings.separate_key_domains
    domains = _separation_usage(t, usage, separate, a) if separate else usage
    for domain in separate:
        entries = domains.get(domain, [])
        if not entries:
            continue
        mine = {key for _, key in entries if key}
        if not mine:
            a.fail(None, f"{domain}: no customer-managed key, so no separate {domain} key")
            continue
        for other, other_entries in domains.items():
            if other == domain:
                continue
            shared = mine & {key for _, key in other_entries if key}
            for key_id in sorted(shared):
                a.fail(key_id, f"key serves {domain} and {other}; {domain} needs its own key")
        a.ok(None, f"{domain} keys: {', '.join(sorted(mine))}")
    return a.outcome()


_USAGE_ACTIONS = re.compile(
    r"^kms:(encrypt\*?|decrypt\*?|reencrypt\*?|reencrypt(from|to)|generatedatakey.*|describekey|describe\*|"
    r"creategrant|listgrants|revokegrant|sign|verify|generatemac|verifymac|getpublickey|"
    r"generaterandom)$"
)
_CRYPTO_ACTIONS = re.compile(r"^kms:(encrypt|decrypt|reencrypt.*|generatedatakey.*)$")
_SCOPING_KEYS = (
    "kms:viaservice",
    "aws:sourcearn",
    "aws:sourceaccount",
    "kms:encryptioncontext",
    "kms:calleraccount",
    "aws:sourceorgid",
    "kms:grantisforawsresource",
)


@control(
    "ENC-02",
    title="Least-privilege key policies",
    severity=Severity.HIGH,
    requirement="""Key policies: no principal gets `kms:*` beyond a key-administration statement;
    key users get only usage actions; service principals are scoped with conditions
    (`kms:ViaService`, `aws:SourceArn`/`aws:SourceAccount`, encryption context).""",
    impact="""`kms:*` for the account root (CloudFormation's and CDK's default) lets any IAM policy
    in the account use and delete the key; unscoped service principals allow confused-deputy use
    from other accounts.""",
    fix="""Write the key policy: an administration statement listing admin actions, usage
    statements with only Encrypt/Decrypt/GenerateDataKey*/ReEncrypt*/DescribeKey, and service
    statements conditioned on kms:ViaService or aws:SourceArn/aws:SourceAccount.""",
)
def enc_02(ctx: Context) -> Outcome:
    """In each AWS::KMS::Key KeyPolicy, Allow statements must not grant `kms:*`/`*` or use
    NotAction (a missing KeyPolicy defaults to `kms:*` for the account root); a statement must not
    mix key administration (e.g. ScheduleKeyDeletion, PutKeyPolicy) with encrypt/decrypt; a
    statement for a Service principal must carry a condition on kms:ViaService,
    aws:SourceArn/SourceAccount, kms:EncryptionContext*, or kms:CallerAccount; `Principal: *`
    needs a condition."""
    t = ctx.template
    keys = t.of_type("AWS::KMS::Key")
    if not keys:
        return not_applicable("no AWS::KMS::Key in the template")
    a = Assessment()
    for key in keys:
        if key.properties.get("KeyPolicy") is None:
            a.fail(key.logical_id, "no KeyPolicy: the default grants kms:* to the account root")
            continue
        bad = False
        for statement in policy_statements(t, key, "KeyPolicy"):
            if statement.effect != "Allow":
                continue
            who = _principal_text(t, statement.principal)
            actions = [action.lower() for action in statement.actions]
            if statement.not_actions:
                a.fail(key.logical_id, f"Allow with NotAction for {who}")
                bad = True
                continue
            if "*" in actions or "kms:*" in actions:
                a.fail(key.logical_id, f"grants kms:* to {who}")
                bad = True
                continue
            crypto = [x for x in actions if _CRYPTO_ACTIONS.match(x)]
            admin = [x for x in actions if not _USAGE_ACTIONS.match(x)]
            if crypto and admin:
                a.fail(
                    key.logical_id,
                    f"statement for {who} mixes administration ({', '.join(admin[:3])}) with usage",
                )
                bad = True
            condition = t.text(statement.condition).lower() if statement.condition else ""
            resolved_principal = t.resolve(statement.principal)
            services = (
                as_list(resolved_principal.get("Service"))
                if isinstance(resolved_principal, dict)
                else []
            )
            if services and not any(k in condition for k in _SCOPING_KEYS):
                a.fail(
                    key.logical_id,
                    f"service principal {', '.join(map(str, services))} "
                    "without a scoping condition",
                )
                bad = True
            if resolved_principal in ("*", {"AWS": "*"}) and not condition:
                a.fail(key.logical_id, "grants to Principal * without a condition")
                bad = True
        if not bad:
            a.ok(key.logical_id, "key policy separates administration and scoped usage")
    return a.outcome()


def _principal_text(t: Template, principal: Any) -> str:
    text = t.text(principal).replace("\n", " ")
    return text if len(text) < 90 else text[:87] + "..."


# ----------------------------------------------------------------------- at rest

_SSE = {"AES256": "SSE-S3", "aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS"}


def _cmk(t: Template, resource: Resource, value: Any, what: str) -> tuple[bool | None, str]:
    state = is_cmk_reference(t, value)
    if state is None:
        return None, f"{what} key reference cannot be resolved"
    if state:
        return True, f"{what} encrypted with a customer-managed key"
    if value is not None and "alias/aws/" in t.text(value):
        return False, f"{what} uses an AWS-managed key ({t.text(value)}), not a CMK"
    return False, f"{what} not encrypted with a customer-managed key"


def _ebs_findings(t: Template, resource: Resource) -> Iterator[tuple[bool | None, str]]:
    mappings = _ebs_mappings(t, resource)
    if not mappings:
        yield False, "no BlockDeviceMappings: the root volume keeps the AMI's (unencrypted) default"
    for mapping in mappings:
        ebs = mapping["Ebs"]
        device = mapping.get("DeviceName", "volume")
        encrypted = as_bool(ebs.get("Encrypted")) is True
        yield encrypted, f"{device} encrypted" if encrypted else f"{device} not Encrypted"
        state = (
            is_cmk_reference(t, ebs.get("KmsKeyId"))
            if not isinstance(ebs.get("KmsKeyId"), Unknown)
            else None
        )
        yield state, f"{device} KmsKeyId " + ("is a CMK" if state else "missing (aws/ebs key)")
        gp3 = ebs.get("VolumeType") == "gp3"
        yield (
            gp3,
            f"{device} VolumeType {ebs.get('VolumeType') or 'default (gp2)'}"
            + ("" if gp3 else ", not gp3"),
        )


def encryption_findings(t: Template) -> Iterator[tuple[str, bool | None, str]]:
    """(logical ID, holds, message) for every data store's encryption at rest."""
    for bucket in t.of_type("AWS::S3::Bucket"):
        rules = t.get(bucket, "BucketEncryption", "ServerSideEncryptionConfiguration")
        algorithms = [
            r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
            for r in as_list(rules)
            if isinstance(r, dict)
        ]
        known = [_SSE[x] for x in algorithms if x in _SSE]
        yield (
            bucket.logical_id,
            bool(known),
            f"default encryption {known[0]}" if known else "no default encryption configured",
        )
    for db in databases(t):
        res = db.resource
        encrypted = as_bool(t.get(res, "StorageEncrypted")) is True
        yield (
            res.logical_id,
            encrypted,
            "storage encrypted" if encrypted else "StorageEncrypted is not true",
        )
        if encrypted:
            yield (res.logical_id, *_cmk(t, res, res.properties.get("KmsKeyId"), "storage"))
        for holder in (res, *db.members):
            if as_bool(t.get(holder, "EnablePerformanceInsights")) is True:
                prop = (
                    "PerformanceInsightsKMSKeyId"
                    if holder.type == "AWS::RDS::DBInstance"
                    else "PerformanceInsightsKmsKeyId"
                )
                yield (
                    holder.logical_id,
                    *_cmk(t, holder, holder.properties.get(prop), "Performance Insights"),
                )
    for volume in t.of_type("AWS::EC2::Volume"):
        yield volume.logical_id, as_bool(t.get(volume, "Encrypted")) is True, "volume Encrypted"
        yield (volume.logical_id, *_cmk(t, volume, volume.properties.get("KmsKeyId"), "volume"))
        gp3 = t.get(volume, "VolumeType") == "gp3"
        yield volume.logical_id, gp3, "gp3" if gp3 else "VolumeType is not gp3"
    for host in t.of_type("AWS::EC2::LaunchTemplate", "AWS::EC2::Instance"):
        if host.type == "AWS::EC2::Instance" and host.properties.get("LaunchTemplate"):
            continue
        for holds, message in _ebs_findings(t, host):
            yield host.logical_id, holds, message
    simple = (
        ("AWS::Logs::LogGroup", "KmsKeyId", "log group"),
        ("AWS::SNS::Topic", "KmsMasterKeyId", "topic"),
        ("AWS::SQS::Queue", "KmsMasterKeyId", "queue"),
        ("AWS::SecretsManager::Secret", "KmsKeyId", "secret"),
        ("AWS::CloudTrail::Trail", "KMSKeyId", "trail"),
        ("AWS::Backup::BackupVault", "EncryptionKeyArn", "backup vault"),
    )
    for kind, prop, what in simple:
        for resource in t.of_type(kind):
            yield (resource.logical_id, *_cmk(t, resource, resource.properties.get(prop), what))
    for table in t.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
        sse = t.get(table, "SSESpecification") or {}
        enabled = isinstance(sse, dict) and as_bool(sse.get("SSEEnabled")) is True
        yield (
            table.logical_id,
            enabled,
            "SSE enabled" if enabled else "SSESpecification.SSEEnabled is not true (AWS-owned key)",
        )
        if enabled:
            raw = t.raw(table, "SSESpecification", "KMSMasterKeyId")
            yield (table.logical_id, *_cmk(t, table, raw, "table"))
    for function in t.of_type("AWS::Lambda::Function"):
        variables = t.get(function, "Environment", "Variables")
        if isinstance(variables, dict) and variables:
            yield (
                function.logical_id,
                *_cmk(t, function, function.properties.get("KmsKeyArn"), "environment variables"),
            )
    for fs in t.of_type("AWS::EFS::FileSystem"):
        yield fs.logical_id, as_bool(t.get(fs, "Encrypted")) is True, "file system Encrypted"
        yield (fs.logical_id, *_cmk(t, fs, fs.properties.get("KmsKeyId"), "file system"))


@control(
    "ENC-03",
    title="Encryption at rest for every store",
    severity=Severity.CRITICAL,
    requirement="""Encryption at rest for every store: S3, RDS/Aurora, EBS (gp3 + CMK), log
    groups, SNS, SQS, secrets, DynamoDB, Lambda environment, CloudTrail, backup vault,
    Performance Insights.""",
    impact="""Unencrypted stores (or stores on AWS-managed keys) expose data to anyone with
    storage-level access and give no key-policy control or audit over decryption.""",
    fix="""Set the encryption property of each store to a customer-managed key (KmsKeyId /
    KmsMasterKeyId / KMSKeyId / EncryptionKeyArn / KmsKeyArn),
    and default encryption on buckets.""",
)
def enc_03(ctx: Context) -> Outcome:
    """Per store type: S3 buckets need default encryption (SSE-S3 or SSE-KMS; S3-01 decides where
    a CMK is required); RDS instances/clusters StorageEncrypted plus a CMK KmsKeyId (and a CMK for
    Performance Insights when enabled); EBS mappings and volumes Encrypted, a CMK and gp3; log
    groups, SNS topics, SQS queues, secrets, trails, backup vaults, Lambda functions with
    environment variables, DynamoDB tables (SSEEnabled) and EFS a customer-managed key
    (`alias/aws/...` is AWS-managed and fails)."""
    t = ctx.template
    a = Assessment()
    for logical_id, holds, message in encryption_findings(t):
        a.check(logical_id, holds, message, message)
    return a.outcome("no data store in the template")


_MODERN_TLS = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)")
_CLOUDFRONT_TLS = {"TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"}


def listeners_by_balancer(t: Template) -> dict[str, list[Resource]]:
    found: dict[str, list[Resource]] = {}
    for listener in t.of_type("AWS::ElasticLoadBalancingV2::Listener", include_disabled=True):
        balancer = t.target(listener.properties.get("LoadBalancerArn"))
        if balancer:
            found.setdefault(balancer, []).append(listener)
    return found


def is_https(t: Template, listener: Resource) -> bool:
    return t.get(listener, "Protocol") == "HTTPS" or bool(listener.properties.get("Certificates"))


def redirects_to_https(t: Template, listener: Resource) -> bool | Unknown:
    actions = t.get(listener, "DefaultActions")
    if isinstance(actions, Unknown):
        return actions
    for action in as_list(actions):
        if isinstance(action, dict) and action.get("Type") == "redirect":
            config = action.get("RedirectConfig") or {}
            if isinstance(config, dict) and config.get("Protocol") == "HTTPS":
                return True
    return False


def check_listeners(
    t: Template, a: Assessment, balancer: Resource, listeners: list[Resource]
) -> None:
    """TLS policy of HTTPS listeners and HTTP→HTTPS redirect while TLS is on (ENC-04, EDGE-01)."""
    https = [listener for listener in listeners if is_https(t, listener)]
    for listener in https:
        policy = t.get(listener, "SslPolicy")
        if policy is None:
            a.fail(
                listener.logical_id,
                "HTTPS listener without SslPolicy (default "
                "ELBSecurityPolicy-2016-08 accepts TLS 1.0)",
            )
        elif isinstance(policy, Unknown):
            a.unknown(listener.logical_id, f"SslPolicy undecidable ({policy.reason})")
        elif _MODERN_TLS.match(str(policy)):
            a.ok(listener.logical_id, f"HTTPS with {policy}")
        else:
            a.fail(listener.logical_id, f"SslPolicy {policy} allows TLS below 1.2")
    if not https:
        return
    conditions = {listener.condition for listener in https if listener.condition}
    view = t.with_conditions(dict.fromkeys(conditions, True)) if conditions else t
    when = f" (with {', '.join(sorted(conditions))} true)" if conditions else ""
    for listener in listeners:
        if listener in https:
            continue
        if view.get(listener, "Protocol") != "HTTP":
            continue
        state = redirects_to_https(view, listener)
        if isinstance(state, Unknown):
            a.unknown(listener.logical_id, f"HTTP default action undecidable ({state.reason})")
        else:
            a.check(
                listener.logical_id,
                state,
                f"HTTP redirects to HTTPS{when}",
                f"HTTP listener does not redirect to HTTPS{when}",
            )


@control(
    "ENC-04",
    title="Encryption in transit everywhere",
    severity=Severity.HIGH,
    requirement="""In transit: every bucket policy denies `aws:SecureTransport=false`; DB parameter
    groups force TLS; ALB HTTPS with a TLS 1.2+/1.3 policy and HTTP→HTTPS redirect when a
    certificate is present; CloudFront `redirect-to-https`/`https-only` with TLSv1.2_2021.""",
    impact="""Plain-text connections to buckets, databases or the load balancer expose credentials
    and data to anyone on the path; old TLS versions are downgradable.""",
    fix="""Add a bucket-policy Deny on aws:SecureTransport=false (CDK: `enforce_ssl=True`); set
    require_secure_transport=ON / rds.force_ssl=1; use ELBSecurityPolicy-TLS13-1-2-2021-06 and a
    redirecting HTTP listener; CloudFront redirect-to-https with TLSv1.2_2021.""",
)
def enc_04(ctx: Context) -> Outcome:
    """Each bucket needs a bucket-policy Deny for Principal * on s3:* with Bool
    aws:SecureTransport false; MySQL-family databases need require_secure_transport ON and
    PostgreSQL-family rds.force_ssl 1 in their (cluster) parameter group; HTTPS listeners need an
    SslPolicy of the TLS13-1-2/TLS13-1-3/TLS-1-2/FS-1-2 families, and HTTP listeners on the same
    ALB must redirect to HTTPS when the HTTPS listener's condition is true; CloudFront behaviours
    need redirect-to-https/https-only and a TLSv1.2_2021-or-newer minimum protocol (a viewer
    certificate under Fn::If is judged with its condition true, like a conditional listener)."""
    t = ctx.template
    a = Assessment()
    policies = bucket_policies(t)
    for bucket in t.of_type("AWS::S3::Bucket"):
        denies = any(_denies_insecure_transport(t, s) for s in policies.get(bucket.logical_id, []))
        a.check(
            bucket.logical_id,
            denies,
            "bucket policy denies aws:SecureTransport=false",
            "no bucket-policy Deny on aws:SecureTransport=false",
        )
    for db in databases(t):
        values = parameter_group_values(t, db)
        if db.family == "mysql":
            setting, wanted = "require_secure_transport", "1"
        elif db.family in {"postgres", "sqlserver"}:
            setting, wanted = "rds.force_ssl", "1"
        else:
            a.unknown(db.logical_id, f"engine {db.engine}: TLS enforcement not checked")
            continue
        value = values.get(setting)
        if isinstance(value, Unknown):
            a.unknown(db.logical_id, f"{setting} undecidable ({value.reason})")
        else:
            a.check(
                db.logical_id,
                value is not None and normalized(value) == wanted,
                f"parameter group sets {setting}={value}",
                f"parameter group does not set {setting}={'ON' if wanted == '1' else wanted}"
                + ("" if value is None else f" (it is {value})"),
            )
    listeners = listeners_by_balancer(t)
    for balancer in t.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        if t.get(balancer, "Type") not in (None, "application"):
            continue
        check_listeners(t, a, balancer, listeners.get(balancer.logical_id, []))
    for distribution in t.of_type("AWS::CloudFront::Distribution"):
        _check_distribution_tls(t, a, distribution)
    return a.outcome("no bucket, database, load balancer or distribution in the template")


def _denies_insecure_transport(t: Template, statement: Any) -> bool:
    if statement.effect != "Deny":
        return False
    principal = t.resolve(statement.principal)
    if principal not in ("*", {"AWS": "*"}):
        return False
    if not any(action in {"s3:*", "*"} for action in statement.actions):
        return False
    condition = t.resolve(statement.condition)
    if not isinstance(condition, dict):
        return False
    for operator in ("Bool", "BoolIfExists"):
        block = condition.get(operator)
        if isinstance(block, dict) and "aws:SecureTransport" in block:
            values = as_list(block["aws:SecureTransport"])
            return any(as_bool(value) is False for value in values)
    return False


def _check_distribution_tls(t: Template, a: Assessment, distribution: Resource) -> None:
    config = t.get(distribution, "DistributionConfig")
    if not isinstance(config, dict):
        a.unknown(distribution.logical_id, "DistributionConfig undecidable")
        return
    behaviours = [config.get("DefaultCacheBehavior"), *as_list(config.get("CacheBehaviors"))]
    for behaviour in behaviours:
        if not isinstance(behaviour, dict):
            continue
        policy = behaviour.get("ViewerProtocolPolicy")
        path = behaviour.get("PathPattern", "default behaviour")
        a.check(
            distribution.logical_id,
            policy in ("redirect-to-https", "https-only"),
            f"{path}: {policy}",
            f"{path}: ViewerProtocolPolicy {policy}",
        )
    certificate = config.get("ViewerCertificate") or {}
    # As for the ALB: a certificate that exists only under a condition (no domain given yet) is
    # judged with that condition true; the default branch cannot hold any other policy.
    raw = distribution.properties.get("DistributionConfig")
    raw_certificate = raw.get("ViewerCertificate") if isinstance(raw, dict) else None
    if isinstance(raw_certificate, dict) and set(raw_certificate) == {"Fn::If"}:
        condition = raw_certificate["Fn::If"][0]
        view = t.with_conditions({str(condition): True})
        branch = view.resolve(raw_certificate)
        if isinstance(branch, dict) and not as_bool(branch.get("CloudFrontDefaultCertificate")):
            certificate = branch
            a.note(
                f"{distribution.logical_id}: viewer certificate judged with {condition} true; "
                "without it CloudFront serves its default certificate (TLSv1 policy, fixed)"
            )
    minimum = certificate.get("MinimumProtocolVersion") if isinstance(certificate, dict) else None
    if isinstance(certificate, dict) and as_bool(certificate.get("CloudFrontDefaultCertificate")):
        a.fail(
            distribution.logical_id,
            "default CloudFront certificate: the minimum protocol cannot be raised above TLSv1",
        )
    elif isinstance(minimum, str) and minimum in _CLOUDFRONT_TLS:
        a.ok(distribution.logical_id, f"minimum protocol {minimum}")
    else:
        a.fail(
            distribution.logical_id,
            f"MinimumProtocolVersion {minimum or 'not set'}, not TLSv1.2_2021 or newer",
        )
