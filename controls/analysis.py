"""Whole-template views several checks share: network tiers, security-group rules, IAM
statements, bucket roles, databases. Each is computed once per template (``Template.cached``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from controls.resolve import (
    NO_VALUE,
    Opaque,
    Part,
    ResourceRef,
    Unknown,
    as_int,
    as_list,
    intrinsic,
    same_text,
)
from controls.template import Resource, Template

WORLD = frozenset({"0.0.0.0/0", "::/0"})
AZ_NAME = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d[a-z]$")


def is_world(cidr: Any) -> bool:
    """``0.0.0.0/0`` or ``::/0`` (anything that is not a string is not)."""
    return isinstance(cidr, str) and cidr in WORLD


# ------------------------------------------------------------------------ availability zones


@dataclass(frozen=True)
class AzPlacement:
    """Where a subnet (or NAT gateway) lives: a comparable key, or why it is a problem."""

    key: str | None  # "GetAZs[0]", "us-east-1a", "param:AzParam"; None when undecidable
    hard_coded: str | None = None  # the literal AZ name when hard-coded
    unknown: str | None = None


def az_placement(template: Template, raw: Any) -> AzPlacement:
    """Classify an ``AvailabilityZone`` value."""
    if raw is None:
        return AzPlacement(None, unknown="no AvailabilityZone: AWS picks one, spread not assured")
    if isinstance(raw, str):
        return AzPlacement(raw, hard_coded=raw)
    function = intrinsic(raw)
    if function is not None and function[0] == "Fn::Select":
        args = function[1]
        if isinstance(args, list) and len(args) == 2:
            inner = intrinsic(args[1])
            index = as_int(template.resolve(args[0]))
            if inner is not None and inner[0] == "Fn::GetAZs" and index is not None:
                return AzPlacement(f"GetAZs[{index}]")
    if function is not None and function[0] == "Fn::FindInMap":
        value = template.resolve(raw)
        if isinstance(value, str):
            return AzPlacement(value, hard_coded=value)
        return AzPlacement(None, hard_coded="(AZ name from a mapping)")
    names = template.resolver.parameters_used(raw)
    value = template.resolve(raw)
    if isinstance(value, str):
        if names:
            return AzPlacement(
                value, hard_coded=f"{value} (default of parameter {', '.join(names)})"
            )
        return AzPlacement(value, hard_coded=value)
    if names:
        return AzPlacement("param:" + ",".join(sorted(names)) + ":" + template.text(raw))
    reason = value.reason if isinstance(value, Unknown) else "not a literal"
    return AzPlacement(None, unknown=f"AvailabilityZone cannot be decided ({reason})")


# ---------------------------------------------------------------------------- network


@dataclass
class SubnetView:
    resource: Resource
    az: AzPlacement
    route_table: str | None  # None: main route table (no association)
    tier: str  # "public" | "private" | "isolated" | "unknown"
    nat: str | None = None  # NAT gateway logical ID of the default route
    tier_reason: str = ""


@dataclass
class Network:
    subnets: dict[str, SubnetView] = field(default_factory=dict)
    route_table_subnets: dict[str, list[str]] = field(default_factory=dict)
    nat_gateways: dict[str, Resource] = field(default_factory=dict)

    def tier(self, tier: str) -> list[SubnetView]:
        return [subnet for subnet in self.subnets.values() if subnet.tier == tier]


def _default_route_target(template: Template, route: Resource) -> tuple[str, str | None, str]:
    """(kind, logical id, reason) of a default route: igw / nat / other / unknown."""
    for prop in (
        "GatewayId",
        "NatGatewayId",
        "InstanceId",
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "NetworkInterfaceId",
        "EgressOnlyInternetGatewayId",
        "CarrierGatewayId",
        "VpcEndpointId",
    ):
        raw = route.properties.get(prop)
        if raw is None:
            continue
        value = template.resolve(raw)
        if value is NO_VALUE:
            continue
        if isinstance(value, Unknown):
            return "unknown", None, f"{prop}: {value.reason}"
        target = value.logical_id if isinstance(value, ResourceRef) else None
        target_type = template.resources[target].type if target else ""
        if prop == "GatewayId":
            if target_type == "AWS::EC2::InternetGateway" or str(value).startswith("igw-"):
                return "igw", target, ""
            return "other", target, ""
        if prop == "NatGatewayId":
            return "nat", target, ""
        return "egress", target, ""
    return "none", None, ""


def network(template: Template) -> Network:
    return template.cached("network", _build_network)  # type: ignore[no-any-return]


def _build_network(template: Template) -> Network:
    view = Network()
    associations: dict[str, str] = {}
    for association in template.of_type("AWS::EC2::SubnetRouteTableAssociation"):
        subnet_id = template.target(association.properties.get("SubnetId"))
        table_id = template.target(association.properties.get("RouteTableId"))
        if subnet_id and table_id:
            associations[subnet_id] = table_id
            view.route_table_subnets.setdefault(table_id, []).append(subnet_id)
    defaults: dict[str, tuple[str, str | None, str]] = {}
    for route in template.of_type("AWS::EC2::Route"):
        destination = template.resolve(route.properties.get("DestinationCidrBlock"))
        destination6 = template.resolve(route.properties.get("DestinationIpv6CidrBlock"))
        if not (is_world(destination) or is_world(destination6)):
            continue
        route_table = template.target(route.properties.get("RouteTableId"))
        if route_table is None:
            continue
        route_kind = _default_route_target(template, route)
        previous = defaults.get(route_table)
        # an IGW route makes the table public whatever else it has
        if previous is None or route_kind[0] == "igw" or previous[0] == "none":
            defaults[route_table] = route_kind
    view.nat_gateways = {nat.logical_id: nat for nat in template.of_type("AWS::EC2::NatGateway")}
    for subnet in template.of_type("AWS::EC2::Subnet"):
        table = associations.get(subnet.logical_id)
        kind, target, reason = (
            defaults.get(table, ("none", None, "")) if table else ("none", None, "")
        )
        tier = {"igw": "public", "nat": "private", "egress": "private", "none": "isolated"}.get(
            kind, "unknown"
        )
        view.subnets[subnet.logical_id] = SubnetView(
            resource=subnet,
            az=az_placement(template, subnet.properties.get("AvailabilityZone")),
            route_table=table,
            tier=tier,
            nat=target if kind == "nat" else None,
            tier_reason=reason,
        )
    return view


# -------------------------------------------------------------------- security groups

DB_DEFAULT_PORTS = {
    "mysql": 3306,
    "mariadb": 3306,
    "aurora": 3306,
    "aurora-mysql": 3306,
    "postgres": 5432,
    "aurora-postgresql": 5432,
    "oracle": 1521,
    "sqlserver": 1433,
    "db2": 50000,
}
ADMIN_PORTS = {22: "SSH", 3389: "RDP", 5985: "WinRM", 5986: "WinRM"}


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule, inline or a separate resource."""

    group: str | None  # logical ID of the security group the rule belongs to
    direction: str  # "ingress" | "egress"
    defined_in: str  # logical ID of the resource that declares it
    inline: bool
    protocol: str
    from_port: Any  # int, ResourceRef (e.g. DB Endpoint.Port), Unknown or None
    to_port: Any
    port_raw: Any  # FromPort as written (to see parameters and GetAtt)
    cidr: Any  # resolved CidrIp / CidrIpv6 (str, Unknown) or None
    cidr_raw: Any
    peer_group: str | None  # logical ID of the peer security group
    peer_external: bool  # a peer group / prefix list outside the template
    description: Any
    condition: str | None = None  # Fn::If / resource Condition guarding the rule

    @property
    def all_traffic(self) -> bool:
        return self.protocol in {"-1", "all"}

    def covers(self, port: int) -> bool | None:
        if self.all_traffic:
            return True
        low, high = as_int(self.from_port), as_int(self.to_port)
        if low is None or high is None:
            return None
        if low == -1 and high == -1:
            return True
        return low <= port <= high

    @property
    def world(self) -> bool:
        return is_world(self.cidr)

    def ports(self) -> str:
        if self.all_traffic:
            return "all traffic"
        low, high = self.from_port, self.to_port
        return f"{self.protocol} {low}" if low == high else f"{self.protocol} {low}-{high}"


