"""NET — network controls."""

from __future__ import annotations

import fnmatch
import ipaddress
import re

from controls.analysis import (
    ADMIN_PORTS,
    Rule,
    SubnetView,
    az_placement,
    compute_role_sources,
    databases,
    groups_of,
    groups_used_by,
    identity_statements,
    in_network,
    is_bastion,
    is_database_port,
    is_world,
    load_balancer_groups,
    managed_policy_names,
    network,
    role_policies,
    security_group_rules,
    trusted_services,
)
from controls.catalogue import Context, control
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import Unknown, as_bool, as_int
from controls.template import Resource, Template

SG_APP_TYPES = (
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::Instance",
    "AWS::AutoScaling::LaunchConfiguration",
    "AWS::Lambda::Function",
    "AWS::Serverless::Function",
    "AWS::Serverless::Application",
)
DB_TYPES = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster")


def _az(subnet: SubnetView) -> str:
    return subnet.az.key or "an undecided AZ"


@control(
    "NET-01",
    title="Subnets span AZs from Fn::GetAZs, CIDRs from one VPC CIDR",
    severity=Severity.HIGH,
    requirement="""Subnets span ≥2 AZs (3 where a stack says so); AZs from `Fn::GetAZs`/the
    environment, never hard-coded names; subnet CIDRs derived from one VPC CIDR.""",
    impact="""Hard-coded AZ names break the template in any other region or account (AZ names are
    mapped per account) and a single-AZ layout is a single point of failure.""",
    fix="""Take AZs from `Fn::Select [i, Fn::GetAZs '']` (CDK: an environment-agnostic stack or
    `max_azs`), and compute subnet CIDRs from the VPC CIDR (`Fn::Cidr` or CDK's planner).""",
    limits="""AZ names that a CDK stack with an explicit account/region looked up from its
    context are literals in the template and are reported as hard-coded: the template
    cannot show where they came from.""",
)
def net_01(ctx: Context) -> Outcome:
    """Each AWS::EC2::Subnet AvailabilityZone must be `Fn::Select`/`Fn::GetAZs` (or a parameter
    without a literal default); a literal or mapped AZ name fails. The subnets of each VPC must
    cover at least 2 distinct AZs (3 for PayFlowStack). Each subnet CIDR must lie inside its VPC
    CIDR without overlapping another, and must not be a literal when the VPC CIDR is a
    parameter (then only `Fn::Cidr` of that CIDR keeps them in step)."""
    t = ctx.template
    subnets = t.of_type("AWS::EC2::Subnet")
    if not subnets:
        return not_applicable("no AWS::EC2::Subnet in the template")
    a = Assessment()
    by_vpc: dict[str, list[Resource]] = {}
    for subnet in subnets:
        placement = az_placement(t, subnet.properties.get("AvailabilityZone"))
        if placement.hard_coded:
            a.fail(subnet.logical_id, f"hard-coded availability zone {placement.hard_coded}")
        elif placement.key is None:
            if subnet.properties.get("AvailabilityZone") is None:
                a.fail(subnet.logical_id, placement.unknown or "no AvailabilityZone")
            else:
                a.unknown(subnet.logical_id, placement.unknown or "AZ undecidable")
        else:
            a.ok(subnet.logical_id, f"AZ {placement.key}")
        by_vpc.setdefault(t.target(subnet.properties.get("VpcId")) or "", []).append(subnet)
    for vpc_id, members in by_vpc.items():
        placements = [az_placement(t, s.properties.get("AvailabilityZone")) for s in members]
        keys = {p.key for p in placements if p.key}
        where = vpc_id or None
        if len(keys) >= ctx.settings.min_azs:
            a.ok(where, f"subnets span {len(keys)} AZs ({', '.join(sorted(keys))})")
        elif any(p.key is None and not p.hard_coded for p in placements):
            a.unknown(where, "subnet AZ spread cannot be decided")
        else:
            a.fail(
                where,
                f"subnets span {len(keys)} AZ(s); at least {ctx.settings.min_azs} are required",
            )
        _check_cidrs(t, a, t.resource(vpc_id), members)
    return a.outcome()


