"""S3, LOG and EDGE controls on hand-written fragments."""

# ruff: noqa: E501 -- the YAML template fragments keep CloudFormation flow mappings on one line.

from __future__ import annotations

from controls import Settings
from tests.controls.helpers import (
    DB_IDENTIFIER,
    assert_fail,
    assert_pass,
    assert_status,
    joined,
    merge,
    messages,
    ref,
    yaml_doc,
)

BUCKETS = """
Resources:
  Key: {Type: AWS::KMS::Key}
  Data:
    Type: AWS::S3::Bucket
    Properties:
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
      OwnershipControls: {Rules: [{ObjectOwnership: BucketOwnerEnforced}]}
      VersioningConfiguration: {Status: Enabled}
      BucketEncryption:
        ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms, KMSMasterKeyID: !GetAtt Key.Arn}}]
      LoggingConfiguration: {DestinationBucketName: !Ref AccessLogs, LogFilePrefix: data/}
      LifecycleConfiguration:
        Rules:
          - Id: tiering
            Status: Enabled
            Transitions: [{StorageClass: INTELLIGENT_TIERING, TransitionInDays: 30}]
            NoncurrentVersionExpiration: {NoncurrentDays: 90}
            AbortIncompleteMultipartUpload: {DaysAfterInitiation: 7}
  AccessLogs:
    Type: AWS::S3::Bucket
    Properties:
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
      VersioningConfiguration: {Status: Enabled}
      BucketEncryption:
        ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}}]
      ObjectLockEnabled: true
      ObjectLockConfiguration: {ObjectLockEnabled: Enabled, Rule: {DefaultRetention: {Mode: COMPLIANCE, Days: 365}}}
      LifecycleConfiguration:
        Rules:
          - Status: Enabled
            Transitions: [{StorageClass: GLACIER, TransitionInDays: 90}]
            NoncurrentVersionExpiration: {NoncurrentDays: 30}
            AbortIncompleteMultipartUpload: {DaysAfterInitiation: 1}
  AccessLogsPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref AccessLogs
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: logging.s3.amazonaws.com}
            Action: s3:PutObject
            Resource: !Sub "${AccessLogs.Arn}/*"
            Condition:
              ArnLike: {"aws:SourceArn": !GetAtt Data.Arn}
              StringEquals: {"aws:SourceAccount": !Ref "AWS::AccountId"}
"""


def test_s3_01_private_versioned_cmk_buckets_pass():
    assert_pass("S3-01", BUCKETS)


def test_s3_01_public_bucket_fails():
    doc = yaml_doc(BUCKETS)
    props = doc["Resources"]["Data"]["Properties"]
    props["AccessControl"] = "PublicRead"
    props["PublicAccessBlockConfiguration"] = {"BlockPublicAcls": False}
    props["BucketEncryption"]["ServerSideEncryptionConfiguration"] = [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    del props["VersioningConfiguration"]
    assert_fail(
        "S3-01",
        doc,
        "canned ACL PublicRead",
        "public access not blocked",
        "versioning not enabled",
        "encryption AES256, not SSE-KMS with a CMK",
    )


def test_s3_01_public_bucket_policy_fails():
    doc = yaml_doc(BUCKETS)
    doc["Resources"]["DataPolicy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": ref("Data"),
            "PolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
                ]
            },
        },
    }
    assert_fail("S3-01", doc, "bucket policy allows s3:GetObject to everyone")


def test_s3_02_access_logging_passes():
    assert_pass("S3-02", BUCKETS)


def test_s3_02_missing_or_self_logging_fails():
    doc = yaml_doc(BUCKETS)
    doc["Resources"]["Other"] = {"Type": "AWS::S3::Bucket", "Properties": {}}
    assert_fail("S3-02", doc, "Other: no server access logging")
    doc["Resources"]["Other"]["Properties"]["LoggingConfiguration"] = {
        "DestinationBucketName": ref("Other")
    }
    assert_fail("S3-02", doc, "Other: logs into itself")


def test_s3_03_lifecycle_passes():
    assert_pass("S3-03", BUCKETS)


def test_s3_03_missing_lifecycle_fails():
    doc = yaml_doc(BUCKETS)
    del doc["Resources"]["Data"]["Properties"]["LifecycleConfiguration"]
    assert_fail(
        "S3-03",
        doc,
        "Data: no storage-class transition",
        "no NoncurrentVersionExpiration",
        "no AbortIncompleteMultipartUpload",
    )