def security_group_rules(template: Template) -> list[Rule]:
    return template.cached("sg_rules", _build_rules)  # type: ignore[no-any-return]


def _rule(
    template: Template,
    raw: Any,
    *,
    group: str | None,
    direction: str,
    defined_in: str,
    inline: bool,
    condition: str | None,
) -> Rule:
    props = template.resolve(raw) if intrinsic(raw) else raw
    props = props if isinstance(props, dict) else {}
    cidr_raw = props.get("CidrIp", props.get("CidrIpv6"))
    peer_prop = "SourceSecurityGroupId" if direction == "ingress" else "DestinationSecurityGroupId"
    peer_raw = props.get(peer_prop, props.get("SourceSecurityGroupName"))
    peer = template.target(peer_raw) if peer_raw is not None else None
    external = (peer_raw is not None and peer is None) or any(
        key in props for key in ("SourcePrefixListId", "DestinationPrefixListId")
    )
    protocol = template.resolve(props.get("IpProtocol", "-1"))
    return Rule(
        group=group,
        direction=direction,
        defined_in=defined_in,
        inline=inline,
        protocol=str(protocol).lower() if not isinstance(protocol, Unknown) else "?",
        from_port=template.resolve(props.get("FromPort")),
        to_port=template.resolve(props.get("ToPort")),
        port_raw=props.get("FromPort"),
        cidr=template.resolve(cidr_raw) if cidr_raw is not None else None,
        cidr_raw=cidr_raw,
        peer_group=peer,
        peer_external=external,
        description=template.resolve(props.get("Description")),
        condition=condition,
    )