def _check_cidrs(t: Template, a: Assessment, vpc: Resource | None, subnets: list[Resource]) -> None:
    if vpc is None:
        a.note("subnets of a VPC outside the template: CIDR derivation not checked")
        return
    vpc_raw = vpc.properties.get("CidrBlock")
    vpc_parameters = t.resolver.parameters_used(vpc_raw)
    vpc_cidr = t.resolve(vpc_raw)
    seen: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for subnet in subnets:
        raw = subnet.properties.get("CidrBlock")
        if raw is None:
            a.unknown(subnet.logical_id, "no CidrBlock (IPv6-only or IPAM): derivation not checked")
            continue
        derived = vpc.logical_id in t.references(raw) or bool(
            vpc_parameters & t.resolver.parameters_used(raw)
        )
        if vpc_parameters and not derived:
            a.fail(
                subnet.logical_id,
                f"CIDR {t.text(raw)} is fixed while the VPC CIDR comes from parameter "
                f"{', '.join(sorted(vpc_parameters))}: use Fn::Cidr of the VPC CidrBlock",
            )
            continue
        value = t.resolve(raw)
        if not isinstance(value, str) or not isinstance(vpc_cidr, str):
            if derived:
                a.ok(subnet.logical_id, f"CIDR derived from the VPC CIDR ({t.text(raw)})")
            else:
                a.unknown(subnet.logical_id, f"CIDR {t.text(raw)} cannot be resolved")
            continue
        inside = in_network(value, vpc_cidr)
        if not inside:
            a.fail(subnet.logical_id, f"CIDR {value} is not inside the VPC CIDR {vpc_cidr}")
            continue
        net = ipaddress.ip_network(value, strict=False)
        clash = next((other for other, block in seen if block.overlaps(net)), None)
        if clash:
            a.fail(subnet.logical_id, f"CIDR {value} overlaps subnet {clash}")
        else:
            a.ok(subnet.logical_id, f"CIDR {value} inside VPC CIDR {vpc_cidr}")
        seen.append((subnet.logical_id, net))


@control(
    "NET-02",
    title="Public, private and isolated tiers; isolated subnets on their own route tables",
    severity=Severity.HIGH,
    requirement="""Tiers: public, private-with-egress (app), isolated (data, no route to IGW or
    NAT), each isolated subnet on its own route table.""",
    impact="""Without an isolated tier the data layer can reach (and be reached through) the
    internet path; a shared or main route table lets one route change expose every data subnet.""",
    fix="""Create three subnet tiers (CDK: PUBLIC, PRIVATE_WITH_EGRESS, PRIVATE_ISOLATED) and give
    every isolated subnet its own route table without a default route.""",
)
def net_02(ctx: Context) -> Outcome:
    """Subnets are classified by their route table's default route (internet gateway → public,
    NAT or other egress → private, none → isolated). All three tiers must exist; every isolated
    subnet must be associated with a route table of its own (not the VPC main table, not shared
    with another subnet)."""
    t = ctx.template
    net = network(t)
    if not net.subnets:
        return not_applicable("no AWS::EC2::Subnet in the template")
    a = Assessment()
    for tier, label in (
        ("public", "public"),
        ("private", "private-with-egress (app)"),
        ("isolated", "isolated (data)"),
    ):
        members = net.tier(tier)
        if members:
            a.ok(None, f"{label} tier: {', '.join(s.resource.logical_id for s in members)}")
        else:
            a.fail(None, f"no {label} subnets")
    for subnet in net.tier("unknown"):
        a.unknown(subnet.resource.logical_id, f"tier undecidable ({subnet.tier_reason})")
    for subnet in net.tier("isolated"):
        table = subnet.route_table
        if table is None:
            a.fail(
                subnet.resource.logical_id,
                "no route table association: uses the VPC main route table",
            )
            continue
        sharing = [
            s for s in net.route_table_subnets.get(table, []) if s != subnet.resource.logical_id
        ]
        if sharing:
            a.fail(
                subnet.resource.logical_id, f"shares route table {table} with {', '.join(sharing)}"
            )
        else:
            a.ok(subnet.resource.logical_id, f"own route table {table}, no default route")
    return a.outcome()


