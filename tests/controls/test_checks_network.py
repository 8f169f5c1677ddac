"""NET controls on hand-written fragments: each seen passing and failing."""

# ruff: noqa: E501 -- the YAML template fragments keep CloudFormation flow mappings on one line.

from __future__ import annotations

from controls import Settings
from tests.controls.helpers import (
    assert_fail,
    assert_pass,
    assert_status,
    get_att,
    merge,
    messages,
    network,
    ref,
    yaml_doc,
)


def test_net_01_getazs_subnets_pass():
    assert_pass("NET-01", network())


def test_net_01_hard_coded_az_names_fail():
    assert_fail(
        "NET-01", network(hard_coded_azs=True), "Public1: hard-coded availability zone us-east-1a"
    )


def test_net_01_one_az_fails_and_payflow_needs_three():
    assert_fail("NET-01", network(azs=1), "span 1 AZ(s)")
    assert_fail("NET-01", network(azs=2), "at least 3", settings=Settings(min_azs=3))
    assert_pass("NET-01", network(azs=3), settings=Settings(min_azs=3))


def test_net_01_subnet_cidrs_follow_a_vpc_cidr_parameter():
    doc = network()
    doc["Parameters"] = {"VpcCidr": {"Type": "String", "Default": "10.0.0.0/16"}}
    doc["Resources"]["Vpc"]["Properties"]["CidrBlock"] = ref("VpcCidr")
    assert_fail("NET-01", doc, "is fixed while the VPC CIDR comes from parameter VpcCidr")
    for index, name in enumerate(
        n for n, r in doc["Resources"].items() if r["Type"] == "AWS::EC2::Subnet"
    ):
        doc["Resources"][name]["Properties"]["CidrBlock"] = {
            "Fn::Select": [index, {"Fn::Cidr": [get_att("Vpc", "CidrBlock"), 8, 8]}]
        }
    assert_pass("NET-01", doc)


def test_net_01_overlapping_or_outside_cidrs_fail():
    doc = network()
    doc["Resources"]["Public2"]["Properties"]["CidrBlock"] = "10.0.0.0/24"
    doc["Resources"]["Data2"]["Properties"]["CidrBlock"] = "192.168.0.0/24"
    assert_fail("NET-01", doc, "overlaps subnet Public1", "not inside the VPC CIDR")


def test_net_01_not_applicable_without_subnets():
    assert_status("NET-01", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "not_applicable")


def test_net_02_three_tiers_pass():
    assert_pass("NET-02", network())


def test_net_02_missing_isolated_tier_or_shared_table_fail():
    assert_fail("NET-02", network(isolated=False), "no isolated (data) subnets")
    assert_fail("NET-02", network(share_isolated_table=True), "shares route table DataTable1")


def test_net_02_isolated_subnet_on_main_route_table_fails():
    doc = network()
    del doc["Resources"]["Data2Assoc"]
    assert_fail("NET-02", doc, "Data2: no route table association")


def test_net_03_nat_per_az_passes():
    assert_pass("NET-03", network())


def test_net_03_single_nat_for_two_private_subnets_fails():
    result = assert_fail(
        "NET-03",
        network(nat_per_az=False, share_private_table=True),
        "PrivateTable1: one route table for private subnets Private1, Private2",
        "no NAT gateway in GetAZs[1]",
        "cross-AZ",
    )
    assert "Private2" in result.logical_ids(result.status)


def test_net_03_not_applicable_without_nat_or_private_subnets():
    assert_status("NET-03", {"Resources": {"V": {"Type": "AWS::EC2::VPC"}}}, "not_applicable")


FLOW_LOGS = """
Resources:
  FlowKey: {Type: AWS::KMS::Key, Properties: {EnableKeyRotation: true}}
  FlowGroup:
    Type: AWS::Logs::LogGroup
    Properties: {KmsKeyId: !GetAtt FlowKey.Arn, RetentionInDays: 365}
  FlowRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: vpc-flow-logs.amazonaws.com}, Action: sts:AssumeRole}
  FlowToLogs:
    Type: AWS::EC2::FlowLog
    Properties:
      ResourceId: !Ref Vpc
      ResourceType: VPC
      TrafficType: ALL
      LogDestinationType: cloud-watch-logs
      LogGroupName: !Ref FlowGroup
      DeliverLogsPermissionArn: !GetAtt FlowRole.Arn
  FlowBucket: {Type: AWS::S3::Bucket}
  FlowToS3:
    Type: AWS::EC2::FlowLog
    Properties:
      ResourceId: !Ref Vpc
      ResourceType: VPC
      TrafficType: ALL
      LogDestinationType: s3
      LogDestination: !GetAtt FlowBucket.Arn
"""


def test_net_04_flow_logs_to_both_destinations_pass():
    assert_pass("NET-04", merge(network(), yaml_doc(FLOW_LOGS)))


