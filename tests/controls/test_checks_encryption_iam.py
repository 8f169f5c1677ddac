"""ENC and IAM controls on hand-written fragments."""

# ruff: noqa: E501 -- the YAML template fragments keep CloudFormation flow mappings on one line.

from __future__ import annotations

from controls import Settings
from controls.template import Assembly, Template
from tests.controls.helpers import (
    assert_fail,
    assert_pass,
    assert_status,
    messages,
    outcome,
    yaml_doc,
)

KEY = """
Resources:
  DataKey:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      KeyPolicy:
        Statement:
          - Sid: Administration
            Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: [kms:Create*, kms:Describe*, kms:Enable*, kms:List*, kms:Put*, kms:Update*,
                     kms:Revoke*, kms:Disable*, kms:Get*, kms:Delete*, kms:TagResource,
                     kms:UntagResource, kms:ScheduleKeyDeletion, kms:CancelKeyDeletion]
            Resource: "*"
          - Sid: Usage
            Effect: Allow
            Principal: {AWS: !GetAtt AppRole.Arn}
            Action: [kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey]
            Resource: "*"
          - Sid: Logs
            Effect: Allow
            Principal: {Service: !Sub "logs.${AWS::Region}.amazonaws.com"}
            Action: [kms:Encrypt*, kms:Decrypt*, kms:GenerateDataKey*]
            Resource: "*"
            Condition:
              ArnLike: {"kms:EncryptionContext:aws:logs:arn": !Sub "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:*"}
  DataKeyAlias:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/data, TargetKeyId: !Ref DataKey}
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
"""


def test_enc_01_rotated_key_with_alias_passes():
    assert_pass("ENC-01", KEY)


def test_enc_01_unrotated_key_without_alias_or_store_without_key_fail():
    doc = yaml_doc(KEY)
    doc["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"] = False
    del doc["Resources"]["DataKeyAlias"]
    assert_fail("ENC-01", doc, "EnableKeyRotation is not true", "no AWS::KMS::Alias")
    assert_fail(
        "ENC-01", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "no customer-managed KMS key"
    )


def test_enc_01_separate_keys_per_domain_where_the_stack_says_so():
    doc = yaml_doc(
        KEY
        + """
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms, KMSMasterKeyID: !GetAtt DataKey.Arn}
  Db:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: mysql, StorageEncrypted: true, KmsKeyId: !Ref DataKeyAlias}
"""
    )
    corp = Settings(separate_key_domains=("s3", "rds", "logs"))
    assert_fail("ENC-01", doc, "key serves s3 and rds", settings=corp)
    assert_pass("ENC-01", doc)  # without the stack's requirement one key may serve both


def _domain_keys(*names: str) -> str:
    """Rotated, aliased keys (one per data domain) as a YAML Resources body."""
    return "".join(
        f"""
  {name}: {{Type: AWS::KMS::Key, Properties: {{EnableKeyRotation: true}}}}
  {name}Alias: {{Type: AWS::KMS::Alias, Properties: {{AliasName: alias/{name.lower()}, TargetKeyId: !Ref {name}}}}}"""
        for name in names
    )


# CorpEnterpriseAppStack's shape: one key each for S3, RDS and logs; the database's generated
# credential secret is encrypted with the RDS key; CloudTrail log files with the logs key.
DOMAINS = (
    "Resources:"
    + _domain_keys("BucketKey", "DbKey", "LogsKey")
    + """
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms, KMSMasterKeyID: !GetAtt BucketKey.Arn}
  DbSecret:
    Type: AWS::SecretsManager::Secret
    Properties: {KmsKeyId: !GetAtt DbKey.Arn, GenerateSecretString: {SecretStringTemplate: '{"username":"admin"}', GenerateStringKey: password}}
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: mysql
      StorageEncrypted: true
      KmsKeyId: !GetAtt DbKey.Arn
      MasterUsername: !Join ["", ["{{resolve:secretsmanager:", !Ref DbSecret, ":SecretString:username::}}"]]
      MasterUserPassword: !Join ["", ["{{resolve:secretsmanager:", !Ref DbSecret, ":SecretString:password::}}"]]
  AppLogs:
    Type: AWS::Logs::LogGroup
    Properties: {KmsKeyId: !GetAtt LogsKey.Arn, RetentionInDays: 30}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties: {IsLogging: true, S3BucketName: !Ref Bucket, KMSKeyId: !GetAtt LogsKey.Arn}
"""
)
CORP_DOMAINS = Settings(separate_key_domains=("s3", "rds", "logs"))
FIN_DOMAINS = Settings(separate_key_domains=("lambda", "cloudtrail"))


