"""GOV — governance controls."""

from __future__ import annotations

import re
from typing import Any

from controls.analysis import databases, rds_export_logs
from controls.catalogue import Context, control
from controls.checks.database import SECRET_NAME
from controls.model import Assessment, Item, Outcome, Severity, Status, not_applicable
from controls.resolve import Unknown, as_bool, intrinsic
from controls.template import Resource, Template

# Resource type → how it carries tags: "list" (Key/Value list), "map", or a property name.
TAGGABLE: dict[str, tuple[str, str]] = {
    kind: ("Tags", "list")
    for kind in (
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::RouteTable",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::NetworkAcl",
        "AWS::EC2::VPCEndpoint",
        "AWS::EC2::FlowLog",
        "AWS::EC2::Instance",
        "AWS::EC2::Volume",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBSubnetGroup",
        "AWS::RDS::DBParameterGroup",
        "AWS::RDS::DBClusterParameterGroup",
        "AWS::RDS::OptionGroup",
        "AWS::SecretsManager::Secret",
        "AWS::Lambda::Function",
        "AWS::IAM::Role",
        "AWS::IAM::User",
        "AWS::Logs::LogGroup",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::CloudTrail::Trail",
        "AWS::WAFv2::WebACL",
        "AWS::CloudFront::Distribution",
        "AWS::CertificateManager::Certificate",
        "AWS::StepFunctions::StateMachine",
        "AWS::CodeDeploy::Application",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::XRay::SamplingRule",
        "AWS::KinesisFirehose::DeliveryStream",
        "AWS::AutoScaling::AutoScalingGroup",
    )
}
TAGGABLE.update(
    {
        "AWS::SSM::Parameter": ("Tags", "map"),
        "AWS::Backup::BackupVault": ("BackupVaultTags", "map"),
        "AWS::Route53::HostedZone": ("HostedZoneTags", "list"),
        "AWS::Route53::HealthCheck": ("HealthCheckTags", "list"),
        "AWS::EC2::LaunchTemplate": ("TagSpecifications", "specs"),
        "AWS::EFS::FileSystem": ("FileSystemTags", "list"),
        "AWS::CE::AnomalyMonitor": ("ResourceTags", "list"),
    }
)
REQUIRED_TAGS: tuple[tuple[str, ...], ...] = (
    ("Environment",),
    ("Project", "Application"),
    ("Owner",),
    ("CostCenter",),
    ("ManagedBy",),
)


def tags_of(t: Template, resource: Resource) -> dict[str, str] | Unknown | None:
    """The resource's tags (``None`` when the type is not in the taggable list)."""
    spec = TAGGABLE.get(resource.type)
    if spec is None:
        return None
    prop, form = spec
    value = t.get(resource, prop)
    if isinstance(value, Unknown):
        return value
    tags: dict[str, str] = {}
    if form == "map" and isinstance(value, dict):
        tags = {str(k): t.text(v) for k, v in value.items()}
    elif form == "specs":
        for item in value if isinstance(value, list) else []:
            if isinstance(item, dict):
                tags.update(_pairs(t, item.get("Tags")))
    else:
        tags = _pairs(t, value)
    return tags


def _pairs(t: Template, value: Any) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and isinstance(item.get("Key"), str):
            pairs[item["Key"]] = t.text(item.get("Value"))
    return pairs


@control(
    "GOV-01",
    title="Required tags on every taggable resource",
    severity=Severity.LOW,
    requirement="""Tags on every taggable resource: Environment, Project/Application, Owner,
    CostCenter, ManagedBy, plus compliance tags where a stack needs them.""",
    impact="""Untagged resources cannot be attributed to an owner or cost centre, break
    tag-based access control and backup selections, and fail compliance scoping.""",
    fix="""Apply the tags at the app or stack level (CDK: `Tags.of(scope).add(...)`), plus
    Compliance tags (PCI-DSS, SOX) for FinSecureStack.""",
    limits="""Taggability comes from a built-in list of resource types; types outside it are not
    checked.""",
)
def gov_01(ctx: Context) -> Outcome:
    """Each resource of a known taggable type must carry Environment, Project or Application,
    Owner, CostCenter and ManagedBy tags (launch templates through TagSpecifications); where the
    stack needs compliance tags (FinSecureStack) each term (PCI-DSS, SOX) must appear in a tag key
    or value."""
    t = ctx.template
    a = Assessment()
    for resource in t.resources.values():
        tags = tags_of(t, resource)
        if tags is None:
            continue
        lid = resource.logical_id
        if isinstance(tags, Unknown):
            a.unknown(lid, f"tags undecidable ({tags.reason})")
            continue
        missing = ["/".join(keys) for keys in REQUIRED_TAGS if not any(k in tags for k in keys)]
        blob = " ".join(f"{k} {v}" for k, v in tags.items()).upper()
        missing += [
            f"compliance {term}"
            for term in ctx.settings.compliance_terms
            if term.upper() not in blob
        ]
        a.check(lid, not missing, "required tags present", f"missing tags: {', '.join(missing)}")
    return a.outcome("no taggable resource")


