"""DEP, MON, RES and GOV controls on hand-written fragments."""

# ruff: noqa: E501 -- the YAML template fragments keep CloudFormation flow mappings on one line.

from __future__ import annotations

from controls import Settings
from controls.template import Assembly, Template
from tests.controls.helpers import (
    DB_IDENTIFIER,
    assert_fail,
    assert_pass,
    assert_status,
    joined,
    messages,
    network,
    ref,
    yaml_doc,
)

BLUE_GREEN = """
Parameters:
  BlueWeight: {Type: Number, Default: 100, MinValue: 0, MaxValue: 100}
  GreenWeight: {Type: Number, Default: 0, MinValue: 0, MaxValue: 100}
Resources:
  Blue: {Type: AWS::ElasticLoadBalancingV2::TargetGroup}
  Green: {Type: AWS::ElasticLoadBalancingV2::TargetGroup}
  BlueFleet: {Type: AWS::AutoScaling::AutoScalingGroup, Properties: {TargetGroupARNs: [!Ref Blue]}}
  GreenFleet: {Type: AWS::AutoScaling::AutoScalingGroup, Properties: {TargetGroupARNs: [!Ref Green]}}
  Api:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      Conditions: [{Field: path-pattern, Values: ["/api/*"]}]
      Actions:
        - Type: forward
          ForwardConfig:
            TargetGroups:
              - {TargetGroupArn: !Ref Blue, Weight: !Ref BlueWeight}
              - {TargetGroupArn: !Ref Green, Weight: !Ref GreenWeight}
"""


def test_dep_01_weighted_blue_green_passes():
    assert_pass("DEP-01", BLUE_GREEN)


def test_dep_01_fixed_weights_or_missing_fleet_fail():
    doc = yaml_doc(BLUE_GREEN)
    groups = doc["Resources"]["Api"]["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    groups[0]["Weight"] = 100
    del doc["Resources"]["GreenFleet"]
    del doc["Parameters"]["GreenWeight"]["MaxValue"]
    assert_fail(
        "DEP-01",
        doc,
        "weight of Blue is fixed (100)",
        "GreenWeight is not bounded",
        "Green is not registered by an Auto Scaling group",
    )
    assert_fail("DEP-01", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "no forward action")


CODEDEPLOY = """
Resources:
  App: {Type: AWS::CodeDeploy::Application, Properties: {ComputePlatform: Server}}
  ErrorAlarm: {Type: AWS::CloudWatch::Alarm}
  Group:
    Type: AWS::CodeDeploy::DeploymentGroup
    Properties:
      ApplicationName: !Ref App
      AutoRollbackConfiguration: {Enabled: true, Events: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM]}
      AlarmConfiguration: {Enabled: true, Alarms: [{Name: !Ref ErrorAlarm}]}
"""


def test_dep_02_codedeploy_with_rollback_passes():
    assert_pass("DEP-02", CODEDEPLOY)


def test_dep_02_missing_rollback_fails():
    doc = yaml_doc(CODEDEPLOY)
    doc["Resources"]["Group"]["Properties"]["AutoRollbackConfiguration"]["Events"] = [
        "DEPLOYMENT_FAILURE"
    ]
    del doc["Resources"]["Group"]["Properties"]["AlarmConfiguration"]
    assert_fail("DEP-02", doc, "automatic rollback incomplete", "no enabled AlarmConfiguration")


SHIFTING = """
Resources:
  Topic: {Type: AWS::SNS::Topic}
  ShiftRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: shift
          PolicyDocument: {Statement: [{Effect: Allow, Action: [elasticloadbalancing:ModifyRule], Resource: "*"}]}
  Shift: {Type: AWS::Lambda::Function, Properties: {Role: !GetAtt ShiftRole.Arn}}
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      DefinitionString: !Sub |
        {"StartAt": "Shift10", "States": {
          "Shift10": {"Type": "Task", "Resource": "${Shift.Arn}", "Next": "Bake"},
          "Bake": {"Type": "Wait", "Seconds": 300, "Next": "CheckAlarms"},
          "CheckAlarms": {"Type": "Choice", "Choices": [{"Variable": "$.alarm", "StringEquals": "ALARM", "Next": "Rollback"}], "Default": "Done"},
          "Rollback": {"Type": "Task", "Resource": "${Shift.Arn}", "End": true},
          "Done": {"Type": "Succeed"}}}
  Notify:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.states], detail-type: [Step Functions Execution Status Change]}
      Targets: [{Arn: !Ref Topic, Id: topic}]
"""


def test_dep_03_traffic_shifting_automation_passes():
    assert_pass("DEP-03", SHIFTING)


def test_dep_03_missing_automation_fails():
    assert_fail(
        "DEP-03",
        {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}},
        "no AWS::StepFunctions::StateMachine",
        "no role may call elasticloadbalancing:ModifyListener/ModifyRule",
        "no EventBridge rule sends deployment state",
    )
    doc = yaml_doc(SHIFTING)
    doc["Resources"]["Machine"]["Properties"]["DefinitionString"] = (
        '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'
    )
    assert_fail("DEP-03", doc, "definition invokes no Lambda", "definition has no Wait state")