def test_enc_01_a_databases_own_credential_secret_is_in_the_rds_domain():
    # referenced by the instance's MasterUserPassword dynamic reference
    result = assert_pass("ENC-01", DOMAINS, settings=CORP_DOMAINS)
    text = messages(result)
    assert "rds keys: DbKey" in text
    assert "DbSecret: credential secret of Db, counted as rds" in text
    # attached to the instance with a SecretTargetAttachment (the password resolved elsewhere)
    doc = yaml_doc(DOMAINS)
    db = doc["Resources"]["Db"]["Properties"]
    del db["MasterUsername"], db["MasterUserPassword"]
    assert_fail("ENC-01", doc, "DbKey: key serves rds and secrets", settings=CORP_DOMAINS)
    doc["Resources"]["DbSecretAttachment"] = {
        "Type": "AWS::SecretsManager::SecretTargetAttachment",
        "Properties": {
            "SecretId": {"Ref": "DbSecret"},
            "TargetId": {"Ref": "Db"},
            "TargetType": "AWS::RDS::DBInstance",
        },
    }
    assert_pass("ENC-01", doc, settings=CORP_DOMAINS)
    # the RDS-managed master secret (ManageMasterUserPassword) is rds as well
    doc = yaml_doc(DOMAINS)
    db = doc["Resources"]["Db"]["Properties"]
    del db["MasterUserPassword"], doc["Resources"]["DbSecret"]
    db["ManageMasterUserPassword"] = True
    db["MasterUserSecret"] = {"KmsKeyId": {"Fn::GetAtt": ["DbKey", "Arn"]}}
    assert_pass("ENC-01", doc, settings=CORP_DOMAINS)
    db["MasterUserSecret"] = {"KmsKeyId": {"Fn::GetAtt": ["LogsKey", "Arn"]}}
    assert_fail("ENC-01", doc, "LogsKey: key serves rds and logs", settings=CORP_DOMAINS)


def test_enc_01_other_secrets_on_the_rds_key_still_fail():
    doc = yaml_doc(DOMAINS)
    doc["Resources"]["ApiToken"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {"KmsKeyId": {"Fn::GetAtt": ["DbKey", "Arn"]}},
    }
    result = assert_fail("ENC-01", doc, "DbKey: key serves rds and secrets", settings=CORP_DOMAINS)
    assert "DbSecret" not in "\n".join(i.render() for i in result.items if i.status.value == "fail")
    # an attachment to something that is not a database does not make a secret part of rds
    doc = yaml_doc(DOMAINS)
    db = doc["Resources"]["Db"]["Properties"]
    del db["MasterUsername"], db["MasterUserPassword"]
    doc["Resources"]["Other"] = {"Type": "AWS::Redshift::Cluster", "Properties": {}}
    doc["Resources"]["DbSecretAttachment"] = {
        "Type": "AWS::SecretsManager::SecretTargetAttachment",
        "Properties": {"SecretId": {"Ref": "DbSecret"}, "TargetId": {"Ref": "Other"}},
    }
    assert_fail("ENC-01", doc, "DbKey: key serves rds and secrets", settings=CORP_DOMAINS)


