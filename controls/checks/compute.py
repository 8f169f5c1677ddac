"""CMP — compute controls."""

from __future__ import annotations

import re
from typing import Any

from controls.analysis import (
    WORLD,
    compute_role_sources,
    compute_roles,
    groups_of,
    is_bastion,
    is_cmk_reference,
    launch_template_of,
    launch_template_spec,
    managed_policy_names,
    network,
    role_policies,
    role_users,
    security_group_rules,
)
from controls.catalogue import Context, control
from controls.model import Assessment, Outcome, Severity, not_applicable
from controls.resolve import Unknown, as_bool, as_int, as_list, intrinsic
from controls.template import Resource, Template

EC2_TYPES = (
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::Instance",
    "AWS::AutoScaling::LaunchConfiguration",
    "AWS::AutoScaling::AutoScalingGroup",
)


def user_data(t: Template, resource: Resource) -> str:
    if resource.type == "AWS::EC2::LaunchTemplate":
        return t.text(t.raw(resource, "LaunchTemplateData", "UserData"))
    return t.text(resource.properties.get("UserData"))


@control(
    "CMP-01",
    title="Launch templates and SSM-resolved AMIs",
    severity=Severity.MEDIUM,
    requirement="""Launch templates only; AMI from an SSM public parameter, never an AMI map.""",
    impact="""Launch configurations are deprecated and cannot use current EC2 features; AMI maps
    go stale and keep launching unpatched images.""",
    fix="""Use AWS::EC2::LaunchTemplate everywhere and take ImageId from a parameter of type
    AWS::SSM::Parameter::Value<AWS::EC2::Image::Id> defaulting to an /aws/service/ path (CDK:
    `MachineImage.latest_amazon_linux2023()`).""",
)
def cmp_01(ctx: Context) -> Outcome:
    """AWS::AutoScaling::LaunchConfiguration fails; every ASG (directly or in a
    MixedInstancesPolicy) and every AWS::EC2::Instance must use a launch template; each ImageId
    must be a Ref to an AWS::SSM::Parameter::Value<AWS::EC2::Image::Id> parameter defaulting to a
    public /aws/service/ path or a `{{resolve:ssm:/aws/service/...}}` reference — Fn::FindInMap and
    literal ami- IDs fail."""
    t = ctx.template
    if not t.has(*EC2_TYPES):
        return not_applicable("no EC2 compute in the template")
    a = Assessment()
    for config in t.of_type("AWS::AutoScaling::LaunchConfiguration"):
        a.fail(config.logical_id, "launch configuration (deprecated); use a launch template")
    for group in t.of_type("AWS::AutoScaling::AutoScalingGroup"):
        a.check(
            group.logical_id,
            launch_template_of(t, group) is not None,
            "uses a launch template",
            "no launch template",
        )
    for instance in t.of_type("AWS::EC2::Instance"):
        if instance.properties.get("LaunchTemplate") is None:
            a.fail(instance.logical_id, "instance without a launch template")
        if instance.properties.get("ImageId") is not None:
            _check_image(t, a, instance, instance.properties.get("ImageId"))
    for template in t.of_type("AWS::EC2::LaunchTemplate"):
        image = t.raw(template, "LaunchTemplateData", "ImageId")
        if image is None:
            a.fail(template.logical_id, "no ImageId")
        else:
            _check_image(t, a, template, image)
    return a.outcome()


def _check_image(t: Template, a: Assessment, owner: Resource, raw: Any) -> None:
    lid = owner.logical_id
    function = intrinsic(raw)
    text = t.text(raw)
    if function is not None and function[0] == "Fn::FindInMap":
        a.fail(lid, "ImageId from an AMI map (Fn::FindInMap)")
        return
    if "{{resolve:ssm:/aws/service/" in text:
        a.ok(lid, "ImageId resolved from an SSM public parameter")
        return
    if function is not None and function[0] == "Ref" and function[1] in t.parameters:
        definition = t.parameters[function[1]]
        kind = str(definition.get("Type", ""))
        default = str(definition.get("Default", ""))
        if kind == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>" and default.startswith(
            "/aws/service/"
        ):
            a.ok(lid, f"ImageId from SSM public parameter {default}")
        elif kind.startswith("AWS::SSM::Parameter::Value<"):
            a.fail(
                lid,
                f"ImageId from SSM parameter {default or '(no default)'}, not an "
                "/aws/service/ public parameter",
            )
        else:
            a.fail(lid, f"ImageId from parameter {function[1]} of type {kind or 'String'}")
        return
    if re.match(r"^ami-[0-9a-f]+$", text):
        a.fail(lid, f"hard-coded AMI {text}")
    else:
        a.unknown(lid, f"ImageId {text} cannot be classified")