# ----------------------------------------------------------------------------------- MON

TOPIC = """
Parameters:
  AlertEmail: {Type: String, Default: ""}
Conditions:
  HasEmail: !Not [!Equals [!Ref AlertEmail, ""]]
Resources:
  Key: {Type: AWS::KMS::Key}
  Dlq: {Type: AWS::SQS::Queue}
  Alerts: {Type: AWS::SNS::Topic, Properties: {KmsMasterKeyId: !Ref Key}}
  Pager:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Alerts, Protocol: https, Endpoint: https://events.pagerduty.com/x, RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn}}
  Email:
    Type: AWS::SNS::Subscription
    Condition: HasEmail
    Properties: {TopicArn: !Ref Alerts, Protocol: email, Endpoint: !Ref AlertEmail, RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn}}
  Fn: {Type: AWS::Lambda::Function}
  FnErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: Lambda errors
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions: [{Name: FunctionName, Value: !Ref Fn}]
      Statistic: Sum
      ComparisonOperator: GreaterThanThreshold
      Threshold: 0
      EvaluationPeriods: 1
      Period: 60
      TreatMissingData: notBreaching
      AlarmActions: [!Ref Alerts]
      OKActions: [!Ref Alerts]
"""


def test_mon_01_encrypted_topic_with_subscriptions_and_dlq_passes():
    assert_pass("MON-01", TOPIC)


def test_mon_01_plain_topic_with_inline_email_fails():
    doc = yaml_doc(TOPIC)
    del doc["Resources"]["Pager"], doc["Resources"]["Email"]
    doc["Resources"]["Alerts"]["Properties"] = {
        "Subscription": [{"Protocol": "email", "Endpoint": "ops@example.com"}]
    }
    assert_fail(
        "MON-01",
        doc,
        "topic not encrypted",
        "no https subscription",
        "inline Subscription entries cannot have a dead-letter queue",
    )
    assert_fail("MON-01", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "no SNS alert topic")


def test_mon_02_actionable_alarms_covering_the_resources_pass():
    assert_pass("MON-02", TOPIC)


def test_mon_02_incomplete_alarms_and_coverage_fail():
    doc = yaml_doc(TOPIC)
    props = doc["Resources"]["FnErrors"]["Properties"]
    del props["OKActions"], props["TreatMissingData"]
    doc["Resources"]["Db"] = {"Type": "AWS::RDS::DBInstance", "Properties": {"Engine": "mysql"}}
    assert_fail(
        "MON-02",
        doc,
        "FnErrors: no OKActions",
        "no TreatMissingData",
        "no DB CPU alarm",
        "no DB free storage alarm",
        "no DB connections alarm",
    )