def test_enc_01_rds_and_logs_or_logs_and_ebs_on_one_key_still_fail():
    doc = yaml_doc(DOMAINS)
    doc["Resources"]["DbErrors"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"KmsKeyId": {"Fn::GetAtt": ["DbKey", "Arn"]}, "RetentionInDays": 30},
    }
    assert_fail(
        "ENC-01",
        doc,
        "DbKey: key serves rds and logs; rds needs its own key",
        "DbKey: key serves logs and rds; logs needs its own key",
        settings=CORP_DOMAINS,
    )
    doc = yaml_doc(DOMAINS)
    doc["Resources"]["Fleet"] = {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {
            "LaunchTemplateData": {
                "BlockDeviceMappings": [
                    {
                        "DeviceName": "/dev/xvda",
                        "Ebs": {
                            "Encrypted": True,
                            "VolumeType": "gp3",
                            "KmsKeyId": {"Fn::GetAtt": ["LogsKey", "Arn"]},
                        },
                    }
                ]
            }
        },
    }
    assert_fail("ENC-01", doc, "LogsKey: key serves logs and ebs", settings=CORP_DOMAINS)


def test_enc_01_cloudtrail_log_files_are_logs_unless_the_stack_separates_cloudtrail():
    # CorpEnterpriseAppStack (s3, rds, logs): the trail's files are logs, the logs key fits
    result = assert_pass("ENC-01", DOMAINS, settings=CORP_DOMAINS)
    assert "logs keys: LogsKey" in messages(result)
    # ... so a trail on the RDS key mixes rds and logs
    doc = yaml_doc(DOMAINS)
    doc["Resources"]["Trail"]["Properties"]["KMSKeyId"] = {"Fn::GetAtt": ["DbKey", "Arn"]}
    assert_fail("ENC-01", doc, "DbKey: key serves rds and logs", settings=CORP_DOMAINS)
    # FinSecureStack (lambda, cloudtrail): CloudTrail is its own domain, apart from log groups
    assert_fail(
        "ENC-01",
        DOMAINS,
        "LogsKey: key serves cloudtrail and logs; cloudtrail needs its own key",
        settings=FIN_DOMAINS,
    )
    doc = yaml_doc(DOMAINS + _domain_keys("TrailKey"))
    doc["Resources"]["Trail"]["Properties"]["KMSKeyId"] = {"Fn::GetAtt": ["TrailKey", "Arn"]}
    result = assert_pass("ENC-01", doc, settings=FIN_DOMAINS)
    assert "cloudtrail keys: TrailKey" in messages(result)


def test_enc_01_a_functions_dead_letter_queue_is_in_the_lambda_domain():
    function = """
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      KmsKeyArn: !GetAtt FnKey.Arn
      Environment: {Variables: {TABLE: audit}}
      DeadLetterConfig: {TargetArn: !GetAtt Dlq.Arn}
  Dlq:
    Type: AWS::SQS::Queue
    Properties: {KmsMasterKeyId: !Ref FnKey}
"""
    doc = "Resources:" + _domain_keys("FnKey") + function
    result = assert_pass("ENC-01", doc, settings=FIN_LAMBDA)
    assert "Dlq: dead-letter queue of Fn under its key, counted as lambda" in messages(result)
    # a queue that is no function's dead-letter queue is sqs: sharing the key mixes domains
    other = (
        doc + "  Jobs:\n    Type: AWS::SQS::Queue\n    Properties: {KmsMasterKeyId: !Ref FnKey}\n"
    )
    assert_fail("ENC-01", other, "FnKey: key serves lambda and sqs", settings=FIN_LAMBDA)
    # a DLQ under another key than the function's is a queue like any other: sqs
    handler = yaml_doc(doc)
    handler["Resources"]["Dlq"]["Properties"]["KmsMasterKeyId"] = {"Ref": "QueueKey"}
    handler["Resources"].update(yaml_doc("Resources:" + _domain_keys("QueueKey"))["Resources"])
    result = assert_pass("ENC-01", handler, settings=FIN_LAMBDA)
    assert "counted as lambda" not in messages(result)


