"""A three-tier VPC that is secure by default (NET-01..NET-05, NET-07, NET-10, LOG-03, RES-02).

``SecureVpc`` builds:

* a VPC whose subnets span 2 or 3 availability zones taken from ``Fn::GetAZs`` (no lookup, no
  hard-coded AZ names), with subnet CIDRs planned by CDK from the one VPC CIDR (NET-01); when the
  VPC CIDR is a deploy-time parameter, every subnet CIDR becomes ``Fn::Select`` of ``Fn::Cidr``
  over the VPC's ``CidrBlock`` at the planned position, so nothing is hard-coded;
* three tiers, every subnet on its own route table (NET-02): ``Public`` (ALB, NAT gateways; no
  public IPs assigned on launch), ``App`` (private with egress through the NAT gateway of its own
  AZ, NET-03) and ``Data`` (isolated: no route to an internet or NAT gateway);
* a network ACL per tier with explicit least-privilege entries (NET-05), see :data:`ACL_RULES`;
* VPC flow logs for ALL traffic to a CMK-encrypted CloudWatch log group with retention, RETAIN
  removal and a dedicated role, and to the caller's S3 bucket (NET-04, LOG-03, RES-02);
* a gateway endpoint for S3 (and DynamoDB on request) and interface endpoints with private DNS
  behind a dedicated security group that only admits HTTPS from the VPC CIDR (NET-07);
* the VPC's default security group stripped of all rules, so nothing can use it (NET-06/NET-10).

Nothing here opens SSH or RDP: instances are reached through SSM Session Manager over the
interface endpoints (NET-10).

Why the default security group is closed by an inline handler instead of CDK's
``restrict_default_security_group``: CDK's version ships its Lambda as an *asset* in the CDK
bootstrap bucket, so the template no longer deploys with plain CloudFormation (a SPEC
non-negotiable); its log group is created implicitly, unencrypted and kept forever (LOG-03); and it
is a stack-level singleton outside this construct. The handler below is 50 lines, inlined into the
template (``ZipFile``), logs to a CMK-encrypted log group with retention, and its role can only
revoke rules of this VPC's default security group. The custom resource keeps CDK's construct ID and
resource type, so tools that look for CDK's mechanism (cdk-nag ``VPCDefaultSecurityGroupClosed``)
recognise it.
"""

from __future__ import annotations