def test_mon_02_five_xx_rate_needs_zero_safe_metric_math():
    doc = yaml_doc("""
Resources:
  Alb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer}
  ErrorRate:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: 5xx rate
      TreatMissingData: notBreaching
      AlarmActions: [arn:aws:sns:us-east-1:1:a]
      OKActions: [arn:aws:sns:us-east-1:1:a]
      Metrics:
        - {Id: errors, ReturnData: false, MetricStat: {Stat: Sum, Period: 60, Metric: {Namespace: AWS/ApplicationELB, MetricName: HTTPCode_Target_5XX_Count}}}
        - {Id: requests, ReturnData: false, MetricStat: {Stat: Sum, Period: 60, Metric: {Namespace: AWS/ApplicationELB, MetricName: RequestCount}}}
        - {Id: rate, Expression: "IF(requests > 0, 100 * errors / requests, 0)"}
  Latency:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: p99
      TreatMissingData: notBreaching
      AlarmActions: [arn:aws:sns:us-east-1:1:a]
      OKActions: [arn:aws:sns:us-east-1:1:a]
      Namespace: AWS/ApplicationELB
      MetricName: TargetResponseTime
      ExtendedStatistic: p99
""")
    assert_pass("MON-02", doc)
    doc["Resources"]["ErrorRate"]["Properties"]["Metrics"][2]["Expression"] = (
        "100 * errors / requests"
    )
    assert_fail("MON-02", doc, "no 5xx rate (zero-safe metric math) alarm")


def test_mon_03_composite_alarm():
    good = """
Resources:
  Composite:
    Type: AWS::CloudWatch::CompositeAlarm
    Properties: {AlarmRule: "ALARM(a) OR ALARM(b)", AlarmActions: [arn:x], OKActions: [arn:x]}
"""
    assert_pass("MON-03", good)
    doc = yaml_doc(good)
    del doc["Resources"]["Composite"]["Properties"]["OKActions"]
    assert_fail("MON-03", doc, "no OKActions")


def test_mon_04_dashboard():
    assert_pass(
        "MON-04",
        {
            "Resources": {
                "D": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": "{}"}}
            }
        },
    )
    assert_fail(
        "MON-04", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "no AWS::CloudWatch::Dashboard"
    )


# ----------------------------------------------------------------------------------- RES

BACKUP = """
Resources:
  Key: {Type: AWS::KMS::Key}
  Db: {Type: AWS::RDS::DBInstance, Properties: {Engine: mysql}}
  App: {Type: AWS::EC2::LaunchTemplate}
  Vault: {Type: AWS::Backup::BackupVault, Properties: {BackupVaultName: vault, EncryptionKeyArn: !GetAtt Key.Arn}}
  Plan:
    Type: AWS::Backup::BackupPlan
    Properties:
      BackupPlan:
        BackupPlanName: plan
        BackupPlanRule:
          - {RuleName: Daily, TargetBackupVault: !Ref Vault, ScheduleExpression: "cron(0 5 * * ? *)", Lifecycle: {DeleteAfterDays: 35}}
          - {RuleName: Weekly, TargetBackupVault: !Ref Vault, ScheduleExpression: "cron(0 5 ? * SAT *)", Lifecycle: {DeleteAfterDays: 90}}
          - {RuleName: Monthly, TargetBackupVault: !Ref Vault, ScheduleExpression: "cron(0 5 1 * ? *)", Lifecycle: {DeleteAfterDays: 1825, MoveToColdStorageAfterDays: 90}}
  Selection:
    Type: AWS::Backup::BackupSelection
    Properties:
      BackupPlanId: !Ref Plan
      BackupSelection:
        SelectionName: all
        IamRoleArn: arn:aws:iam::1:role/backup
        Resources:
          - !Join ["", ["arn:aws:rds:", !Ref "AWS::Region", ":", !Ref "AWS::AccountId", ":db:", !Ref Db]]
          - "arn:aws:ec2:*:*:volume/*"
"""


def test_res_01_backup_plan_covering_db_and_volumes_passes():
    assert_pass("RES-01", BACKUP)


def test_res_01_incomplete_backup_fails():
    doc = yaml_doc(BACKUP)
    del doc["Resources"]["Vault"]["Properties"]["EncryptionKeyArn"]
    rules = doc["Resources"]["Plan"]["Properties"]["BackupPlan"]["BackupPlanRule"]
    del rules[1:]
    doc["Resources"]["Selection"]["Properties"]["BackupSelection"]["Resources"] = [
        "arn:aws:ec2:*:*:volume/*"
    ]
    assert_fail(
        "RES-01",
        doc,
        "vault without a CMK",
        "no weekly backup rule",
        "no rule moves recovery points to cold storage",
        "Db: not covered by any backup selection",
    )
    assert_fail(
        "RES-01",
        {"Resources": {"D": {"Type": "AWS::RDS::DBInstance"}}},
        "no AWS::Backup::BackupPlan",
    )