# Properties that give a resource a fixed physical name (replacement then fails).
PHYSICAL_NAMES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
    "AWS::EC2::SecurityGroup": "GroupName",
    "AWS::EC2::LaunchTemplate": "LaunchTemplateName",
    "AWS::AutoScaling::AutoScalingGroup": "AutoScalingGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::KMS::Key": "KeyName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudTrail::Trail": "TrailName",
    "AWS::WAFv2::WebACL": "Name",
}
NAME_TAGGED = (
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::RouteTable",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::NetworkAcl",
    "AWS::EC2::Instance",
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::VPCEndpoint",
)


def _name_exempt(t: Template, resource: Resource, value: Any) -> bool:
    """Names a service dictates (/aws/lambda/<fn>, aws-waf-logs-*) are not a choice."""
    if resource.type != "AWS::Logs::LogGroup":
        return False
    return t.text(value).startswith(("/aws/", "aws-waf-logs-"))


def _dictated_identifier(t: Template, resource: Resource, prop: str, value: Any) -> Item | None:
    """A DB identifier RDS's log exports dictate: pass when export log groups are named from it,
    unknown when groups might be, ``None`` (an ordinary fixed name) otherwise.

    RDS writes exported logs to /aws/rds/<instance|cluster>/<identifier>/<log>; creating those
    groups up front (CMK, retention) needs the identifier before the database exists. A group
    named through a Ref to the database needs no fixed identifier, so it does not count.
    """
    database = next((d for d in databases(t) if d.resource is resource), None)
    if database is None:
        return None
    exports = rds_export_logs(t, database)
    named = [e for e in exports if e.by_identifier]
    shown = t.text(value)
    kind = "cluster" if database.is_cluster else "instance"
    if named:
        logs = ", ".join(e.log for e in named)
        groups = ", ".join(dict.fromkeys(g for e in named for g in e.by_identifier))
        message = (
            f"{prop} {shown} is service-dictated: RDS writes the {logs} "
            f"export{'s' if len(named) > 1 else ''} to /aws/rds/{kind}/<identifier>/<log>, "
            f"pre-created as {groups}"
        )
        if as_bool(t.get(resource, "DeletionProtection")) is True:
            message += (
                f"; DeletionProtection is on: CloudFormation cannot replace the {kind} anyway"
            )
        return Item(Status.PASS, resource.logical_id, message)
    maybe = [e for e in exports if e.maybe]
    if maybe:
        candidates = "; ".join(
            f"{', '.join(e.maybe)} might be its {e.log} export log group" for e in maybe
        )
        return Item(
            Status.UNKNOWN,
            resource.logical_id,
            f"cannot decide whether {prop} {shown} is service-dictated: {candidates} "
            "(names built from different expressions)",
        )
    return None