def test_net_04_missing_destination_or_partial_traffic_fail():
    doc = merge(network(), yaml_doc(FLOW_LOGS))
    del doc["Resources"]["FlowToS3"]
    doc["Resources"]["FlowGroup"]["Properties"].pop("RetentionInDays")
    assert_fail("NET-04", doc, "no flow log with TrafficType ALL to S3", "no RetentionInDays")
    doc = merge(network(), yaml_doc(FLOW_LOGS))
    doc["Resources"]["FlowToLogs"]["Properties"]["TrafficType"] = "REJECT"
    assert_fail("NET-04", doc, "TrafficType REJECT")


def test_net_04_shared_delivery_role_fails():
    doc = merge(
        network(),
        yaml_doc(FLOW_LOGS),
        yaml_doc("""
        Resources:
          Profile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [!Ref FlowRole]}}
    """),
    )
    assert_fail("NET-04", doc, "also used by Profile")


def _acls(doc: dict, *, shared: bool = False, open_data: bool = False) -> dict:
    resources = doc["Resources"]
    for tier in ("Public", "Private", "Data"):
        acl = "PublicAcl" if shared and tier == "Data" else f"{tier}Acl"
        resources.setdefault(
            acl, {"Type": "AWS::EC2::NetworkAcl", "Properties": {"VpcId": ref("Vpc")}}
        )
        resources[f"{acl}In"] = {
            "Type": "AWS::EC2::NetworkAclEntry",
            "Properties": {
                "NetworkAclId": ref(acl),
                "RuleNumber": 100,
                "Protocol": 6,
                "RuleAction": "allow",
                "Egress": False,
                "CidrBlock": "10.0.0.0/16",
                "PortRange": {"From": 443, "To": 443},
            },
        }
        for n in (1, 2):
            resources[f"{tier}{n}Acl"] = {
                "Type": "AWS::EC2::SubnetNetworkAclAssociation",
                "Properties": {"SubnetId": ref(f"{tier}{n}"), "NetworkAclId": ref(acl)},
            }
    if open_data:
        resources["DataAclAll"] = {
            "Type": "AWS::EC2::NetworkAclEntry",
            "Properties": {
                "NetworkAclId": ref("DataAcl"),
                "RuleNumber": 200,
                "Protocol": -1,
                "RuleAction": "allow",
                "Egress": True,
                "CidrBlock": "0.0.0.0/0",
            },
        }
    return doc


def test_net_05_acl_per_tier_passes():
    assert_pass("NET-05", _acls(network()))


def test_net_05_default_acl_shared_acl_or_open_data_acl_fail():
    assert_fail("NET-05", network(), "on the VPC default network ACL")
    assert_fail("NET-05", _acls(network(), shared=True), "one ACL for the public and the isolated")
    assert_fail("NET-05", _acls(network(), open_data=True), "allows all traffic out to 0.0.0.0/0")


SECURITY_GROUPS = """
Resources:
  AlbSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: alb
      VpcId: !Ref Vpc
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0, Description: HTTPS}
  AlbToApp:
    Type: AWS::EC2::SecurityGroupEgress
    Properties: {GroupId: !GetAtt AlbSg.GroupId, IpProtocol: tcp, FromPort: 8080, ToPort: 8080, DestinationSecurityGroupId: !GetAtt AppSg.GroupId, Description: to app}
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Scheme: internet-facing, SecurityGroups: [!GetAtt AlbSg.GroupId]}
  AppSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: app
      VpcId: !Ref Vpc
      SecurityGroupEgress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0, Description: HTTPS out}
  AppFromAlb:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !GetAtt AppSg.GroupId, IpProtocol: tcp, FromPort: 8080, ToPort: 8080, SourceSecurityGroupId: !GetAtt AlbSg.GroupId, Description: from ALB}
  AppTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties: {LaunchTemplateData: {SecurityGroupIds: [!GetAtt AppSg.GroupId]}}
  DbSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: db
      VpcId: !Ref Vpc
      SecurityGroupEgress:
        - {IpProtocol: icmp, FromPort: 252, ToPort: 86, CidrIp: 255.255.255.255/32, Description: Disallow all traffic}
  DbFromApp:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt DbSg.GroupId
      IpProtocol: tcp
      FromPort: !GetAtt Db.Endpoint.Port
      ToPort: !GetAtt Db.Endpoint.Port
      SourceSecurityGroupId: !GetAtt AppSg.GroupId
      Description: from app
  Db:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: mysql, Port: "3307", VPCSecurityGroups: [!GetAtt DbSg.GroupId]}
"""


def test_net_06_least_privilege_groups_pass():
    assert_pass("NET-06", merge(network(), yaml_doc(SECURITY_GROUPS)))