def test_res_01_tag_based_selection_matches_resource_tags():
    doc = yaml_doc(BACKUP)
    doc["Resources"]["Selection"]["Properties"]["BackupSelection"]["Resources"] = [
        "arn:aws:ec2:*:*:volume/*"
    ]
    doc["Resources"]["Selection"]["Properties"]["BackupSelection"]["ListOfTags"] = [
        {"ConditionType": "STRINGEQUALS", "ConditionKey": "Backup", "ConditionValue": "daily"}
    ]
    assert_fail("RES-01", doc, "Db: not covered")
    doc["Resources"]["Db"]["Properties"]["Tags"] = [{"Key": "Backup", "Value": "daily"}]
    assert_pass("RES-01", doc)


def test_res_01_not_applicable_without_data():
    assert_status("RES-01", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "not_applicable")


STATEFUL = """
Resources:
  Bucket: {Type: AWS::S3::Bucket, DeletionPolicy: Retain, UpdateReplacePolicy: Retain}
  Db: {Type: AWS::RDS::DBInstance, DeletionPolicy: Snapshot, UpdateReplacePolicy: Snapshot}
"""


def test_res_02_retained_stateful_resources_pass():
    assert_pass("RES-02", STATEFUL)
    assert_pass(
        "RES-02",
        Template(yaml_doc(STATEFUL), assembly=Assembly("Stack", termination_protection=True)),
    )


def test_res_02_delete_policies_and_missing_termination_protection_fail():
    doc = yaml_doc(STATEFUL)
    del doc["Resources"]["Bucket"]["DeletionPolicy"]
    doc["Resources"]["Secret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": "Snapshot",
        "UpdateReplacePolicy": "Retain",
    }
    assert_fail(
        "RES-02",
        doc,
        "Bucket: DeletionPolicy not set (Delete)",
        "Snapshot is not supported for AWS::SecretsManager::Secret",
    )
    assert_fail(
        "RES-02",
        Template(yaml_doc(STATEFUL), assembly=Assembly("Stack")),
        "stack Stack has no termination protection",
    )


# ----------------------------------------------------------------------------------- GOV

TAGS = [
    {"Key": k, "Value": v}
    for k, v in (
        ("Environment", "prod"),
        ("Project", "payflow"),
        ("Owner", "platform"),
        ("CostCenter", "cc-1"),
        ("ManagedBy", "cdk"),
        ("Compliance", "PCI-DSS SOX"),
        ("Name", "corp-vpc-enterpriseapp"),
    )
]


def test_gov_01_required_tags_pass():
    doc = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"Tags": TAGS}},
            "Param": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Tags": {t["Key"]: t["Value"] for t in TAGS}},
            },
        }
    }
    assert_pass("GOV-01", doc)
    assert_pass("GOV-01", doc, settings=Settings(compliance_terms=("PCI-DSS", "SOX")))


def test_gov_01_missing_tags_fail():
    doc = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"Tags": TAGS[:2]}}}}
    assert_fail("GOV-01", doc, "missing tags: Owner, CostCenter, ManagedBy")
    assert_fail(
        "GOV-01",
        {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"Tags": TAGS[:5]}}}},
        "compliance SOX",
        settings=Settings(compliance_terms=("PCI-DSS", "SOX")),
    )


def test_gov_02_name_tags_without_physical_names_pass():
    corp = Settings(name_pattern=r"corp-[a-z0-9][a-z0-9-]*-enterpriseapp")
    doc = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"Tags": TAGS}}}}
    assert_pass("GOV-02", doc, settings=corp)