def _build_rules(template: Template) -> list[Rule]:
    rules: list[Rule] = []
    for group in template.of_type("AWS::EC2::SecurityGroup"):
        for direction, prop in (
            ("ingress", "SecurityGroupIngress"),
            ("egress", "SecurityGroupEgress"),
        ):
            raw_list = group.properties.get(prop)
            for raw in as_list(raw_list if not intrinsic(raw_list) else template.resolve(raw_list)):
                if raw is NO_VALUE or isinstance(raw, Unknown):
                    continue
                condition = None
                function = intrinsic(raw)
                if function is not None and function[0] == "Fn::If":
                    condition = str(function[1][0])
                    if template.resolve(raw) is NO_VALUE:
                        continue
                rules.append(
                    _rule(
                        template,
                        raw,
                        group=group.logical_id,
                        direction=direction,
                        defined_in=group.logical_id,
                        inline=True,
                        condition=condition or group.condition,
                    )
                )
    for direction, kind in (
        ("ingress", "AWS::EC2::SecurityGroupIngress"),
        ("egress", "AWS::EC2::SecurityGroupEgress"),
    ):
        for resource in template.of_type(kind):
            owner = template.target(resource.properties.get("GroupId"))
            rules.append(
                _rule(
                    template,
                    resource.properties,
                    group=owner,
                    direction=direction,
                    defined_in=resource.logical_id,
                    inline=False,
                    condition=resource.condition,
                )
            )
    return rules


def groups_of(template: Template, resource: Resource) -> list[str]:
    """Security groups a resource uses."""
    props = resource.properties
    kind = resource.type
    values: list[Any] = []
    if kind == "AWS::EC2::LaunchTemplate":
        data = props.get("LaunchTemplateData")
        data = data if isinstance(data, dict) else {}
        values += [data.get("SecurityGroupIds"), data.get("SecurityGroups")]
        for interface in as_list(data.get("NetworkInterfaces")):
            if isinstance(interface, dict):
                values.append(interface.get("Groups"))
    elif kind == "AWS::Lambda::Function":
        vpc = props.get("VpcConfig")
        values.append(vpc.get("SecurityGroupIds") if isinstance(vpc, dict) else None)
    elif kind == "AWS::RDS::DBCluster":
        values.append(props.get("VpcSecurityGroupIds"))
    elif kind == "AWS::RDS::DBInstance":
        values.append(props.get("VPCSecurityGroups"))
    else:
        values += [props.get("SecurityGroupIds"), props.get("SecurityGroups")]
    groups: list[str] = []
    for value in values:
        if value is not None:
            groups += [g for g in template.targets(value) if g not in groups]
    return groups