FIN_LAMBDA = Settings(separate_key_domains=("lambda",))


def test_enc_02_scoped_key_policy_passes():
    assert_pass("ENC-02", KEY)


def test_enc_02_root_kms_star_unscoped_service_and_missing_policy_fail():
    doc = yaml_doc(KEY)
    statements = doc["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    statements[0]["Action"] = "kms:*"
    del statements[2]["Condition"]
    assert_fail(
        "ENC-02",
        doc,
        "grants kms:* to AWS: arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
        "without a scoping condition",
    )
    doc["Resources"]["DataKey"]["Properties"].pop("KeyPolicy")
    assert_fail("ENC-02", doc, "no KeyPolicy")


def test_enc_02_mixed_administration_and_usage_fails():
    doc = yaml_doc(KEY)
    statements = doc["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    statements[1]["Action"].append("kms:ScheduleKeyDeletion")
    assert_fail("ENC-02", doc, "mixes administration")


STORES = (
    KEY
    + """
  Topic: {Type: AWS::SNS::Topic, Properties: {KmsMasterKeyId: !Ref DataKey}}
  Queue: {Type: AWS::SQS::Queue, Properties: {KmsMasterKeyId: !Ref DataKeyAlias}}
  Group: {Type: AWS::Logs::LogGroup, Properties: {KmsKeyId: !GetAtt DataKey.Arn, RetentionInDays: 30}}
  Secret: {Type: AWS::SecretsManager::Secret, Properties: {KmsKeyId: !Ref DataKey, GenerateSecretString: {}}}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}}]
  Volume: {Type: AWS::EC2::Volume, Properties: {Encrypted: true, KmsKeyId: !Ref DataKey, VolumeType: gp3}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {SSESpecification: {SSEEnabled: true, SSEType: KMS, KMSMasterKeyId: !Ref DataKey}}
  Db:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: postgres, StorageEncrypted: true, KmsKeyId: !Ref DataKey,
                 EnablePerformanceInsights: true, PerformanceInsightsKMSKeyId: !Ref DataKey}
  Vault: {Type: AWS::Backup::BackupVault, Properties: {BackupVaultName: v, EncryptionKeyArn: !GetAtt DataKey.Arn}}
"""
)


def test_enc_03_every_store_encrypted_with_a_cmk_passes():
    assert_pass("ENC-03", STORES)


def test_enc_03_unencrypted_or_aws_managed_stores_fail():
    doc = yaml_doc(STORES)
    resources = doc["Resources"]
    resources["Topic"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"
    del resources["Group"]["Properties"]["KmsKeyId"]
    resources["Volume"]["Properties"]["VolumeType"] = "gp2"
    resources["Db"]["Properties"]["StorageEncrypted"] = False
    del resources["Bucket"]["Properties"]
    assert_fail(
        "ENC-03",
        doc,
        "Topic: topic uses an AWS-managed key (alias/aws/sns)",
        "Group: log group not encrypted",
        "Volume: VolumeType is not gp3",
        "Db: StorageEncrypted is not true",
        "Bucket: no default encryption configured",
    )


def test_enc_03_not_applicable_without_stores():
    assert_status("ENC-03", {"Resources": {"V": {"Type": "AWS::EC2::VPC"}}}, "not_applicable")


TRANSIT = """
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Statement:
          - Effect: Deny
            Principal: {AWS: "*"}
            Action: s3:*
            Resource: [!GetAtt Bucket.Arn, !Join ["", [!GetAtt Bucket.Arn, "/*"]]]
            Condition: {Bool: {"aws:SecureTransport": "false"}}
  Params:
    Type: AWS::RDS::DBParameterGroup
    Properties: {Family: mysql8.0, Description: tls, Parameters: {require_secure_transport: "ON"}}
  Db: {Type: AWS::RDS::DBInstance, Properties: {Engine: mysql, DBParameterGroupName: !Ref Params}}
"""

LISTENERS = """
Parameters:
  CertificateArn: {Type: String, Default: ""}
Conditions:
  HasCertificate: !Not [!Equals [!Ref CertificateArn, ""]]
Resources:
  Alb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Type: application}}
  Tg: {Type: AWS::ElasticLoadBalancingV2::TargetGroup}
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
"""


def test_enc_04_tls_everywhere_passes():
    assert_pass("ENC-04", TRANSIT)
    assert_pass("ENC-04", LISTENERS)


def test_enc_04_missing_deny_and_plain_db_fail():
    doc = yaml_doc(TRANSIT)
    del doc["Resources"]["BucketPolicy"]
    doc["Resources"]["Params"]["Properties"]["Parameters"] = {"require_secure_transport": "OFF"}
    assert_fail(
        "ENC-04",
        doc,
        "no bucket-policy Deny on aws:SecureTransport=false",
        "does not set require_secure_transport=ON (it is OFF)",
    )


def test_enc_04_weak_tls_policy_and_missing_redirect_fail():
    doc = yaml_doc(LISTENERS)
    doc["Resources"]["Https"]["Properties"].pop("SslPolicy")
    doc["Resources"]["Http"]["Properties"]["DefaultActions"] = [
        {"Type": "forward", "TargetGroupArn": {"Ref": "Tg"}}
    ]
    assert_fail(
        "ENC-04",
        doc,
        "default ELBSecurityPolicy-2016-08",
        "does not redirect to HTTPS (with HasCertificate true)",
    )


def test_enc_04_cloudfront_needs_https_and_modern_tls():
    distribution = """
Resources:
  Cdn:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        DefaultCacheBehavior: {ViewerProtocolPolicy: redirect-to-https}
        ViewerCertificate: {AcmCertificateArn: arn:aws:acm:us-east-1:1:certificate/x, MinimumProtocolVersion: TLSv1.2_2021}
"""
    assert_pass("ENC-04", distribution)
    weak = yaml_doc(distribution)
    config = weak["Resources"]["Cdn"]["Properties"]["DistributionConfig"]
    config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = "allow-all"
    config["ViewerCertificate"] = {"CloudFrontDefaultCertificate": True}
    assert_fail("ENC-04", weak, "ViewerProtocolPolicy allow-all", "default CloudFront certificate")


CONDITIONAL_CDN = """
Parameters:
  SiteCertificateArn: {Type: String, Default: ""}
Conditions:
  HasSiteCertificate: !Not [!Equals [!Ref SiteCertificateArn, ""]]
Resources:
  Cdn:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        DefaultCacheBehavior: {ViewerProtocolPolicy: redirect-to-https}
        ViewerCertificate: !If
          - HasSiteCertificate
          - {AcmCertificateArn: !Ref SiteCertificateArn, SslSupportMethod: sni-only, MinimumProtocolVersion: TLSv1.2_2021}
          - {CloudFrontDefaultCertificate: true}
"""


def test_enc_04_conditional_cloudfront_certificate_is_judged_with_its_condition_true():
    result = assert_pass("ENC-04", CONDITIONAL_CDN)
    assert "minimum protocol TLSv1.2_2021" in messages(result)
    weak = yaml_doc(CONDITIONAL_CDN)
    config = weak["Resources"]["Cdn"]["Properties"]["DistributionConfig"]
    config["ViewerCertificate"]["Fn::If"][1]["MinimumProtocolVersion"] = "TLSv1"
    assert_fail("ENC-04", weak, "MinimumProtocolVersion TLSv1, not TLSv1.2_2021")
    # both branches on the default certificate: nothing to judge but the default
    config["ViewerCertificate"]["Fn::If"][1] = {"CloudFrontDefaultCertificate": True}
    assert_fail("ENC-04", weak, "default CloudFront certificate")


# ----------------------------------------------------------------------------------- IAM

SCOPED_ROLE = """
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: read
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: [s3:GetObject], Resource: !Sub "${Bucket.Arn}/*"}
              - {Effect: Allow, Action: [cloudwatch:PutMetricData, ec2:DescribeInstances], Resource: "*"}
"""


def test_iam_01_scoped_policies_pass():
    assert_pass("IAM-01", SCOPED_ROLE)


def test_iam_01_wildcards_fail():
    doc = yaml_doc(SCOPED_ROLE)
    statements = doc["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    statements[0]["Resource"] = "*"
    statements.append({"Effect": "Allow", "Action": "ssm:*", "Resource": "*"})
    assert_fail(
        "IAM-01", doc, "s3:GetObject on * although the template declares", "wildcard action ssm:*"
    )


def test_iam_01_vended_log_delivery_actions_have_no_resource_to_scope():
    doc = yaml_doc(SCOPED_ROLE)
    doc["Resources"]["Logs"] = {"Type": "AWS::Logs::LogGroup"}
    statements = doc["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    statements.append(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogDelivery", "logs:PutResourcePolicy"],
            "Resource": "*",
        }
    )
    assert_pass("IAM-01", doc)
    statements.append({"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"})
    assert_fail("IAM-01", doc, "logs:PutLogEvents on * although the template declares")


def test_iam_01_managed_policy_acknowledgment():
    doc = yaml_doc(SCOPED_ROLE)
    doc["Resources"]["Role"]["Properties"]["ManagedPolicyArns"] = [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
    ]
    assert_status(
        "IAM-01", doc, "unknown", "acknowledgment not visible outside a CDK cloud assembly"
    )
    unacknowledged = Template(doc, assembly=Assembly("Stack"))
    assert_fail("IAM-01", unacknowledged, "AmazonSSMManagedInstanceCore is not acknowledged")
    rule = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]"
    acknowledged = Template(
        doc,
        assembly=Assembly(
            "Stack",
            acknowledgments={"Role": {rule: "Session Manager needs the managed core policy"}},
        ),
    )
    assert_pass("IAM-01", acknowledged)


MFA = """
Resources:
  Humans: {Type: AWS::IAM::Group}
  RequireMfa:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Groups: [!Ref Humans]
      PolicyDocument:
        Statement:
          - Effect: Deny
            NotAction: [iam:CreateVirtualMFADevice, iam:EnableMFADevice, iam:ListMFADevices, iam:ResyncMFADevice, sts:GetSessionToken]
            Resource: "*"
            Condition: {BoolIfExists: {"aws:MultiFactorAuthPresent": "false"}}
"""


def test_iam_02_mfa_policy_on_a_group_passes():
    assert_pass("IAM-02", MFA)


def test_iam_02_missing_or_unattached_mfa_policy_fails():
    assert_fail(
        "IAM-02",
        {"Resources": {"G": {"Type": "AWS::IAM::Group"}}},
        "no policy denies access when aws:MultiFactorAuthPresent is false",
    )
    doc = yaml_doc(MFA)
    del doc["Resources"]["RequireMfa"]["Properties"]["Groups"]
    assert_fail("IAM-02", doc, "not attached to any AWS::IAM::Group")


PASSWORD_POLICY = """
Resources:
  PolicyRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: pw
          PolicyDocument: {Statement: [{Effect: Allow, Action: iam:UpdateAccountPasswordPolicy, Resource: "*"}]}
  PasswordPolicy:
    Type: Custom::AccountPasswordPolicy
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:x
      MinimumPasswordLength: 14
      RequireSymbols: true
      RequireNumbers: true
      RequireUppercaseCharacters: true
      RequireLowercaseCharacters: true
      PasswordReusePrevention: 24
      MaxPasswordAge: 90
"""


def test_iam_03_password_policy_passes():
    assert_pass("IAM-03", PASSWORD_POLICY)


def test_iam_03_weak_or_missing_password_policy_fails():
    doc = yaml_doc(PASSWORD_POLICY)
    doc["Resources"]["PasswordPolicy"]["Properties"]["MinimumPasswordLength"] = 8
    doc["Resources"]["PasswordPolicy"]["Properties"]["RequireSymbols"] = False
    assert_fail("IAM-03", doc, "MinimumPasswordLength 8 (need ≥ 14)", "RequireSymbols is false")
    assert_fail("IAM-03", {"Resources": {"G": {"Type": "AWS::IAM::Group"}}}, "no custom resource")


def test_iam_03_values_only_in_deploy_time_code_cannot_be_decided():
    doc = yaml_doc(PASSWORD_POLICY)
    for key in list(doc["Resources"]["PasswordPolicy"]["Properties"]):
        if key != "ServiceToken":
            del doc["Resources"]["PasswordPolicy"]["Properties"][key]
    assert_status("IAM-03", doc, "unknown", "MinimumPasswordLength not found")


CONFIG_RULES = """
Resources:
""" + "".join(
    f"""  Rule{n}:
    Type: AWS::Config::ConfigRule
    Properties: {{Source: {{Owner: AWS, SourceIdentifier: {rule}}}}}
"""
    for n, rule in enumerate(
        (
            "ACCESS_KEYS_ROTATED",
            "IAM_USER_MFA_ENABLED",
            "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
            "ROOT_ACCOUNT_MFA_ENABLED",
        )
    )
)


def test_iam_04_config_rules_pass():
    assert_pass("IAM-04", CONFIG_RULES)


def test_iam_04_missing_rule_fails():
    doc = yaml_doc(CONFIG_RULES)
    del doc["Resources"]["Rule3"]
    assert_fail("IAM-04", doc, "no AWS Config rule ROOT_ACCOUNT_MFA_ENABLED")


COMPUTE_ROLES = """
Resources:
  Secret: {Type: AWS::SecretsManager::Secret, Properties: {GenerateSecretString: {}}}
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
  AppSecrets:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: secrets
      Roles: [!Ref AppRole]
      PolicyDocument: {Statement: [{Effect: Allow, Action: [secretsmanager:GetSecretValue], Resource: !Ref Secret}]}
  AppLogs:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: logs
      Roles: [!Ref AppRole]
      PolicyDocument: {Statement: [{Effect: Allow, Action: [logs:PutLogEvents], Resource: !Sub "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:/app/*"}]}
  AppProfile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [!Ref AppRole]}}
  AppTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties: {LaunchTemplateData: {IamInstanceProfile: {Arn: !GetAtt AppProfile.Arn}}}
  FnRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}
  Fn: {Type: AWS::Lambda::Function, Properties: {Role: !GetAtt FnRole.Arn}}
"""


def test_iam_05_own_roles_split_policies_scoped_secret_pass():
    assert_pass("IAM-05", COMPUTE_ROLES)


def test_iam_05_shared_role_mixed_policy_and_wildcard_secret_fail():
    doc = yaml_doc(COMPUTE_ROLES)
    resources = doc["Resources"]
    resources["Fn"]["Properties"]["Role"] = {"Fn::GetAtt": ["AppRole", "Arn"]}
    resources["AppSecrets"]["Properties"]["PolicyDocument"]["Statement"] = [
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ]
    assert_fail(
        "IAM-05",
        doc,
        "role shared by AppTemplate, Fn",
        "mixes logs, secrets",
        "GetSecretValue on *",
    )


def test_iam_05_not_applicable_without_compute():
    assert_status("IAM-05", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, "not_applicable")


SERVICE_ROLES = """
Resources:
  MonitoringRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: monitoring.rds.amazonaws.com}, Action: sts:AssumeRole}]}
  Db: {Type: AWS::RDS::DBInstance, Properties: {Engine: mysql, MonitoringInterval: 60, MonitoringRoleArn: !GetAtt MonitoringRole.Arn}}
  Recorder: {Type: AWS::Config::ConfigurationRecorder, Properties: {RoleARN: !Sub "arn:aws:iam::${AWS::AccountId}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"}}
"""


def test_iam_06_service_roles_pass():
    assert_pass("IAM-06", SERVICE_ROLES)


def test_iam_06_missing_or_wrongly_trusted_service_roles_fail():
    doc = yaml_doc(SERVICE_ROLES)
    doc["Resources"]["MonitoringRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"
    ]["Service"] = "ec2.amazonaws.com"
    doc["Resources"]["Trail"] = {
        "Type": "AWS::CloudTrail::Trail",
        "Properties": {"CloudWatchLogsLogGroupArn": "arn:x"},
    }
    assert_fail(
        "IAM-06",
        doc,
        "not trusted by monitoring.rds.amazonaws.com",
        "no CloudTrail to CloudWatch Logs role",
    )


def test_iam_06_not_applicable_without_services():
    result = outcome("IAM-06", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}})
    assert result.status.value == "not_applicable"


