"""The operator's S3 access (``config.S3Settings``) handed to the plugins of S3 types: one place.

Keyed on the type's protocol, so an operator's override of a type keeps its rule. Nothing here
comes from a partner: the credentials are the service's own (Stitch's S3 destination writes as
Stitch's AWS identity, granted by the customer's bucket policy; its S3 source assumes a role the
customer made for Stitch, from Stitch's identity), and the endpoint is the operator's, trusted
like the rest of the operator's configuration (not checked by the outbound policy).

* ``platform.s3-csv`` (tap-s3-csv, boto3 1.39 and s3fs): everything through the environment:
  the standard ``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL_STS`` (botocore 1.31 and later
  read them), the keys and the region. The tap first tries the bucket with these credentials
  and otherwise assumes the customer's role with them.
* ``s3`` (pipelinewise-target-s3-csv, boto3 1.17): keys and region through the environment (the
  target reads ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` when its config has none), the
  endpoint through its config key ``aws_endpoint_url``: its botocore predates the endpoint
  variables.

Other types' plugins get none of it (``runner.process`` hands plugins a minimal environment).
"""

from __future__ import annotations

from typing import Any

from lockstitch.config import S3Settings

TAP_PROTOCOLS = frozenset({"platform.s3-csv"})
# Target protocol -> the config key its target takes the endpoint URL under.
TARGET_ENDPOINT_KEYS: dict[str, str] = {"s3": "aws_endpoint_url"}


def is_s3(protocol: str) -> bool:
    return protocol in TAP_PROTOCOLS or protocol in TARGET_ENDPOINT_KEYS


def environment(s3: S3Settings, protocol: str) -> dict[str, str]:
    """Variables for the plugin of a type with this protocol (empty for non-S3 types)."""
    if not is_s3(protocol):
        return {}
    env = {"AWS_DEFAULT_REGION": s3.region, "AWS_REGION": s3.region}
    if s3.access_key_id and s3.secret_access_key is not None:
        env["AWS_ACCESS_KEY_ID"] = s3.access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = s3.secret_access_key.get_secret_value()
    if s3.endpoint_url:
        env["AWS_ENDPOINT_URL_S3"] = s3.endpoint_url
    sts = s3.sts_endpoint_url or s3.endpoint_url
    if sts:
        env["AWS_ENDPOINT_URL_STS"] = sts
    return env


def target_settings(s3: S3Settings, protocol: str) -> dict[str, Any]:
    """Config keys a target of this protocol takes the operator's S3 settings under."""
    key = TARGET_ENDPOINT_KEYS.get(protocol)
    return {key: s3.endpoint_url} if key and s3.endpoint_url else {}


def secrets(s3: S3Settings, protocol: str) -> list[str]:
    """Values to scrub from a plugin's output and messages when it runs with ``environment``."""
    if not is_s3(protocol) or s3.secret_access_key is None:
        return []
    return [s3.secret_access_key.get_secret_value()]