COMPUTE_TYPES = (
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::Instance",
    "AWS::AutoScaling::LaunchConfiguration",
    "AWS::Lambda::Function",
)
"""Resources that run code with an IAM role of their own."""


def groups_used_by(template: Template, *types: str) -> dict[str, list[str]]:
    """Security group → resources (of ``types``) that use it."""
    usage: dict[str, list[str]] = {}
    for resource in template.of_type(*types):
        for group in groups_of(template, resource):
            usage.setdefault(group, []).append(resource.logical_id)
    return usage


def load_balancer_groups(template: Template, internet_facing_only: bool = False) -> set[str]:
    groups: set[str] = set()
    for balancer in template.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        scheme = template.get(balancer, "Scheme")
        if internet_facing_only and scheme not in (None, "internet-facing"):
            continue
        groups.update(groups_of(template, balancer))
    return groups


# ---------------------------------------------------------------------------- IAM


@dataclass(frozen=True)
class Statement:
    owner: str  # logical ID of the resource holding the policy
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[Any, ...]
    principal: Any
    condition: Any
    raw: dict[str, Any]


def _statements(template: Template, owner: str, document: Any) -> Iterator[Statement]:
    doc = template.resolve(document) if intrinsic(document) else document
    if not isinstance(doc, dict):
        return
    for raw in as_list(doc.get("Statement")):
        statement = template.resolve(raw) if intrinsic(raw) else raw
        if not isinstance(statement, dict):
            continue
        yield Statement(
            owner=owner,
            effect=str(template.resolve(statement.get("Effect", "Allow"))),
            actions=tuple(_strings(template, statement.get("Action"))),
            not_actions=tuple(_strings(template, statement.get("NotAction"))),
            resources=tuple(as_list(statement.get("Resource"))),
            principal=statement.get("Principal"),
            condition=statement.get("Condition"),
            raw=statement,
        )


def _strings(template: Template, value: Any) -> list[str]:
    resolved = template.resolve(value)
    return [str(item) for item in as_list(resolved) if isinstance(item, str)]


def identity_statements(template: Template) -> list[Statement]:
    """Statements of identity policies (roles, users, groups, policies, managed policies)."""
    found: list[Statement] = []
    for resource in template.of_type(
        "AWS::IAM::Role",
        "AWS::IAM::User",
        "AWS::IAM::Group",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
    ):
        if resource.type in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            found += _statements(
                template, resource.logical_id, resource.properties.get("PolicyDocument")
            )
            continue
        for policy in as_list(resource.properties.get("Policies")):
            if isinstance(policy, dict):
                found += _statements(template, resource.logical_id, policy.get("PolicyDocument"))
    return found


def policy_statements(template: Template, resource: Resource, prop: str) -> list[Statement]:
    return list(_statements(template, resource.logical_id, resource.properties.get(prop)))


def role_policies(template: Template, role: str) -> list[Statement]:
    """Every identity statement that applies to a role (inline, attached AWS::IAM::Policy)."""
    found: list[Statement] = []
    resource = template.resources.get(role)
    if resource is None:
        return found
    for policy in as_list(resource.properties.get("Policies")):
        if isinstance(policy, dict):
            found += _statements(template, role, policy.get("PolicyDocument"))
    for policy in template.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        if role in template.targets(policy.properties.get("Roles")):
            found += _statements(
                template, policy.logical_id, policy.properties.get("PolicyDocument")
            )
    return found


def managed_policy_names(template: Template, role: str) -> list[str]:
    """AWS-managed (and customer) policy names attached to a role, by ARN suffix."""
    resource = template.resources.get(role)
    if resource is None:
        return []
    names: list[str] = []
    for arn in as_list(resource.properties.get("ManagedPolicyArns")):
        names.append(template.text(arn).rsplit("/", 1)[-1])
    return names


def service_principals(template: Template, principal: Any) -> list[str]:
    resolved = template.resolve(principal)
    if isinstance(resolved, dict):
        return [str(item) for item in as_list(resolved.get("Service"))]
    return []