# A CDK-style instance: no IamInstanceProfile of its own, its launch template carries it.
INSTANCE_THROUGH_LAUNCH_TEMPLATE = """
Resources:
  HostRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
  HostProfile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [!Ref HostRole]}}
  HostLaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties: {LaunchTemplateData: {IamInstanceProfile: {Arn: !GetAtt HostProfile.Arn}}}
  Host:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate: {LaunchTemplateId: !Ref HostLaunchTemplate, Version: !GetAtt HostLaunchTemplate.LatestVersionNumber}
"""


def test_iam_05_instance_role_through_its_launch_template():
    # the instance and the launch template it is launched from are one compute resource
    result = assert_pass("IAM-05", INSTANCE_THROUGH_LAUNCH_TEMPLATE)
    assert "no IAM role" not in messages(result)
    assert "role shared" not in messages(result)


def test_iam_05_launch_template_without_profile_or_shared_between_templates():
    doc = yaml_doc(INSTANCE_THROUGH_LAUNCH_TEMPLATE)
    del doc["Resources"]["HostLaunchTemplate"]["Properties"]["LaunchTemplateData"][
        "IamInstanceProfile"
    ]
    assert_fail(
        "IAM-05", doc, "HostLaunchTemplate: no IAM role", "Host: no IAM role (instance profile)"
    )
    doc = yaml_doc(INSTANCE_THROUGH_LAUNCH_TEMPLATE)
    doc["Resources"]["Other"] = {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {
            "LaunchTemplateData": {
                "IamInstanceProfile": {"Arn": {"Fn::GetAtt": ["HostProfile", "Arn"]}}
            }
        },
    }
    assert_fail("IAM-05", doc, "role shared by HostLaunchTemplate, Other")