def _metadata_options(t: Template, resource: Resource) -> Any:
    if resource.type == "AWS::EC2::LaunchTemplate":
        return t.get(resource, "LaunchTemplateData", "MetadataOptions")
    return t.get(resource, "MetadataOptions")


@control(
    "CMP-02",
    title="IMDSv2 only",
    severity=Severity.CRITICAL,
    requirement="""IMDSv2: `HttpTokens: required`, `HttpEndpoint: enabled`, hop limit 1 (2 as an
    option for containers).""",
    impact="""IMDSv1 answers unauthenticated GET requests, so any SSRF flaw in the application
    leaks the instance role's credentials.""",
    fix="""Set LaunchTemplateData.MetadataOptions to HttpTokens required, HttpEndpoint enabled,
    HttpPutResponseHopLimit 1 (CDK: `require_imdsv2=True, http_endpoint=True,
    http_put_response_hop_limit=1`).""",
)
def cmp_02(ctx: Context) -> Outcome:
    """Every AWS::EC2::LaunchTemplate (LaunchTemplateData.MetadataOptions) and launch
    configuration (MetadataOptions) needs HttpTokens required, HttpEndpoint enabled and an
    explicit HttpPutResponseHopLimit of 1 or 2 (the default follows the AMI; AL2023 images use 2);
    an AWS::EC2::Instance without a launch template cannot require IMDSv2 and fails."""
    t = ctx.template
    holders = t.of_type("AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration")
    instances = t.of_type("AWS::EC2::Instance")
    if not holders and not instances:
        return not_applicable("no launch template, launch configuration or instance")
    a = Assessment()
    for resource in holders:
        options = _metadata_options(t, resource)
        lid = resource.logical_id
        if isinstance(options, Unknown):
            a.unknown(lid, f"MetadataOptions undecidable ({options.reason})")
            continue
        options = options if isinstance(options, dict) else {}
        tokens = options.get("HttpTokens")
        a.check(
            lid,
            tokens == "required" if not isinstance(tokens, Unknown) else None,
            "HttpTokens required",
            f"HttpTokens {tokens or 'not set (optional)'}: IMDSv1 is allowed",
        )
        endpoint = options.get("HttpEndpoint")
        a.check(
            lid,
            endpoint == "enabled",
            "HttpEndpoint enabled",
            f"HttpEndpoint {endpoint or 'not set'} (must be explicitly enabled)",
        )
        hops = as_int(options.get("HttpPutResponseHopLimit"))
        a.check(
            lid,
            hops in (1, 2),
            f"hop limit {hops}",
            f"HttpPutResponseHopLimit {options.get('HttpPutResponseHopLimit') or 'not set'} "
            "(set 1, or 2 for containers)",
        )
    for instance in instances:
        if instance.properties.get("LaunchTemplate") is None:
            a.fail(instance.logical_id, "instance without a launch template: IMDSv2 not required")
        elif launch_template_of(t, instance) is None:
            a.unknown(instance.logical_id, "launch template outside the template")
    return a.outcome()