def trusted_services(template: Template, role: str) -> list[str]:
    resource = template.resources.get(role)
    if resource is None:
        return []
    services: list[str] = []
    for statement in policy_statements(template, resource, "AssumeRolePolicyDocument"):
        services += service_principals(template, statement.principal)
    return services


@dataclass(frozen=True)
class RoleSource:
    """The IAM roles a compute resource runs with, and where they come from."""

    roles: tuple[str, ...] = ()
    via: str | None = None  # the launch template an instance takes its instance profile from
    unknown: str | None = None  # why the roles are not in the template (cannot decide)


def launch_template_of(template: Template, holder: Resource) -> str | None:
    """The launch template an ASG or instance uses (also through a MixedInstancesPolicy)."""
    spec = launch_template_spec(template, holder)
    if spec is None:
        return None
    return template.target(spec.get("LaunchTemplateId")) or template.target(
        spec.get("LaunchTemplateName")
    )


def launch_template_spec(template: Template, holder: Resource) -> dict[str, Any] | None:
    """The raw ``LaunchTemplate`` specification of an instance or ASG (direct or mixed)."""
    spec = holder.properties.get("LaunchTemplate")
    if spec is None:
        spec = template.raw(
            holder, "MixedInstancesPolicy", "LaunchTemplate", "LaunchTemplateSpecification"
        )
    return spec if isinstance(spec, dict) else None


def is_bastion(resource: Resource) -> bool:
    """Bastions are recognised by their logical ID or Name tag."""
    return named(resource, "bastion")


def role_of_profile(template: Template, profile_value: Any) -> list[str]:
    """Roles behind an instance profile reference (``IamInstanceProfile``)."""
    return list(_profile_source(template, profile_value).roles)


def _profile_source(template: Template, profile_value: Any) -> RoleSource:
    """Roles behind ``IamInstanceProfile``: a Ref/GetAtt of a profile, its name or its ARN
    (an instance's string, a launch template's ``{Arn}``/``{Name}``)."""
    value = profile_value
    if isinstance(value, dict) and intrinsic(value) is None:
        value = value.get("Arn", value.get("Name"))
    resolved = template.resolve(value)
    if value is None or resolved is NO_VALUE:
        return RoleSource()
    profile = template.target(value)
    if profile is None and isinstance(resolved, str):
        name = resolved.rsplit("/", 1)[-1] if resolved.startswith("arn:") else resolved
        profile = next(
            (
                p.logical_id
                for p in template.of_type("AWS::IAM::InstanceProfile")
                if template.get(p, "InstanceProfileName") == name
            ),
            None,
        )
        if profile is None:
            return RoleSource(
                unknown=f"instance profile {resolved} is not declared in the template"
            )
    if isinstance(resolved, Unknown):
        return RoleSource(unknown=f"instance profile undecidable ({resolved.reason})")
    resource = template.resources.get(profile) if profile else None
    if resource is None or resource.type != "AWS::IAM::InstanceProfile":
        return RoleSource()
    return RoleSource(tuple(template.targets(resource.properties.get("Roles"))))


def compute_role_sources(template: Template) -> dict[str, RoleSource]:
    """Compute resource → its roles. An instance without ``IamInstanceProfile`` runs with the
    instance profile of its launch template (instance → launch template → profile → role)."""
    return template.cached("compute_roles", _build_compute_roles)  # type: ignore[no-any-return]


def _build_compute_roles(template: Template) -> dict[str, RoleSource]:
    sources: dict[str, RoleSource] = {}
    for resource in template.of_type(*COMPUTE_TYPES):
        lid = resource.logical_id
        if resource.type == "AWS::EC2::LaunchTemplate":
            raw = template.raw(resource, "LaunchTemplateData", "IamInstanceProfile")
            sources[lid] = _profile_source(template, raw)
        elif resource.type == "AWS::Lambda::Function":
            raw = resource.properties.get("Role")
            roles = template.targets(raw)
            if roles or raw is None:
                sources[lid] = RoleSource(tuple(roles))
            else:
                sources[lid] = RoleSource(
                    unknown=f"role {template.text(raw)} is not a role of the template"
                )
        else:
            raw = resource.properties.get("IamInstanceProfile")
            sources[lid] = _profile_source(template, raw)
    for instance in template.of_type("AWS::EC2::Instance"):
        lid = instance.logical_id
        spec = launch_template_spec(template, instance)
        direct = instance.properties.get("IamInstanceProfile")
        if spec is None or (direct is not None and template.resolve(direct) is not NO_VALUE):
            continue  # no launch template, or the instance's own profile overrides it
        launch = template.resource(launch_template_of(template, instance))
        if launch is None or launch.type != "AWS::EC2::LaunchTemplate":
            spec_text = template.text(spec.get("LaunchTemplateId", spec.get("LaunchTemplateName")))
            sources[lid] = RoleSource(
                unknown=f"launch template outside the template ({spec_text}): role not checked"
            )
            continue
        inherited = sources.get(launch.logical_id, RoleSource())
        sources[lid] = RoleSource(inherited.roles, launch.logical_id, inherited.unknown)
    return sources