@control(
    "GOV-02",
    title="Naming convention through Name tags; no fixed physical names",
    severity=Severity.LOW,
    requirement="""Naming convention per stack, through Name tags and names that never block
    replacement.""",
    impact="""Fixed physical names make every replacing update fail ("already exists") and collide
    between stacks; without Name tags resources are unrecognisable in the console.""",
    fix="""Drop explicit physical names (let CloudFormation generate them) and carry the
    convention in Name tags (CorpEnterpriseAppStack: corp-<resource-type>-enterpriseapp;
    EnterpriseWebAppStack: webapp-<component>). A database identifier is fine where its exported
    logs need pre-created /aws/rds/... log groups: make it unique per stack (derive it from
    AWS::StackId) and name the groups from the same expression.""",
    limits="""A fixed DBInstanceIdentifier/DBClusterIdentifier passes as service-dictated when
    export log groups are named from it; such a database still cannot be replaced under the same
    identifier (a replacing change needs a new one; with DeletionProtection CloudFormation refuses
    the replacement anyway). Whether the identifier is unique per stack is not checked.""",
)
def gov_02(ctx: Context) -> Outcome:
    """Explicit physical-name properties (BucketName, RoleName, FunctionName,
    DBInstanceIdentifier, TopicName, ...) fail because replacement then collides. Service-dictated
    names pass: log-group names under /aws/ or aws-waf-logs-, and a DBInstanceIdentifier or
    DBClusterIdentifier from which the template names the export log groups
    (/aws/rds/<instance|cluster>/<identifier>/<exported log>, compared part by part as in LOG-03;
    a group named through a Ref to the database does not count, a name that might match is cannot
    decide), with a note when DeletionProtection is on. EC2 network and compute resources need a
    Name tag; where the stack has a convention, every Name tag must match it (parameter defaults
    resolved)."""
    t = ctx.template
    if not t.resources:
        return not_applicable("no resources")
    a = Assessment()
    record = {Status.PASS: a.ok, Status.FAIL: a.fail, Status.UNKNOWN: a.unknown}
    pattern = re.compile(ctx.settings.name_pattern) if ctx.settings.name_pattern else None
    fixed = 0
    for resource in t.resources.values():
        prop = PHYSICAL_NAMES.get(resource.type)
        value = resource.properties.get(prop) if prop else None
        if prop and value is not None and not _name_exempt(t, resource, value):
            dictated = _dictated_identifier(t, resource, prop, value)
            if dictated is None:
                a.fail(resource.logical_id, f"fixed {prop} {t.text(value)} blocks replacement")
            else:
                record[dictated.status](dictated.logical_id, dictated.message)
            if dictated is None or dictated.status is not Status.PASS:
                fixed += 1
        tags = tags_of(t, resource) if resource.type in TAGGABLE else None
        name = tags.get("Name") if isinstance(tags, dict) else None
        if resource.type in NAME_TAGGED:
            a.check(resource.logical_id, name is not None, f"Name tag {name}", "no Name tag")
        if pattern is not None and name is not None:
            if "${" in name:
                a.unknown(resource.logical_id, f"Name tag {name} not fully resolvable")
            else:
                a.check(
                    resource.logical_id,
                    bool(pattern.fullmatch(name)),
                    f"Name {name} follows the convention",
                    f"Name {name} does not match {pattern.pattern}",
                )
    if not fixed:
        a.ok(None, "no fixed physical names")
    return a.outcome()


def _exempt_parameter(name: str, definition: dict[str, Any]) -> bool:
    kind = str(definition.get("Type", "String"))
    default = str(definition.get("Default", ""))
    return name == "BootstrapVersion" or (
        kind.startswith("AWS::SSM::Parameter::Value<")
        and default.startswith(("/aws/service/", "/cdk-bootstrap/"))
    )


@control(
    "GOV-03",
    title="Validated, grouped parameters; no secret parameters",
    severity=Severity.MEDIUM,
    requirement="""Parameters validated (AllowedValues / AllowedPattern / Min / Max /
    ConstraintDescription), grouped and labelled in `AWS::CloudFormation::Interface`, NoEcho for
    sensitive values, no secret parameters.""",
    impact="""Unvalidated parameters let a typo deploy a broken or insecure stack; ungrouped
    parameters confuse operators; secret parameters leak through the console and API.""",
    fix="""Give each String parameter AllowedValues or AllowedPattern + ConstraintDescription and
    each Number MinValue/MaxValue; list every parameter in ParameterGroups and ParameterLabels;
    move secrets to Secrets Manager.""",
)
def gov_03(ctx: Context) -> Outcome:
    """Each parameter (CDK's BootstrapVersion and SSM public-parameter AMIs excepted): String needs
    AllowedValues or AllowedPattern with a ConstraintDescription, Number needs MinValue and
    MaxValue (or AllowedValues), AWS-specific types are validated by CloudFormation; every
    parameter must appear in the AWS::CloudFormation::Interface ParameterGroups and
    ParameterLabels; parameters named like secrets fail."""
    t = ctx.template
    parameters = {n: d for n, d in t.parameters.items() if not _exempt_parameter(n, d)}
    if not parameters:
        return not_applicable("no (user-facing) parameters")
    a = Assessment()
    interface = t.metadata.get("AWS::CloudFormation::Interface")
    interface = interface if isinstance(interface, dict) else {}
    grouped = {
        str(p)
        for g in interface.get("ParameterGroups") or []
        if isinstance(g, dict)
        for p in g.get("Parameters") or []
    }
    labelled = (
        set((interface.get("ParameterLabels") or {}).keys())
        if isinstance(interface.get("ParameterLabels"), dict)
        else set()
    )
    for name, definition in parameters.items():
        kind = str(definition.get("Type", "String"))
        if SECRET_NAME.search(name):
            a.fail(
                name,
                "secret parameter: use Secrets Manager"
                if not as_bool(definition.get("NoEcho"))
                else "secret parameter (NoEcho): use Secrets Manager",
            )
        if kind == "String":
            pattern = "AllowedPattern" in definition
            a.check(
                name,
                "AllowedValues" in definition or pattern,
                "validated",
                "String without AllowedValues/AllowedPattern",
            )
            if pattern:
                a.check(
                    name,
                    "ConstraintDescription" in definition,
                    "constraint described",
                    "AllowedPattern without ConstraintDescription",
                )
        elif kind == "Number":
            a.check(
                name,
                ("MinValue" in definition and "MaxValue" in definition)
                or "AllowedValues" in definition,
                "bounded",
                "Number without MinValue/MaxValue",
            )
        a.check(
            name,
            name in grouped,
            "grouped",
            "not in a ParameterGroup of AWS::CloudFormation::Interface",
        )
        a.check(name, name in labelled, "labelled", "no ParameterLabel")
    return a.outcome()