def test_gov_02_physical_names_missing_or_off_convention_name_tags_fail():
    corp = Settings(name_pattern=r"corp-[a-z0-9][a-z0-9-]*-enterpriseapp")
    doc = network(azs=1)
    doc["Resources"]["Bucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {"BucketName": "corp-bucket-enterpriseapp"},
    }
    doc["Resources"]["Vpc"]["Properties"]["Tags"] = [{"Key": "Name", "Value": "my-vpc"}]
    assert_fail(
        "GOV-02",
        doc,
        "fixed BucketName corp-bucket-enterpriseapp blocks replacement",
        "Public1: no Name tag",
        "Name my-vpc does not match",
        settings=corp,
    )


def test_gov_02_service_dictated_log_group_names_are_exempt():
    doc = yaml_doc("""
Resources:
  Fn: {Type: AWS::Lambda::Function}
  FnLogs: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: !Sub "/aws/lambda/${Fn}"}}
""")
    assert_pass("GOV-02", doc)


def _db_with_export_groups(
    identifier, *group_names, exports=("error",), kind="instance", **props
) -> dict:
    """A database with a physical identifier and pre-created log groups (SecureDatabase shape)."""
    groups = {
        f"Log{n}": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": name, "RetentionInDays": 30},
        }
        for n, name in enumerate(group_names)
    }
    cluster = kind == "cluster"
    db_props = {"Engine": "aurora-mysql" if cluster else "mysql", **props}
    db_props["DBClusterIdentifier" if cluster else "DBInstanceIdentifier"] = identifier
    if exports:
        db_props["EnableCloudwatchLogsExports"] = list(exports)
    db = {
        "Type": "AWS::RDS::DBCluster" if cluster else "AWS::RDS::DBInstance",
        "DependsOn": sorted(groups),
        "Properties": db_props,
    }
    return {"Resources": {"Db": db, **groups}}


def test_gov_02_db_identifier_dictated_by_its_export_log_groups_passes():
    # SecureDatabase: a stack-unique identifier expression, repeated in the names of the log
    # groups created before the instance (RDS writes to /aws/rds/instance/<identifier>/<log>)
    name = joined("/aws/rds/instance/", DB_IDENTIFIER, "/error")
    result = assert_pass("GOV-02", _db_with_export_groups(DB_IDENTIFIER, name))
    text = messages(result)
    assert (
        "Db: DBInstanceIdentifier db-1a2b3c4d-${Select} is service-dictated: RDS writes the "
        "error export to /aws/rds/instance/<identifier>/<log>, pre-created as Log0" in text
    )
    assert "DeletionProtection" not in text
    assert "no fixed physical names" in text
    # the same name spelled as Fn::Sub, and a literal identifier (RDS stores it in lower case)
    sub = {"Fn::Sub": ["/aws/rds/instance/${Id}/error", {"Id": DB_IDENTIFIER}]}
    assert_pass("GOV-02", _db_with_export_groups(DB_IDENTIFIER, sub))
    assert_pass("GOV-02", _db_with_export_groups("App-DB", "/aws/rds/instance/app-db/error"))
    cluster = _db_with_export_groups(
        "app-cluster", "/aws/rds/cluster/app-cluster/audit", exports=["audit"], kind="cluster"
    )
    assert_pass("GOV-02", cluster)


def test_gov_02_service_dictated_db_identifier_notes_deletion_protection():
    name = joined("/aws/rds/instance/", DB_IDENTIFIER, "/error")
    protected = _db_with_export_groups(DB_IDENTIFIER, name, DeletionProtection=True)
    result = assert_pass("GOV-02", protected)
    assert (
        "DeletionProtection is on: CloudFormation cannot replace the instance anyway"
        in messages(result)
    )
    by_parameter = _db_with_export_groups(DB_IDENTIFIER, name, DeletionProtection=ref("Protect"))
    by_parameter["Parameters"] = {
        "Protect": {"Type": "String", "AllowedValues": ["true", "false"], "Default": "false"}
    }
    assert "DeletionProtection" not in messages(assert_pass("GOV-02", by_parameter))