def compute_roles(template: Template) -> dict[str, list[str]]:
    """Compute resource → the IAM roles it runs with."""
    return {lid: list(source.roles) for lid, source in compute_role_sources(template).items()}


def role_users(template: Template) -> dict[str, list[str]]:
    """Role → the compute units using it: an instance launched from a launch template of the
    template counts as that launch template, so the two never "share" a role."""
    users: dict[str, list[str]] = {}
    for compute, source in compute_role_sources(template).items():
        unit = source.via or compute
        for role in source.roles:
            if unit not in users.setdefault(role, []):
                users[role].append(unit)
    return users


# ---------------------------------------------------------------------------- buckets


def bucket_policies(template: Template) -> dict[str, list[Statement]]:
    """Bucket logical ID → statements of its bucket policies."""
    policies: dict[str, list[Statement]] = {}
    for policy in template.of_type("AWS::S3::BucketPolicy"):
        bucket = template.target(policy.properties.get("Bucket"))
        if bucket:
            policies.setdefault(bucket, []).extend(
                policy_statements(template, policy, "PolicyDocument")
            )
    return policies


def _bucket_target(template: Template, value: Any) -> str | None:
    """The bucket a property names, through Ref, GetAtt Arn/DomainName or Fn::Join."""
    target = template.target(value)
    if target and template.resources[target].type == "AWS::S3::Bucket":
        return target
    buckets = template.typed_references(value, "AWS::S3::Bucket")
    return buckets[0] if len(buckets) == 1 else None


def log_buckets(template: Template) -> dict[str, list[str]]:
    """Bucket → the log services writing to it (S3 access logs, ALB, CloudTrail, ...)."""
    writers: dict[str, list[str]] = {}

    def add(value: Any, writer: str) -> None:
        bucket = _bucket_target(template, value)
        if bucket:
            writers.setdefault(bucket, [])
            if writer not in writers[bucket]:
                writers[bucket].append(writer)

    for bucket in template.of_type("AWS::S3::Bucket"):
        logging = bucket.properties.get("LoggingConfiguration")
        if isinstance(logging, dict):
            add(logging.get("DestinationBucketName"), "s3-access-logs")
    for balancer in template.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        for attribute in as_list(balancer.properties.get("LoadBalancerAttributes")):
            if isinstance(attribute, dict) and attribute.get("Key") in {
                "access_logs.s3.bucket",
                "connection_logs.s3.bucket",
            }:
                add(attribute.get("Value"), "alb-access-logs")
    for trail in template.of_type("AWS::CloudTrail::Trail"):
        add(trail.properties.get("S3BucketName"), "cloudtrail")
    for channel in template.of_type("AWS::Config::DeliveryChannel"):
        add(channel.properties.get("S3BucketName"), "config")
    for flow in template.of_type("AWS::EC2::FlowLog"):
        if template.get(flow, "LogDestinationType") == "s3":
            add(flow.properties.get("LogDestination"), "vpc-flow-logs")
    for distribution in template.of_type("AWS::CloudFront::Distribution"):
        add(
            template.raw(distribution, "DistributionConfig", "Logging", "Bucket"), "cloudfront-logs"
        )
    for waf_logging in template.of_type("AWS::WAFv2::LoggingConfiguration"):
        for destination in as_list(waf_logging.properties.get("LogDestinationConfigs")):
            add(destination, "waf-logs")
    return writers