def test_net_06_implicit_egress_open_db_and_missing_description_fail():
    doc = merge(network(), yaml_doc(SECURITY_GROUPS))
    resources = doc["Resources"]
    del resources["AppSg"]["Properties"]["SecurityGroupEgress"]
    resources["DbSg"]["Properties"]["SecurityGroupIngress"] = [
        {"IpProtocol": "tcp", "FromPort": 3307, "ToPort": 3307, "CidrIp": "10.0.0.0/16"}
    ]
    assert_fail(
        "NET-06",
        doc,
        "AppSg: app-tier group declares no SecurityGroupEgress",
        "database group DbSg admits 10.0.0.0/16",
        "has no Description",
    )


def test_net_06_world_ingress_off_the_alb_and_inline_cross_reference_fail():
    doc = merge(network(), yaml_doc(SECURITY_GROUPS))
    resources = doc["Resources"]
    resources["AppSg"]["Properties"]["SecurityGroupIngress"] = [
        {
            "IpProtocol": "tcp",
            "FromPort": 8080,
            "ToPort": 8080,
            "CidrIp": "0.0.0.0/0",
            "Description": "oops",
        },
        {
            "IpProtocol": "tcp",
            "FromPort": 8080,
            "ToPort": 8080,
            "SourceSecurityGroupId": get_att("AlbSg", "GroupId"),
            "Description": "inline",
        },
    ]
    resources["DbFromApp"]["Properties"]["FromPort"] = 0
    assert_fail(
        "NET-06",
        doc,
        "open to 0.0.0.0/0 on AppSg",
        "inline rule references group AlbSg",
        "not only the database port",
    )


ENDPOINTS = """
Resources:
  EndpointSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: endpoints
      VpcId: !Ref Vpc
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: !GetAtt Vpc.CidrBlock, Description: from VPC}
  S3Endpoint:
    Type: AWS::EC2::VPCEndpoint
    Properties:
      VpcId: !Ref Vpc
      ServiceName: !Join ["", ["com.amazonaws.", !Ref "AWS::Region", ".s3"]]
      VpcEndpointType: Gateway
"""


def _endpoints(
    services: tuple[str, ...] = (
        "ssm",
        "ssmmessages",
        "ec2messages",
        "secretsmanager",
        "kms",
        "logs",
        "sts",
    ),
    private_dns: bool = True,
) -> dict:
    doc = merge(network(), yaml_doc(ENDPOINTS))
    for service in services:
        doc["Resources"][f"{service}Endpoint"] = {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "VpcId": ref("Vpc"),
                "VpcEndpointType": "Interface",
                "ServiceName": {"Fn::Sub": f"com.amazonaws.${{AWS::Region}}.{service}"},
                "PrivateDnsEnabled": private_dns,
                "SecurityGroupIds": [get_att("EndpointSg", "GroupId")],
            },
        }
    return doc


def test_net_07_all_endpoints_pass():
    assert_pass("NET-07", _endpoints())


def test_net_07_missing_endpoints_or_private_dns_fail():
    assert_fail("NET-07", _endpoints(("ssm",)), "no interface endpoint for kms")
    assert_fail("NET-07", _endpoints(private_dns=False), "without PrivateDnsEnabled")
    doc = _endpoints()
    doc["Resources"]["Table"] = {"Type": "AWS::DynamoDB::Table", "Properties": {}}
    assert_fail("NET-07", doc, "no gateway endpoint for dynamodb")


ADMIN = """
Parameters:
  AdminCidr:
    Type: String
    Default: 203.0.113.0/24
    AllowedPattern: '^(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2}$'
    ConstraintDescription: a CIDR block
Resources:
  AdminSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: admin
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref AdminCidr, Description: admin}
"""


def test_net_08_validated_cidr_parameter_passes():
    assert_pass("NET-08", ADMIN)


def test_net_08_world_admin_port_unvalidated_or_literal_cidr_fail():
    doc = yaml_doc(ADMIN)
    doc["Parameters"]["AdminCidr"]["Default"] = "0.0.0.0/0"
    assert_fail("NET-08", doc, "SSH open to 0.0.0.0/0")
    doc = yaml_doc(ADMIN)
    del doc["Parameters"]["AdminCidr"]["AllowedPattern"]
    assert_fail("NET-08", doc, "AdminCidr has no AllowedPattern")
    doc = yaml_doc(ADMIN)
    doc["Resources"]["AdminSg"]["Properties"]["SecurityGroupIngress"][0]["CidrIp"] = (
        "198.51.100.0/24"
    )
    assert_fail("NET-08", doc, "hard-coded ingress CIDR 198.51.100.0/24")