def test_s3_04_locked_log_bucket_with_scoped_writes_passes():
    assert_pass("S3-04", BUCKETS)


def test_s3_04_explicit_denies_also_make_a_log_bucket_immutable():
    doc = yaml_doc(BUCKETS)
    props = doc["Resources"]["AccessLogs"]["Properties"]
    del props["ObjectLockEnabled"], props["ObjectLockConfiguration"]
    doc["Resources"]["AccessLogsPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Resource": "*",
            "Action": ["s3:DeleteObject*", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy"],
        }
    )
    assert_pass("S3-04", doc)


def test_s3_04_mutable_log_bucket_and_unscoped_service_write_fail():
    doc = yaml_doc(BUCKETS)
    props = doc["Resources"]["AccessLogs"]["Properties"]
    del props["ObjectLockEnabled"], props["ObjectLockConfiguration"]
    del doc["Resources"]["AccessLogsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0][
        "Condition"
    ]
    assert_fail(
        "S3-04",
        doc,
        "log bucket (s3-access-logs) is mutable",
        "logging.s3.amazonaws.com may s3:PutObject without aws:SourceArn/aws:SourceAccount",
    )


def test_s3_04_not_applicable_without_log_buckets():
    assert_status("S3-04", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "not_applicable")


SITE = """
Resources:
  Site:
    Type: AWS::S3::Bucket
    Properties:
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
  Oac:
    Type: AWS::CloudFront::OriginAccessControl
    Properties: {OriginAccessControlConfig: {Name: site, OriginAccessControlOriginType: s3, SigningBehavior: always, SigningProtocol: sigv4}}
  Cdn:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Origins:
          - Id: site
            DomainName: !GetAtt Site.RegionalDomainName
            OriginAccessControlId: !GetAtt Oac.Id
            S3OriginConfig: {OriginAccessIdentity: ""}
        DefaultCacheBehavior: {TargetOriginId: site, ViewerProtocolPolicy: redirect-to-https}
  SitePolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Site
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: cloudfront.amazonaws.com}
            Action: s3:GetObject
            Resource: !Sub "${Site.Arn}/*"
            Condition: {StringEquals: {"AWS:SourceArn": !Sub "arn:aws:cloudfront::${AWS::AccountId}:distribution/${Cdn}"}}
"""


def test_s3_05_cloudfront_with_oac_passes():
    assert_pass("S3-05", SITE)


def test_s3_05_website_bucket_and_legacy_oai_fail():
    doc = yaml_doc(SITE)
    doc["Resources"]["Site"]["Properties"]["WebsiteConfiguration"] = {"IndexDocument": "index.html"}
    origin = doc["Resources"]["Cdn"]["Properties"]["DistributionConfig"]["Origins"][0]
    del origin["OriginAccessControlId"]
    origin["S3OriginConfig"]["OriginAccessIdentity"] = "origin-access-identity/cloudfront/E1"
    assert_fail(
        "S3-05",
        doc,
        "WebsiteConfiguration",
        "legacy origin access identity",
        "without OriginAccessControlId",
    )


# ----------------------------------------------------------------------------------- LOG

TRAIL = """
Resources:
  Key: {Type: AWS::KMS::Key}
  TrailBucket: {Type: AWS::S3::Bucket}
  TrailGroup: {Type: AWS::Logs::LogGroup, Properties: {KmsKeyId: !GetAtt Key.Arn, RetentionInDays: 365}}
  TrailRole: {Type: AWS::IAM::Role}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      IsLogging: true
      S3BucketName: !Ref TrailBucket
      IsMultiRegionTrail: true
      IncludeGlobalServiceEvents: true
      EnableLogFileValidation: true
      KMSKeyId: !GetAtt Key.Arn
      CloudWatchLogsLogGroupArn: !GetAtt TrailGroup.Arn
      CloudWatchLogsRoleArn: !GetAtt TrailRole.Arn
      EventSelectors:
        - ReadWriteType: All
          DataResources: [{Type: "AWS::S3::Object", Values: ["arn:aws:s3"]}]
"""


def test_log_01_complete_trail_passes():
    assert_pass("LOG-01", TRAIL)