# -------------------------------------------------------------------------- databases


@dataclass(frozen=True)
class Database:
    """An RDS instance or cluster that owns its settings (Aurora members are folded in)."""

    resource: Resource
    engine: str
    members: tuple[Resource, ...] = ()  # Aurora cluster instances

    @property
    def logical_id(self) -> str:
        return self.resource.logical_id

    @property
    def family(self) -> str:
        return (
            "postgres"
            if "postgres" in self.engine
            else (
                "mysql"
                if self.engine in {"mysql", "mariadb", "aurora", "aurora-mysql"}
                else self.engine
            )
        )

    @property
    def is_cluster(self) -> bool:
        return self.resource.type == "AWS::RDS::DBCluster"

    @property
    def aurora(self) -> bool:
        return self.engine.startswith("aurora")


def databases(template: Template) -> list[Database]:
    return template.cached("databases", _build_databases)  # type: ignore[no-any-return]


def _build_databases(template: Template) -> list[Database]:
    found: list[Database] = []
    members: dict[str, list[Resource]] = {}
    for instance in template.of_type("AWS::RDS::DBInstance"):
        cluster = template.target(instance.properties.get("DBClusterIdentifier"))
        if cluster:
            members.setdefault(cluster, []).append(instance)
    for resource in template.of_type("AWS::RDS::DBCluster", "AWS::RDS::DBInstance"):
        if resource.type == "AWS::RDS::DBInstance" and template.raw(
            resource, "DBClusterIdentifier"
        ):
            continue
        engine = template.resolve(resource.properties.get("Engine"))
        found.append(
            Database(
                resource,
                str(engine).lower() if isinstance(engine, str) else "unknown",
                tuple(members.get(resource.logical_id, [])),
            )
        )
    return found


@dataclass(frozen=True)
class ExportLog:
    """One log a database exports to ``/aws/rds/<instance|cluster>/<identifier>/<log>``, and the
    template's log groups by how their names relate to that destination."""

    log: str
    destination: str  # the path as shown in findings, identifier rendered as text
    by_identifier: tuple[str, ...] = ()  # named from the (lower-cased) identifier: same text
    by_ref: tuple[str, ...] = ()  # named through a Ref to the database
    maybe: tuple[str, ...] = ()  # built from other deploy-time parts that might match
    miscased: tuple[str, ...] = ()  # the identifier in its written case: never the destination

    @property
    def covering(self) -> tuple[str, ...]:
        return self.by_identifier + self.by_ref


def _lower(parts: tuple[Part, ...]) -> tuple[Part, ...]:
    return tuple(part.lower() if isinstance(part, str) else part for part in parts)


def rds_export_logs(template: Template, database: Database) -> list[ExportLog]:
    """The logs ``database`` exports (EnableCloudwatchLogsExports) and the declared log groups
    that are (or might be) their destinations.

    Names are compared as concatenations (:meth:`Resolver.concatenation`, :func:`same_text`):
    the identifier may be a deploy-time expression the group names repeat. RDS stores
    identifiers in lower case; without an identifier it generates a name nobody can repeat, so
    only a Ref to the database names its groups.
    """
    t = template
    exports = [str(x) for x in as_list(t.get(database.resource, "EnableCloudwatchLogsExports"))]
    if not exports:
        return []
    names = [
        (group.logical_id, t.resolver.concatenation(group.properties.get("LogGroupName")))
        for group in t.of_type("AWS::Logs::LogGroup")
        if group.properties.get("LogGroupName") is not None
    ]
    kind = "cluster" if database.is_cluster else "instance"
    raw = database.resource.properties.get(
        "DBClusterIdentifier" if database.is_cluster else "DBInstanceIdentifier"
    )
    identifier = _lower(t.resolver.concatenation(raw))
    by_ref = (Opaque.of({"Ref": database.logical_id}),)
    if not identifier:
        shown = "${" + database.logical_id + "}"
    else:
        shown = t.text(raw)
        shown = shown.lower() if all(isinstance(p, str) for p in identifier) else shown
    found: list[ExportLog] = []
    for log in exports:
        prefix, suffix = f"/aws/rds/{kind}/", f"/{log}"
        expected = (prefix, *identifier, suffix)
        groups: dict[str, list[str]] = {"identifier": [], "ref": [], "maybe": [], "miscased": []}
        for logical_id, name in names:
            same = same_text(name, expected) if identifier else False
            if same is True:
                groups["identifier"].append(logical_id)
            elif same_text(name, (prefix, *by_ref, suffix)) is True:
                groups["ref"].append(logical_id)
            elif same is None:
                groups["maybe"].append(logical_id)
            elif identifier and same_text(_lower(name), expected) is True:
                groups["miscased"].append(logical_id)
        found.append(
            ExportLog(
                log,
                f"{prefix}{shown}{suffix}",
                tuple(groups["identifier"]),
                tuple(groups["ref"]),
                tuple(groups["maybe"]),
                tuple(groups["miscased"]),
            )
        )
    return found