import inspect
import ipaddress
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import (
    Annotations,
    Aws,
    CustomResource,
    Duration,
    Fn,
    RemovalPolicy,
    Token,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge, acknowledge_deploy_time_rule
from constructs_lib.function_policies import own_dead_letter_queue, tracing_policy
from constructs_lib.validation import invalid, require_cidr, require_range

_NAME = "SecureVpc"

#: Interface endpoints every SecureVpc gets (NET-07): SSM Session Manager (SSM, SSM messages, EC2
#: messages), Secrets Manager, KMS, CloudWatch Logs and STS stay reachable without the internet.
DEFAULT_INTERFACE_ENDPOINTS: tuple[ec2.InterfaceVpcEndpointAwsService, ...] = (
    ec2.InterfaceVpcEndpointAwsService.SSM,
    ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
    ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    ec2.InterfaceVpcEndpointAwsService.KMS,
    ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    ec2.InterfaceVpcEndpointAwsService.STS,
)

#: A port: an ``int``, or a number token such as ``CfnParameter(...).value_as_number``.
Port = int | float

#: Subnet group names; also the tier names used by :meth:`SecureVpc.subnet_selection`.
PUBLIC, APP, DATA = "Public", "App", "Data"

#: Ports the operating system and AWS services (NAT gateway, ALB, Lambda) pick for the client side
#: of a TCP connection. Network ACLs are stateless, so replies to those ports must be allowed.
EPHEMERAL_PORTS = (1024, 65535)

_ANYWHERE = "0.0.0.0/0"

#: The subnet planner needs room for 3 tiers x 3 AZs of at least /28 each.
_WIDEST_PREFIX, _NARROWEST_PREFIX = 16, 24


_IN, _OUT = ec2.TrafficDirection.INGRESS, ec2.TrafficDirection.EGRESS


@dataclass(frozen=True)
class AclRule:
    """One network ACL entry, with the reason it exists.

    ``peer`` is ``"anywhere"``, ``"vpc"`` or a tier name (one entry per subnet of that tier);
    ``ports`` is ``"https"``, ``"http"``, ``"ephemeral"``, ``"app"`` or ``"database"``.
    """

    name: str
    direction: ec2.TrafficDirection
    peer: str
    ports: str
    why: str


#: Every allow entry of the three network ACLs (NET-05). Anything not listed is denied by the ACL's
#: implicit final rule. Traffic to the Amazon DNS resolver, instance metadata and Amazon Time Sync
#: is never filtered by network ACLs, so it needs no entry.
ACL_RULES: dict[str, tuple[AclRule, ...]] = {
    PUBLIC: (
        AclRule(
            "HttpsIn",
            _IN,
            "anywhere",
            "https",
            "clients reach the load balancer; app-tier HTTPS enters the NAT gateway",
        ),
        AclRule(
            "HttpIn",
            _IN,
            "anywhere",
            "http",
            "HTTP reaches the load balancer to be redirected to HTTPS; app-tier HTTP "
            "(OS package mirrors) enters the NAT gateway",
        ),
        AclRule(
            "EphemeralIn",
            _IN,
            "anywhere",
            "ephemeral",
            "replies from the internet to connections the NAT gateway translated, and replies "
            "from app-tier targets to the load balancer",
        ),
        AclRule(
            "HttpsOut",
            _OUT,
            "anywhere",
            "https",
            "the NAT gateway forwards app-tier HTTPS to the internet",
        ),
        AclRule(
            "HttpOut",
            _OUT,
            "anywhere",
            "http",
            "the NAT gateway forwards app-tier HTTP (OS package mirrors) to the internet",
        ),
        AclRule(
            "EphemeralOut",
            _OUT,
            "anywhere",
            "ephemeral",
            "the load balancer answers internet clients; the NAT gateway returns replies to "
            "the app tier",
        ),
        AclRule(
            "AppPortOut",
            _OUT,
            APP,
            "app",
            "the load balancer forwards requests and health checks to app-tier targets",
        ),
    ),
    APP: (
        AclRule(
            "AppPortIn",
            _IN,
            PUBLIC,
            "app",
            "requests and health checks from the load balancer in the public tier only",
        ),
        AclRule(
            "HttpsIn",
            _IN,
            "vpc",
            "https",
            "interface endpoint ENIs live in the app subnets; clients in other AZs reach them "
            "on 443",
        ),
        AclRule(
            "EphemeralIn",
            _IN,
            "anywhere",
            "ephemeral",
            "replies to connections the app tier opened: internet hosts through the NAT "
            "gateway (their source address is kept), S3 through the gateway endpoint, "
            "interface endpoints and the database",
        ),
        AclRule(
            "HttpsOut",
            _OUT,
            "anywhere",
            "https",
            "HTTPS to AWS APIs (interface and S3 gateway endpoints) and through the NAT gateway",
        ),
        AclRule(
            "HttpOut",
            _OUT,
            "anywhere",
            "http",
            "HTTP through the NAT gateway for OS package mirrors",
        ),
        AclRule(
            "DatabaseOut",
            _OUT,
            DATA,
            "database",
            "connections to the databases in the data tier, on the database port only",
        ),
        AclRule(
            "EphemeralOut",
            _OUT,
            "vpc",
            "ephemeral",
            "replies to the load balancer and to endpoint clients; never to the internet",
        ),
    ),
    DATA: (
        AclRule(
            "DatabaseIn",
            _IN,
            APP,
            "database",
            "only the app tier reaches the databases, only on the database port",
        ),
        AclRule(
            "EphemeralOut",
            _OUT,
            APP,
            "ephemeral",
            "database replies to app-tier clients; the data tier opens no connections",
        ),
    ),
}


def restrict_default_security_group_handler(event: dict[str, Any], context: Any) -> None:
    """Custom-resource handler inlined into the template: strip the default security group.

    Revokes the two rules AWS puts on every default security group (all traffic from itself, all
    traffic to anywhere); a rule that is already gone is fine. Delete leaves the group closed.
    Always answers CloudFormation, so a failure never hangs the stack for an hour.
    """
    import json
    import urllib.request

    import boto3
    from botocore.exceptions import ClientError

    status, reason = "SUCCESS", "default security group has no rules"
    physical_id = event.get("PhysicalResourceId", "none")
    try:
        props = event["ResourceProperties"]
        physical_id = group_id = props["DefaultSecurityGroupId"]
        if event["RequestType"] != "Delete":
            ec2 = boto3.client("ec2")
            self_rule = {"GroupId": group_id, "UserId": props["AccountId"]}
            revocations = (
                (ec2.revoke_security_group_ingress, {"UserIdGroupPairs": [self_rule]}),
                (ec2.revoke_security_group_egress, {"IpRanges": [{"CidrIp": "0.0.0.0/0"}]}),
            )
            for revoke, peer in revocations:
                try:
                    revoke(GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", **peer}])
                except ClientError as error:
                    if error.response["Error"]["Code"] != "InvalidPermission.NotFound":
                        raise
    except Exception as error:
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:900]
    print(json.dumps({"RequestType": event.get("RequestType"), "Status": status, "Reason": reason}))
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": physical_id,
            "StackId": event.get("StackId"),
            "RequestId": event.get("RequestId"),
            "LogicalResourceId": event.get("LogicalResourceId"),
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    urllib.request.urlopen(request, timeout=30).close()


def inline_handler_source() -> str:
    """The Python source of the default-security-group handler as shipped in ``ZipFile``."""
    source = textwrap.dedent(inspect.getsource(restrict_default_security_group_handler))
    return (
        f"from typing import Any\n\n{source}\nhandler = restrict_default_security_group_handler\n"
    )


class SecureVpc(Construct):
    """A three-tier VPC: public, app (private with egress) and data (isolated), secure by default.

    :param flow_log_key: CMK that encrypts the flow-log log group (and the log group of the
        default-security-group handler). The construct adds the key-policy statements CloudWatch
        Logs needs; an imported key cannot be changed, so its policy must already allow that.
    :param flow_log_bucket: second flow-log destination. When the bucket has a CMK, the construct
        lets the log delivery service use it (scoped to this account's logs).
    :param cidr: VPC CIDR, /16 to /24; every subnet CIDR is derived from it.
    :param deploy_time_cidr: the VPC CIDR as a token (e.g. a ``VpcCidr`` parameter's value).
        ``cidr`` then only fixes the layout: the token must have the same prefix length (let the
        parameter's pattern allow only that), and each subnet (and every ACL entry or rule that
        names a subnet or the VPC) uses ``Fn::Select``/``Fn::Cidr`` of the VPC's ``CidrBlock``.
    :param max_azs: number of AZs (2 or 3), taken in order from ``Fn::GetAZs``.
    :param nat_gateway_per_az: ``False`` shares one NAT gateway across AZs, an explicit cost
        relaxation for dev that gives up NET-03 (an AZ outage cuts egress of the others).
    :param log_retention: retention of the flow-log group; must be finite (LOG-03).
    :param app_port: port the app tier listens on (ALB targets); used by the network ACLs;
        a number token is accepted.
    :param database_port: port of the data tier's databases; a token (parameter) is accepted.
    :param dead_letter_key: CMK of the default-security-group handler's dead-letter queue
        (default ``flow_log_key``); pass a queue-domain key where logs must keep their own key.
    :param gateway_endpoints_dynamodb: also add a DynamoDB gateway endpoint.
    :param additional_interface_endpoints: interface endpoints on top of
        :data:`DEFAULT_INTERFACE_ENDPOINTS` (e.g. ``MONITORING``); duplicates are ignored.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        flow_log_key: kms.IKey,
        flow_log_bucket: s3.IBucket,
        cidr: str = "10.0.0.0/16",
        deploy_time_cidr: str | None = None,
        max_azs: int = 2,
        nat_gateway_per_az: bool = True,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        app_port: Port = 80,
        database_port: Port = 3306,
        gateway_endpoints_dynamodb: bool = False,
        dead_letter_key: kms.IKey | None = None,
        additional_interface_endpoints: Sequence[ec2.InterfaceVpcEndpointAwsService] = (),
    ) -> None:
        _validate(
            cidr=cidr,
            deploy_time_cidr=deploy_time_cidr,
            max_azs=max_azs,
            log_retention=log_retention,
            app_port=app_port,
            database_port=database_port,
            flow_log_key=flow_log_key,
            flow_log_bucket=flow_log_bucket,
            additional_interface_endpoints=additional_interface_endpoints,
        )
        super().__init__(scope, construct_id)

        self.cidr = cidr
        self.app_port = app_port
        self.database_port = database_port
        self.availability_zone_count = max_azs
        self.nat_gateway_count = max_azs if nat_gateway_per_az else 1

        # NET-01/02/03. Passing the AZs as Fn::GetAZs selections (instead of max_azs) lifts the
        # 2-AZ cap CDK applies to account-agnostic stacks and needs no context lookup there. (In a
        # stack with a concrete account, ec2.Vpc still looks the AZs up to validate the list, but
        # the template keeps the Fn::GetAZs selections.)
        self.vpc = ec2.Vpc(
            self,
            "Resource",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=[Fn.select(index, Fn.get_azs()) for index in range(max_azs)],
            nat_gateways=self.nat_gateway_count,
            nat_gateway_provider=ec2.NatProvider.gateway(),
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=PUBLIC, subnet_type=ec2.SubnetType.PUBLIC, map_public_ip_on_launch=False
                ),
                ec2.SubnetConfiguration(name=APP, subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                ec2.SubnetConfiguration(name=DATA, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ],
            enable_dns_hostnames=True,
            enable_dns_support=True,
            restrict_default_security_group=False,  # done below, inline; see the module docstring
        )
        self.public_subnets: list[ec2.ISubnet] = list(self.vpc.public_subnets)
        self.app_subnets: list[ec2.ISubnet] = list(self.vpc.private_subnets)
        self.data_subnets: list[ec2.ISubnet] = list(self.vpc.isolated_subnets)
        #: The VPC CIDR as rules must use it: the literal, or ``Fn::GetAtt`` of the VPC's block.
        self.cidr_block: str = cidr
        self._subnet_cidrs: dict[str, str] = {}
        if deploy_time_cidr is not None:
            self._derive_subnet_cidrs(deploy_time_cidr)
        # Internet-facing routes are the point of the public tier (ALB, NAT gateways).
        for subnet in self.public_subnets:
            internet_route = subnet.node.find_child("DefaultRoute")
            for finding in (
                "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
                "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                "PCI.DSS.321-VPCNoUnrestrictedRouteToIGW",
            ):
                acknowledge(
                    internet_route,
                    finding,
                    "public tier by design: its 0.0.0.0/0 route to the internet gateway serves the "
                    "load balancer and the NAT gateways; app and data tiers have no such route",
                )

        self._add_network_acls()
        self._add_flow_logs(flow_log_key, flow_log_bucket, log_retention)
        self._add_endpoints(gateway_endpoints_dynamodb, additional_interface_endpoints)
        self._restrict_default_security_group(
            flow_log_key, log_retention, dead_letter_key or flow_log_key
        )

    def _derive_subnet_cidrs(self, deploy_time_cidr: str) -> None:
        """Replace the planned literals by their position in ``Fn::Cidr`` of the deploy-time CIDR.

        CDK's planner lays the subnets out in equal blocks from the start of ``cidr``; the subnet
        at offset *n* (in blocks of its size) is ``Fn::Select(n, Fn::Cidr(VpcCidr, count, bits))``
        for any VPC CIDR with the same prefix length.
        """
        cfn_vpc = cast(ec2.CfnVPC, self.vpc.node.default_child)
        cfn_vpc.cidr_block = deploy_time_cidr
        self.cidr_block = self.vpc.vpc_cidr_block
        layout = ipaddress.IPv4Network(self.cidr)
        subnets = [*self.public_subnets, *self.app_subnets, *self.data_subnets]
        planned = [ipaddress.IPv4Network(subnet.ipv4_cidr_block) for subnet in subnets]
        sizes = {network.prefixlen for network in planned}
        if len(sizes) != 1:  # the default configuration plans equal subnets; guard a change
            raise invalid(_NAME, "deploy_time_cidr", deploy_time_cidr, "needs equal-size subnets")
        prefix = sizes.pop()
        block = 2 ** (32 - prefix)
        offsets = [
            (int(network.network_address) - int(layout.network_address)) // block
            for network in planned
        ]
        blocks = Fn.cidr(self.cidr_block, max(offsets) + 1, str(32 - prefix))
        for subnet, offset in zip(subnets, offsets, strict=True):
            expression = Fn.select(offset, blocks)
            cast(ec2.CfnSubnet, subnet.node.default_child).cidr_block = expression
            self._subnet_cidrs[subnet.node.path] = expression

    def subnet_cidr(self, subnet: ec2.ISubnet) -> str:
        """The CIDR of one of this VPC's subnets as rules must use it (literal or derived)."""
        return self._subnet_cidrs.get(subnet.node.path, subnet.ipv4_cidr_block)

    # ----------------------------------------------------------------------------------- helpers

    def subnet_selection(self, tier: str) -> ec2.SubnetSelection:
        """Selection of the subnets of one tier (``"Public"``, ``"App"`` or ``"Data"``)."""
        if tier not in ACL_RULES:
            raise invalid(_NAME, "tier", tier, f"use one of {list(ACL_RULES)}")
        return ec2.SubnetSelection(subnet_group_name=tier)

    def public_subnet_selection(self) -> ec2.SubnetSelection:
        """The public subnets (load balancers, NAT gateways)."""
        return self.subnet_selection(PUBLIC)

    def app_subnet_selection(self) -> ec2.SubnetSelection:
        """The app subnets (instances, Lambda functions in the VPC)."""
        return self.subnet_selection(APP)

    def data_subnet_selection(self) -> ec2.SubnetSelection:
        """The isolated data subnets (databases)."""
        return self.subnet_selection(DATA)

    # ------------------------------------------------------------------------------------ NET-05

    def _add_network_acls(self) -> None:
        subnets = {PUBLIC: self.public_subnets, APP: self.app_subnets, DATA: self.data_subnets}
        acls: dict[str, ec2.NetworkAcl] = {}
        for tier, rules in ACL_RULES.items():
            acl = ec2.NetworkAcl(
                self,
                f"{tier}NetworkAcl",
                vpc=self.vpc,
                subnet_selection=self.subnet_selection(tier),
            )
            acknowledge(
                acl,
                "AwsSolutions-VPC3",
                "NET-05 requires network ACLs on every tier as a second, subnet-wide layer under "
                "the security groups; each entry is documented in constructs_lib.network.ACL_RULES",
            )
            next_number = {_IN: 100, _OUT: 100}
            for rule in rules:
                peers = self._acl_peers(rule.peer, subnets)
                for index, peer in enumerate(peers):
                    acl.add_entry(
                        rule.name if len(peers) == 1 else f"{rule.name}{index + 1}",
                        cidr=ec2.AclCidr.ipv4(peer),
                        rule_number=next_number[rule.direction],
                        traffic=self._acl_traffic(rule.ports),
                        direction=rule.direction,
                        rule_action=ec2.Action.ALLOW,
                    )
                    next_number[rule.direction] += 10
            acls[tier] = acl
        self.public_network_acl = acls[PUBLIC]
        self.app_network_acl = acls[APP]
        self.data_network_acl = acls[DATA]

    def _acl_peers(self, peer: str, subnets: dict[str, list[ec2.ISubnet]]) -> list[str]:
        if peer == "anywhere":
            return [_ANYWHERE]
        if peer == "vpc":
            return [self.cidr_block]
        return [self.subnet_cidr(subnet) for subnet in subnets[peer]]

    def _acl_traffic(self, ports: str) -> ec2.AclTraffic:
        if ports == "https":
            return ec2.AclTraffic.tcp_port(443)
        if ports == "http":
            return ec2.AclTraffic.tcp_port(80)
        if ports == "app":
            return ec2.AclTraffic.tcp_port(self.app_port)
        if ports == "database":
            return ec2.AclTraffic.tcp_port(self.database_port)
        return ec2.AclTraffic.tcp_port_range(*EPHEMERAL_PORTS)

    # ------------------------------------------------------------------------------------ NET-04

    def _add_flow_logs(
        self, key: kms.IKey, bucket: s3.IBucket, retention: logs.RetentionDays
    ) -> None:
        _allow_cloudwatch_logs(self, key)
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            encryption_key=key,
            retention=retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Dedicated role, assumable only by the flow-logs service on behalf of this account's
        # flow logs (confused-deputy guard). CDK grants it write access to this log group only.
        self.flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            description="VPC flow logs write to their CloudWatch log group",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:vpc-flow-log/*"
                        )
                    },
                },
            ),
        )
        # A customer-managed policy instead of CDK's inline grant: three nag packs reject inline
        # policies (IAMNoInlinePolicy). The role is handed to CDK without policy updates so CDK
        # does not add its inline copy of the same statement.
        self.flow_log_policy = iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            description="VPC flow logs write to their own CloudWatch log group only",
            roles=[self.flow_log_role],
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )
        resource_type = ec2.FlowLogResourceType.from_vpc(self.vpc)
        self.flow_log_to_cloudwatch = ec2.FlowLog(
            self,
            "FlowLogToCloudWatch",
            resource_type=resource_type,
            traffic_type=ec2.FlowLogTrafficType.ALL,
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, self.flow_log_role.without_policy_updates()
            ),
        )
        self.flow_log_to_cloudwatch.node.add_dependency(self.flow_log_policy)
        if bucket.encryption_key is not None:
            _allow_log_delivery(self, bucket.encryption_key)
        self.flow_log_to_s3 = self._flow_log_to_s3(bucket)

    def _flow_log_to_s3(self, bucket: s3.IBucket) -> ec2.CfnFlowLog:
        """Flow logs into ``bucket`` under ``vpc-flow-logs/``, with source-pinned bucket access.

        CDK's ``FlowLogDestination.to_s3`` grants ``delivery.logs.amazonaws.com`` write access
        without ``aws:SourceAccount``/``aws:SourceArn`` conditions (S3-04), so the L1 resource is
        used and the bucket statements are written here.
        """
        prefix = "vpc-flow-logs"
        conditions: dict[str, Any] = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {
                "aws:SourceArn": f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
            },
        }
        delivery = iam.ServicePrincipal("delivery.logs.amazonaws.com")
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="FlowLogDeliveryAclCheck",
                principals=[delivery],
                actions=["s3:GetBucketAcl", "s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions=conditions,
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="FlowLogDeliveryWrite",
                principals=[delivery],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{prefix}/AWSLogs/{Aws.ACCOUNT_ID}/*")],
                conditions={
                    **conditions,
                    "StringEquals": {
                        "aws:SourceAccount": Aws.ACCOUNT_ID,
                        "s3:x-amz-acl": "bucket-owner-full-control",
                    },
                },
            )
        )
        flow_log = ec2.CfnFlowLog(
            self,
            "FlowLogToS3",
            resource_id=self.vpc.vpc_id,
            resource_type="VPC",
            traffic_type="ALL",
            log_destination_type="s3",
            log_destination=f"{bucket.bucket_arn}/{prefix}/",
        )
        if bucket.policy is not None:
            # Flow-log creation checks that the bucket policy lets log delivery write.
            flow_log.node.add_dependency(bucket.policy)
        return flow_log

    # ------------------------------------------------------------------------------------ NET-07

    def _add_endpoints(
        self,
        dynamodb: bool,
        additional: Sequence[ec2.InterfaceVpcEndpointAwsService],
    ) -> None:
        self.s3_endpoint = ec2.GatewayVpcEndpoint(
            self, "S3Endpoint", vpc=self.vpc, service=ec2.GatewayVpcEndpointAwsService.S3
        )
        self.dynamodb_endpoint: ec2.GatewayVpcEndpoint | None = None
        if dynamodb:
            self.dynamodb_endpoint = ec2.GatewayVpcEndpoint(
                self,
                "DynamoDbEndpoint",
                vpc=self.vpc,
                service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
            )

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,  # endpoints never open connections
        )
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(self.cidr_block),
            ec2.Port.tcp(443),
            "HTTPS to the interface endpoints from inside the VPC",
        )
        if Token.is_unresolved(self.cidr_block):
            acknowledge_deploy_time_rule(
                self.endpoint_security_group,
                "the only ingress rule admits HTTPS (443) from the VPC's own CIDR block "
                "(Fn::GetAtt of the VPC, set by the deploy-time CIDR parameter), never the world",
            )
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for service in _unique_services([*DEFAULT_INTERFACE_ENDPOINTS, *additional]):
            self.interface_endpoints[service.short_name] = ec2.InterfaceVpcEndpoint(
                self,
                f"{_pascal(service.short_name)}Endpoint",
                vpc=self.vpc,
                service=service,
                private_dns_enabled=True,
                open=False,  # the one ingress rule above, with a description
                security_groups=[self.endpoint_security_group],
                subnets=self.app_subnet_selection(),
            )

    # ------------------------------------------------------------------------ default SG closed

    def _restrict_default_security_group(
        self, key: kms.IKey, retention: logs.RetentionDays, queue_key: kms.IKey
    ) -> None:
        group_id = self.vpc.vpc_default_security_group
        self.default_sg_handler_log_group = logs.LogGroup(
            self,
            "DefaultSgHandlerLogGroup",
            encryption_key=key,
            retention=retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.default_sg_handler_role = iam.Role(
            self,
            "DefaultSgHandlerRole",
            description="Removes all rules from the VPC default security group",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.default_sg_handler_policy = iam.ManagedPolicy(
            self,
            "DefaultSgHandlerPolicy",
            description="Revoke rules of this VPC's default security group; write own logs",
            roles=[self.default_sg_handler_role],
            statements=[
                iam.PolicyStatement(
                    actions=["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
                    resources=[
                        f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
                        f"security-group/{group_id}"
                    ],
                ),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.default_sg_handler_log_group.log_group_arn],
                ),
            ],
        )
        self.default_sg_handler_tracing_policy = tracing_policy(
            self,
            self.default_sg_handler_role,
            "Default-security-group handler",
            "DefaultSgHandlerTracingPolicy",
        )
        (
            self.default_sg_handler_dead_letter_queue,
            self.default_sg_handler_dead_letter_policy,
        ) = own_dead_letter_queue(
            self,
            self.default_sg_handler_role,
            queue_key,
            "Default-security-group handler",
            queue_id="DefaultSgHandlerDeadLetterQueue",
            policy_id="DefaultSgHandlerDeadLetterPolicy",
        )
        self.default_sg_handler = lambda_.Function(
            self,
            "DefaultSgHandler",
            description="Removes all rules from the VPC default security group (NET-06)",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(inline_handler_source()),
            timeout=Duration.minutes(1),
            reserved_concurrent_executions=1,
            # Its permissions live in the managed policy above. Referencing the role by ARN keeps
            # CDK from adding inline grants and a DependsOn that duplicates the GetAtt (cfn-lint
            # W3005); the custom resource below waits for the policy.
            role=iam.Role.from_role_arn(
                self,
                "DefaultSgHandlerRoleReference",
                self.default_sg_handler_role.role_arn,
                mutable=False,
            ),
            log_group=self.default_sg_handler_log_group,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.default_sg_handler_dead_letter_queue,
        )
        reasons = {
            "LambdaInsideVPC": (
                "the handler only calls the EC2 API and the CloudFormation response URL and "
                "touches no VPC resource; placing it in the VPC it configures would make the VPC "
                "wait on its own NAT routes and leave ENIs behind on delete"
            ),
        }
        for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"):
            acknowledge(
                self.default_sg_handler, f"{pack}-LambdaInsideVPC", reasons["LambdaInsideVPC"]
            )
        # Same construct ID and resource type as CDK's own mechanism, so tools recognise it.
        self.restrict_default_security_group = CustomResource(
            self.vpc,
            "RestrictDefaultSecurityGroupCustomResource",
            resource_type="Custom::VpcRestrictDefaultSG",
            service_token=self.default_sg_handler.function_arn,
            service_timeout=Duration.minutes(2),
            properties={"DefaultSecurityGroupId": group_id, "AccountId": Aws.ACCOUNT_ID},
        )
        # The policy is not a child of the role, so the handler could run before it is attached.
        self.restrict_default_security_group.node.add_dependency(
            self.default_sg_handler_policy,
            self.default_sg_handler_tracing_policy,
            self.default_sg_handler_dead_letter_policy,
        )


# ---------------------------------------------------------------------------------- internals


def _validate(
    *,
    cidr: str,
    deploy_time_cidr: str | None,
    max_azs: int,
    log_retention: logs.RetentionDays,
    app_port: Port,
    database_port: Port,
    flow_log_key: kms.IKey,
    flow_log_bucket: s3.IBucket,
    additional_interface_endpoints: Sequence[ec2.InterfaceVpcEndpointAwsService],
) -> None:
    """Reject bad arguments before anything is created."""
    if not isinstance(cidr, str) or Token.is_unresolved(cidr):
        raise invalid(
            _NAME,
            "cidr",
            cidr,
            "pass a literal IPv4 CIDR such as '10.0.0.0/16'; the subnet planner needs a concrete "
            "block at synth time",
        )
    require_cidr(_NAME, "cidr", cidr, min_prefix=_WIDEST_PREFIX)
    if ipaddress.IPv4Network(cidr).prefixlen > _NARROWEST_PREFIX:
        raise invalid(
            _NAME,
            "cidr",
            cidr,
            f"use a prefix between /{_WIDEST_PREFIX} and /{_NARROWEST_PREFIX}; 3 tiers x 3 AZs "
            "need at least a /24",
        )
    if deploy_time_cidr is not None and not (
        isinstance(deploy_time_cidr, str) and Token.is_unresolved(deploy_time_cidr)
    ):
        raise invalid(
            _NAME,
            "deploy_time_cidr",
            deploy_time_cidr,
            "pass a token such as a VpcCidr parameter's value_as_string; a literal CIDR belongs "
            "in cidr",
        )
    if isinstance(max_azs, bool) or not isinstance(max_azs, int):
        raise invalid(_NAME, "max_azs", max_azs, "pass the integer 2 or 3")
    require_range(_NAME, "max_azs", max_azs, 2, 3)
    if not isinstance(log_retention, logs.RetentionDays):
        raise invalid(
            _NAME, "log_retention", log_retention, "pass an aws_logs.RetentionDays member"
        )
    if log_retention == logs.RetentionDays.INFINITE:
        raise invalid(
            _NAME,
            "log_retention",
            log_retention,
            "LOG-03 needs an explicit retention; pick a finite RetentionDays such as ONE_YEAR",
        )
    for argument, port in (("app_port", app_port), ("database_port", database_port)):
        # The shared helper types numbers as int; a number token is a float and passes unchecked.
        require_range(_NAME, argument, cast(int, port), 1, 65535)
        if isinstance(port, float) and not Token.is_unresolved(port) and not port.is_integer():
            raise invalid(_NAME, argument, port, "pass a whole port number such as 3306")
    if flow_log_key is None:
        raise invalid(_NAME, "flow_log_key", flow_log_key, "pass the kms.IKey for the log group")
    if flow_log_bucket is None:
        raise invalid(
            _NAME, "flow_log_bucket", flow_log_bucket, "pass the s3.IBucket for flow logs"
        )
    for service in additional_interface_endpoints:
        if not isinstance(service, ec2.InterfaceVpcEndpointAwsService):
            raise invalid(
                _NAME,
                "additional_interface_endpoints",
                service,
                "pass ec2.InterfaceVpcEndpointAwsService members such as MONITORING",
            )


def _allow_cloudwatch_logs(scope: Construct, key: kms.IKey) -> None:
    """Let CloudWatch Logs use ``key`` for this account's log groups in this region.

    The condition cannot name the flow-log group itself: its ARN depends on the key (a cycle),
    and a fixed name would block re-creating the stack after a RETAIN delete.
    """
    principal = iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")
    results = [
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsToUseTheKey",
                principals=[principal],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            ),
            True,
        ),
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsToDescribeTheKey",
                principals=[principal],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            True,
        ),
    ]
    if not all(result.statement_added for result in results):
        Annotations.of(scope).add_warning_v2(
            "hardened-stacks:SecureVpc:importedKey",
            "flow_log_key is imported, so SecureVpc cannot add the key-policy statement that lets "
            f"logs.{Aws.REGION}.amazonaws.com use it; add it where the key is defined",
        )


def _allow_log_delivery(scope: Construct, key: kms.IKey) -> None:
    """Let the log delivery service write flow logs into a bucket encrypted with ``key``."""
    result = key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowVpcFlowLogDeliveryToUseTheKey",
            principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
            actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
            resources=["*"],
            conditions={
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                "ArnLike": {
                    "aws:SourceArn": f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
                },
            },
        ),
        True,
    )
    if not result.statement_added:
        Annotations.of(scope).add_warning_v2(
            "hardened-stacks:SecureVpc:importedBucketKey",
            "the flow-log bucket's key is imported, so SecureVpc cannot let "
            "delivery.logs.amazonaws.com use it; add that statement where the key is defined",
        )


def _unique_services(
    services: Sequence[ec2.InterfaceVpcEndpointAwsService],
) -> list[ec2.InterfaceVpcEndpointAwsService]:
    seen: dict[str, ec2.InterfaceVpcEndpointAwsService] = {}
    for service in services:
        seen.setdefault(service.short_name, service)
    return list(seen.values())


def _pascal(name: str) -> str:
    """``"ssmmessages"`` -> ``"Ssmmessages"``, ``"ecr.api"`` -> ``"EcrApi"``."""
    return "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", name) if part)
