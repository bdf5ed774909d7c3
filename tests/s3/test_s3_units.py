"""The pieces of the S3 types that need no server: request signing (checked against botocore's
own signer), where a probe sends, the key format, and which plugins get the operator's S3 access."""

from __future__ import annotations

import datetime as dt

import botocore.auth
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lockstitch.catalog import s3_access
from lockstitch.config import S3Settings, load_settings
from lockstitch.destinations import s3
from lockstitch.destinations.s3_probe import object_url, sign
from lockstitch.kit.errors import ConfigurationError

NOW = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
OPERATOR = S3Settings(
    access_key_id="AKIDEXAMPLE", secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4566/bucket/stitch-challenge-file-1234",
        "https://my-bucket.s3.eu-west-1.amazonaws.com/stitch-challenge-file-1234",
        "https://s3.us-east-1.amazonaws.com/dotted.bucket/stitch-challenge-file-1234",
    ],
)
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_signature_is_botocores(monkeypatch: pytest.MonkeyPatch, url: str, method: str) -> None:
    """The probe's SigV4 headers are the ones botocore's S3 signer makes for the same request."""
    body = b"hello" if method == "PUT" else b""
    settings = OPERATOR.model_copy(update={"region": "eu-west-1"})
    ours = sign(settings, method, httpx.URL(url), body, NOW)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    request = AWSRequest(method=method, url=url, data=body)
    secret = settings.secret_access_key
    assert secret is not None
    signer = botocore.auth.S3SigV4Auth(
        Credentials("AKIDEXAMPLE", secret.get_secret_value()), "s3", "eu-west-1"
    )
    signer.add_auth(request)
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"]
    assert ours["x-amz-content-sha256"] == request.headers["X-Amz-Content-SHA256"]


def test_where_the_probe_sends() -> None:
    """The operator's endpoint (trusted, path-style); else AWS, virtual-hosted unless the bucket
    has dots (not trusted: through the outbound policy)."""
    local = OPERATOR.model_copy(update={"endpoint_url": "http://127.0.0.1:9000"})
    assert object_url(local, "b-1", "k") == ("http://127.0.0.1:9000/b-1/k", True)
    aws = OPERATOR.model_copy(update={"region": "eu-west-1"})
    assert object_url(aws, "b-1", "k") == ("https://b-1.s3.eu-west-1.amazonaws.com/k", False)
    assert object_url(aws, "b.1", "k") == ("https://s3.eu-west-1.amazonaws.com/b.1/k", False)


def test_key_format_becomes_the_targets_naming_convention() -> None:
    stitch = "[integration_name]/[table_name]/[table_version]_[timestamp_loaded].csv"
    assert s3.naming_convention(stitch, "shop") == "shop/{stream}/{timestamp}_{timestamp}.csv"
    assert s3.naming_convention("/exports/[table_name].csv", "shop") == "exports/{stream}.csv"
    config = {"naming_convention": stitch, "s3_bucket": "b"}
    s3.finish_target_config("postgres", config, "shop")
    assert config["naming_convention"] == stitch  # other protocols untouched
    s3.finish_target_config("s3", config, "shop")
    assert config["naming_convention"] == "shop/{stream}/{timestamp}_{timestamp}.csv"


def test_only_s3_plugins_get_the_operators_access() -> None:
    settings = OPERATOR.model_copy(update={"endpoint_url": "http://127.0.0.1:9000", "region": "eu-west-1"})
    for protocol in ("s3", "platform.s3-csv"):
        env = s3_access.environment(settings, protocol)
        assert env["AWS_ACCESS_KEY_ID"] == "AKIDEXAMPLE"
        assert env["AWS_SECRET_ACCESS_KEY"] == "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        assert env["AWS_ENDPOINT_URL_S3"] == env["AWS_ENDPOINT_URL_STS"] == "http://127.0.0.1:9000"
        assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert s3_access.secrets(settings, protocol) == ["wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"]
    for protocol in ("postgres", "platform.hp-postgres", "lockstitch.jsonl"):
        assert s3_access.environment(settings, protocol) == {}
        assert s3_access.target_settings(settings, protocol) == {}
        assert s3_access.secrets(settings, protocol) == []
    assert s3_access.target_settings(settings, "s3") == {"aws_endpoint_url": "http://127.0.0.1:9000"}
    assert s3_access.target_settings(OPERATOR, "s3") == {}  # AWS itself: the target's default
    sts = settings.model_copy(update={"sts_endpoint_url": "http://127.0.0.1:9001"})
    assert s3_access.environment(sts, "platform.s3-csv")["AWS_ENDPOINT_URL_STS"] == "http://127.0.0.1:9001"


def test_settings_from_the_environment_and_no_secret_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTITCH_S3__ENDPOINT_URL", "http://127.0.0.1:9000/")
    monkeypatch.setenv("LOCKSTITCH_S3__ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("LOCKSTITCH_S3__SECRET_ACCESS_KEY", "very-secret-value")
    settings = load_settings(env="test", encryption_keys=[])
    assert settings.s3.endpoint_url == "http://127.0.0.1:9000"
    assert settings.s3.access_key_id == "AKID"
    assert "very-secret-value" not in repr(settings.s3)
    monkeypatch.setenv("LOCKSTITCH_S3__ENDPOINT_URL", "ftp://nope")
    with pytest.raises(ConfigurationError) as raised:
        load_settings(env="test")
    assert "s3.endpoint_url" in str(raised.value)
    assert "very-secret-value" not in str(raised.value)


def test_ignore_requires_python_is_part_of_the_venv_key() -> None:
    """A plugin installed with --ignore-requires-python gets its own venv; every other plugin's
    key is what it was (their cached venvs stay valid)."""
    from lockstitch.catalog.models import PluginDef  # noqa: PLC0415
    from lockstitch.runner.plugins import plugin_key  # noqa: PLC0415

    plain = PluginDef(package="p", version="1.0", executable="p")
    flagged = PluginDef(package="p", version="1.0", executable="p", ignore_requires_python=True)
    assert plugin_key(plain) != plugin_key(flagged)
    assert plugin_key(plain) == "p-1.0-" + __import__("hashlib").sha256(b"p==1.0").hexdigest()[:8]
