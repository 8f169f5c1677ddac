"""CMP and DB controls on hand-written fragments."""

# ruff: noqa: E501 -- the YAML template fragments keep CloudFormation flow mappings on one line.

from __future__ import annotations

from controls import Settings
from tests.controls.helpers import (
    assert_fail,
    assert_pass,
    assert_status,
    merge,
    messages,
    network,
    ref,
    yaml_doc,
)

LAUNCH_TEMPLATE = """
Parameters:
  LatestAmi:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64
Resources:
  Key: {Type: AWS::KMS::Key, Properties: {EnableKeyRotation: true}}
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
      ManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy"]
  AppProfile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [!Ref AppRole]}}
  AppTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: !Ref LatestAmi
        IamInstanceProfile: {Arn: !GetAtt AppProfile.Arn}
        MetadataOptions: {HttpTokens: required, HttpEndpoint: enabled, HttpPutResponseHopLimit: 1}
        BlockDeviceMappings:
          - DeviceName: /dev/xvda
            Ebs: {VolumeType: gp3, Encrypted: true, KmsKeyId: !GetAtt Key.Arn, DeleteOnTermination: true}
        UserData:
          Fn::Base64: !Sub |
            #!/bin/bash
            dnf install -y amazon-cloudwatch-agent
            cat > /opt/aws/amazon-cloudwatch-agent/etc/config.json <<'EOF'
            {"metrics": {"metrics_collected": {"mem": {"measurement": ["mem_used_percent"]},
             "disk": {"measurement": ["disk_used_percent"]}}},
             "logs": {"logs_collected": {"files": {"collect_list": [{"file_path": "/var/log/app.log"}]}}}}
            EOF
            until curl -sf http://localhost:8080/health; do sleep 5; done
            /opt/aws/bin/cfn-signal -e 0 --stack ${AWS::StackName} --resource Fleet --region ${AWS::Region}
"""


def test_cmp_01_launch_template_with_ssm_ami_passes():
    assert_pass("CMP-01", LAUNCH_TEMPLATE)


def test_cmp_01_ami_map_literal_ami_and_launch_configuration_fail():
    doc = yaml_doc(LAUNCH_TEMPLATE)
    doc["Mappings"] = {"Ami": {"us-east-1": {"Id": "ami-0123456789abcdef0"}}}
    doc["Resources"]["AppTemplate"]["Properties"]["LaunchTemplateData"]["ImageId"] = {
        "Fn::FindInMap": ["Ami", {"Ref": "AWS::Region"}, "Id"]
    }
    doc["Resources"]["Old"] = {
        "Type": "AWS::AutoScaling::LaunchConfiguration",
        "Properties": {"ImageId": "ami-0123456789abcdef0"},
    }
    doc["Resources"]["Box"] = {
        "Type": "AWS::EC2::Instance",
        "Properties": {"ImageId": "ami-0123456789abcdef0"},
    }
    assert_fail(
        "CMP-01",
        doc,
        "AMI map (Fn::FindInMap)",
        "launch configuration (deprecated)",
        "Box: instance without a launch template",
        "hard-coded AMI ami-0123456789abcdef0",
    )


def test_cmp_02_imdsv2_passes():
    assert_pass("CMP-02", LAUNCH_TEMPLATE)


def test_cmp_02_imdsv1_launch_template_fails():
    doc = yaml_doc(LAUNCH_TEMPLATE)
    doc["Resources"]["AppTemplate"]["Properties"]["LaunchTemplateData"]["MetadataOptions"] = {
        "HttpTokens": "optional"
    }
    assert_fail(
        "CMP-02",
        doc,
        "HttpTokens optional: IMDSv1 is allowed",
        "HttpEndpoint not set",
        "HttpPutResponseHopLimit not set",
    )


def test_cmp_02_not_applicable_without_ec2():
    assert_status("CMP-02", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "not_applicable")


def test_cmp_03_encrypted_gp3_root_volume_passes():
    assert_pass("CMP-03", LAUNCH_TEMPLATE)


