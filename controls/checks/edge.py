"""EDGE — load balancing, TLS, DNS and WAF controls."""

from __future__ import annotations

from typing import Any

from controls.catalogue import Context, control
from controls.checks.audit_logging import _attribute
from controls.checks.encryption import check_listeners, is_https, listeners_by_balancer
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import Unknown, as_bool, as_int, as_list, intrinsic
from controls.template import Resource, Template


def application_balancers(t: Template) -> list[Resource]:
    return [
        b
        for b in t.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
        if t.get(b, "Type") in (None, "application")
    ]


def _no_alb() -> Outcome:
    return not_applicable("no application load balancer")


@control(
    "EDGE-01",
    title="Hardened application load balancer",
    severity=Severity.HIGH,
    requirement="""ALB: HTTPS listener with a modern TLS policy, HTTP→HTTPS redirect when TLS is on,
    drop invalid header fields, deletion protection (production), access logs.""",
    impact="""HTTP-only or weak-TLS listeners expose traffic; accepting invalid headers enables
    request smuggling; an unprotected ALB can be deleted by a stack change; no access logs, no
    request forensics.""",
    fix="""Add an HTTPS listener (conditional on the certificate) with
    ELBSecurityPolicy-TLS13-1-2-2021-06, make HTTP redirect to HTTPS when it is on, and set
    routing.http.drop_invalid_header_fields.enabled, deletion_protection.enabled and
    access_logs.s3.enabled to true.""",
)
def edge_01(ctx: Context) -> Outcome:
    """Each application load balancer needs an HTTPS listener (a conditional one counts) with a
    TLS 1.2+ policy, HTTP listeners that redirect to HTTPS when that listener's condition is
    true, and the attributes routing.http.drop_invalid_header_fields.enabled,
    deletion_protection.enabled and access_logs.s3.enabled set to true."""
    t = ctx.template
    balancers = application_balancers(t)
    if not balancers:
        return _no_alb()
    a = Assessment()
    listeners = listeners_by_balancer(t)
    for balancer in balancers:
        lid = balancer.logical_id
        mine = listeners.get(lid, [])
        if not any(is_https(t, listener) for listener in mine):
            a.fail(lid, "no HTTPS listener (not even a conditional one)")
        check_listeners(t, a, balancer, mine)
        for key, label in (
            ("routing.http.drop_invalid_header_fields.enabled", "drops invalid header fields"),
            ("deletion_protection.enabled", "deletion protection"),
            ("access_logs.s3.enabled", "access logs"),
        ):
            value = _attribute(t, balancer, key)
            if isinstance(value, Unknown):
                a.unknown(lid, f"{key} undecidable ({value.reason})")
            else:
                a.check(lid, as_bool(value) is True, label, f"{key} is not true")
    return a.outcome()


@control(
    "EDGE-02",
    title="Conditional ACM certificate with DNS validation",
    severity=Severity.MEDIUM,
    requirement="""ACM certificate (DNS validation) created or imported only when a real domain/ARN
    is given (CloudFormation condition); without it the stack still deploys.""",
    impact="""An unconditional certificate or HTTPS listener makes the stack fail (or hang in
    validation) wherever no domain is available; email validation blocks on a human.""",
    fix="""Guard AWS::CertificateManager::Certificate (ValidationMethod DNS) and the HTTPS
    listener with a condition such as HasDomain (Fn::Not Fn::Equals [DomainName, '']), false by
    default.""",
    limits="""Whether a domain or certificate ARN is "real" cannot be known; the check requires the
    certificate and HTTPS listener to be conditional and the condition to be false under the
    parameter defaults.""",
)
def edge_02(ctx: Context) -> Outcome:
    """Each AWS::CertificateManager::Certificate needs ValidationMethod DNS and a Condition that
    is false under parameter defaults; each HTTPS listener (or ListenerCertificate) must be
    conditional (resource Condition or Fn::If on Certificates); an ALB with no certificate
    support at all fails."""
    t = ctx.template
    balancers = application_balancers(t)
    certificates = t.of_type("AWS::CertificateManager::Certificate", include_disabled=True)
    if not balancers and not certificates:
        return not_applicable("no load balancer and no certificate")
    a = Assessment()
    for certificate in certificates:
        lid = certificate.logical_id
        method = t.get(certificate, "ValidationMethod")
        a.check(
            lid,
            method == "DNS",
            "DNS validation",
            f"ValidationMethod {method or 'EMAIL (default)'}",
        )
        _conditional(t, a, certificate, "certificate")
    https = [
        listener
        for group in listeners_by_balancer(t).values()
        for listener in group
        if is_https(t, listener)
    ]
    for listener in https:
        if listener.condition:
            _conditional(t, a, listener, "HTTPS listener")
        elif _has_if(listener.properties.get("Certificates")):
            a.ok(listener.logical_id, "certificate chosen with Fn::If")
        else:
            a.fail(
                listener.logical_id,
                "HTTPS listener is unconditional: the stack needs a certificate to deploy",
            )
    if balancers and not certificates and not https:
        a.fail(None, "no certificate or HTTPS listener, not even conditional")
    return a.outcome()


