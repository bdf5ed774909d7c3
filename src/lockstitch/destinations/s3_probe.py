"""The connection check of an ``s3`` destination: can Lockstitch write into the bucket?

As Stitch does, the check writes the destination's sentinel object (``sentinel_key``,
``stitch-challenge-file-<uuid>``) into the bucket, then deletes it again: a bucket that does not
exist, or whose policy does not let Lockstitch's AWS identity write, fails with S3's reason. The
identity is the operator's (``config.S3Settings``), never a partner's: Stitch's S3 destination
is granted by the customer's bucket policy.

Requests are signed here (AWS Signature Version 4, a few lines over httpx; no AWS SDK in the
server) and sent with the process's HTTP client. Where they go:

* the operator's ``s3.endpoint_url`` (an S3-compatible server): trusted, as the rest of the
  operator's configuration, so not checked by the outbound policy; path-style addressing;
* otherwise AWS: ``<bucket>.s3.<region>.amazonaws.com`` (path-style under
  ``s3.<region>.amazonaws.com`` for a bucket with dots, which a wildcard certificate cannot
  cover), through the outbound policy like every host a partner's input names.

Anything short of an S3 answer (refused or unreachable host, timeout) is the uniform unreachable
message. Messages never hold the operator's secret key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from lockstitch.config import S3Settings
from lockstitch.destinations import s3
from lockstitch.destinations.probes import Outcome
from lockstitch.kit.logging import get_logger, scrub
from lockstitch.kit.outbound import unreachable
from lockstitch.kit.outbound_http import TRUSTED

logger = get_logger("lockstitch.destinations")
_CODE = re.compile(r"<Code>([^<]{1,100})</Code>")
_BODY = b"Lockstitch connection check: this object is deleted right after it is written.\n"
NO_ACCESS = (
    "this Lockstitch server has no S3 access configured (the operator sets s3.access_key_id and "
    "s3.secret_access_key)"
)


async def probe(
    http: httpx.AsyncClient,
    settings: S3Settings,
    properties: Mapping[str, Any],
    secrets: Mapping[str, Any],
    seconds: float,
) -> Outcome:
    bucket = str(properties.get("s3_bucket") or "")
    key = str(secrets.get("sentinel_key") or s3.new_sentinel_key())
    if not s3.valid_bucket(bucket):
        return Outcome(False, f"{bucket!r} is not an S3 bucket name")
    if not settings.access_key_id or settings.secret_access_key is None:
        return Outcome(False, NO_ACCESS)
    secret = settings.secret_access_key.get_secret_value()
    outcome = await _write_and_delete(http, settings, bucket, key, seconds)
    if outcome.message is not None:
        outcome.message = scrub(outcome.message, [secret])
    outcome.log = [scrub(line, [secret]) for line in outcome.log]
    return outcome


async def _write_and_delete(
    http: httpx.AsyncClient, settings: S3Settings, bucket: str, key: str, seconds: float
) -> Outcome:
    url, trusted = object_url(settings, bucket, key)
    host = httpx.URL(url).host
    log = [f"writing s3://{bucket}/{key}"]
    try:
        put = await _send(http, settings, "PUT", url, _BODY, trusted, seconds)
        if put.status_code != 200:
            return Outcome(False, _refusal(bucket, put), log)
        log.append(f"wrote s3://{bucket}/{key}")
        deleted = await _send(http, settings, "DELETE", url, b"", trusted, seconds)
    except httpx.HTTPError as exc:  # refused by the policy, unreachable, timed out
        logger.info("s3 probe could not connect", host=host, reason=type(exc).__name__)
        return Outcome(False, unreachable(host), log)
    if deleted.status_code in (200, 204):
        log.append(f"deleted s3://{bucket}/{key}")
    else:
        # Loading needs only the write; the customer may remove the small object by hand.
        log.append(f"could not delete s3://{bucket}/{key}: {_code(deleted)}")
    return Outcome(True, None, log)


def object_url(settings: S3Settings, bucket: str, key: str) -> tuple[str, bool]:
    """The object's URL, and whether it is the operator's own (trusted) endpoint."""
    path = quote(key, safe="/-_.~")
    if settings.endpoint_url:
        return f"{settings.endpoint_url}/{bucket}/{path}", True
    region = settings.region
    if "." in bucket:
        return f"https://s3.{region}.amazonaws.com/{bucket}/{path}", False
    return f"https://{bucket}.s3.{region}.amazonaws.com/{path}", False


def _refusal(bucket: str, response: httpx.Response) -> str:
    code = _code(response)
    if code == "NoSuchBucket" or (response.status_code == 404 and code == ""):
        return f"bucket {bucket} does not exist"
    if code == "AccessDenied" or response.status_code == 403:
        return (
            f"Lockstitch may not write to bucket {bucket} ({code or response.status_code}): its "
            "bucket policy must allow this Lockstitch server's AWS identity s3:PutObject"
        )
    if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
        return f"bucket {bucket} is in another region than this Lockstitch server's S3 region ({code})"
    return f"S3 refused the write to bucket {bucket}: {code or response.status_code}"


def _code(response: httpx.Response) -> str:
    match = _CODE.search(response.text[:4000])
    return match.group(1) if match else ""


async def _send(
    http: httpx.AsyncClient,
    settings: S3Settings,
    method: str,
    url: str,
    body: bytes,
    trusted: bool,
    seconds: float,
) -> httpx.Response:
    headers = sign(settings, method, httpx.URL(url), body, dt.datetime.now(dt.UTC))
    return await http.request(
        method,
        url,
        content=body,
        headers=headers,
        timeout=seconds,
        follow_redirects=False,
        extensions={TRUSTED: True} if trusted else {},
    )


def sign(settings: S3Settings, method: str, url: httpx.URL, body: bytes, now: dt.datetime) -> dict[str, str]:
    """SigV4 headers for one S3 request (no query string; the payload hashed)."""
    assert settings.access_key_id is not None
    assert settings.secret_access_key is not None
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    payload = hashlib.sha256(body).hexdigest()
    host = url.netloc.decode("ascii")
    canonical_headers = f"host:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{stamp}\n"
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join([method, url.raw_path.decode("ascii"), "", canonical_headers, signed, payload])
    scope = f"{day}/{settings.region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + settings.secret_access_key.get_secret_value()).encode()
    for part in (day, settings.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": stamp,
        "x-amz-content-sha256": payload,
        "authorization": (
            f"AWS4-HMAC-SHA256 Credential={settings.access_key_id}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        ),
    }