def test_cmp_03_default_or_weak_root_volume_fails():
    doc = yaml_doc(LAUNCH_TEMPLATE)
    data = doc["Resources"]["AppTemplate"]["Properties"]["LaunchTemplateData"]
    ebs = data["BlockDeviceMappings"][0]["Ebs"]
    ebs.update(VolumeType="gp2", DeleteOnTermination=False)
    del ebs["KmsKeyId"]
    assert_fail("CMP-03", doc, "VolumeType gp2", "KmsKeyId not set", "DeleteOnTermination false")
    del data["BlockDeviceMappings"]
    assert_fail("CMP-03", doc, "no BlockDeviceMappings")


FLEET = """
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Fleet:
    Type: AWS::AutoScaling::AutoScalingGroup
    CreationPolicy: {ResourceSignal: {Count: 2, Timeout: PT15M}}
    UpdatePolicy: {AutoScalingRollingUpdate: {WaitOnResourceSignals: true, PauseTime: PT15M}}
    Properties:
      MinSize: "2"
      MaxSize: "6"
      VPCZoneIdentifier: [!Ref Private1, !Ref Private2]
      HealthCheckType: ELB
      HealthCheckGracePeriod: 300
      MetricsCollection: [{Granularity: 1Minute}]
      NotificationConfigurations: [{TopicARN: !Ref Topic, NotificationTypes: ["autoscaling:EC2_INSTANCE_LAUNCH_ERROR"]}]
      MixedInstancesPolicy:
        LaunchTemplate:
          LaunchTemplateSpecification: {LaunchTemplateId: !Ref AppTemplate, Version: !GetAtt AppTemplate.LatestVersionNumber}
          Overrides: [{InstanceType: t3.medium}, {InstanceType: t3.large}, {InstanceType: m5.large}]
  Cpu:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties:
      AutoScalingGroupName: !Ref Fleet
      PolicyType: TargetTrackingScaling
      TargetTrackingConfiguration: {TargetValue: 70, PredefinedMetricSpecification: {PredefinedMetricType: ASGAverageCPUUtilization}}
  Requests:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties:
      AutoScalingGroupName: !Ref Fleet
      PolicyType: TargetTrackingScaling
      TargetTrackingConfiguration: {TargetValue: 1000, PredefinedMetricSpecification: {PredefinedMetricType: ALBRequestCountPerTarget, ResourceLabel: x}}
  Spike:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties: {AutoScalingGroupName: !Ref Fleet, PolicyType: StepScaling, StepAdjustments: [{MetricIntervalLowerBound: 0, ScalingAdjustment: 2}]}
  Predict:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties: {AutoScalingGroupName: !Ref Fleet, PolicyType: PredictiveScaling}
  Drain:
    Type: AWS::AutoScaling::LifecycleHook
    Properties: {AutoScalingGroupName: !Ref Fleet, LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING"}
"""


def _fleet() -> dict:
    return merge(network(), yaml_doc(LAUNCH_TEMPLATE), yaml_doc(FLEET))


def test_cmp_04_fleet_in_private_subnets_passes():
    assert_pass("CMP-04", _fleet())


def test_cmp_04_small_public_ec2_checked_fleet_fails():
    doc = _fleet()
    props = doc["Resources"]["Fleet"]["Properties"]
    props.update(MinSize="1", HealthCheckType="EC2", VPCZoneIdentifier=[ref("Public1")])
    del props["NotificationConfigurations"]
    assert_fail(
        "CMP-04",
        doc,
        "MinSize 1",
        "HealthCheckType EC2",
        "non-private subnets Public1",
        "no NotificationConfigurations",
        "spans 1 AZ(s); missing GetAZs[1]",
    )


def test_cmp_04_min_size_from_parameter_default():
    doc = _fleet()
    doc.setdefault("Parameters", {})["InstanceCount"] = {"Type": "Number", "Default": 1}
    doc["Resources"]["Fleet"]["Properties"]["MinSize"] = ref("InstanceCount")
    assert_fail("CMP-04", doc, "MinSize 1")
    del doc["Parameters"]["InstanceCount"]["Default"]
    assert_status("CMP-04", doc, "unknown", "parameter InstanceCount has no default")


def test_cmp_05_signals_after_health_pass():
    assert_pass("CMP-05", _fleet())