def test_log_01_trail_without_validation_or_data_events_fails():
    doc = yaml_doc(TRAIL)
    props = doc["Resources"]["Trail"]["Properties"]
    del props["EnableLogFileValidation"], props["IsMultiRegionTrail"]
    doc["Resources"]["Fn"] = {"Type": "AWS::Lambda::Function", "Properties": {}}
    assert_fail(
        "LOG-01",
        doc,
        "EnableLogFileValidation is not true",
        "IsMultiRegionTrail is not true",
        "no data events for AWS::Lambda::Function",
    )
    assert_fail(
        "LOG-01", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "no AWS::CloudTrail::Trail"
    )


def test_log_01_advanced_event_selectors_count():
    doc = yaml_doc(TRAIL)
    props = doc["Resources"]["Trail"]["Properties"]
    del props["EventSelectors"]
    props["AdvancedEventSelectors"] = [
        {
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            ]
        }
    ]
    assert_pass("LOG-01", doc)


CONFIG = """
Resources:
  ConfigBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption: {ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}}]}
  ConfigRole:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/service-role/AWS_ConfigRole"]
  Recorder:
    Type: AWS::Config::ConfigurationRecorder
    Properties:
      RoleARN: !GetAtt ConfigRole.Arn
      RecordingGroup: {AllSupported: true, IncludeGlobalResourceTypes: true}
  Channel: {Type: AWS::Config::DeliveryChannel, Properties: {S3BucketName: !Ref ConfigBucket}}
""" + "".join(
    f"""  Rule{rule.title().replace("_", "")}:
    Type: AWS::Config::ConfigRule
    Properties: {{Source: {{Owner: AWS, SourceIdentifier: {rule}}}}}
"""
    for rule in (
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "CLOUD_TRAIL_ENABLED",
    )
)


def test_log_02_config_recorder_passes():
    assert_pass("LOG-02", CONFIG)


def test_log_02_partial_recorder_and_missing_rules_fail():
    doc = yaml_doc(CONFIG)
    doc["Resources"]["Recorder"]["Properties"]["RecordingGroup"] = {"AllSupported": False}
    doc["Resources"]["Vpc"] = {"Type": "AWS::EC2::VPC", "Properties": {}}
    assert_fail(
        "LOG-02",
        doc,
        "RecordingGroup.AllSupported not true",
        "IncludeGlobalResourceTypes not true",
        "no managed rule VPC_FLOW_LOGS_ENABLED",
    )


GROUPS = """
Resources:
  Key: {Type: AWS::KMS::Key}
  Fn: {Type: AWS::Lambda::Function, Properties: {LoggingConfig: {LogGroup: !Ref FnLogs}}}
  FnLogs: {Type: AWS::Logs::LogGroup, Properties: {KmsKeyId: !GetAtt Key.Arn, RetentionInDays: 30}}
"""


def test_log_03_encrypted_groups_with_retention_pass():
    assert_pass("LOG-03", GROUPS)


def test_log_03_unencrypted_group_and_implicit_groups_fail():
    doc = yaml_doc(GROUPS)
    del doc["Resources"]["FnLogs"]["Properties"]["RetentionInDays"]
    doc["Resources"]["Other"] = {"Type": "AWS::Lambda::Function", "Properties": {}}
    doc["Resources"]["Db"] = {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {"Engine": "mysql", "EnableCloudwatchLogsExports": ["error"]},
    }
    assert_fail(
        "LOG-03",
        doc,
        "no RetentionInDays",
        "Other: writes to an implicit /aws/lambda",
        "Db: exports error to implicit /aws/rds/instance/${Db}/... log groups",
    )


ALB_LOGS = """
Resources:
  LogBucket:
    Type: AWS::S3::Bucket
    Properties:
      LifecycleConfiguration: {Rules: [{Status: Enabled, ExpirationInDays: 90}]}
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      LoadBalancerAttributes:
        - {Key: access_logs.s3.enabled, Value: "true"}
        - {Key: access_logs.s3.bucket, Value: !Ref LogBucket}
"""


def test_log_04_alb_access_logs_with_lifecycle_pass():
    assert_pass("LOG-04", ALB_LOGS)
    assert_pass("LOG-04", ALB_LOGS, settings=Settings(alb_log_expiration_days=90))