def test_iam_05_direct_instance_profile_by_ref_or_name():
    doc = yaml_doc(INSTANCE_THROUGH_LAUNCH_TEMPLATE)
    del doc["Resources"]["HostLaunchTemplate"]
    del doc["Resources"]["Host"]["Properties"]["LaunchTemplate"]
    doc["Resources"]["Host"]["Properties"]["IamInstanceProfile"] = {"Ref": "HostProfile"}
    assert_pass("IAM-05", doc)
    doc["Resources"]["HostProfile"]["Properties"]["InstanceProfileName"] = "host-profile"
    doc["Resources"]["Host"]["Properties"]["IamInstanceProfile"] = "host-profile"
    assert_pass("IAM-05", doc)
    doc["Resources"]["Host"]["Properties"]["IamInstanceProfile"] = "profile-of-another-stack"
    assert_status("IAM-05", doc, "unknown", "instance profile profile-of-another-stack")


def test_iam_05_launch_template_outside_the_template_cannot_be_decided():
    doc = yaml_doc(INSTANCE_THROUGH_LAUNCH_TEMPLATE)
    del doc["Resources"]["HostLaunchTemplate"]
    doc["Resources"]["Host"]["Properties"]["LaunchTemplate"] = {
        "LaunchTemplateName": "shared-template",
        "Version": "3",
    }
    assert_status("IAM-05", doc, "unknown", "Host: launch template outside the template")