def test_cmp_05_missing_policies_or_early_signal_fail():
    doc = _fleet()
    del doc["Resources"]["Fleet"]["CreationPolicy"]
    data = doc["Resources"]["AppTemplate"]["Properties"]["LaunchTemplateData"]
    data["UserData"] = {
        "Fn::Base64": "#!/bin/bash\n/opt/aws/bin/cfn-signal -e 0\nsystemctl start app\n"
    }
    assert_fail(
        "CMP-05", doc, "no CreationPolicy.ResourceSignal", "signals without first checking health"
    )


def test_cmp_06_full_scaling_passes():
    assert_pass("CMP-06", _fleet())


def test_cmp_06_cpu_only_fails():
    doc = _fleet()
    for name in ("Requests", "Spike", "Predict", "Drain"):
        del doc["Resources"][name]
    del doc["Resources"]["Fleet"]["Properties"]["MixedInstancesPolicy"]
    assert_fail(
        "CMP-06",
        doc,
        "no request-count target tracking policy",
        "no step scaling",
        "no predictive scaling",
        "no lifecycle hook",
        "no MixedInstancesPolicy",
    )


def test_cmp_07_cloudwatch_agent_passes():
    result = assert_pass("CMP-07", _fleet())
    assert "AppTemplate: role may publish agent metrics" in messages(result)


def test_cmp_07_missing_agent_and_permissions_fail():
    doc = _fleet()
    doc["Resources"]["AppTemplate"]["Properties"]["LaunchTemplateData"]["UserData"] = {
        "Fn::Base64": "#!/bin/bash\necho hi\n"
    }
    del doc["Resources"]["AppRole"]["Properties"]["ManagedPolicyArns"]
    assert_fail(
        "CMP-07",
        doc,
        "no CloudWatch agent",
        "lacks memory metrics",
        "role lacks CloudWatchAgentServerPolicy",
    )


def test_cmp_07_applies_to_fleet_launch_templates_and_non_bastion_instances():
    # a launch template no Auto Scaling group uses is not the application fleet
    assert_status("CMP-07", LAUNCH_TEMPLATE, "not_applicable", "no application fleet")
    doc = _fleet()
    spec = doc["Resources"]["Fleet"]["Properties"].pop("MixedInstancesPolicy")
    doc["Resources"]["Fleet"]["Properties"]["LaunchTemplate"] = spec["LaunchTemplate"][
        "LaunchTemplateSpecification"
    ]
    assert_pass("CMP-07", doc)
    # a stand-alone application instance is checked through its own launch template
    doc = yaml_doc(LAUNCH_TEMPLATE)
    doc["Resources"]["Worker"] = {
        "Type": "AWS::EC2::Instance",
        "Properties": {"LaunchTemplate": {"LaunchTemplateId": ref("AppTemplate"), "Version": "1"}},
    }
    result = assert_pass("CMP-07", doc)
    assert "Worker: role may publish agent metrics" in messages(result)
    del doc["Resources"]["AppRole"]["Properties"]["ManagedPolicyArns"]
    assert_fail("CMP-07", doc, "Worker: role lacks CloudWatchAgentServerPolicy")


def test_cmp_07_bastion_is_left_to_cmp_08():
    # an SSM bastion with no CloudWatch agent and no agent permissions next to a healthy fleet
    doc = merge(_fleet(), yaml_doc(BASTION))
    result = assert_pass("CMP-07", doc)
    assert "Bastion" not in messages(result)
    assert_status("CMP-07", BASTION, "not_applicable")
    # an instance named for something else, launched from a bastion launch template
    doc["Resources"]["Jump"] = doc["Resources"].pop("BastionHost")
    assert_pass("CMP-07", doc)


