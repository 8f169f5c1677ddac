"""Reusable, secure-by-default AWS CDK v2 L3 constructs behind the hardened reference stacks.

Import from the modules: ``constructs_lib.network.SecureVpc``,
``constructs_lib.storage.SecureBucket``,
... (see the README's construct table). Each construct validates its arguments, exposes its
children as typed attributes and carries its own reviewed cdk-nag acknowledgments.
"""