def test_log_04_disabled_logs_or_wrong_expiry_fail():
    assert_fail("LOG-04", ALB_LOGS, "not 30 days", settings=Settings(alb_log_expiration_days=30))
    doc = yaml_doc(ALB_LOGS)
    doc["Resources"]["Alb"]["Properties"]["LoadBalancerAttributes"][0]["Value"] = "false"
    assert_fail("LOG-04", doc, "access_logs.s3.enabled is not true")


WAF_LOGGING = """
Resources:
  Acl: {Type: AWS::WAFv2::WebACL, Properties: {Scope: REGIONAL}}
  WafLogs: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: !Sub "aws-waf-logs-${AWS::StackName}"}}
  AclLogging:
    Type: AWS::WAFv2::LoggingConfiguration
    Properties: {ResourceArn: !GetAtt Acl.Arn, LogDestinationConfigs: [!GetAtt WafLogs.Arn]}
"""


def test_log_05_waf_logging_passes():
    assert_pass("LOG-05", WAF_LOGGING)


def test_log_05_missing_or_misnamed_destination_fails():
    doc = yaml_doc(WAF_LOGGING)
    del doc["Resources"]["WafLogs"]["Properties"]["LogGroupName"]
    assert_fail("LOG-05", doc, "does not start with aws-waf-logs-")
    del doc["Resources"]["AclLogging"]
    assert_fail("LOG-05", doc, "no AWS::WAFv2::LoggingConfiguration")


AUDIT_DB = """
Resources:
  Options:
    Type: AWS::RDS::OptionGroup
    Properties: {EngineName: mysql, MajorEngineVersion: "8.0", OptionGroupDescription: audit,
                 OptionConfigurations: [{OptionName: MARIADB_AUDIT_PLUGIN}]}
  Db:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: mysql, OptionGroupName: !Ref Options, EnableCloudwatchLogsExports: [audit, error]}
"""


def test_log_06_database_audit_log_exported_passes():
    assert_pass("LOG-06", AUDIT_DB)


def test_log_06_empty_or_missing_audit_export_fails():
    doc = yaml_doc(AUDIT_DB)
    del doc["Resources"]["Db"]["Properties"]["OptionGroupName"]
    doc["Resources"]["Db"]["Properties"]["EnableCloudwatchLogsExports"] = ["error"]
    assert_fail("LOG-06", doc, "audit log not exported", "the audit export is empty")


def test_log_07_xray():
    good = """
Resources:
  Sampling: {Type: AWS::XRay::SamplingRule, Properties: {SamplingRule: {RuleName: all}}}
  Fn: {Type: AWS::Lambda::Function, Properties: {TracingConfig: {Mode: Active}}}
"""
    assert_pass("LOG-07", good)
    doc = yaml_doc(good)
    del doc["Resources"]["Sampling"]
    doc["Resources"]["Fn"]["Properties"] = {}
    assert_fail("LOG-07", doc, "no AWS::XRay::SamplingRule", "TracingConfig.Mode is not Active")


# ---------------------------------------------------------------------------------- EDGE

ALB = """
Parameters:
  CertificateArn: {Type: String, Default: ""}
Conditions:
  HasCertificate: !Not [!Equals [!Ref CertificateArn, ""]]
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Scheme: internet-facing
      LoadBalancerAttributes:
        - {Key: routing.http.drop_invalid_header_fields.enabled, Value: "true"}
        - {Key: deletion_protection.enabled, Value: "true"}
        - {Key: access_logs.s3.enabled, Value: "true"}
  Tg:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Protocol: HTTP
      Port: 8080
      HealthCheckPath: /health/deep
      HealthCheckProtocol: HTTP
      HealthCheckIntervalSeconds: 30
      HealthCheckTimeoutSeconds: 10
      HealthyThresholdCount: 2
      UnhealthyThresholdCount: 3
      Matcher: {HttpCode: "200"}
      TargetGroupAttributes: [{Key: deregistration_delay.timeout_seconds, Value: "30"}]
  Https:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Condition: HasCertificate
    Properties:
      LoadBalancerArn: !Ref Alb
      Protocol: HTTPS
      Port: 443
      SslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06
      Certificates: [{CertificateArn: !Ref CertificateArn}]
      DefaultActions: [{Type: forward, TargetGroupArn: !Ref Tg}]
  Http:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Protocol: HTTP
      Port: 80
      DefaultActions: !If
        - HasCertificate
        - [{Type: redirect, RedirectConfig: {Protocol: HTTPS, Port: "443", StatusCode: HTTP_301}}]
        - [{Type: forward, TargetGroupArn: !Ref Tg}]
  ApiRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Http
      Priority: 10
      Conditions: [{Field: path-pattern, PathPatternConfig: {Values: ["/api/*"]}}]
      Actions: [{Type: forward, TargetGroupArn: !Ref Tg}]
"""