BASTION = """
Parameters:
  SshCidr: {Type: String, Default: "", AllowedPattern: '^$|^[0-9./]+$'}
Conditions:
  AllowSsh: !Not [!Equals [!Ref SshCidr, ""]]
Resources:
  Key: {Type: AWS::KMS::Key}
  BastionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
      ManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"]
  BastionProfile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [!Ref BastionRole]}}
  BastionSg: {Type: AWS::EC2::SecurityGroup, Properties: {GroupDescription: bastion}}
  BastionSsh:
    Type: AWS::EC2::SecurityGroupIngress
    Condition: AllowSsh
    Properties: {GroupId: !GetAtt BastionSg.GroupId, IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref SshCidr, Description: ssh}
  BastionTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions: {HttpTokens: required}
        BlockDeviceMappings: [{DeviceName: /dev/xvda, Ebs: {Encrypted: true, KmsKeyId: !Ref Key}}]
  BastionHost:
    Type: AWS::EC2::Instance
    Properties:
      IamInstanceProfile: !Ref BastionProfile
      SecurityGroupIds: [!GetAtt BastionSg.GroupId]
      LaunchTemplate: {LaunchTemplateId: !Ref BastionTemplate, Version: !GetAtt BastionTemplate.LatestVersionNumber}
"""


def test_cmp_08_hardened_bastion_passes():
    assert_pass("CMP-08", BASTION)


def test_cmp_08_open_unmanaged_bastion_fails():
    doc = yaml_doc(BASTION)
    resources = doc["Resources"]
    del resources["BastionSsh"]["Condition"]
    resources["BastionSsh"]["Properties"]["CidrIp"] = "0.0.0.0/0"
    del resources["BastionHost"]["Properties"]["LaunchTemplate"]
    del resources["BastionRole"]["Properties"]["ManagedPolicyArns"]
    assert_fail(
        "CMP-08",
        doc,
        "SSH open to 0.0.0.0/0",
        "no launch template: IMDSv2 not required",
        "lacks Session Manager permissions",
    )


def test_cmp_08_not_applicable_without_bastion():
    assert_status("CMP-08", LAUNCH_TEMPLATE, "not_applicable")


FUNCTION = """
Resources:
  Key: {Type: AWS::KMS::Key}
  Dlq: {Type: AWS::SQS::Queue}
  Role: {Type: AWS::IAM::Role}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt Role.Arn
      KmsKeyArn: !GetAtt Key.Arn
      Environment: {Variables: {TABLE: audit}}
      DeadLetterConfig: {TargetArn: !GetAtt Dlq.Arn}
      TracingConfig: {Mode: Active}
      ReservedConcurrentExecutions: 10
  FnLogs:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Sub "/aws/lambda/${Fn}", RetentionInDays: 90, KmsKeyId: !GetAtt Key.Arn}
"""


def test_cmp_09_hardened_function_passes():
    assert_pass("CMP-09", FUNCTION)