def _has_if(value: Any) -> bool:
    function = intrinsic(value)
    if function is not None:
        return function[0] == "Fn::If"
    if isinstance(value, list):
        return any(_has_if(item) for item in value)
    if isinstance(value, dict):
        return any(_has_if(item) for item in value.values())
    return False


def _conditional(t: Template, a: Assessment, resource: Resource, what: str) -> None:
    if resource.condition is None:
        a.fail(resource.logical_id, f"{what} is always created (no Condition)")
        return
    state = t.condition(resource.condition)
    if isinstance(state, Unknown):
        a.unknown(resource.logical_id, f"{what} condition undecidable ({state.reason})")
    else:
        a.check(
            resource.logical_id,
            state is False,
            f"{what} only when {resource.condition} (off by default)",
            f"{what} condition {resource.condition} is true by default: the default "
            "deployment needs a real domain",
        )


REQUIRED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


def _statements(statement: Any) -> list[dict[str, Any]]:
    """A rule statement and the statements nested in And/Or/Not/RateBased scope-downs."""
    if not isinstance(statement, dict):
        return []
    found = [statement]
    for key in ("AndStatement", "OrStatement"):
        nested = statement.get(key)
        if isinstance(nested, dict):
            for item in as_list(nested.get("Statements")):
                found += _statements(item)
    for key in ("NotStatement",):
        nested = statement.get(key)
        if isinstance(nested, dict):
            found += _statements(nested.get("Statement"))
    return found


@control(
    "EDGE-03",
    title="WAF web ACL with managed rule groups and rate limiting",
    severity=Severity.HIGH,
    requirement="""WAFv2 web ACL on the ALB: AWS managed Common, KnownBadInputs, SQLi,
    AmazonIpReputation rule groups and a rate-based rule; metrics on.""",
    impact="""Without a web ACL the application receives SQL injection, known exploit payloads,
    traffic from known-bad IPs and request floods unfiltered.""",
    fix="""Associate an AWS::WAFv2::WebACL (REGIONAL) with each internet-facing ALB, with the four
    AWS managed rule groups, a RateBasedStatement rule and CloudWatch metrics enabled.""",
)
def edge_03(ctx: Context) -> Outcome:
    """Each internet-facing ALB needs an AWS::WAFv2::WebACLAssociation to a web ACL whose rules
    include the AWS managed groups Common, KnownBadInputs, SQLi and AmazonIpReputationList and a
    RateBasedStatement, with VisibilityConfig.CloudWatchMetricsEnabled on the ACL and every
    rule."""
    t = ctx.template
    balancers = [
        b for b in application_balancers(t) if t.get(b, "Scheme") in (None, "internet-facing")
    ]
    if not balancers:
        return not_applicable("no internet-facing application load balancer")
    a = Assessment()
    associations = t.of_type("AWS::WAFv2::WebACLAssociation")
    for balancer in balancers:
        acls = [
            t.target(x.properties.get("WebACLArn"))
            for x in associations
            if t.target(x.properties.get("ResourceArn")) == balancer.logical_id
        ]
        acl = t.resource(next((x for x in acls if x), None))
        if acl is None:
            a.fail(balancer.logical_id, "no web ACL associated")
            continue
        a.ok(balancer.logical_id, f"protected by {acl.logical_id}")
        _check_acl(t, a, acl)
    return a.outcome()


def _check_acl(t: Template, a: Assessment, acl: Resource) -> None:
    lid = acl.logical_id
    rules = [r for r in as_list(t.get(acl, "Rules")) if isinstance(r, dict)]
    groups: set[str] = set()
    rate_based = False
    for rule in rules:
        for statement in _statements(rule.get("Statement")):
            managed = statement.get("ManagedRuleGroupStatement")
            if isinstance(managed, dict) and managed.get("VendorName") == "AWS":
                groups.add(str(managed.get("Name")))
            if isinstance(statement.get("RateBasedStatement"), dict):
                rate_based = True
        metrics = (rule.get("VisibilityConfig") or {}).get("CloudWatchMetricsEnabled")
        a.check(
            lid,
            as_bool(metrics) is True,
            f"rule {rule.get('Name')} metrics on",
            f"rule {rule.get('Name')} without CloudWatch metrics",
        )
    for name in REQUIRED_RULE_GROUPS:
        a.check(lid, name in groups, f"{name}", f"missing managed rule group {name}")
    a.check(lid, rate_based, "rate-based rule", "no rate-based rule")
    metrics = t.get(acl, "VisibilityConfig", "CloudWatchMetricsEnabled")
    a.check(
        lid, as_bool(metrics) is True, "web ACL metrics on", "web ACL without CloudWatch metrics"
    )