def test_edge_01_hardened_alb_passes():
    assert_pass("EDGE-01", ALB)


def test_edge_01_http_only_alb_without_attributes_fails():
    doc = yaml_doc(ALB)
    del doc["Resources"]["Https"]
    doc["Resources"]["Alb"]["Properties"]["LoadBalancerAttributes"] = []
    assert_fail(
        "EDGE-01",
        doc,
        "no HTTPS listener",
        "drop_invalid_header_fields.enabled is not true",
        "deletion_protection.enabled is not true",
    )


def test_edge_02_conditional_dns_certificate_passes():
    doc = yaml_doc(ALB)
    doc["Parameters"]["DomainName"] = {"Type": "String", "Default": ""}
    doc["Conditions"]["HasDomain"] = {"Fn::Not": [{"Fn::Equals": [ref("DomainName"), ""]}]}
    doc["Resources"]["Certificate"] = {
        "Type": "AWS::CertificateManager::Certificate",
        "Condition": "HasDomain",
        "Properties": {"DomainName": ref("DomainName"), "ValidationMethod": "DNS"},
    }
    assert_pass("EDGE-02", doc)


def test_edge_02_unconditional_certificate_and_listener_fail():
    doc = yaml_doc(ALB)
    del doc["Resources"]["Https"]["Condition"]
    doc["Resources"]["Certificate"] = {
        "Type": "AWS::CertificateManager::Certificate",
        "Properties": {"DomainName": "example.com"},
    }
    assert_fail(
        "EDGE-02",
        doc,
        "ValidationMethod EMAIL (default)",
        "always created (no Condition)",
        "HTTPS listener is unconditional",
    )


def test_edge_02_certificate_on_by_default_fails():
    doc = yaml_doc(ALB)
    doc["Parameters"]["CertificateArn"]["Default"] = "arn:aws:acm:us-east-1:1:certificate/x"
    assert_fail("EDGE-02", doc, "condition HasCertificate is true by default")


WAF = (
    """
Resources:
  Alb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Scheme: internet-facing}}
  Acl:
    Type: AWS::WAFv2::WebACL
    Properties:
      Scope: REGIONAL
      DefaultAction: {Allow: {}}
      VisibilityConfig: {CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: acl}
      Rules:
"""
    + "".join(
        f"""        - Name: {name}
          Priority: {n}
          OverrideAction: {{None: {{}}}}
          Statement: {{ManagedRuleGroupStatement: {{VendorName: AWS, Name: {name}}}}}
          VisibilityConfig: {{CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: {name}}}
"""
        for n, name in enumerate(
            (
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet",
                "AWSManagedRulesSQLiRuleSet",
                "AWSManagedRulesAmazonIpReputationList",
            )
        )
    )
    + """        - Name: RateLimit
          Priority: 10
          Action: {Block: {}}
          Statement: {RateBasedStatement: {Limit: 2000, AggregateKeyType: IP}}
          VisibilityConfig: {CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: rate}
  AclAssociation:
    Type: AWS::WAFv2::WebACLAssociation
    Properties: {ResourceArn: !Ref Alb, WebACLArn: !GetAtt Acl.Arn}
"""
)


def test_edge_03_web_acl_with_managed_groups_passes():
    assert_pass("EDGE-03", WAF)


def test_edge_03_missing_association_or_rule_groups_fail():
    doc = yaml_doc(WAF)
    rules = doc["Resources"]["Acl"]["Properties"]["Rules"]
    doc["Resources"]["Acl"]["Properties"]["Rules"] = [
        r for r in rules if "SQLi" not in r["Name"] and r["Name"] != "RateLimit"
    ]
    assert_fail(
        "EDGE-03",
        doc,
        "missing managed rule group AWSManagedRulesSQLiRuleSet",
        "no rate-based rule",
    )
    del doc["Resources"]["AclAssociation"]
    assert_fail("EDGE-03", doc, "no web ACL associated")