def test_cmp_09_plain_function_fails():
    doc = yaml_doc(FUNCTION)
    props = doc["Resources"]["Fn"]["Properties"]
    for key in ("KmsKeyArn", "DeadLetterConfig", "TracingConfig", "ReservedConcurrentExecutions"):
        del props[key]
    del doc["Resources"]["FnLogs"]
    props["Environment"]["Variables"]["DB_HOST"] = {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    doc["Resources"]["Db"] = {"Type": "AWS::RDS::DBInstance", "Properties": {"Engine": "mysql"}}
    assert_fail(
        "CMP-09",
        doc,
        "environment variables without KmsKeyArn",
        "no DeadLetterConfig",
        "TracingConfig.Mode is not Active",
        "no ReservedConcurrentExecutions",
        "implicit group never expires",
        "reaches Db but has no VpcConfig",
    )


# ------------------------------------------------------------------------------------ DB

DATABASE = """
Resources:
  Key: {Type: AWS::KMS::Key}
  MonitoringRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: monitoring.rds.amazonaws.com}, Action: sts:AssumeRole}]}
  DbSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      KmsKeyId: !Ref Key
      GenerateSecretString: {SecretStringTemplate: '{"username":"admin"}', GenerateStringKey: password, PasswordLength: 32}
  DbSecretAttachment:
    Type: AWS::SecretsManager::SecretTargetAttachment
    Properties: {SecretId: !Ref DbSecret, TargetId: !Ref Db, TargetType: AWS::RDS::DBInstance}
  DbRotation:
    Type: AWS::SecretsManager::RotationSchedule
    Properties: {SecretId: !Ref DbSecretAttachment, RotationRules: {ScheduleExpression: rate(30 days)}}
  DbParams:
    Type: AWS::RDS::DBParameterGroup
    Properties: {Family: mysql8.0, Description: hardened, Parameters: {require_secure_transport: "ON", general_log: "1"}}
  DbSubnets:
    Type: AWS::RDS::DBSubnetGroup
    Properties: {DBSubnetGroupDescription: data, SubnetIds: [!Ref Data1, !Ref Data2]}
  DbSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: db
      SecurityGroupEgress: [{IpProtocol: icmp, FromPort: 252, ToPort: 86, CidrIp: 255.255.255.255/32, Description: none}]
  AppSg: {Type: AWS::EC2::SecurityGroup, Properties: {GroupDescription: app}}
  App: {Type: AWS::EC2::LaunchTemplate, Properties: {LaunchTemplateData: {SecurityGroupIds: [!Ref AppSg]}}}
  DbFromApp:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !Ref DbSg, IpProtocol: tcp, FromPort: 3307, ToPort: 3307, SourceSecurityGroupId: !Ref AppSg, Description: app}
  Db:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: Snapshot
    Properties:
      Engine: mysql
      EngineVersion: 8.0.39
      DBInstanceClass: db.m6g.large
      Port: "3307"
      MultiAZ: true
      PubliclyAccessible: false
      StorageEncrypted: true
      KmsKeyId: !Ref Key
      DBSubnetGroupName: !Ref DbSubnets
      VPCSecurityGroups: [!Ref DbSg]
      DBParameterGroupName: !Ref DbParams
      MasterUsername: admin
      MasterUserPassword: !Join ["", ["{{resolve:secretsmanager:", !Ref DbSecret, ":SecretString:password::}}"]]
      MonitoringInterval: 60
      MonitoringRoleArn: !GetAtt MonitoringRole.Arn
      EnablePerformanceInsights: true
      PerformanceInsightsRetentionPeriod: 7
      PerformanceInsightsKMSKeyId: !Ref Key
      EnableCloudwatchLogsExports: [error, general, slowquery, audit]
      BackupRetentionPeriod: 7
      PreferredBackupWindow: "03:00-04:00"
      PreferredMaintenanceWindow: "sun:05:00-sun:06:00"
      CopyTagsToSnapshot: true
      DeletionProtection: true
      EnableIAMDatabaseAuthentication: true
"""


def _db() -> dict:
    return merge(network(), yaml_doc(DATABASE))


def _props(doc: dict) -> dict:
    return doc["Resources"]["Db"]["Properties"]


def test_db_01_generated_rotated_secret_passes():
    assert_pass("DB-01", _db())


def test_db_01_noecho_password_parameter_fails():
    doc = _db()
    doc["Parameters"] = {"DBPassword": {"Type": "String", "NoEcho": True}}
    _props(doc)["MasterUserPassword"] = ref("DBPassword")
    assert_fail(
        "DB-01",
        doc,
        "MasterUserPassword from parameter DBPassword",
        "password parameter DBPassword (NoEcho)",
    )


def test_db_01_plaintext_and_unrotated_secret_fail():
    doc = _db()
    del doc["Resources"]["DbRotation"]
    assert_fail("DB-01", doc, "has no RotationSchedule")
    _props(doc)["MasterUserPassword"] = "hunter2hunter2"
    assert_fail("DB-01", doc, "plaintext MasterUserPassword")


def test_db_01_rds_managed_secret_with_cmk_passes():
    doc = _db()
    del _props(doc)["MasterUserPassword"]
    _props(doc).update(ManageMasterUserPassword=True, MasterUserSecret={"KmsKeyId": ref("Key")})
    assert_pass("DB-01", doc)


def test_db_01_not_applicable_without_database():
    assert_status("DB-01", network(), "not_applicable")


def test_db_02_private_isolated_non_default_port_passes():
    assert_pass("DB-02", _db())


def test_db_02_public_default_port_routable_subnets_fail():
    doc = _db()
    _props(doc).update(PubliclyAccessible=True)
    del _props(doc)["Port"]
    doc["Resources"]["DbSubnets"]["Properties"]["SubnetIds"] = [ref("Public1"), ref("Data2")]
    assert_fail(
        "DB-02",
        doc,
        "PubliclyAccessible is true",
        "Port not set: engine default 3306",
        "includes routable subnets Public1",
    )


def test_db_02_finsecure_port_parameter_used_by_db_and_rule():
    finsecure = Settings(db_port_parameter=True)
    doc = _db()
    assert_fail("DB-02", doc, "must be a parameter", settings=finsecure)
    doc["Parameters"] = {"DatabasePort": {"Type": "Number", "Default": 3307}}
    _props(doc)["Port"] = ref("DatabasePort")
    assert_fail("DB-02", doc, "is not the port parameter", settings=finsecure)
    rule = doc["Resources"]["DbFromApp"]["Properties"]
    rule["FromPort"] = rule["ToPort"] = ref("DatabasePort")
    assert_pass("DB-02", doc, settings=finsecure)


def test_db_03_multi_az_passes():
    assert_pass("DB-03", _db())


def test_db_03_single_az_fails():
    doc = _db()
    _props(doc)["MultiAZ"] = False
    assert_fail("DB-03", doc, "MultiAZ is not true")


AURORA = """
Resources:
  Cluster: {Type: AWS::RDS::DBCluster, Properties: {Engine: aurora-postgresql, EngineVersion: "16.4"}}
  Writer:
    Type: AWS::RDS::DBInstance
    Properties: {DBClusterIdentifier: !Ref Cluster, Engine: aurora-postgresql, PromotionTier: 0, AvailabilityZone: !Select [0, !GetAZs ""]}
  Reader:
    Type: AWS::RDS::DBInstance
    Properties: {DBClusterIdentifier: !Ref Cluster, Engine: aurora-postgresql, PromotionTier: 1, AvailabilityZone: !Select [1, !GetAZs ""]}
  ReaderTarget:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties: {ServiceNamespace: rds, ScalableDimension: "rds:cluster:ReadReplicaCount", ResourceId: !Sub "cluster:${Cluster}", MinCapacity: 1, MaxCapacity: 4}
  ReaderScaling:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties: {PolicyName: readers, PolicyType: TargetTrackingScaling, ScalingTargetId: !Ref ReaderTarget}
"""


def test_db_03_aurora_readers_across_azs_with_scaling_pass():
    assert_pass("DB-03", AURORA)


def test_db_03_aurora_without_reader_or_placement():
    doc = yaml_doc(AURORA)
    del doc["Resources"]["Reader"]["Properties"]["AvailabilityZone"]
    assert_status("DB-03", doc, "unknown", "RDS chooses")
    del doc["Resources"]["Reader"]
    del doc["Resources"]["ReaderScaling"]
    assert_fail("DB-03", doc, "1 instance(s)", "no reader auto scaling")


def test_db_04_mysql_tls_and_audit_pass():
    assert_pass("DB-04", _db())


def test_db_04_default_parameter_group_fails():
    doc = _db()
    del _props(doc)["DBParameterGroupName"]
    assert_fail("DB-04", doc, "require_secure_transport not set to 1", "no audit logging")


def test_db_04_postgres_parameters():
    doc = yaml_doc(AURORA)
    doc["Resources"]["ClusterParams"] = {
        "Type": "AWS::RDS::DBClusterParameterGroup",
        "Properties": {
            "Family": "aurora-postgresql16",
            "Description": "x",
            "Parameters": {
                "rds.force_ssl": 1,
                "log_connections": "1",
                "log_disconnections": "1",
                "shared_preload_libraries": "pg_stat_statements",
            },
        },
    }
    doc["Resources"]["Cluster"]["Properties"]["DBClusterParameterGroupName"] = ref("ClusterParams")
    assert_pass("DB-04", doc)
    doc["Resources"]["ClusterParams"]["Properties"]["Parameters"]["rds.force_ssl"] = 0
    assert_fail("DB-04", doc, "rds.force_ssl not set to 1 (it is 0)")


def test_db_05_monitoring_and_performance_insights_pass():
    assert_pass("DB-05", _db())


def test_db_05_missing_monitoring_fails_and_small_classes_skip_insights():
    doc = _db()
    for key in ("MonitoringInterval", "EnablePerformanceInsights"):
        del _props(doc)[key]
    assert_fail("DB-05", doc, "no enhanced monitoring", "Performance Insights not enabled")
    _props(doc).update(DBInstanceClass="db.t3.micro", MonitoringInterval=60)
    result = assert_pass("DB-05", doc)
    assert any("does not support Performance Insights" in note for note in result.notes)


def test_db_06_log_exports_pass():
    assert_pass("DB-06", _db())


def test_db_06_missing_exports_fail():
    doc = _db()
    _props(doc)["EnableCloudwatchLogsExports"] = ["error"]
    assert_fail("DB-06", doc, "log exports missing general, slowquery, audit")


def test_db_07_backups_and_protection_pass():
    assert_pass("DB-07", _db())


def test_db_07_short_retention_and_delete_policy_fail():
    doc = _db()
    del doc["Resources"]["Db"]["DeletionPolicy"]
    del _props(doc)["BackupRetentionPeriod"]
    _props(doc)["DeletionProtection"] = False
    assert_fail(
        "DB-07",
        doc,
        "backups kept 1 day(s) (need ≥ 7)",
        "DeletionProtection is not true",
        "DeletionPolicy not set (Delete), not Snapshot",
    )


def test_db_07_finance_needs_thirty_days():
    assert_fail("DB-07", _db(), "need ≥ 30", settings=Settings(min_backup_retention_days=30))


def test_db_08_pinned_supported_version_passes():
    assert_pass("DB-08", _db())


def test_db_08_unpinned_deprecated_or_no_upgrades_fail():
    doc = _db()
    _props(doc).update(EngineVersion="8.0", AutoMinorVersionUpgrade=False)
    assert_fail("DB-08", doc, "8.0 is not pinned to a minor", "AutoMinorVersionUpgrade is false")
    _props(doc).update(EngineVersion="5.7.44")
    assert_fail("DB-08", doc, "5.7.44 belongs to a deprecated major")


def test_db_09_iam_authentication():
    assert_pass("DB-09", _db())
    doc = _db()
    del _props(doc)["EnableIAMDatabaseAuthentication"]
    assert_fail("DB-09", doc, "EnableIAMDatabaseAuthentication is not true")


TABLE = """
Resources:
  Key: {Type: AWS::KMS::Key}
  Audit:
    Type: AWS::DynamoDB::Table
    Properties:
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
      SSESpecification: {SSEEnabled: true, SSEType: KMS, KMSMasterKeyId: !Ref Key}
      DeletionProtectionEnabled: true
"""


def test_db_10_protected_table_passes():
    assert_pass("DB-10", TABLE)


def test_db_10_unprotected_table_fails_and_no_table_is_not_applicable():
    doc = yaml_doc(TABLE)
    doc["Resources"]["Audit"]["Properties"] = {}
    assert_fail(
        "DB-10",
        doc,
        "no point-in-time recovery",
        "not encrypted with a customer-managed",
        "DeletionProtectionEnabled not true",
    )
    assert_status("DB-10", _db(), "not_applicable", "no DynamoDB table")


CONFIGURATION = """
Resources:
  Fn: {Type: AWS::Lambda::Function, Properties: {Environment: {Variables: {DB_SECRET_ARN: !Ref Secret}}}}
  Secret: {Type: AWS::SecretsManager::Secret}
  Endpoint:
    Type: AWS::SSM::Parameter
    Properties: {Name: /payflow/prod/database/endpoint, Type: String, Value: db.internal}
"""


def test_db_11_hierarchical_parameters_pass():
    assert_pass("DB-11", CONFIGURATION)


def test_db_11_flat_or_secret_parameters_fail():
    doc = yaml_doc(CONFIGURATION)
    doc["Resources"]["Endpoint"]["Properties"]["Name"] = "/payflow/prod/database/password"
    doc["Resources"]["Flat"] = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Type": "String", "Value": "x"},
    }
    doc["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]["API_TOKEN"] = "abc123"
    assert_fail(
        "DB-11",
        doc,
        "looks like a secret",
        "CloudFormation generates a flat name",
        "API_TOKEN holds a literal secret",
    )
    assert_fail(
        "DB-11",
        {"Resources": {"F": {"Type": "AWS::Lambda::Function"}}},
        "no application configuration in SSM Parameter Store",
    )