_HEALTH_PROPERTIES = (
    "HealthCheckPath",
    "HealthCheckProtocol",
    "HealthCheckIntervalSeconds",
    "HealthCheckTimeoutSeconds",
    "HealthyThresholdCount",
    "UnhealthyThresholdCount",
    "Matcher",
)


def _target_group_attribute(t: Template, group: Resource, key: str) -> Any:
    for attribute in as_list(t.get(group, "TargetGroupAttributes")):
        if isinstance(attribute, dict) and attribute.get("Key") == key:
            return attribute.get("Value")
    return None


@control(
    "EDGE-04",
    title="Explicit target-group health checks and deregistration delay",
    severity=Severity.MEDIUM,
    requirement="""Target groups: explicit health check path/protocol/interval/timeout/thresholds/
    matcher, deregistration delay set.""",
    impact="""Default health checks (`/` every 30 s, 5 healthy checks) keep broken targets in
    service or evict healthy ones; the default 300 s deregistration slows every deployment.""",
    fix="""Set every HealthCheck* property, Matcher.HttpCode and the
    deregistration_delay.timeout_seconds attribute (PayFlowStack: /health/deep, 30 s, 30 s).""",
)
def edge_04(ctx: Context) -> Outcome:
    """Each instance/IP target group must set HealthCheckPath, HealthCheckProtocol,
    HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds, HealthyThresholdCount,
    UnhealthyThresholdCount, Matcher and the deregistration_delay.timeout_seconds attribute;
    where the stack fixes them (PayFlowStack) the path, interval and delay must match and the
    health-check protocol must equal the target protocol."""
    t = ctx.template
    groups = [
        g
        for g in t.of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
        if t.get(g, "TargetType") != "lambda"
    ]
    if not groups:
        return not_applicable("no instance or IP target group")
    a = Assessment()
    settings = ctx.settings
    for group in groups:
        lid = group.logical_id
        missing = [p for p in _HEALTH_PROPERTIES if group.properties.get(p) is None]
        a.check(
            lid,
            not missing,
            "explicit health check",
            f"health check defaults for {', '.join(missing)}",
        )
        delay = _target_group_attribute(t, group, "deregistration_delay.timeout_seconds")
        a.check(
            lid,
            delay is not None,
            f"deregistration delay {delay}s",
            "deregistration delay not set (300 s default)",
        )
        if settings.health_check_path is not None:
            path = t.get(group, "HealthCheckPath")
            a.check(
                lid,
                path == settings.health_check_path,
                f"path {path}",
                f"health check path {path}, not {settings.health_check_path}",
            )
        if settings.health_check_interval is not None:
            interval = as_int(t.get(group, "HealthCheckIntervalSeconds"))
            a.check(
                lid,
                interval == settings.health_check_interval,
                f"every {interval}s",
                f"interval {interval}, not {settings.health_check_interval}s",
            )
        if settings.deregistration_delay is not None:
            a.check(
                lid,
                as_int(delay) == settings.deregistration_delay,
                f"delay {delay}s",
                f"deregistration delay {delay}, not {settings.deregistration_delay}s",
            )
            protocol, health = t.get(group, "Protocol"), t.get(group, "HealthCheckProtocol")
            a.check(
                lid,
                health == protocol,
                f"health check over {protocol}",
                f"health check over {health}, targets speak {protocol}",
            )
    return a.outcome()


def path_patterns(t: Template, rule: Resource) -> list[str]:
    found: list[str] = []
    for condition in as_list(t.get(rule, "Conditions")):
        if not isinstance(condition, dict) or condition.get("Field") != "path-pattern":
            continue
        found += [str(v) for v in as_list(condition.get("Values"))]
        config = condition.get("PathPatternConfig")
        if isinstance(config, dict):
            found += [str(v) for v in as_list(config.get("Values"))]
    return found