DEFAULT_VPC_CLEANUP = """
Resources:
  CleanupRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: cleanup
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [ec2:DescribeRegions, ec2:DescribeVpcs, ec2:DeleteVpc, ec2:DeleteSubnet]
                Resource: "*"
  CleanupFunction:
    Type: AWS::Lambda::Function
    Properties: {Role: !GetAtt CleanupRole.Arn, Runtime: python3.12, Handler: index.handler, Code: {ZipFile: "def handler(e, c): pass"}}
  DefaultVpcCleanup:
    Type: Custom::DefaultVpcCleanup
    Properties: {ServiceToken: !GetAtt CleanupFunction.Arn}
"""


def test_net_09_cleanup_custom_resource_passes():
    assert_pass("NET-09", DEFAULT_VPC_CLEANUP)


def test_net_09_missing_cleanup_or_permissions_fail():
    assert_fail(
        "NET-09",
        {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}},
        "no custom resource removes default VPCs",
    )
    doc = yaml_doc(DEFAULT_VPC_CLEANUP)
    doc["Resources"]["CleanupRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0][
        "Action"
    ] = ["ec2:DeleteVpc"]
    assert_fail("NET-09", doc, "lacks ec2:DescribeRegions")


BASTION = """
Resources:
  BastionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
      ManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"]
  BastionProfile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [!Ref BastionRole]}}
  BastionSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: bastion
      SecurityGroupEgress: [{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0, Description: SSM}]
  BastionHost:
    Type: AWS::EC2::Instance
    Properties:
      IamInstanceProfile: !Ref BastionProfile
      SecurityGroupIds: [!GetAtt BastionSg.GroupId]
"""


def test_net_10_ssm_bastion_without_ssh_passes():
    assert_pass("NET-10", BASTION)


def test_net_10_world_ssh_and_bastion_without_ssm_fail():
    doc = yaml_doc(BASTION)
    doc["Resources"]["BastionSg"]["Properties"]["SecurityGroupIngress"] = [
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "CidrIp": "0.0.0.0/0",
            "Description": "ssh",
        }
    ]
    del doc["Resources"]["BastionRole"]["Properties"]["ManagedPolicyArns"]
    assert_fail("NET-10", doc, "SSH open to 0.0.0.0/0", "bastion has no role with Session Manager")


def test_net_10_ssh_rule_behind_a_false_condition_is_off_by_default():
    doc = yaml_doc(BASTION)
    doc["Parameters"] = {"SshCidr": {"Type": "String", "Default": ""}}
    doc["Conditions"] = {"AllowSsh": {"Fn::Not": [{"Fn::Equals": [ref("SshCidr"), ""]}]}}
    doc["Resources"]["BastionSg"]["Properties"]["SecurityGroupIngress"] = [
        {
            "Fn::If": [
                "AllowSsh",
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "CidrIp": "0.0.0.0/0",
                    "Description": "ssh",
                },
                {"Ref": "AWS::NoValue"},
            ]
        }
    ]
    assert_pass("NET-10", doc)


# A CDK-style bastion: the instance carries no IamInstanceProfile, its launch template does.
BASTION_THROUGH_LAUNCH_TEMPLATE = """
Resources:
  BastionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
      ManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"]
  BastionProfile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [!Ref BastionRole]}}
  BastionLaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        IamInstanceProfile: {Arn: !GetAtt BastionProfile.Arn}
        MetadataOptions: {HttpTokens: required}
  Bastion:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate: {LaunchTemplateId: !Ref BastionLaunchTemplate, Version: !GetAtt BastionLaunchTemplate.LatestVersionNumber}
"""


def test_net_10_bastion_role_through_its_launch_template():
    result = assert_pass("NET-10", BASTION_THROUGH_LAUNCH_TEMPLATE)
    assert "Bastion: bastion managed through Session Manager" in messages(result)
    doc = yaml_doc(BASTION_THROUGH_LAUNCH_TEMPLATE)
    del doc["Resources"]["BastionRole"]["Properties"]["ManagedPolicyArns"]
    assert_fail("NET-10", doc, "Bastion: bastion has no role with Session Manager")


def test_net_10_bastion_profile_by_literal_name():
    doc = yaml_doc(BASTION)
    doc["Resources"]["BastionProfile"]["Properties"]["InstanceProfileName"] = "bastion-profile"
    doc["Resources"]["BastionHost"]["Properties"]["IamInstanceProfile"] = "bastion-profile"
    assert_pass("NET-10", doc)


def test_net_10_bastion_launch_template_outside_the_template_cannot_be_decided():
    doc = yaml_doc(BASTION_THROUGH_LAUNCH_TEMPLATE)
    del doc["Resources"]["BastionLaunchTemplate"]
    doc["Resources"]["Bastion"]["Properties"]["LaunchTemplate"] = {
        "LaunchTemplateId": "lt-0123456789abcdef0",
        "Version": "1",
    }
    assert_status("NET-10", doc, "unknown", "launch template outside the template")
