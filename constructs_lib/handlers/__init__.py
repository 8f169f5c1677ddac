"""Lambda handlers that constructs inline into their templates (``Code.from_inline``).

Each module is the whole deployment package: standard library and boto3 only, small enough for
CloudFormation's ``ZipFile`` limit, and unit-tested on its own.
"""