def database_port(template: Template, database: Database) -> int | Unknown | None:
    raw = database.resource.properties.get("Port")
    if raw is None:
        return DB_DEFAULT_PORTS.get(database.engine)
    value = template.resolve(raw)
    if isinstance(value, Unknown):
        return value
    return as_int(value)


def is_database_port(template: Template, database: Database, value: Any) -> bool | None:
    """Whether a rule port is the database's port (a GetAtt Endpoint.Port of it counts)."""
    if isinstance(value, ResourceRef):
        return value.logical_id == database.logical_id and "Port" in (value.attribute or "")
    port = database_port(template, database)
    if isinstance(port, Unknown) or port is None or isinstance(value, Unknown):
        return None
    return as_int(value) == port


def parameter_group_values(template: Template, database: Database) -> dict[str, Any]:
    """Merged parameters of the database's (cluster and instance) parameter groups."""
    values: dict[str, Any] = {}
    holders = [database.resource, *database.members]
    for holder in holders:
        for prop in ("DBClusterParameterGroupName", "DBParameterGroupName"):
            group = template.target(holder.properties.get(prop))
            resource = template.resources.get(group) if group else None
            if resource is not None:
                parameters = template.get(resource, "Parameters")
                if isinstance(parameters, dict):
                    values.update({str(k): v for k, v in parameters.items()})
    return values


def normalized(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value).strip().lower()
    return {"on": "1", "true": "1", "off": "0", "false": "0"}.get(text, text)


# ------------------------------------------------------------------------------- misc


def in_network(cidr: Any, block: Any) -> bool | None:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).subnet_of(
            ipaddress.ip_network(str(block), strict=False)  # type: ignore[arg-type]
        )
    except (TypeError, ValueError):
        return None


def named(resource: Resource, *words: str) -> bool:
    """Whether a resource's logical ID or Name tag mentions one of ``words``."""
    haystack = resource.logical_id.lower()
    for tag in as_list(resource.properties.get("Tags")):
        if isinstance(tag, dict) and tag.get("Key") == "Name" and isinstance(tag.get("Value"), str):
            haystack += " " + str(tag["Value"]).lower()
    return any(word in haystack for word in words)


def is_cmk_reference(template: Template, value: Any) -> bool | None:
    """A KMS key reference that is a customer-managed key (``alias/aws/...`` is not)."""
    if value is None:
        return False
    resolved = template.resolve(value)
    if isinstance(resolved, ResourceRef):
        kind = template.resources[resolved.logical_id].type
        return kind in {"AWS::KMS::Key", "AWS::KMS::Alias", "AWS::KMS::ReplicaKey"}
    text = template.text(value)
    if "alias/aws/" in text:
        return False
    if isinstance(resolved, Unknown):
        return True if text.strip() and "${" in text else None
    return bool(str(resolved).strip())


def key_of(template: Template, value: Any) -> str | None:
    """The KMS key resource a reference points at (through an alias of the template)."""
    target = template.target(value)
    if target is None:
        keys = template.typed_references(value, "AWS::KMS::Key", "AWS::KMS::Alias")
        target = keys[0] if len(keys) == 1 else None
    resource = template.resources.get(target) if target else None
    if resource is not None and resource.type == "AWS::KMS::Alias":
        return template.target(resource.properties.get("TargetKeyId"))
    return target
