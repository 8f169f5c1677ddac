"""IAM — identity and access controls."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from controls.analysis import (
    Statement,
    compute_role_sources,
    databases,
    identity_statements,
    policy_statements,
    role_policies,
    role_users,
    trusted_services,
)
from controls.catalogue import Context, control
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import as_bool, as_int, as_list
from controls.template import Resource, Template

# Actions that only work on Resource "*" (no resource-level permissions).
RESOURCELESS_ACTIONS = frozenset(
    a.lower()
    for a in (
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricData",
        "cloudwatch:GetMetricStatistics",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
        "sts:GetCallerIdentity",
        "iam:GetAccountPasswordPolicy",
        "iam:UpdateAccountPasswordPolicy",
        "iam:DeleteAccountPasswordPolicy",
        "iam:GetAccountSummary",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "config:PutEvaluations",
        "tag:GetResources",
        "s3:ListAllMyBuckets",
        # CloudWatch Logs vended-log delivery (Step Functions, WAF, ...): no resource types.
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:PutResourcePolicy",
    )
)
# Services whose resources a template declares: "*" for them is a wildcard over a known resource.
SERVICE_TYPES = {
    "s3": "AWS::S3::",
    "secretsmanager": "AWS::SecretsManager::",
    "kms": "AWS::KMS::",
    "dynamodb": "AWS::DynamoDB::",
    "sns": "AWS::SNS::",
    "sqs": "AWS::SQS::",
    "logs": "AWS::Logs::",
    "lambda": "AWS::Lambda::",
    "rds": "AWS::RDS::",
    "states": "AWS::StepFunctions::",
    "elasticloadbalancing": "AWS::ElasticLoadBalancingV2::",
    "autoscaling": "AWS::AutoScaling::",
    "codedeploy": "AWS::CodeDeploy::",
    "ssm": "AWS::SSM::",
    "backup": "AWS::Backup::",
    "cloudtrail": "AWS::CloudTrail::",
}
_WILDCARD_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:(?:[A-Za-z-]+[:/])?\*$")


def is_wildcard_resource(text: str) -> bool:
    return text == "*" or bool(_WILDCARD_ARN.match(text))


def acknowledgment(t: Template, logical_id: str, *needles: str) -> str | None:
    """The reason of an acknowledgment naming all ``needles`` (cloud assembly or Metadata)."""
    rules: dict[str, str] = {}
    if t.assembly is not None:
        rules.update(t.assembly.acknowledgments.get(logical_id, {}))
    resource = t.resources.get(logical_id)
    metadata = resource.attribute("Metadata") if resource else None
    if isinstance(metadata, dict):
        for tool in ("cdk_nag", "cfn_nag", "guard", "checkov"):
            block = metadata.get(tool)
            entries = block.get("rules_to_suppress") if isinstance(block, dict) else None
            for entry in as_list(entries):
                if isinstance(entry, dict) and entry.get("reason"):
                    rules[str(entry.get("id"))] = str(entry["reason"])
    for rule, reason in rules.items():
        if all(needle.lower() in rule.lower() for needle in needles) and reason.strip():
            return reason
    return None


@control(
    "IAM-01",
    title="Least-privilege IAM policies",
    severity=Severity.CRITICAL,
    requirement="""Least privilege: no `Action: "*"`; no wildcard resource where the resource is
    known; every AWS-managed policy use is acknowledged with a reason.""",
    impact="""Wildcard actions or resources turn one compromised role into access to every
    resource of a service (or the account); unreviewed AWS-managed policies change under you.""",
    fix="""List the actions each role needs and scope them to the template's resources (CDK:
    `grant_*` methods); acknowledge each AWS-managed policy with a reason (cdk-nag IAM4).""",
    limits="""Which actions lack resource-level permissions comes from a built-in list (List*,
    Describe* and known resource-less actions); acknowledgments are visible only in a CDK cloud
    assembly (<stack>.metadata.json) or in resource Metadata (cdk_nag/cfn_nag
    rules_to_suppress).""",
)
def iam_01(ctx: Context) -> Outcome:
    """Identity-policy Allow statements must not use `*` or `service:*` actions or NotAction;
    Resource `*` (or an ARN whose resource part is `*`) fails for actions of a service whose
    resources the template declares, except List*/Describe* and known resource-less actions.
    Each AWS-managed policy attached to a role needs an acknowledgment with a reason (cdk-nag
    IAM4 in the cloud assembly or resource Metadata); without one visible it cannot be decided."""
    t = ctx.template
    statements = identity_statements(t)
    roles = t.of_type("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
    if not statements and not roles:
        return not_applicable("no IAM role, user, group or policy in the template")
    a = Assessment()
    declared = {r.type.split("::")[1].lower() for r in t.resources.values()}
    flagged: set[str] = set()
    for statement in statements:
        if statement.effect != "Allow":
            continue
        owner = statement.owner
        if statement.not_actions:
            a.fail(owner, f"Allow with NotAction {', '.join(statement.not_actions[:3])}")
            flagged.add(owner)
        broad = [x for x in statement.actions if x == "*" or x.endswith(":*")]
        if broad:
            a.fail(owner, f"wildcard action {', '.join(broad)}")
            flagged.add(owner)
        wild = [t.text(r) for r in statement.resources if is_wildcard_resource(t.text(r))]
        if not wild:
            continue
        scoped = [x for x in statement.actions if _needs_scope(x, declared)]
        if scoped:
            a.fail(
                owner,
                f"{', '.join(scoped[:4])} on {wild[0]} although the template "
                "declares those resources",
            )
            flagged.add(owner)
    for owner in sorted({s.owner for s in statements} - flagged):
        a.ok(owner, "actions and resources scoped")
    for role in t.of_type("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
        for arn in as_list(role.properties.get("ManagedPolicyArns")):
            text = t.text(arn)
            if ":iam::aws:policy/" not in text:
                continue
            name = text.rsplit("/", 1)[-1]
            reason = acknowledgment(t, role.logical_id, "IAM4", name)
            if reason:
                a.ok(role.logical_id, f"AWS-managed {name} acknowledged: {reason}")
            elif t.assembly is not None:
                a.fail(role.logical_id, f"AWS-managed policy {name} is not acknowledged")
            else:
                a.unknown(
                    role.logical_id,
                    f"AWS-managed policy {name}: acknowledgment not "
                    "visible outside a CDK cloud assembly",
                )
    return a.outcome()


def _needs_scope(action: str, declared: set[str]) -> bool:
    service, _, name = action.lower().partition(":")
    if action.lower() in RESOURCELESS_ACTIONS or name.startswith(("list", "describe")):
        return False
    prefix = SERVICE_TYPES.get(service)
    return prefix is not None and prefix.split("::")[1].lower() in declared


_MFA_ACTIONS = re.compile(r"^iam:.*mfa.*$|^iam:\*$", re.I)


@control(
    "IAM-02",
    title="MFA enforcement policy attached to a group",
    severity=Severity.HIGH,
    requirement="""MFA enforcement managed policy (deny all but MFA self-service when
    `aws:MultiFactorAuthPresent` is false), attached to a group.""",
    impact="""Users without MFA can use stolen passwords against the console and APIs; PCI DSS 8
    and SOX controls require multi-factor authentication.""",
    fix="""Add an AWS::IAM::ManagedPolicy with a Deny on NotAction (the iam:*MFA* self-service
    actions, sts:GetSessionToken) when aws:MultiFactorAuthPresent is false, and attach it to a
    group all human users join.""",
)
def iam_02(ctx: Context) -> Outcome:
    """Requires an AWS::IAM::ManagedPolicy with a Deny statement conditioned on
    aws:MultiFactorAuthPresent false (Bool or BoolIfExists) whose NotAction keeps the iam:*MFA*
    self-service actions, attached to an AWS::IAM::Group (its Groups, or the group's
    ManagedPolicyArns)."""
    t = ctx.template
    a = Assessment()
    groups_attaching: dict[str, list[str]] = {}
    for group in t.of_type("AWS::IAM::Group"):
        for policy_id in t.references(group.properties.get("ManagedPolicyArns")):
            groups_attaching.setdefault(policy_id, []).append(group.logical_id)
    found = False
    for policy in t.of_type("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for statement in policy_statements(t, policy, "PolicyDocument"):
            if statement.effect != "Deny" or not _mfa_condition(t, statement):
                continue
            found = True
            if policy.type != "AWS::IAM::ManagedPolicy":
                a.fail(
                    policy.logical_id,
                    "MFA deny is an inline AWS::IAM::Policy, not a managed policy",
                )
                continue
            if not any(_MFA_ACTIONS.match(x) for x in statement.not_actions):
                a.fail(
                    policy.logical_id,
                    "the MFA deny does not exempt MFA self-service "
                    "(NotAction with iam:*MFA* actions)",
                )
            groups = t.targets(policy.properties.get("Groups")) + groups_attaching.get(
                policy.logical_id, []
            )
            a.check(
                policy.logical_id,
                bool(groups),
                f"attached to group {', '.join(groups)}",
                "MFA policy is not attached to any AWS::IAM::Group",
            )
    if not found:
        a.fail(None, "no policy denies access when aws:MultiFactorAuthPresent is false")
    return a.outcome()


def _mfa_condition(t: Template, statement: Statement) -> bool:
    condition = t.resolve(statement.condition)
    if not isinstance(condition, dict):
        return False
    for operator in ("Bool", "BoolIfExists"):
        block = condition.get(operator)
        if isinstance(block, dict) and "aws:MultiFactorAuthPresent" in block:
            return any(as_bool(v) is False for v in as_list(block["aws:MultiFactorAuthPresent"]))
    return False


PASSWORD_RULES: dict[str, tuple[str, Any]] = {
    "MinimumPasswordLength": ("min", 14),
    "RequireSymbols": ("true", True),
    "RequireNumbers": ("true", True),
    "RequireUppercaseCharacters": ("true", True),
    "RequireLowercaseCharacters": ("true", True),
    "PasswordReusePrevention": ("min", 24),
    "MaxPasswordAge": ("range", (1, 90)),
}


def _custom_resources(t: Template) -> list[Resource]:
    return [
        r
        for r in t.resources.values()
        if r.type.startswith("Custom::") or r.type == "AWS::CloudFormation::CustomResource"
    ]


@control(
    "IAM-03",
    title="Account password policy via custom resource",
    severity=Severity.HIGH,
    requirement="""Account password policy (≥14 chars, all character classes, reuse prevention,
    max age) via a custom resource (CloudFormation has no native type).""",
    impact="""The default account password policy allows short, reused, never-expiring passwords
    for IAM users.""",
    fix="""Add a custom resource (CDK: AwsCustomResource calling IAM updateAccountPasswordPolicy)
    with MinimumPasswordLength ≥ 14, all Require* true, PasswordReusePrevention 24, MaxPasswordAge
    ≤ 90, and a role allowed iam:UpdateAccountPasswordPolicy.""",
    limits="""The values are read from the custom resource's properties or the inline function
    code; values computed at deploy time cannot be checked.""",
)
def iam_03(ctx: Context) -> Outcome:
    """Requires a custom resource and an IAM policy allowing iam:UpdateAccountPasswordPolicy; the
    settings are read from custom-resource properties (including AwsCustomResource JSON) or inline
    function code: MinimumPasswordLength ≥ 14, RequireSymbols/Numbers/Uppercase/Lowercase true,
    PasswordReusePrevention ≥ 24, MaxPasswordAge 1 to 90."""
    t = ctx.template
    a = Assessment()
    custom = _custom_resources(t)
    allowed = any(
        s.effect == "Allow"
        and any(fnmatch.fnmatch("iam:updateaccountpasswordpolicy", x.lower()) for x in s.actions)
        for s in identity_statements(t)
    )
    if not custom or not allowed:
        a.fail(
            None,
            "no custom resource with iam:UpdateAccountPasswordPolicy permission sets "
            "the account password policy",
        )
        return a.outcome()
    texts = [t.text(r.properties) for r in custom] + [
        t.text(f.properties.get("Code")) for f in t.of_type("AWS::Lambda::Function")
    ]
    blob = "\n".join(texts)
    owner = next(
        (r.logical_id for r in custom if "PasswordLength" in t.text(r.properties)),
        custom[0].logical_id,
    )
    for setting, (kind, wanted) in PASSWORD_RULES.items():
        match = re.search(rf"{setting}\W{{1,6}}(\w+)", blob)
        if match is None:
            a.unknown(owner, f"{setting} not found in the custom resource or function code")
            continue
        raw = match.group(1)
        if kind == "true":
            a.check(owner, raw.lower() == "true", f"{setting} true", f"{setting} is {raw}")
            continue
        number = as_int(raw)
        if kind == "min":
            a.check(
                owner,
                number is not None and number >= wanted,
                f"{setting} {raw}",
                f"{setting} {raw} (need ≥ {wanted})",
            )
        else:
            low, high = wanted
            a.check(
                owner,
                number is not None and low <= number <= high,
                f"{setting} {raw}",
                f"{setting} {raw} (need {low}-{high})",
            )
    return a.outcome()


ACCESS_RULES = (
    "ACCESS_KEYS_ROTATED",
    "IAM_USER_MFA_ENABLED",
    "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
    "ROOT_ACCOUNT_MFA_ENABLED",
)


@control(
    "IAM-04",
    title="Config rules for key rotation and MFA",
    severity=Severity.MEDIUM,
    requirement="""Access keys rotated and MFA present, enforced by AWS Config rules
    (access-keys-rotated, iam-user-mfa-enabled, mfa-enabled-for-iam-console-access,
    root-account-mfa-enabled).""",
    impact="""Stale access keys and users without MFA go unnoticed until they are abused.""",
    fix="""Add AWS::Config::ConfigRule resources with Source Owner AWS and SourceIdentifier
    ACCESS_KEYS_ROTATED (maxAccessKeyAge 90), IAM_USER_MFA_ENABLED,
    MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS and ROOT_ACCOUNT_MFA_ENABLED.""",
)
def iam_04(ctx: Context) -> Outcome:
    """Requires AWS::Config::ConfigRule resources whose Source (Owner AWS) SourceIdentifier
    covers ACCESS_KEYS_ROTATED, IAM_USER_MFA_ENABLED, MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS and
    ROOT_ACCOUNT_MFA_ENABLED."""
    t = ctx.template
    a = Assessment()
    present = managed_config_rules(t)
    for rule in ACCESS_RULES:
        owner = present.get(rule)
        a.check(owner, owner is not None, f"Config rule {rule}", f"no AWS Config rule {rule}")
    return a.outcome()


def managed_config_rules(t: Template) -> dict[str, str]:
    """AWS managed Config rule identifier → logical ID."""
    found: dict[str, str] = {}
    for rule in t.of_type("AWS::Config::ConfigRule"):
        if t.get(rule, "Source", "Owner") == "AWS":
            identifier = t.get(rule, "Source", "SourceIdentifier")
            if isinstance(identifier, str):
                found.setdefault(identifier, rule.logical_id)
    return found


_CONCERNS = {
    "logs": "logs",
    "secretsmanager": "secrets",
    "ssm": "ssm",
    "ssmmessages": "ssm",
    "ec2messages": "ssm",
    "cloudwatch": "metrics",
}


@control(
    "IAM-05",
    title="Own role per compute resource, policies per concern, scoped secrets",
    severity=Severity.HIGH,
    requirement="""Every compute resource has its own role/instance profile; separate policies per
    concern (logs, secrets, SSM, metrics); `secretsmanager:GetSecretValue` scoped to the stack's
    secrets.""",
    impact="""Shared roles give every workload the union of all permissions; one catch-all policy
    is hard to review; unscoped GetSecretValue lets a compromised host read every secret in the
    account.""",
    fix="""Give each launch template/instance/function its own role; split instance permissions
    into one policy per concern; grant GetSecretValue only on the stack's secret ARNs (CDK:
    `secret.grant_read(role)`).""",
    limits=""""One policy per concern" is approximated by service prefix (logs, secretsmanager,
    ssm/ssmmessages/ec2messages, cloudwatch) within one policy document of an instance role.""",
)
def iam_05(ctx: Context) -> Outcome:
    """Launch templates, instances, launch configurations and Lambda functions each need a role
    of their own (EC2 through an instance profile; an instance without one through its launch
    template's, and the two count as one resource) not shared with another compute resource; a
    single policy document of an EC2 instance role must not mix concerns (logs, secrets, SSM,
    metrics); secretsmanager:GetSecretValue (or secretsmanager:*) may only target secrets of the
    template, never `*` or a wildcard ARN."""
    t = ctx.template
    sources = compute_role_sources(t)
    if not sources:
        return not_applicable("no launch template, instance or function in the template")
    roles = {compute: list(source.roles) for compute, source in sources.items()}
    a = Assessment()
    for compute, source in sources.items():
        if source.unknown and not source.roles:
            a.unknown(compute, source.unknown)
        elif not source.roles:
            a.fail(compute, "no IAM role (instance profile)")
    for role, computes in role_users(t).items():
        a.check(
            role,
            len(computes) == 1,
            f"role of {computes[0]} only",
            f"role shared by {', '.join(computes)}",
        )
    ec2_roles = {
        role
        for compute, rs in roles.items()
        if t.resources[compute].type != "AWS::Lambda::Function"
        for role in rs
    }
    for role in sorted(ec2_roles):
        by_document: dict[str, set[str]] = {}
        for statement in role_policies(t, role):
            for action in statement.actions:
                concern = _CONCERNS.get(action.split(":", 1)[0].lower())
                if concern:
                    by_document.setdefault(statement.owner, set()).add(concern)
        mixed = {doc: c for doc, c in by_document.items() if len(c) > 1}
        for document, concerns in mixed.items():
            a.fail(document, f"one policy of role {role} mixes {', '.join(sorted(concerns))}")
        if not mixed:
            a.ok(role, "one policy per concern")
    secrets = {
        r.logical_id
        for r in t.of_type(
            "AWS::SecretsManager::Secret", "AWS::SecretsManager::SecretTargetAttachment"
        )
    }
    for statement in identity_statements(t):
        if statement.effect != "Allow":
            continue
        if not any(
            fnmatch.fnmatch("secretsmanager:getsecretvalue", x.lower()) for x in statement.actions
        ):
            continue
        for resource in statement.resources:
            text = t.text(resource)
            if t.references(resource) & secrets:
                a.ok(statement.owner, "GetSecretValue scoped to the stack's secret")
            elif is_wildcard_resource(text) or "*" in text.rsplit(":", 1)[-1].rstrip("-*?"):
                a.fail(statement.owner, f"GetSecretValue on {text}")
            else:
                a.ok(statement.owner, f"GetSecretValue on {text}")
    return a.outcome()


SERVICE_ROLES = {
    "rds-monitoring": "monitoring.rds.amazonaws.com",
    "flow-logs": "vpc-flow-logs.amazonaws.com",
    "config": "config.amazonaws.com",
    "backup": "backup.amazonaws.com",
    "cloudtrail": "cloudtrail.amazonaws.com",
}


@control(
    "IAM-06",
    title="Service roles for monitoring, flow logs, Config, Backup, CloudTrail",
    severity=Severity.MEDIUM,
    requirement="""Service roles: RDS enhanced monitoring, flow logs, Config, Backup,
    CloudTrail→Logs.""",
    impact="""Without their service roles these services silently do not deliver (no enhanced
    monitoring, no flow logs in CloudWatch, no Config history, failed backups, no trail in
    CloudWatch Logs).""",
    fix="""Create one role per service trusted by that service principal and reference it
    (MonitoringRoleArn, DeliverLogsPermissionArn, RoleARN, IamRoleArn, CloudWatchLogsRoleArn).""",
)
def iam_06(ctx: Context) -> Outcome:
    """For each service present: RDS instances/clusters need MonitoringRoleArn trusted by
    monitoring.rds.amazonaws.com; CloudWatch flow logs a DeliverLogsPermissionArn trusted by
    vpc-flow-logs; the Config recorder a RoleARN trusted by config.amazonaws.com (or the Config
    service-linked role); backup selections an IamRoleArn trusted by backup.amazonaws.com;
    trails delivering to CloudWatch Logs a CloudWatchLogsRoleArn trusted by cloudtrail."""
    t = ctx.template
    a = Assessment()

    def expect(owner: Resource, value: Any, service: str, what: str) -> None:
        role = t.target(value)
        if value is None:
            a.fail(owner.logical_id, f"no {what} role")
        elif role is None:
            text = t.text(value)
            a.check(
                owner.logical_id,
                "aws-service-role" in text or None,
                f"{what} uses {text}",
                f"{what} role {text} is outside the template",
            )
        else:
            a.check(
                owner.logical_id,
                SERVICE_ROLES[service] in trusted_services(t, role),
                f"{what} role {role}",
                f"{what} role {role} is not trusted by {SERVICE_ROLES[service]}",
            )

    for db in databases(t):
        for holder in (db.resource, *db.members):
            if holder.type == "AWS::RDS::DBCluster" and db.members:
                continue
            expect(
                holder,
                holder.properties.get("MonitoringRoleArn"),
                "rds-monitoring",
                "enhanced monitoring",
            )
    for flow in t.of_type("AWS::EC2::FlowLog"):
        if (t.get(flow, "LogDestinationType") or "cloud-watch-logs") == "cloud-watch-logs":
            expect(flow, flow.properties.get("DeliverLogsPermissionArn"), "flow-logs", "flow log")
    for recorder in t.of_type("AWS::Config::ConfigurationRecorder"):
        expect(recorder, recorder.properties.get("RoleARN"), "config", "Config recorder")
    for selection in t.of_type("AWS::Backup::BackupSelection"):
        expect(
            selection,
            t.raw(selection, "BackupSelection", "IamRoleArn"),
            "backup",
            "backup selection",
        )
    for trail in t.of_type("AWS::CloudTrail::Trail"):
        if trail.properties.get("CloudWatchLogsLogGroupArn") is not None:
            expect(
                trail,
                trail.properties.get("CloudWatchLogsRoleArn"),
                "cloudtrail",
                "CloudTrail to CloudWatch Logs",
            )
    return a.outcome("no RDS, flow log, Config recorder, backup selection or trail in the template")


__all__ = ["ACCESS_RULES", "acknowledgment", "is_wildcard_resource", "managed_config_rules"]