def test_edge_04_explicit_health_checks_pass():
    payflow = Settings(
        health_check_path="/health/deep", health_check_interval=30, deregistration_delay=30
    )
    assert_pass("EDGE-04", ALB)
    assert_pass("EDGE-04", ALB, settings=payflow)


def test_edge_04_default_health_checks_fail():
    doc = yaml_doc(ALB)
    props = doc["Resources"]["Tg"]["Properties"]
    for key in ("Matcher", "HealthCheckTimeoutSeconds", "TargetGroupAttributes"):
        del props[key]
    props["HealthCheckPath"] = "/"
    assert_fail(
        "EDGE-04",
        doc,
        "health check defaults for HealthCheckTimeoutSeconds, Matcher",
        "deregistration delay not set",
    )
    assert_fail(
        "EDGE-04",
        doc,
        "health check path /, not /health/deep",
        settings=Settings(health_check_path="/health/deep"),
    )


def test_edge_05_path_rules():
    assert_pass("EDGE-05", ALB)
    assert_fail(
        "EDGE-05",
        ALB,
        "no listener rule for /webhooks/*",
        settings=Settings(required_path_patterns=("/api/*", "/webhooks/*")),
    )
    doc = yaml_doc(ALB)
    del doc["Resources"]["ApiRule"]
    assert_fail("EDGE-05", doc, "no listener rule with a path-pattern condition")


DNS = """
Parameters:
  DomainName: {Type: String, Default: ""}
Conditions:
  HasDomain: !Not [!Equals [!Ref DomainName, ""]]
Resources:
  Zone: {Type: AWS::Route53::HostedZone, Condition: HasDomain, Properties: {Name: !Ref DomainName}}
  Check:
    Type: AWS::Route53::HealthCheck
    Condition: HasDomain
    Properties: {HealthCheckConfig: {Type: HTTPS, FullyQualifiedDomainName: !Ref DomainName, ResourcePath: /health/deep, RequestInterval: 30}}
  CheckAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: HasDomain
    Properties:
      Namespace: AWS/Route53
      MetricName: HealthCheckStatus
      Dimensions: [{Name: HealthCheckId, Value: !Ref Check}]
  Prod:
    Type: AWS::Route53::RecordSet
    Condition: HasDomain
    Properties: {HostedZoneId: !Ref Zone, Name: !Ref DomainName, Type: CNAME, SetIdentifier: prod, Weight: 90, HealthCheckId: !Ref Check}
  Canary:
    Type: AWS::Route53::RecordSet
    Condition: HasDomain
    Properties: {HostedZoneId: !Ref Zone, Name: !Ref DomainName, Type: CNAME, SetIdentifier: canary, Weight: 10, HealthCheckId: !Ref Check}
"""


def test_edge_06_weighted_health_checked_dns_passes():
    assert_pass("EDGE-06", DNS)


def test_edge_06_missing_zone_or_weak_health_check_fails():
    assert_fail(
        "EDGE-06", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "no AWS::Route53::HostedZone"
    )
    doc = yaml_doc(DNS)
    doc["Resources"]["Check"]["Properties"]["HealthCheckConfig"].update(
        Type="HTTP", ResourcePath="/"
    )
    del doc["Resources"]["CheckAlarm"], doc["Resources"]["Zone"]["Condition"]
    assert_fail(
        "EDGE-06",
        doc,
        "health check type HTTP, not HTTPS",
        "is not a custom path",
        "no alarm on this health check",
        "hosted zone is unconditional",
    )


def test_edge_controls_are_not_applicable_without_a_load_balancer():
    for control_id in ("EDGE-01", "EDGE-02", "EDGE-03", "EDGE-05"):
        assert_status(
            control_id, {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "not_applicable"
        )


def test_merge_keeps_sections():
    doc = merge(yaml_doc(ALB), yaml_doc(WAF))
    assert {"Https", "Acl"} <= set(doc["Resources"])


def test_log_03_declared_rds_log_groups_by_literal_identifier():
    doc = yaml_doc(GROUPS)
    doc["Resources"]["Db"] = {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            "Engine": "mysql",
            "DBInstanceIdentifier": "app-db",
            "EnableCloudwatchLogsExports": ["error"],
        },
    }
    doc["Resources"]["DbErrors"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": "/aws/rds/instance/app-db/error",
            "KmsKeyId": ref("Key"),
            "RetentionInDays": 30,
        },
    }
    assert_pass("LOG-03", doc)