TOPICS = {
    "certificate": re.compile(r"cert|domain|acm|tls|https|hostedzone", re.I),
    "key pair": re.compile(r"key.?pair|keyname", re.I),
    "monitoring": re.compile(r"monitor|alarm|alert|dashboard|notification|email", re.I),
    "environment": re.compile(r"env|stage|prod", re.I),
}


def _used_conditions(t: Template) -> set[str]:
    used: set[str] = set()

    def walk(value: Any) -> None:
        function = intrinsic(value)
        if (
            function is not None
            and function[0] == "Fn::If"
            and isinstance(function[1], list)
            and function[1]
        ):
            used.add(str(function[1][0]))
        if isinstance(value, dict):
            if "Condition" in value and isinstance(value["Condition"], str):
                used.add(value["Condition"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(t.data.get("Resources"))
    walk(t.data.get("Outputs"))
    walk(t.data.get("Conditions"))
    return used


def _key_name_unconditional(t: Template) -> list[str]:
    found: list[str] = []
    for resource in t.of_type("AWS::EC2::Instance", "AWS::EC2::LaunchTemplate"):
        raw = (
            t.raw(resource, "LaunchTemplateData", "KeyName")
            if resource.type == "AWS::EC2::LaunchTemplate"
            else resource.properties.get("KeyName")
        )
        if raw is None:
            continue
        function = intrinsic(raw)
        if not (function and function[0] == "Fn::If") and resource.condition is None:
            found.append(resource.logical_id)
    return found


@control(
    "GOV-04",
    title="Conditions for optional features",
    severity=Severity.LOW,
    requirement="""Conditions for optional features (certificate/domain, key pair, monitoring,
    environment).""",
    impact="""Without conditions an optional input (certificate, key pair, alert email) becomes
    mandatory or breaks the deployment when left empty.""",
    fix="""Declare conditions on the optional parameters (e.g. HasCertificate, HasKeyPair,
    EnableMonitoring, IsProduction) and use them with Condition / Fn::If; remove unused ones.""",
)
def gov_04(ctx: Context) -> Outcome:
    """Declared conditions must all be used; with a load balancer or certificate some condition
    must depend on a certificate/domain parameter; KeyName must be behind Fn::If or a resource
    Condition; topics the stack requires (EnterpriseWebAppStack: monitoring, key pair) need a
    condition on a matching parameter."""
    t = ctx.template
    topics: list[str] = list(ctx.settings.required_condition_topics)
    if t.has("AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::CertificateManager::Certificate"):
        topics.insert(0, "certificate")
    keyless = _key_name_unconditional(t)
    if not topics and not t.conditions and not keyless:
        return not_applicable("no optional feature (load balancer, key pair) and no condition")
    a = Assessment()
    used = _used_conditions(t)
    for name in t.conditions:
        a.check(name, name in used, "used", "declared but never used")
    parameters_by_condition = {
        name: t.resolver.parameters_used(expression) for name, expression in t.conditions.items()
    }
    for topic in dict.fromkeys(topics):
        matching = [
            c
            for c, params in parameters_by_condition.items()
            if any(TOPICS[topic].search(p) for p in params) or TOPICS[topic].search(c)
        ]
        a.check(
            matching[0] if matching else None,
            bool(matching),
            f"{topic} condition",
            f"no condition for the optional {topic}",
        )
    for logical_id in keyless:
        a.fail(logical_id, "KeyName is always set: make the key pair optional with a condition")
    return a.outcome()


EXPORT_NAME = re.compile(r"^\$\{AWS::StackName\}-[A-Za-z0-9-]+$")
KEY_TYPES = (
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::RDS::DBCluster",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::EC2::LaunchTemplate",
    "AWS::KMS::Key",
    "AWS::SNS::Topic",
    "AWS::S3::Bucket",
    "AWS::WAFv2::WebACL",
    "AWS::CloudTrail::Trail",
    "AWS::CloudFront::Distribution",
    "AWS::Route53::HostedZone",
    "AWS::DynamoDB::Table",
    "AWS::StepFunctions::StateMachine",
    "AWS::Backup::BackupVault",
)


@control(
    "GOV-05",
    title="Exported outputs for every key identifier",
    severity=Severity.LOW,
    requirement="""Outputs for every key identifier, exported as `${AWS::StackName}-<Name>`.""",
    impact="""Without exported outputs operators and other stacks hard-code IDs, and the stack
    cannot be composed or inspected reliably.""",
    fix="""Add an Output with Export Name `!Sub ${AWS::StackName}-<Name>` for each VPC, subnet,
    load balancer, database, fleet, key, topic, bucket and the other key resources.""",
)
def gov_05(ctx: Context) -> Outcome:
    """Every Output needs Export.Name rendering as `${AWS::StackName}-<Name>` (Sub or Join with
    Ref AWS::StackName); each key resource (VPC, subnets, ALB, databases, ASG, launch template,
    KMS key, topic, bucket, web ACL, trail, distribution, hosted zone, table, state machine,
    vault) must be referenced by an output; outputs the stack names (TapStack) must exist."""
    t = ctx.template
    keys = [r for r in t.of_type(*KEY_TYPES)]
    keys += [
        d for d in t.of_type("AWS::RDS::DBInstance") if not d.properties.get("DBClusterIdentifier")
    ]
    if not t.outputs and not keys:
        return not_applicable("no outputs and no key resource")
    a = Assessment()
    referenced: set[str] = set()
    for name, output in t.outputs.items():
        referenced |= t.references(output.get("Value"))
        export = output.get("Export")
        export_name = t.text(export.get("Name")) if isinstance(export, dict) else None
        a.check(
            name,
            export_name is not None and bool(EXPORT_NAME.match(export_name)),
            f"exported as {export_name}",
            f"export name {export_name or '(none)'} is not ${{AWS::StackName}}-<Name>",
        )
    for resource in keys:
        a.check(
            resource.logical_id,
            resource.logical_id in referenced,
            "has an output",
            "no output exposes it",
        )
    for name in ctx.settings.required_outputs:
        a.check(name, name in t.outputs, "required output present", "required output missing")
    return a.outcome()


@control(
    "GOV-06",
    title="Budgets and cost-anomaly detection",
    severity=Severity.LOW,
    requirement="""Budgets and cost-anomaly detection.""",
    impact="""Runaway spend (scaling loops, forgotten resources, abuse) is discovered on the
    invoice.""",
    fix="""Add an AWS::Budgets::Budget with notifications, an AWS::CE::AnomalyMonitor and an
    AWS::CE::AnomalySubscription that references it.""",
)
def gov_06(ctx: Context) -> Outcome:
    """Requires an AWS::Budgets::Budget with NotificationsWithSubscribers, an
    AWS::CE::AnomalyMonitor and an AWS::CE::AnomalySubscription referencing that monitor."""
    t = ctx.template
    a = Assessment()
    budgets = t.of_type("AWS::Budgets::Budget")
    if not budgets:
        a.fail(None, "no AWS::Budgets::Budget")
    for budget in budgets:
        a.check(
            budget.logical_id,
            bool(budget.properties.get("NotificationsWithSubscribers")),
            "budget notifies",
            "budget without NotificationsWithSubscribers",
        )
    monitors = {m.logical_id for m in t.of_type("AWS::CE::AnomalyMonitor")}
    if not monitors:
        a.fail(None, "no AWS::CE::AnomalyMonitor")
    subscriptions = [
        s
        for s in t.of_type("AWS::CE::AnomalySubscription")
        if t.references(s.properties.get("MonitorArnList")) & monitors
    ]
    a.check(
        subscriptions[0].logical_id if subscriptions else None,
        bool(subscriptions),
        "anomaly subscription",
        "no AWS::CE::AnomalySubscription on the monitor",
    )
    return a.outcome()


__all__ = ["REQUIRED_TAGS", "TAGGABLE", "tags_of"]