@control(
    "EDGE-05",
    title="Path-based listener rules",
    severity=Severity.LOW,
    requirement="""Path-based listener rules.""",
    impact="""Without path rules every request reaches one target group: APIs and webhooks cannot
    be scaled, deployed or protected separately.""",
    fix="""Add AWS::ElasticLoadBalancingV2::ListenerRule resources with path-pattern conditions
    (PayFlowStack: /api/* and /webhooks/*).""",
)
def edge_05(ctx: Context) -> Outcome:
    """Each application load balancer needs AWS::ElasticLoadBalancingV2::ListenerRule resources
    with path-pattern conditions; where the stack names paths (PayFlowStack: /api/*,
    /webhooks/*) each must appear."""
    t = ctx.template
    if not application_balancers(t):
        return _no_alb()
    a = Assessment()
    patterns: dict[str, list[str]] = {}
    for rule in t.of_type("AWS::ElasticLoadBalancingV2::ListenerRule", include_disabled=True):
        found = path_patterns(t, rule)
        if found:
            patterns[rule.logical_id] = found
            a.ok(rule.logical_id, f"path rule {', '.join(found)}")
    if not patterns:
        a.fail(None, "no listener rule with a path-pattern condition")
    every = {p for found in patterns.values() for p in found}
    for wanted in ctx.settings.required_path_patterns:
        a.check(None, wanted in every, f"routes {wanted}", f"no listener rule for {wanted}")
    return a.outcome()


@control(
    "EDGE-06",
    title="Route 53 zone, weighted records, HTTPS health checks with alarms",
    severity=Severity.MEDIUM,
    requirement="""Route 53: hosted zone (conditional), weighted records, HTTPS health checks with
    alarms.""",
    impact="""Without weighted, health-checked records traffic cannot be shifted or failed over at
    the DNS level, and an unhealthy endpoint keeps receiving users unnoticed.""",
    fix="""Declare a conditional AWS::Route53::HostedZone, weighted record sets (SetIdentifier,
    Weight, HealthCheckId), HTTPS health checks on a custom path, and CloudWatch alarms on
    AWS/Route53 HealthCheckStatus.""",
)
def edge_06(ctx: Context) -> Outcome:
    """Requires an AWS::Route53::HostedZone with a Condition; ≥ 2 weighted records
    (RecordSet/RecordSetGroup with Weight and SetIdentifier), each with a HealthCheckId;
    AWS::Route53::HealthCheck of Type HTTPS/HTTPS_STR_MATCH with a ResourcePath other than `/`;
    a CloudWatch alarm on HealthCheckStatus for each health check."""
    t = ctx.template
    a = Assessment()
    zones = t.of_type("AWS::Route53::HostedZone", include_disabled=True)
    if not zones:
        a.fail(None, "no AWS::Route53::HostedZone")
    for zone in zones:
        a.check(
            zone.logical_id,
            zone.condition is not None,
            f"conditional on {zone.condition}",
            "hosted zone is unconditional",
        )
    records: list[tuple[str, dict[str, Any]]] = []
    for record in t.of_type("AWS::Route53::RecordSet", include_disabled=True):
        records.append((record.logical_id, dict(record.properties)))
    for group in t.of_type("AWS::Route53::RecordSetGroup", include_disabled=True):
        for item in as_list(group.properties.get("RecordSets")):
            if isinstance(item, dict):
                records.append((group.logical_id, item))
    weighted = [(lid, r) for lid, r in records if r.get("Weight") is not None]
    a.check(
        None,
        len(weighted) >= 2,
        f"{len(weighted)} weighted records",
        f"{len(weighted)} weighted record(s); need ≥ 2",
    )
    for lid, entry in weighted:
        a.check(
            lid,
            entry.get("SetIdentifier") is not None and entry.get("HealthCheckId") is not None,
            f"weighted record {t.text(entry.get('SetIdentifier'))} health-checked",
            "weighted record without SetIdentifier/HealthCheckId",
        )
    checks = t.of_type("AWS::Route53::HealthCheck", include_disabled=True)
    if not checks:
        a.fail(None, "no AWS::Route53::HealthCheck")
    alarmed = {
        ref
        for alarm in t.of_type("AWS::CloudWatch::Alarm", include_disabled=True)
        if t.get(alarm, "MetricName") == "HealthCheckStatus"
        for ref in t.references(alarm.properties.get("Dimensions"))
    }
    for check in checks:
        lid = check.logical_id
        kind = t.get(check, "HealthCheckConfig", "Type")
        path = t.get(check, "HealthCheckConfig", "ResourcePath")
        a.check(
            lid,
            kind in ("HTTPS", "HTTPS_STR_MATCH"),
            f"{kind} health check",
            f"health check type {kind}, not HTTPS",
        )
        a.check(
            lid,
            isinstance(path, str) and path not in ("", "/"),
            f"custom path {path}",
            f"health check path {path or '/'} is not a custom path",
        )
        a.check(lid, lid in alarmed, "alarm on HealthCheckStatus", "no alarm on this health check")
    return a.outcome()


__all__ = ["REQUIRED_RULE_GROUPS", "application_balancers", "path_patterns"]