def test_s3_01_log_destinations_that_need_sse_s3():
    doc = yaml_doc(BUCKETS)
    doc["Resources"]["AccessLogs"]["Properties"]["BucketEncryption"] = {
        "ServerSideEncryptionConfiguration": [
            {
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]},
                }
            }
        ]
    }
    assert_fail("S3-01", doc, "s3-access-logs can only be delivered to SSE-S3 buckets")


def _rds_exports(identifier, group_name) -> dict:
    """GROUPS plus a MySQL instance exporting ``error`` and its pre-created log group."""
    doc = yaml_doc(GROUPS)
    props = {"Engine": "mysql", "EnableCloudwatchLogsExports": ["error"]}
    if identifier is not None:
        props["DBInstanceIdentifier"] = identifier
    doc["Resources"]["Db"] = {
        "Type": "AWS::RDS::DBInstance",
        "DependsOn": ["DbErrors"],
        "Properties": props,
    }
    doc["Resources"]["DbErrors"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": group_name, "KmsKeyId": ref("Key"), "RetentionInDays": 30},
    }
    return doc


def test_log_03_rds_log_groups_named_with_the_identifier_expression():
    name = joined("/aws/rds/instance/", DB_IDENTIFIER, "/error")
    result = assert_pass("LOG-03", _rds_exports(DB_IDENTIFIER, name))
    assert "Db: exports error to declared log group DbErrors" in messages(result)
    # the same concatenation written flat, or as a Fn::Sub with the expression as a variable
    flat = joined("/aws/rds/instance/", "db-1a2b3c4d", "-", DB_IDENTIFIER["Fn::Join"][1][1])
    flat["Fn::Join"][1].append("/error")
    assert_pass("LOG-03", _rds_exports(DB_IDENTIFIER, flat))
    sub = {"Fn::Sub": ["/aws/rds/instance/${Id}/error", {"Id": DB_IDENTIFIER}]}
    assert_pass("LOG-03", _rds_exports(DB_IDENTIFIER, sub))


def test_log_03_rds_log_group_of_another_log_or_identifier_is_not_the_export_group():
    other_log = joined("/aws/rds/instance/", DB_IDENTIFIER, "/general")
    assert_fail(
        "LOG-03",
        _rds_exports(DB_IDENTIFIER, other_log),
        "Db: exports error to implicit /aws/rds/instance/db-1a2b3c4d-${Select}/... log groups",
    )
    other_db = joined("/aws/rds/instance/", {"Fn::Join": ["-", ["db-other", "x"]]}, "/error")
    assert_fail("LOG-03", _rds_exports(DB_IDENTIFIER, other_db), "exports error to implicit")


def test_log_03_rds_export_groups_are_implicit_without_an_identifier():
    name = joined("/aws/rds/instance/", DB_IDENTIFIER, "/error")
    assert_fail(
        "LOG-03",
        _rds_exports(None, name),
        "Db: exports error to implicit /aws/rds/instance/${Db}/... log groups",
    )


def test_log_03_rds_log_group_name_that_cannot_be_compared():
    # another expression in the identifier's place may or may not evaluate to the same text
    select_3 = {
        "Fn::Join": [
            "-",
            ["db-1a2b3c4d", {"Fn::Select": [3, {"Fn::Split": ["-", {"Ref": "AWS::StackId"}]}]}],
        ]
    }
    name = joined("/aws/rds/instance/", select_3, "/error")
    assert_status(
        "LOG-03",
        _rds_exports(DB_IDENTIFIER, name),
        "unknown",
        "Db: cannot decide whether DbErrors is the error export log group",
    )


def test_log_03_rds_identifiers_are_stored_in_lower_case():
    # RDS lower-cases the identifier, so a group named with the upper-case literal stays unused
    assert_pass("LOG-03", _rds_exports("App-DB", "/aws/rds/instance/app-db/error"))
    assert_fail(
        "LOG-03",
        _rds_exports("App-DB", "/aws/rds/instance/App-DB/error"),
        "exports error to implicit /aws/rds/instance/app-db/... log groups",
    )