def test_gov_02_db_identifier_without_export_log_groups_named_from_it_fails():
    fixed = "fixed DBInstanceIdentifier db-1a2b3c4d-${Select} blocks replacement"
    assert_fail("GOV-02", _db_with_export_groups(DB_IDENTIFIER), fixed)
    assert_fail(
        "GOV-02",
        _db_with_export_groups("app-db"),
        "Db: fixed DBInstanceIdentifier app-db blocks replacement",
    )
    # groups of another database, of a log the instance does not export, or without exports
    other_db = joined("/aws/rds/instance/", {"Fn::Join": ["-", ["db-other", "x"]]}, "/error")
    assert_fail("GOV-02", _db_with_export_groups(DB_IDENTIFIER, other_db), fixed)
    general = joined("/aws/rds/instance/", DB_IDENTIFIER, "/general")
    assert_fail("GOV-02", _db_with_export_groups(DB_IDENTIFIER, general), fixed)
    error = joined("/aws/rds/instance/", DB_IDENTIFIER, "/error")
    assert_fail("GOV-02", _db_with_export_groups(DB_IDENTIFIER, error, exports=()), fixed)
    # RDS writes to the lower-cased identifier: a group with the literal's case is not its group
    assert_fail(
        "GOV-02",
        _db_with_export_groups("App-DB", "/aws/rds/instance/App-DB/error"),
        "fixed DBInstanceIdentifier App-DB blocks replacement",
    )
    # a group named through Ref to the database needs no fixed identifier at all
    by_ref = {"Fn::Sub": "/aws/rds/instance/${Db}/error"}
    assert_fail("GOV-02", _db_with_export_groups(DB_IDENTIFIER, by_ref), fixed)
    # a service-dictated identifier does not excuse the other physical names
    doc = _db_with_export_groups(DB_IDENTIFIER, error, DeletionProtection=True)
    doc["Resources"]["Bucket"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}}
    result = assert_fail("GOV-02", doc, "Bucket: fixed BucketName b blocks replacement")
    assert "Db: DBInstanceIdentifier" in messages(result)
    assert "no fixed physical names" not in messages(result)


def test_gov_02_db_identifier_with_log_groups_that_cannot_be_compared():
    select_3 = {
        "Fn::Join": [
            "-",
            ["db-1a2b3c4d", {"Fn::Select": [3, {"Fn::Split": ["-", {"Ref": "AWS::StackId"}]}]}],
        ]
    }
    name = joined("/aws/rds/instance/", select_3, "/error")
    assert_status(
        "GOV-02",
        _db_with_export_groups(DB_IDENTIFIER, name),
        "unknown",
        "Db: cannot decide whether DBInstanceIdentifier db-1a2b3c4d-${Select} is service-dictated: "
        "Log0 might be its error export log group",
    )


PARAMETERS = """
Metadata:
  AWS::CloudFormation::Interface:
    ParameterGroups: [{Label: {default: Sizing}, Parameters: [EnvironmentSuffix, InstanceCount]}]
    ParameterLabels: {EnvironmentSuffix: {default: Suffix}, InstanceCount: {default: Instances}}
Parameters:
  EnvironmentSuffix: {Type: String, Default: dev, AllowedPattern: "^[a-z0-9]{1,8}$", ConstraintDescription: 1-8 lowercase letters or digits}
  InstanceCount: {Type: Number, Default: 2, MinValue: 2, MaxValue: 10}
  BootstrapVersion: {Type: "AWS::SSM::Parameter::Value<String>", Default: /cdk-bootstrap/hnb659fds/version}
Resources:
  Bucket: {Type: AWS::S3::Bucket}
"""


def test_gov_03_validated_grouped_parameters_pass():
    assert_pass("GOV-03", PARAMETERS)


def test_gov_03_unvalidated_ungrouped_or_secret_parameters_fail():
    doc = yaml_doc(PARAMETERS)
    del doc["Parameters"]["EnvironmentSuffix"]["ConstraintDescription"]
    del doc["Parameters"]["InstanceCount"]["MaxValue"]
    doc["Parameters"]["DBPassword"] = {"Type": "String", "NoEcho": True}
    assert_fail(
        "GOV-03",
        doc,
        "AllowedPattern without ConstraintDescription",
        "Number without MinValue/MaxValue",
        "secret parameter (NoEcho)",
        "DBPassword: not in a ParameterGroup",
    )