def _show(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def block_device_findings(t: Template, resource: Resource) -> list[tuple[bool | None, str]]:
    if resource.type == "AWS::EC2::LaunchTemplate":
        mappings = t.get(resource, "LaunchTemplateData", "BlockDeviceMappings")
    else:
        mappings = t.get(resource, "BlockDeviceMappings")
    ebs_mappings = [
        m for m in as_list(mappings) if isinstance(m, dict) and isinstance(m.get("Ebs"), dict)
    ]
    if not ebs_mappings:
        return [
            (
                False,
                "no BlockDeviceMappings: root volume keeps the AMI defaults "
                "(unencrypted gp2, no CMK)",
            )
        ]
    findings: list[tuple[bool | None, str]] = []
    for mapping in ebs_mappings:
        ebs, device = mapping["Ebs"], mapping.get("DeviceName", "volume")
        findings += [
            (
                ebs.get("VolumeType") == "gp3",
                f"{device}: VolumeType {ebs.get('VolumeType') or 'not set (gp2)'}",
            ),
            (
                as_bool(ebs.get("Encrypted")) is True,
                f"{device}: Encrypted {_show(ebs.get('Encrypted'))}",
            ),
            (
                is_cmk_reference(t, ebs.get("KmsKeyId")),
                f"{device}: KmsKeyId "
                + ("customer-managed" if ebs.get("KmsKeyId") is not None else "not set (aws/ebs)"),
            ),
            (
                as_bool(ebs.get("DeleteOnTermination")) is True,
                f"{device}: DeleteOnTermination {_show(ebs.get('DeleteOnTermination'))}",
            ),
        ]
    return findings


@control(
    "CMP-03",
    title="gp3 root volumes encrypted with a CMK, deleted on termination",
    severity=Severity.HIGH,
    requirement="""Root volumes gp3, encrypted with a CMK, delete on termination.""",
    impact="""Unencrypted or AWS-key volumes (and their snapshots) can be read without key-policy
    control; orphaned volumes keep data and cost after instances are gone.""",
    fix="""Declare BlockDeviceMappings for the root device with VolumeType gp3, Encrypted true,
    KmsKeyId of the stack's key and DeleteOnTermination true.""",
)
def cmp_03(ctx: Context) -> Outcome:
    """Each launch template, launch configuration and instance without a launch template must
    declare BlockDeviceMappings whose Ebs volumes are gp3, Encrypted, with a customer-managed
    KmsKeyId and DeleteOnTermination true (no mapping → the AMI's unencrypted default)."""
    t = ctx.template
    hosts = [
        r
        for r in t.of_type(
            "AWS::EC2::LaunchTemplate",
            "AWS::EC2::Instance",
            "AWS::AutoScaling::LaunchConfiguration",
        )
        if not (r.type == "AWS::EC2::Instance" and r.properties.get("LaunchTemplate"))
    ]
    if not hosts:
        return not_applicable("no launch template or stand-alone instance")
    a = Assessment()
    for host in hosts:
        for holds, message in block_device_findings(t, host):
            a.check(host.logical_id, holds, message, message)
    return a.outcome()


def _fleets(t: Template) -> list[Resource]:
    return [g for g in t.of_type("AWS::AutoScaling::AutoScalingGroup") if not is_bastion(g)]


@control(
    "CMP-04",
    title="Auto Scaling groups across private subnets with ELB health checks",
    severity=Severity.HIGH,
    requirement="""ASG over private subnets of all AZs, ELB health checks + grace period, min ≥2,
    group metrics, notifications to SNS.""",
    impact="""A fleet in one AZ, below two instances or on EC2-only health checks goes down with an
    AZ or keeps serving from broken instances; without metrics and notifications nobody notices.""",
    fix="""Place the ASG in the private subnets of every AZ with HealthCheckType ELB, a
    HealthCheckGracePeriod, MinSize ≥ 2, MetricsCollection and NotificationConfigurations to the
    alert topic.""",
)
def cmp_04(ctx: Context) -> Outcome:
    """Each AWS::AutoScaling::AutoScalingGroup (bastions excepted) must list only private
    subnets in VPCZoneIdentifier, covering every AZ that has private subnets; HealthCheckType
    ELB; a HealthCheckGracePeriod; MinSize ≥ 2 (parameter defaults count); MetricsCollection;
    NotificationConfigurations with a TopicARN."""
    t = ctx.template
    groups = _fleets(t)
    if not groups:
        return not_applicable("no Auto Scaling group")
    a = Assessment()
    net = network(t)
    private_azs = {s.az.key for s in net.tier("private") if s.az.key}
    for group in groups:
        lid = group.logical_id
        subnets = t.targets(group.properties.get("VPCZoneIdentifier"))
        if not subnets:
            a.unknown(lid, "subnets outside the template (VPCZoneIdentifier)")
        else:
            not_private = [
                s for s in subnets if s in net.subnets and net.subnets[s].tier != "private"
            ]
            if not_private:
                a.fail(lid, f"runs in non-private subnets {', '.join(not_private)}")
            azs = {
                net.subnets[s].az.key for s in subnets if s in net.subnets and net.subnets[s].az.key
            }
            missing = sorted(private_azs - azs)
            a.check(
                lid,
                not missing and len(azs) >= 2,
                f"spans {len(azs)} AZs",
                f"spans {len(azs)} AZ(s)" + (f"; missing {', '.join(missing)}" if missing else ""),
            )
        a.check(
            lid,
            t.get(group, "HealthCheckType") == "ELB",
            "ELB health checks",
            f"HealthCheckType {t.get(group, 'HealthCheckType') or 'EC2 (default)'}",
        )
        a.check(
            lid,
            as_int(t.get(group, "HealthCheckGracePeriod")) not in (None, 0),
            "health check grace period set",
            "no HealthCheckGracePeriod",
        )
        minimum = t.get(group, "MinSize")
        if isinstance(minimum, Unknown):
            a.unknown(lid, f"MinSize undecidable ({minimum.reason})")
        else:
            number = as_int(minimum)
            a.check(
                lid,
                number is not None and number >= 2,
                f"MinSize {minimum}",
                f"MinSize {minimum} (need ≥ 2)",
            )
        a.check(
            lid,
            bool(as_list(t.get(group, "MetricsCollection"))),
            "group metrics collected",
            "no MetricsCollection",
        )
        topics = [
            n
            for n in as_list(t.get(group, "NotificationConfigurations"))
            if isinstance(n, dict) and n.get("TopicARN")
        ]
        a.check(lid, bool(topics), "notifications to SNS", "no NotificationConfigurations")
    return a.outcome()


_SIGNAL = re.compile(r"cfn-signal|signal-resource", re.I)
_HEALTH_GATE = re.compile(r"health|is-active|until\s+curl|wait_for|readiness", re.I)
# CDK's Signals: cfn-signal in a function run by `trap ... EXIT` (signals the script's exit code)
_EXIT_TRAP = re.compile(r"^\s*trap\s+\S+\s+EXIT\b", re.M)


@control(
    "CMP-05",
    title="Rolling updates and creation gated on healthy-instance signals",
    severity=Severity.MEDIUM,
    requirement="""Rolling `UpdatePolicy` waiting on resource signals + `CreationPolicy`; user
    data signals only after the instance is healthy.""",
    impact="""Without signals CloudFormation declares success while instances are still broken,
    and a bad launch template replaces the whole fleet at once.""",
    fix="""Add UpdatePolicy.AutoScalingRollingUpdate with WaitOnResourceSignals and a
    CreationPolicy.ResourceSignal; in user data, wait for the local health endpoint, then run
    cfn-signal (CDK: `signals=Signals.wait_for_min_capacity()`,
    `UpdatePolicy.rolling_update()`).""",
    limits="""Whether the script really waits for health is judged from its text (a health probe
    before cfn-signal).""",
)
def cmp_05(ctx: Context) -> Outcome:
    """Each ASG (bastions excepted) needs UpdatePolicy.AutoScalingRollingUpdate with
    WaitOnResourceSignals true and CreationPolicy.ResourceSignal; its launch template's user data
    must call cfn-signal (or `aws cloudformation signal-resource`) after a health probe (text
    such as `health`, `until curl`, `systemctl is-active` before the signal, or anywhere after a
    `trap ... EXIT` that sends the signal with the script's exit code, CDK's Signals shape)."""
    t = ctx.template
    groups = _fleets(t)
    if not groups:
        return not_applicable("no Auto Scaling group")
    a = Assessment()
    for group in groups:
        lid = group.logical_id
        update = t.resolve(group.attribute("UpdatePolicy")) or {}
        rolling = update.get("AutoScalingRollingUpdate") if isinstance(update, dict) else None
        waits = isinstance(rolling, dict) and as_bool(rolling.get("WaitOnResourceSignals")) is True
        a.check(
            lid,
            waits,
            "rolling update waits on resource signals",
            "no AutoScalingRollingUpdate with WaitOnResourceSignals",
        )
        creation = t.resolve(group.attribute("CreationPolicy")) or {}
        a.check(
            lid,
            isinstance(creation, dict) and isinstance(creation.get("ResourceSignal"), dict),
            "CreationPolicy waits for signals",
            "no CreationPolicy.ResourceSignal",
        )
        template = t.resource(launch_template_of(t, group))
        if template is None:
            a.unknown(lid, "launch template outside the template: user data not checked")
            continue
        script = user_data(t, template)
        signal = _SIGNAL.search(script)
        on_exit = _EXIT_TRAP.search(script)
        if signal is None:
            a.fail(template.logical_id, "user data never signals CloudFormation (cfn-signal)")
        elif on_exit and _HEALTH_GATE.search(script[on_exit.end() :]):
            a.ok(template.logical_id, "user data signals on exit, after a health probe")
        elif _HEALTH_GATE.search(script[: signal.start()]):
            a.ok(template.logical_id, "user data signals after a health probe")
        else:
            a.fail(template.logical_id, "user data signals without first checking health")
    return a.outcome()


@control(
    "CMP-06",
    title="Target tracking, step and predictive scaling, lifecycle hooks, mixed instances",
    severity=Severity.MEDIUM,
    requirement="""Scaling: target tracking (CPU, ALB requests per target), step scaling,
    predictive scaling, lifecycle hooks, mixed instances policy.""",
    impact="""A fleet that scales on one signal only reacts late to spikes, cannot pre-warm for
    known patterns, drops in-flight work on scale-in, and depends on one instance type's
    capacity.""",
    fix="""Attach AWS::AutoScaling::ScalingPolicy resources (TargetTracking on
    ASGAverageCPUUtilization and ALBRequestCountPerTarget, StepScaling, PredictiveScaling), an
    AWS::AutoScaling::LifecycleHook and a MixedInstancesPolicy.""",
)
def cmp_06(ctx: Context) -> Outcome:
    """For each ASG (bastions excepted): ScalingPolicy resources on it must include target
    tracking on ASGAverageCPUUtilization and on ALBRequestCountPerTarget, a StepScaling and a
    PredictiveScaling policy; a LifecycleHook (resource or LifecycleHookSpecificationList); a
    MixedInstancesPolicy."""
    t = ctx.template
    groups = _fleets(t)
    if not groups:
        return not_applicable("no Auto Scaling group")
    a = Assessment()
    for group in groups:
        lid = group.logical_id
        kinds: set[str] = set()
        for policy in t.of_type("AWS::AutoScaling::ScalingPolicy"):
            if t.target(policy.properties.get("AutoScalingGroupName")) != lid:
                continue
            policy_type = t.get(policy, "PolicyType") or "SimpleScaling"
            kinds.add(str(policy_type))
            if policy_type == "TargetTrackingScaling":
                metric = t.get(
                    policy,
                    "TargetTrackingConfiguration",
                    "PredefinedMetricSpecification",
                    "PredefinedMetricType",
                )
                kinds.add(f"TargetTracking:{metric}")
        for wanted, label in (
            ("TargetTracking:ASGAverageCPUUtilization", "CPU target tracking"),
            ("TargetTracking:ALBRequestCountPerTarget", "request-count target tracking"),
            ("StepScaling", "step scaling"),
            ("PredictiveScaling", "predictive scaling"),
        ):
            a.check(lid, wanted in kinds, label, f"no {label} policy")
        hooks = [
            h
            for h in t.of_type("AWS::AutoScaling::LifecycleHook")
            if t.target(h.properties.get("AutoScalingGroupName")) == lid
        ]
        inline = as_list(t.get(group, "LifecycleHookSpecificationList"))
        a.check(lid, bool(hooks or inline), "lifecycle hooks", "no lifecycle hook")
        a.check(
            lid,
            group.properties.get("MixedInstancesPolicy") is not None,
            "mixed instances policy",
            "no MixedInstancesPolicy",
        )
    return a.outcome()


_AGENT = re.compile(r"amazon-cloudwatch-agent|AmazonCloudWatch-ManageAgent", re.I)
_AGENT_SECTIONS = (
    (re.compile(r'mem_used_percent|"mem"\s*:'), "memory metrics"),
    (re.compile(r'disk_used_percent|"disk"\s*:'), "disk metrics"),
    (re.compile(r"collect_list"), "log shipping"),
)


@control(
    "CMP-07",
    title="CloudWatch agent collects memory, disk and logs",
    severity=Severity.LOW,
    requirement="""CloudWatch agent configured (memory, disk, log shipping).""",
    impact="""EC2 publishes no memory or disk metrics and no application logs by itself;
    exhaustion and errors stay invisible.""",
    fix="""Install and configure the CloudWatch agent (user data, cfn-init or an SSM parameter)
    with mem_used_percent, disk_used_percent and a logs collect_list; grant
    CloudWatchAgentServerPolicy.""",
    limits="""The configuration is recognised by its text (agent name, metric and log keys) in
    user data, cfn-init metadata and SSM parameters/documents. The control covers the
    application fleet: launch templates (or launch configurations) of Auto Scaling groups and
    stand-alone instances; bastions (logical ID or Name tag says bastion, as for CMP-04/CMP-08)
    and launch templates no group or instance uses are left out — CMP-08 covers bastions.""",
)
def cmp_07(ctx: Context) -> Outcome:
    """Applies to the application fleet: the launch template (LaunchTemplate or
    MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification) or launch configuration of
    each Auto Scaling group, and each AWS::EC2::Instance, bastions excepted (the group, instance
    or its launch template is named bastion; CMP-08 covers them). Their user data,
    AWS::CloudFormation::Init metadata and the template's SSM parameters and documents together
    must mention the amazon-cloudwatch-agent and a configuration with memory
    (`mem_used_percent` or a `"mem"` section), disk (`disk_used_percent` or a `"disk"` section)
    and a logs `collect_list`; each host's role (an instance's through its launch template)
    needs CloudWatchAgentServerPolicy or cloudwatch:PutMetricData."""
    t = ctx.template
    a = Assessment()
    hosts: dict[str, list[Resource]] = {}  # host → resources holding its user data/metadata
    for group in _fleets(t):
        spec = launch_template_spec(t, group)
        holder = t.resource(launch_template_of(t, group)) or t.resource(
            t.target(group.properties.get("LaunchConfigurationName"))
        )
        if holder is None:
            if spec is not None:
                a.unknown(group.logical_id, "launch template outside the template: not checked")
            continue
        if not is_bastion(holder):
            hosts.setdefault(holder.logical_id, [holder])
    for instance in t.of_type("AWS::EC2::Instance"):
        template = t.resource(launch_template_of(t, instance))
        if is_bastion(instance) or (template is not None and is_bastion(template)):
            continue
        hosts[instance.logical_id] = [instance] + ([template] if template is not None else [])
    if not hosts and not a.items:
        return not_applicable(
            "no application fleet (Auto Scaling group launch template or non-bastion instance)"
        )
    texts = [
        user_data(t, holder) + "\n" + t.text(holder.attribute("Metadata"))
        for holders in hosts.values()
        for holder in holders
    ]
    texts += [
        t.text(r.properties)
        for r in t.of_type("AWS::SSM::Parameter", "AWS::SSM::Document", "AWS::SSM::Association")
    ]
    blob = "\n".join(texts)
    if hosts:
        a.check(
            None,
            bool(_AGENT.search(blob)),
            "CloudWatch agent installed/managed",
            "no CloudWatch agent in user data, cfn-init or SSM",
        )
        for pattern, label in _AGENT_SECTIONS:
            a.check(
                None,
                bool(pattern.search(blob)),
                label,
                f"agent configuration lacks {label} ({pattern.pattern})",
            )
    sources = compute_role_sources(t)
    for host in hosts:
        source = sources.get(host)
        if source is not None and source.unknown and not source.roles:
            a.unknown(host, source.unknown)
            continue
        allowed = any(
            "CloudWatchAgentServerPolicy" in managed_policy_names(t, role)
            or any("cloudwatch:PutMetricData" in s.actions for s in role_policies(t, role))
            for role in (source.roles if source is not None else ())
        )
        a.check(
            host,
            allowed,
            "role may publish agent metrics",
            "role lacks CloudWatchAgentServerPolicy / cloudwatch:PutMetricData",
        )
    return a.outcome()


@control(
    "CMP-08",
    title="Hardened, Session-Manager bastion",
    severity=Severity.HIGH,
    requirement="""Bastion: SSM-managed, IMDSv2, encrypted volume, own role; public SSH only if
    explicitly requested with a non-world CIDR.""",
    impact="""A bastion is the door to the private network: SSH open to the world, IMDSv1 or a
    shared role turn it into the easiest way in.""",
    fix="""Run the bastion with its own role (AmazonSSMManagedInstanceCore), a launch template
    requiring IMDSv2, an encrypted root volume, and add an SSH rule only behind a condition with
    a validated non-world CIDR parameter.""",
)
def cmp_08(ctx: Context) -> Outcome:
    """Bastions are instances/launch templates/ASGs whose logical ID or Name tag says bastion.
    Each needs a role (own, not shared) with AmazonSSMManagedInstanceCore or
    ssm:UpdateInstanceInformation, a launch template with HttpTokens required, encrypted EBS
    mappings, and SSH (22) ingress only behind a condition from a non-world CIDR."""
    t = ctx.template
    bastions = [
        r
        for r in t.of_type("AWS::EC2::Instance", "AWS::AutoScaling::AutoScalingGroup")
        if is_bastion(r)
    ]
    bastions += [
        r
        for r in t.of_type("AWS::EC2::LaunchTemplate")
        if is_bastion(r) and not any(launch_template_of(t, b) == r.logical_id for b in bastions)
    ]
    if not bastions:
        return not_applicable("no bastion host (no instance or launch template named bastion)")
    a = Assessment()
    roles = compute_roles(t)
    users = role_users(t)
    rules = security_group_rules(t)
    for bastion in bastions:
        lid = bastion.logical_id
        template = (
            t.resource(launch_template_of(t, bastion))
            if bastion.type != "AWS::EC2::LaunchTemplate"
            else bastion
        )
        holder = template or bastion
        host_roles = roles.get(lid, []) or roles.get(holder.logical_id, [])
        a.check(lid, bool(host_roles), "has its own instance role", "no instance role")
        for role in host_roles:
            ssm = "AmazonSSMManagedInstanceCore" in managed_policy_names(t, role) or any(
                "ssm:UpdateInstanceInformation" in s.actions for s in role_policies(t, role)
            )
            a.check(
                lid,
                ssm,
                "managed through Session Manager",
                f"role {role} lacks Session Manager permissions",
            )
            others = [u for u in users.get(role, []) if u not in {lid, holder.logical_id}]
            a.check(
                lid,
                not others,
                f"role {role} not shared",
                f"role {role} shared with {', '.join(others)}",
            )
        if template is None:
            a.fail(lid, "no launch template: IMDSv2 not required")
        else:
            tokens = t.get(template, "LaunchTemplateData", "MetadataOptions", "HttpTokens")
            a.check(
                lid, tokens == "required", "IMDSv2 required", f"HttpTokens {tokens or 'not set'}"
            )
        for holds, message in block_device_findings(t, holder):
            if "Encrypted" in message or "BlockDeviceMappings" in message:
                a.check(lid, holds, message, message)
        for group in groups_of(t, holder) + groups_of(t, bastion):
            for rule in rules:
                if (
                    rule.group != group
                    or rule.direction != "ingress"
                    or rule.covers(22) is not True
                ):
                    continue
                if rule.peer_group:
                    continue
                if isinstance(rule.cidr, str) and rule.cidr in WORLD:
                    a.fail(rule.defined_in, f"SSH open to {rule.cidr}")
                elif rule.condition is None:
                    a.fail(
                        rule.defined_in,
                        "SSH ingress is always on; put it behind a condition (explicit request)",
                    )
                else:
                    a.ok(rule.defined_in, f"SSH only when {rule.condition} from {rule.cidr}")
    return a.outcome()


def _log_group_of_function(t: Template, function: Resource) -> Resource | None:
    configured = t.raw(function, "LoggingConfig", "LogGroup")
    if configured is not None:
        target = t.target(configured) or next(
            iter(t.typed_references(configured, "AWS::Logs::LogGroup")), None
        )
        return t.resource(target)
    for group in t.of_type("AWS::Logs::LogGroup"):
        name = group.properties.get("LogGroupName")
        if function.logical_id in t.references(name) and "/aws/lambda/" in t.text(name):
            return group
    return None


def _retention_of_function(t: Template, function: Resource) -> tuple[bool | None, str]:
    group = _log_group_of_function(t, function)
    if group is not None:
        retention = group.properties.get("RetentionInDays")
        return retention is not None, (
            f"log group {group.logical_id} retention {t.text(retention)}"
            if retention is not None
            else f"log group {group.logical_id} has no RetentionInDays"
        )
    for custom in t.of_type("Custom::LogRetention"):
        if function.logical_id in t.references(custom.properties.get("LogGroupName")):
            return True, f"log retention set by {custom.logical_id}"
    return False, "no log group with retention (the implicit group never expires)"


@control(
    "CMP-09",
    title="Hardened Lambda functions",
    severity=Severity.MEDIUM,
    requirement="""Lambda: env vars encrypted with a CMK, DLQ, X-Ray active tracing, reserved
    concurrency, log retention, in the VPC when it reaches private resources.""",
    impact="""Environment secrets readable with the AWS-managed key, lost failed events, no
    traces, unbounded concurrency (noisy-neighbour and cost risk) and never-expiring logs.""",
    fix="""Set KmsKeyArn, DeadLetterConfig (or an on-failure destination), TracingConfig Active,
    ReservedConcurrentExecutions, a log group with retention, and VpcConfig for functions that
    reach private resources.""",
    limits="""'Reaches private resources' is judged from environment variables referring to
    databases of the template.""",
)
def cmp_09(ctx: Context) -> Outcome:
    """Each AWS::Lambda::Function: KmsKeyArn (a CMK) when it has environment variables;
    DeadLetterConfig.TargetArn or an AWS::Lambda::EventInvokeConfig on-failure destination;
    TracingConfig.Mode Active; ReservedConcurrentExecutions ≥ 1; a log group with
    RetentionInDays (LoggingConfig, /aws/lambda/<fn> group, or Custom::LogRetention); VpcConfig
    when its environment refers to an RDS instance/cluster of the template."""
    t = ctx.template
    functions = t.of_type("AWS::Lambda::Function")
    if not functions:
        return not_applicable("no AWS::Lambda::Function")
    a = Assessment()
    destinations = {
        t.target(c.properties.get("FunctionName"))
        for c in t.of_type("AWS::Lambda::EventInvokeConfig")
        if t.raw(c, "DestinationConfig", "OnFailure") is not None
    }
    for function in functions:
        lid = function.logical_id
        variables = t.get(function, "Environment", "Variables")
        if isinstance(variables, dict) and variables:
            a.check(
                lid,
                is_cmk_reference(t, function.properties.get("KmsKeyArn")),
                "environment encrypted with a CMK",
                "environment variables without KmsKeyArn",
            )
        dlq = t.raw(function, "DeadLetterConfig", "TargetArn") is not None or lid in destinations
        a.check(lid, dlq, "dead-letter target", "no DeadLetterConfig or on-failure destination")
        a.check(
            lid,
            t.get(function, "TracingConfig", "Mode") == "Active",
            "X-Ray active tracing",
            "TracingConfig.Mode is not Active",
        )
        reserved = as_int(t.get(function, "ReservedConcurrentExecutions"))
        a.check(
            lid,
            reserved is not None and reserved >= 1,
            f"reserved concurrency {reserved}",
            "no ReservedConcurrentExecutions",
        )
        holds, message = _retention_of_function(t, function)
        a.check(lid, holds, message, message)
        private = t.typed_references(
            function.properties.get("Environment"), "AWS::RDS::DBInstance", "AWS::RDS::DBCluster"
        )
        if private:
            vpc = t.get(function, "VpcConfig")
            a.check(
                lid,
                isinstance(vpc, dict) and bool(vpc.get("SubnetIds")),
                f"in the VPC (reaches {', '.join(private)})",
                f"reaches {', '.join(private)} but has no VpcConfig",
            )
    return a.outcome()


__all__ = ["block_device_findings", "is_bastion", "launch_template_of", "user_data"]