@control(
    "NET-03",
    title="One NAT gateway per AZ, same-AZ default routes",
    severity=Severity.HIGH,
    requirement="""One NAT gateway per AZ; each private subnet's default route targets the NAT in
    its own AZ (one route table per private subnet).""",
    impact="""A single NAT gateway (or a shared private route table) is a single point of failure:
    losing that AZ cuts outbound access for every private subnet, and cross-AZ
    traffic is billed.""",
    fix="""Create a NAT gateway in each AZ's public subnet and one route table per private subnet
    whose default route targets the NAT of the same AZ (CDK: `nat_gateways` = number of AZs).""",
)
def net_03(ctx: Context) -> Outcome:
    """Private subnets (default route to a NAT gateway or other egress) must each have their own
    route table whose default route targets an AWS::EC2::NatGateway placed, through its subnet,
    in the same AZ; every AZ with private subnets must have a NAT gateway."""
    t = ctx.template
    net = network(t)
    private = net.tier("private")
    if not private and not net.nat_gateways:
        return not_applicable("no NAT gateway and no private subnet with an egress route")
    a = Assessment()
    nat_az: dict[str, str | None] = {}
    for nat_id, nat in net.nat_gateways.items():
        host = t.target(nat.properties.get("SubnetId"))
        nat_az[nat_id] = net.subnets[host].az.key if host in net.subnets else None
    reported: set[str] = set()
    for subnet in private:
        sid = subnet.resource.logical_id
        table = subnet.route_table or ""
        sharing = [
            s
            for s in net.route_table_subnets.get(table, [])
            if s in net.subnets and net.subnets[s].tier == "private"
        ]
        if len(sharing) > 1 and table not in reported:
            reported.add(table)
            a.fail(table, f"one route table for private subnets {', '.join(sharing)}")
        if subnet.nat is None:
            a.unknown(sid, "default route does not target a NAT gateway of the template")
            continue
        target_az = nat_az.get(subnet.nat)
        if subnet.az.key is None or target_az is None:
            a.unknown(sid, f"AZ of the subnet or of {subnet.nat} cannot be decided")
        elif target_az != subnet.az.key:
            a.fail(
                sid,
                f"default route targets {subnet.nat} in {target_az}, "
                f"but the subnet is in {_az(subnet)} (cross-AZ dependency)",
            )
        else:
            a.ok(sid, f"default route to {subnet.nat} in the same AZ ({target_az})")
    azs = {s.az.key for s in private if s.az.key}
    missing = sorted(azs - {az for az in nat_az.values() if az})
    if missing:
        a.fail(
            None,
            f"{len(net.nat_gateways)} NAT gateway(s) for private subnets in "
            f"{len(azs)} AZs; no NAT gateway in {', '.join(missing)}",
        )
    elif azs:
        a.ok(None, f"a NAT gateway in each of {len(azs)} AZs")
    return a.outcome()


@control(
    "NET-04",
    title="VPC flow logs (ALL) to encrypted CloudWatch Logs and to S3",
    severity=Severity.HIGH,
    requirement="""VPC flow logs (ALL traffic) to CloudWatch Logs (CMK-encrypted, retention set,
    dedicated role) **and** to S3.""",
    impact="""Without complete flow logs in both destinations, network forensics and real-time
    detection are limited; unencrypted or never-expiring log groups leak data and cost.""",
    fix="""Add two AWS::EC2::FlowLog resources per VPC with TrafficType ALL: one to a KMS-encrypted
    log group with a retention and a role trusted only by vpc-flow-logs.amazonaws.com, one
    to S3.""",
)
def net_04(ctx: Context) -> Outcome:
    """For each AWS::EC2::VPC: an AWS::EC2::FlowLog (ResourceId = the VPC, TrafficType ALL) to
    cloud-watch-logs whose log group has KmsKeyId and RetentionInDays and whose
    DeliverLogsPermissionArn role trusts vpc-flow-logs.amazonaws.com and serves nothing else;
    and another ALL flow log with LogDestinationType s3."""
    t = ctx.template
    vpcs = t.of_type("AWS::EC2::VPC")
    if not vpcs:
        return not_applicable("no AWS::EC2::VPC in the template")
    a = Assessment()
    flows = t.of_type("AWS::EC2::FlowLog")
    for vpc in vpcs:
        mine = [f for f in flows if t.target(f.properties.get("ResourceId")) == vpc.logical_id]
        destinations: dict[str, bool] = {"cloud-watch-logs": False, "s3": False}
        for flow in mine:
            traffic = t.get(flow, "TrafficType")
            kind = str(t.get(flow, "LogDestinationType") or "cloud-watch-logs")
            if traffic != "ALL":
                a.fail(flow.logical_id, f"TrafficType {traffic}, not ALL")
                continue
            if kind in destinations:
                destinations[str(kind)] = True
            if kind == "cloud-watch-logs":
                _check_flow_log_group(t, a, flow)
            else:
                a.ok(flow.logical_id, f"ALL traffic to {kind}")
        for kind, present in destinations.items():
            label = "CloudWatch Logs" if kind == "cloud-watch-logs" else "S3"
            if not present:
                a.fail(vpc.logical_id, f"no flow log with TrafficType ALL to {label}")
    return a.outcome()