def test_gov_03_not_applicable_with_only_cdk_parameters():
    doc = yaml_doc(PARAMETERS)
    del doc["Parameters"]["EnvironmentSuffix"], doc["Parameters"]["InstanceCount"]
    assert_status("GOV-03", doc, "not_applicable")


CONDITIONS = """
Parameters:
  CertificateArn: {Type: String, Default: ""}
  KeyName: {Type: String, Default: ""}
Conditions:
  HasCertificate: !Not [!Equals [!Ref CertificateArn, ""]]
  HasKeyPair: !Not [!Equals [!Ref KeyName, ""]]
Resources:
  Alb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer}
  Https: {Type: AWS::ElasticLoadBalancingV2::Listener, Condition: HasCertificate}
  App:
    Type: AWS::EC2::LaunchTemplate
    Properties: {LaunchTemplateData: {KeyName: !If [HasKeyPair, !Ref KeyName, !Ref "AWS::NoValue"]}}
"""


def test_gov_04_conditions_for_optional_features_pass():
    assert_pass("GOV-04", CONDITIONS)


def test_gov_04_missing_unused_or_unconditional_features_fail():
    doc = yaml_doc(CONDITIONS)
    doc["Conditions"]["Unused"] = {"Fn::Equals": ["a", "b"]}
    doc["Resources"]["App"]["Properties"]["LaunchTemplateData"]["KeyName"] = ref("KeyName")
    assert_fail(
        "GOV-04",
        doc,
        "Unused: declared but never used",
        "KeyName is always set",
        "no condition for the optional monitoring",
        settings=Settings(required_condition_topics=("monitoring",)),
    )
    assert_fail(
        "GOV-04",
        {"Resources": {"Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"}}},
        "no condition for the optional certificate",
    )


OUTPUTS = """
Resources:
  Vpc: {Type: AWS::EC2::VPC}
Outputs:
  VPCId:
    Value: !Ref Vpc
    Export: {Name: !Sub "${AWS::StackName}-VPCId"}
  StackName:
    Value: !Ref AWS::StackName
    Export: {Name: !Join ["-", [!Ref "AWS::StackName", StackName]]}
"""


def test_gov_05_exported_outputs_pass():
    assert_pass("GOV-05", OUTPUTS)


def test_gov_05_unexported_outputs_and_missing_identifiers_fail():
    doc = yaml_doc(OUTPUTS)
    doc["Outputs"]["VPCId"]["Export"] = {"Name": "vpc-id"}
    doc["Resources"]["Topic"] = {"Type": "AWS::SNS::Topic"}
    assert_fail(
        "GOV-05",
        doc,
        "export name vpc-id is not ${AWS::StackName}-<Name>",
        "Topic: no output exposes it",
    )
    assert_fail(
        "GOV-05",
        OUTPUTS,
        "KMSKeyId: required output missing",
        settings=Settings(required_outputs=("VPCId", "KMSKeyId")),
    )


def test_gov_06_budget_and_anomaly_detection():
    good = """
Resources:
  Budget:
    Type: AWS::Budgets::Budget
    Properties:
      Budget: {BudgetType: COST, TimeUnit: MONTHLY, BudgetLimit: {Amount: 100, Unit: USD}}
      NotificationsWithSubscribers: [{Notification: {NotificationType: ACTUAL, ComparisonOperator: GREATER_THAN, Threshold: 80}, Subscribers: [{SubscriptionType: EMAIL, Address: a@example.com}]}]
  Monitor: {Type: AWS::CE::AnomalyMonitor, Properties: {MonitorName: m, MonitorType: DIMENSIONAL, MonitorDimension: SERVICE}}
  Subscription:
    Type: AWS::CE::AnomalySubscription
    Properties: {SubscriptionName: s, Frequency: DAILY, MonitorArnList: [!Ref Monitor], Subscribers: [{Type: EMAIL, Address: a@example.com}]}
"""
    assert_pass("GOV-06", good)
    doc = yaml_doc(good)
    del doc["Resources"]["Subscription"]
    assert_fail("GOV-06", doc, "no AWS::CE::AnomalySubscription")