def _check_flow_log_group(t: Template, a: Assessment, flow: Resource) -> None:
    group_id = t.target(flow.properties.get("LogGroupName")) or next(
        iter(t.typed_references(flow.properties.get("LogDestination"), "AWS::Logs::LogGroup")), None
    )
    group = t.resource(group_id)
    if group is None:
        a.unknown(flow.logical_id, "log group outside the template: encryption/retention unknown")
    else:
        a.check(
            flow.logical_id,
            group.properties.get("KmsKeyId") is not None,
            f"log group {group.logical_id} encrypted with a KMS key",
            f"log group {group.logical_id} has no KmsKeyId",
        )
        a.check(
            flow.logical_id,
            group.properties.get("RetentionInDays") is not None,
            f"log group {group.logical_id} retention set",
            f"log group {group.logical_id} has no RetentionInDays (kept forever)",
        )
    role = t.target(flow.properties.get("DeliverLogsPermissionArn"))
    if role is None:
        a.fail(flow.logical_id, "no DeliverLogsPermissionArn role of the template")
        return
    if "vpc-flow-logs.amazonaws.com" not in trusted_services(t, role):
        a.fail(flow.logical_id, f"role {role} is not trusted by vpc-flow-logs.amazonaws.com")
    users = [
        r.logical_id
        for r in t.resources.values()
        if r.type not in {"AWS::EC2::FlowLog", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
        and r.logical_id != role
        and role in t.references(r.properties)
    ]
    if users:
        a.fail(flow.logical_id, f"role {role} is also used by {', '.join(users)} (not dedicated)")
    else:
        a.ok(flow.logical_id, f"dedicated delivery role {role}")


@control(
    "NET-05",
    title="Network ACLs with explicit least-privilege entries per tier",
    severity=Severity.MEDIUM,
    requirement="""Network ACLs on the public and private/data tiers with explicit
    least-privilege entries.""",
    impact="""Subnets left on the default network ACL allow all traffic in and out; there is no
    second layer when a security group is misconfigured.""",
    fix="""Associate every subnet with a custom AWS::EC2::NetworkAcl per tier (public, private,
    isolated) whose entries allow only the ports each tier needs.""",
)
def net_05(ctx: Context) -> Outcome:
    """Every subnet must be associated (AWS::EC2::SubnetNetworkAclAssociation) with a custom
    AWS::EC2::NetworkAcl that has AWS::EC2::NetworkAclEntry resources; the public tier must not
    share an ACL with the private/isolated tiers; no Allow entry admits all protocols from
    0.0.0.0/0 or ::/0, and an isolated-tier ACL must not allow all protocols out to the world."""
    t = ctx.template
    net = network(t)
    if not net.subnets:
        return not_applicable("no AWS::EC2::Subnet in the template")
    a = Assessment()
    acl_of: dict[str, str] = {}
    for association in t.of_type("AWS::EC2::SubnetNetworkAclAssociation"):
        subnet = t.target(association.properties.get("SubnetId"))
        acl = t.target(association.properties.get("NetworkAclId"))
        if subnet and acl:
            acl_of[subnet] = acl
    entries: dict[str, list[Resource]] = {}
    for entry in t.of_type("AWS::EC2::NetworkAclEntry"):
        acl = t.target(entry.properties.get("NetworkAclId"))
        if acl:
            entries.setdefault(acl, []).append(entry)
    tiers_by_acl: dict[str, set[str]] = {}
    for sid, view in net.subnets.items():
        acl = acl_of.get(sid)
        if acl is None:
            a.fail(sid, f"{view.tier} subnet on the VPC default network ACL (allows everything)")
            continue
        tiers_by_acl.setdefault(acl, set()).add(view.tier)
        a.ok(sid, f"{view.tier} subnet uses network ACL {acl}")
    for acl, tiers in tiers_by_acl.items():
        if "public" in tiers and tiers & {"private", "isolated"}:
            a.fail(
                acl, f"one ACL for the public and the {', '.join(sorted(tiers - {'public'}))} tier"
            )
        if not entries.get(acl):
            a.fail(acl, "network ACL has no entries")
        for entry in entries.get(acl, []):
            allow = str(t.get(entry, "RuleAction")).lower() == "allow"
            protocol = str(t.get(entry, "Protocol"))
            cidr = t.get(entry, "CidrBlock") or t.get(entry, "Ipv6CidrBlock")
            egress = as_bool(t.get(entry, "Egress")) is True
            if not (allow and protocol == "-1" and is_world(cidr)):
                continue
            if not egress:
                a.fail(entry.logical_id, f"ACL {acl} allows all traffic in from {cidr}")
            elif "isolated" in tiers:
                a.fail(entry.logical_id, f"data-tier ACL {acl} allows all traffic out to {cidr}")
            else:
                a.note(f"{entry.logical_id}: ACL {acl} allows all traffic out to {cidr}")
    return a.outcome()


def _app_groups(t: Template) -> set[str]:
    return set(groups_used_by(t, *SG_APP_TYPES)) | set(_serverless_groups(t))


def _serverless_groups(t: Template) -> list[str]:
    """Groups of rotation functions that are not AWS::Lambda::Function resources."""
    found: list[str] = []
    for app in t.of_type("AWS::Serverless::Application"):
        found += t.typed_references(app.properties.get("Parameters"), "AWS::EC2::SecurityGroup")
    for schedule in t.of_type("AWS::SecretsManager::RotationSchedule"):
        hosted = schedule.properties.get("HostedRotationLambda")
        if isinstance(hosted, dict):
            found += t.typed_references(
                hosted.get("VpcSecurityGroupIds"), "AWS::EC2::SecurityGroup"
            )
    return found


def _label(t: Template, rule_group: str | None) -> str:
    return rule_group or "an external group"


@control(
    "NET-06",
    title="Least-privilege security groups",
    severity=Severity.HIGH,
    requirement="""Security groups least-privilege: every rule has a description; app and data
    tiers have explicit egress (no implicit allow-all); data tier reachable only from the app tier
    on the DB port; cross-references as separate rule resources; no 0.0.0.0/0 ingress except the
    public ALB on 80/443.""",
    impact="""Open or undocumented rules widen the blast radius of any compromise; implicit
    allow-all egress lets a compromised host exfiltrate data anywhere.""",
    fix="""Describe every rule; declare SecurityGroupEgress on app/data groups (CDK:
    `allow_all_outbound=False`, then allow only what is needed); admit the database port only
    from the app group, as separate AWS::EC2::SecurityGroupIngress resources.""",
)
def net_06(ctx: Context) -> Outcome:
    """Over every rule (inline and AWS::EC2::SecurityGroupIngress/Egress): a Description is
    required; 0.0.0.0/0 or ::/0 ingress is allowed only for TCP 80/443 on an internet-facing
    ALB's group; inline rules must not reference another group of the template. Groups used by
    compute (launch templates, instances, functions) or databases must declare
    SecurityGroupEgress inline — otherwise CloudFormation keeps the default allow-all egress,
    even when separate egress resources exist — and must not allow all traffic to the world.
    Database groups accept ingress only from app-tier groups on the database port."""
    t = ctx.template
    if not t.has("AWS::EC2::SecurityGroup"):
        return not_applicable("no AWS::EC2::SecurityGroup in the template")
    a = Assessment()
    rules = security_group_rules(t)
    alb_groups = load_balancer_groups(t, internet_facing_only=True)
    app_groups = _app_groups(t)
    db_groups = set(groups_used_by(t, *DB_TYPES))
    for rule in rules:
        where = rule.defined_in
        if not (isinstance(rule.description, str) and rule.description.strip()):
            a.fail(
                where,
                f"{rule.direction} rule ({rule.ports()}) on {_label(t, rule.group)} "
                "has no Description",
            )
        if rule.direction == "ingress" and rule.world:
            web = (
                rule.protocol == "tcp"
                and rule.from_port == rule.to_port
                and as_int(rule.from_port) in {80, 443}
            )
            if rule.group in alb_groups and web:
                a.ok(where, f"public ALB group {rule.group} open on {rule.ports()}")
            else:
                a.fail(where, f"{rule.ports()} open to {rule.cidr} on {_label(t, rule.group)}")
        if rule.inline and rule.peer_group and rule.peer_group != rule.group:
            a.fail(
                where,
                f"inline rule references group {rule.peer_group}: declare it as a "
                "separate AWS::EC2::SecurityGroupIngress/Egress resource",
            )
    for group_id in sorted(app_groups | db_groups):
        group = t.resource(group_id)
        if group is None or group.type != "AWS::EC2::SecurityGroup":
            continue
        tier = "data" if group_id in db_groups else "app"
        if group.properties.get("SecurityGroupEgress") is None:
            separate = [
                r.defined_in
                for r in rules
                if r.group == group_id and r.direction == "egress" and not r.inline
            ]
            extra = (
                f" (separate egress rules {', '.join(separate)} do not remove it)"
                if separate
                else ""
            )
            a.fail(
                group_id,
                f"{tier}-tier group declares no SecurityGroupEgress: CloudFormation "
                f"keeps the default allow-all egress{extra}",
            )
        else:
            open_egress = [
                r
                for r in rules
                if r.group == group_id and r.direction == "egress" and r.world and r.all_traffic
            ]
            if open_egress:
                a.fail(group_id, f"{tier}-tier group allows all traffic to the world")
            else:
                a.ok(group_id, f"{tier}-tier group has explicit, restricted egress")
    for db in t.of_type(*DB_TYPES):
        for group_id in groups_of(t, db):
            _check_db_ingress(t, a, db, group_id, rules, app_groups)
    return a.outcome()


def _check_db_ingress(
    t: Template, a: Assessment, db: Resource, group_id: str, rules: list[Rule], app_groups: set[str]
) -> None:
    database = next((d for d in databases(t) if d.logical_id == db.logical_id), None)
    for rule in rules:
        if rule.group != group_id or rule.direction != "ingress":
            continue
        if rule.peer_group is None:
            a.fail(
                rule.defined_in,
                f"database group {group_id} admits "
                f"{t.text(rule.cidr_raw) if rule.cidr_raw else 'an external source'}",
            )
            continue
        if rule.peer_group not in app_groups:
            a.fail(
                rule.defined_in,
                f"database group {group_id} admits {rule.peer_group}, "
                "which no app-tier compute uses",
            )
            continue
        if database is None:
            continue
        same = is_database_port(t, database, rule.from_port) and is_database_port(
            t, database, rule.to_port
        )
        a.check(
            rule.defined_in,
            None if same is None else bool(same),
            f"database {db.logical_id} reachable from {rule.peer_group} on its port only",
            f"database group {group_id} admits {rule.ports()} from {rule.peer_group}, "
            "not only the database port",
        )


_SERVICE = re.compile(r"^(?:com\.amazonaws|aws\.[a-z]+)\.(?:\$\{[^}]+\}|[a-z0-9-]+)\.(?P<svc>.+)$")
INTERFACE_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages", "secretsmanager", "kms", "logs", "sts")


@control(
    "NET-07",
    title="VPC endpoints for AWS services",
    severity=Severity.MEDIUM,
    requirement="""VPC endpoints: gateway S3 (+ DynamoDB where used); interface endpoints for SSM,
    SSM messages, EC2 messages, Secrets Manager, KMS, CloudWatch Logs, STS with private DNS and a
    restrictive security group.""",
    impact="""Without endpoints, calls to AWS APIs (secrets, keys, logs, Session Manager) leave the
    VPC through NAT: more exposure, more cost, and no endpoint policy to constrain them.""",
    fix="""Add a gateway endpoint for S3 (and DynamoDB) and interface endpoints for ssm,
    ssmmessages, ec2messages, secretsmanager, kms, logs and sts with PrivateDnsEnabled and a
    security group admitting 443 from the VPC only.""",
)
def net_07(ctx: Context) -> Outcome:
    """Per VPC, AWS::EC2::VPCEndpoint services are read from ServiceName (`com.amazonaws.<region>.
    <svc>`): gateway `s3` (and `dynamodb` when the template has a DynamoDB table) and interface
    ssm, ssmmessages, ec2messages, secretsmanager, kms, logs, sts, each with PrivateDnsEnabled
    true and security groups that admit no 0.0.0.0/0 ingress."""
    t = ctx.template
    vpcs = t.of_type("AWS::EC2::VPC")
    if not vpcs:
        return not_applicable("no AWS::EC2::VPC in the template")
    a = Assessment()
    rules = security_group_rules(t)
    wanted_gateways = ["s3"] + (
        ["dynamodb"] if t.has("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable") else []
    )
    for vpc in vpcs:
        found: dict[str, list[Resource]] = {}
        for endpoint in t.of_type("AWS::EC2::VPCEndpoint"):
            if t.target(endpoint.properties.get("VpcId")) != vpc.logical_id:
                continue
            match = _SERVICE.match(t.text(endpoint.properties.get("ServiceName")))
            if match:
                found.setdefault(match.group("svc"), []).append(endpoint)
        for service in wanted_gateways:
            if not found.get(service):
                a.fail(vpc.logical_id, f"no gateway endpoint for {service}")
            else:
                a.ok(found[service][0].logical_id, f"{service} endpoint")
        for service in INTERFACE_ENDPOINTS:
            endpoints = found.get(service, [])
            if not endpoints:
                a.fail(vpc.logical_id, f"no interface endpoint for {service}")
                continue
            for endpoint in endpoints:
                _check_interface_endpoint(t, a, endpoint, service, rules)
    return a.outcome()


def _check_interface_endpoint(
    t: Template, a: Assessment, endpoint: Resource, service: str, rules: list[Rule]
) -> None:
    eid = endpoint.logical_id
    if as_bool(t.get(endpoint, "PrivateDnsEnabled")) is not True:
        a.fail(eid, f"{service} endpoint without PrivateDnsEnabled")
    groups = groups_of(t, endpoint)
    if not groups:
        a.fail(eid, f"{service} endpoint has no security group (VPC default group)")
        return
    world = [r for r in rules if r.group in groups and r.direction == "ingress" and r.world]
    if world:
        a.fail(eid, f"{service} endpoint group admits {world[0].cidr}")
    else:
        a.ok(eid, f"{service} interface endpoint, private DNS, restricted group")


@control(
    "NET-08",
    title="Ingress CIDRs are validated parameters; no admin port open to the world",
    severity=Severity.CRITICAL,
    requirement="""Administrative/ingress CIDR is a validated parameter; no admin port open to the
    world.""",
    impact="""An administrative port open to the internet is brute-forced within minutes;
    hard-coded or unvalidated CIDRs make the allowed range unreviewable and easy to widen by
    mistake.""",
    fix="""Declare the ingress CIDR as a parameter with an AllowedPattern (and
    ConstraintDescription) and use it in the rules; never open 22/3389 to 0.0.0.0/0.""",
)
def net_08(ctx: Context) -> Outcome:
    """Ingress rules covering an admin port (22, 3389, 5985/5986, or all traffic) must not admit
    0.0.0.0/0 or ::/0 (parameter defaults count). Every other CIDR ingress that is neither the
    VPC's own CIDR nor world-to-ALB on 80/443 must take its CIDR from a parameter with
    AllowedPattern or AllowedValues; at least one such validated ingress parameter must exist."""
    t = ctx.template
    if not t.has("AWS::EC2::SecurityGroup"):
        return not_applicable("no AWS::EC2::SecurityGroup in the template")
    a = Assessment()
    vpc_cidrs = {str(t.resolve(v.properties.get("CidrBlock"))) for v in t.of_type("AWS::EC2::VPC")}
    vpc_ids = {v.logical_id for v in t.of_type("AWS::EC2::VPC")}
    alb_groups = load_balancer_groups(t)
    validated = 0
    for rule in security_group_rules(t):
        if rule.direction != "ingress" or rule.cidr_raw is None:
            continue
        admin = [name for port, name in ADMIN_PORTS.items() if rule.covers(port)]
        if rule.world and (admin or rule.all_traffic):
            a.fail(
                rule.defined_in,
                f"{'/'.join(sorted(set(admin))) or 'all traffic'} open to "
                f"{rule.cidr} on {rule.group}",
            )
            continue
        parameters = t.resolver.parameters_used(rule.cidr_raw)
        internal = bool(vpc_ids & t.references(rule.cidr_raw)) or any(
            isinstance(rule.cidr, str) and in_network(rule.cidr, block) for block in vpc_cidrs
        )
        if parameters:
            for name in sorted(parameters):
                definition = t.parameters.get(name, {})
                ok = "AllowedPattern" in definition or "AllowedValues" in definition
                a.check(
                    rule.defined_in,
                    ok,
                    f"ingress CIDR from validated parameter {name}",
                    f"ingress CIDR parameter {name} has no AllowedPattern/AllowedValues",
                )
                validated += ok
        elif internal:
            continue
        elif rule.world and rule.group in alb_groups:
            a.note(
                f"{rule.defined_in}: load balancer ingress from {rule.cidr} is a literal, "
                "not a parameter"
            )
        elif isinstance(rule.cidr, Unknown):
            a.unknown(rule.defined_in, f"ingress CIDR cannot be resolved ({rule.cidr.reason})")
        else:
            a.fail(
                rule.defined_in, f"hard-coded ingress CIDR {rule.cidr}; use a validated parameter"
            )
    if not validated:
        a.fail(None, "no ingress CIDR comes from a validated parameter")
    return a.outcome()


@control(
    "NET-09",
    title="Default VPCs removed outside the deployment region",
    severity=Severity.MEDIUM,
    requirement="""Default VPCs removed in every region except the deployment region (custom
    resource).""",
    impact="""Default VPCs have public subnets and permissive defaults; workloads launched there by
    mistake bypass every network control of the reference design.""",
    fix="""Add a custom resource backed by a Lambda function (role: ec2:DescribeRegions,
    ec2:DescribeVpcs, ec2:DeleteVpc and the subnet/IGW/route-table deletions) that removes default
    VPCs in all other regions.""",
    limits="""Which regions are skipped, idempotence and what the function reports live in the
    function code; the check sees only the wiring and the permissions.""",
)
def net_09(ctx: Context) -> Outcome:
    """Requires a custom resource (Custom::* or AWS::CloudFormation::CustomResource) and an IAM
    policy of the template allowing ec2:DeleteVpc together with ec2:DescribeRegions and
    ec2:DescribeVpcs (the calls a cross-region cleanup needs); wildcards count."""
    t = ctx.template
    a = Assessment()
    custom = [
        r
        for r in t.resources.values()
        if r.type.startswith("Custom::") or r.type == "AWS::CloudFormation::CustomResource"
    ]
    needed = ("ec2:DeleteVpc", "ec2:DescribeRegions", "ec2:DescribeVpcs")
    granted = {action: False for action in needed}
    for statement in identity_statements(t):
        if statement.effect != "Allow":
            continue
        for action in needed:
            if any(
                fnmatch.fnmatch(action.lower(), pattern.lower()) for pattern in statement.actions
            ):
                granted[action] = True
    if not custom:
        a.fail(None, "no custom resource removes default VPCs")
    if not granted["ec2:DeleteVpc"]:
        a.fail(None, "no IAM policy of the template allows ec2:DeleteVpc")
    else:
        missing = [action for action, ok in granted.items() if not ok]
        if missing:
            a.fail(None, f"cleanup role lacks {', '.join(missing)}")
        elif custom:
            a.ok(
                None,
                f"custom resource(s) {', '.join(r.logical_id for r in custom)} with "
                "ec2:DeleteVpc/DescribeRegions/DescribeVpcs permissions",
            )
    return a.outcome()


@control(
    "NET-10",
    title="No SSH/RDP from anywhere; bastion through Session Manager",
    severity=Severity.CRITICAL,
    requirement="""No SSH/RDP from anywhere by default; bastion access through SSM Session
    Manager.""",
    impact="""SSH/RDP open to the internet is the most common initial-access path; key-based
    bastions leave no audit trail of sessions.""",
    fix="""Remove world-open 22/3389 rules; give the bastion the AmazonSSMManagedInstanceCore
    policy and connect with `aws ssm start-session`.""",
)
def net_10(ctx: Context) -> Outcome:
    """Ingress rules that cover 22 or 3389 (or all traffic) must not admit 0.0.0.0/0 or ::/0
    under parameter defaults (rules behind a condition that is false by default are off).
    Bastions (instances or launch templates whose logical ID or Name tag says bastion) must run
    with a role that has AmazonSSMManagedInstanceCore or ssm:UpdateInstanceInformation (an
    instance without IamInstanceProfile through the instance profile of its launch template)."""
    t = ctx.template
    groups = t.has("AWS::EC2::SecurityGroup")
    hosts = t.of_type("AWS::EC2::Instance", "AWS::EC2::LaunchTemplate")
    if not groups and not hosts:
        return not_applicable("no security group and no EC2 host in the template")
    a = Assessment()
    for rule in security_group_rules(t):
        if rule.direction != "ingress":
            continue
        ports = [
            name for port, name in ADMIN_PORTS.items() if port in (22, 3389) and rule.covers(port)
        ]
        if not ports and not rule.all_traffic:
            continue
        label = "/".join(ports) or "all traffic"
        if rule.world:
            a.fail(rule.defined_in, f"{label} open to {rule.cidr} on {rule.group}")
        elif isinstance(rule.cidr, Unknown):
            a.unknown(rule.defined_in, f"{label} source undecidable ({rule.cidr.reason})")
        else:
            a.ok(
                rule.defined_in,
                f"{label} only from {rule.peer_group or t.text(rule.cidr_raw) or 'a prefix list'}",
            )
    sources = compute_role_sources(t)
    for host in hosts:
        if not is_bastion(host):
            continue
        source = sources.get(host.logical_id)
        host_roles = source.roles if source is not None else ()
        if source is not None and source.unknown and not host_roles:
            a.unknown(host.logical_id, f"bastion role cannot be checked: {source.unknown}")
            continue
        ssm = any(
            "AmazonSSMManagedInstanceCore" in managed_policy_names(t, role)
            or any(
                "ssm:UpdateInstanceInformation" in s.actions or "ssm:*" in s.actions
                for s in role_policies(t, role)
            )
            for role in host_roles
        )
        a.check(
            host.logical_id,
            ssm,
            "bastion managed through Session Manager",
            "bastion has no role with Session Manager permissions (AmazonSSMManagedInstanceCore)",
        )
    if not a.items:
        a.ok(None, "no SSH/RDP ingress rule")
    return a.outcome()


__all__ = ["INTERFACE_ENDPOINTS", "SG_APP_TYPES"]
