"""Settings: the one place that reads the environment and the operator's TOML file.

Sources, highest precedence first: explicit arguments, ``LOCKSTITCH_*`` environment variables,
the TOML file named by ``LOCKSTITCH_CONFIG``, defaults. Example TOML::

    env = "production"
    encryption_keys = ["k2:...", "k1:..."]      # newest first
    source_type_dirs = ["/etc/lockstitch/source-types"]

    [[partners]]
    id = "oc_example"
    secret = "..."
    default_pricing_tier = "enterprise"

In development (``env = "development"``, what ``make run`` uses) a missing encryption key is
generated into ``$LOCKSTITCH_HOME/encryption.keys`` on first start. Anywhere else Lockstitch
refuses to start without one.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from lockstitch.kit.crypto import Keyring, generate_key
from lockstitch.kit.errors import ConfigurationError
from lockstitch.kit.plans import PricingTier

DEV_KEYS_FILE = "encryption.keys"


class PartnerConfig(BaseModel):
    """A partner allowed to create accounts with ``POST /v3/accounts``."""

    id: str = Field(min_length=1)
    secret: SecretStr
    name: str = ""
    default_pricing_tier: PricingTier = PricingTier.ENTERPRISE


class ProviderSettings(BaseModel):
    """Operator settings for one OAuth provider: its managed app, and endpoint overrides."""

    model_config = {"extra": "forbid"}

    client_id: str | None = None
    client_secret: SecretStr | None = None
    authorization_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    introspection_url: str | None = None
    issuer: str | None = None
    scopes: list[str] | None = None


class OAuthSettings(BaseModel):
    model_config = {"extra": "forbid"}

    # Where providers send the browser back; default: the public base URL + /oauth/callback.
    callback_url: str | None = None
    state_ttl_seconds: int = 600
    # The hard deadline of one token request, from the first byte to the last.
    http_timeout_seconds: float = Field(default=20.0, gt=0)
    # Refreshes one worker process runs at once.
    refresh_concurrency: int = 50
    # How long a claim on a credential is good for. A holder sends only while the request's
    # deadline plus a margin (a tenth of this, at least 1 s) is left, so it must be longer
    # than both; a holder on another host is overtaken only once its lease lapsed.
    lease_seconds: float = 60.0
    # After a first invalid_grant, the confirming attempt comes this much later (to twice that).
    reauth_confirm_seconds: float = 5.0
    # Longest wait between attempts while a provider fails (Retry-After may ask for longer).
    max_backoff_seconds: float = 900.0
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)

    @property
    def send_margin(self) -> float:
        """Lease time a holder keeps in hand beyond the request's deadline, for its settle."""
        return max(1.0, 0.1 * self.lease_seconds)

    @model_validator(mode="after")
    def _lease_outlasts_a_request(self) -> OAuthSettings:
        margin = self.send_margin
        if self.lease_seconds <= self.http_timeout_seconds + margin:
            raise ValueError(
                f"oauth.lease_seconds ({self.lease_seconds:g}) must exceed http_timeout_seconds "
                f"({self.http_timeout_seconds:g}) plus a margin of {margin:g} s, or no refresh could be sent"
            )
        return self


class RunnerSettings(BaseModel):
    """Singer plugins and the jobs that run them (connection checks, discovery, extractions)."""

    # Where plugin virtualenvs live (default: $LOCKSTITCH_HOME/plugins).
    plugins_dir: Path | None = None

    @field_validator("plugins_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    # The Python that plugin virtualenvs are made from (default: the one running Lockstitch).
    python: str | None = None
    plugin_install_timeout_seconds: float = 900.0
    # Time limit of one connection check (discovery included).
    check_timeout_seconds: float = 300.0
    # A worker renews its lease on a running job this often; a job whose lease lapsed (its worker
    # died) is finished as failed by the next worker that looks.
    lease_seconds: float = 60.0
    # Time limit of one extraction (tap | target).
    extraction_timeout_seconds: float = 6 * 3600.0
    # Jobs of each kind a worker runs at once.
    check_concurrency: int = 2
    extraction_concurrency: int = 2


class NetworkSettings(BaseModel):
    """Which addresses Lockstitch may reach for partners (``kit.outbound``): everything public,
    plus what the operator allows here."""

    model_config = {"extra": "forbid"}

    # Loopback and private ranges (RFC 1918, IPv6 unique-local); default: development mode only.
    allow_private: bool | None = None
    # Host names reachable whatever they resolve to: exact, or "*.internal.example.com".
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Address ranges always reachable (e.g. "10.20.0.0/16" for the warehouse subnet).
    allowed_cidrs: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("allowed_hosts", "allowed_cidrs", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # LOCKSTITCH_NETWORK__ALLOWED_CIDRS=10.0.0.0/8,192.168.1.0/24
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_cidrs", mode="after")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad one
        return value


class S3Settings(BaseModel):
    """The operator's S3 access, for the S3 types (the ``s3`` destination, ``platform.s3-csv``).

    Stitch's S3 destination is reached through the customer's bucket policy granting Stitch's own
    AWS identity, and its S3 source assumes a role the customer made for Stitch: the AWS
    credentials are always the service's, never the partner's. So they are set here, by the
    operator (``LOCKSTITCH_S3__ACCESS_KEY_ID``...), and handed to those types' plugins only
    (``catalog.s3_access``). ``endpoint_url`` is for an S3-compatible server (MinIO, a test
    server); it is the operator's, so trusted: not checked by the outbound policy.
    """

    model_config = {"extra": "forbid"}

    endpoint_url: str | None = None
    # Where role assumption goes (platform.s3-csv); default: the endpoint above, else AWS's STS.
    sts_endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    region: str = "us-east-1"

    @field_validator("endpoint_url", "sts_endpoint_url", mode="after")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else None


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the file named by ``LOCKSTITCH_CONFIG`` (or the ``config`` init argument)."""

    def __init__(self, settings_cls: type[BaseSettings], path: str | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path:
            return {}
        path = Path(self.path)
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError as exc:
            raise ConfigurationError(f"LOCKSTITCH_CONFIG points at {path}, which does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
        # Relative directories in the file are relative to the file, not to the working directory.
        dirs = data.get("source_type_dirs")
        if isinstance(dirs, list):
            data["source_type_dirs"] = [str((path.parent / d).resolve()) for d in dirs]
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOCKSTITCH_", env_nested_delimiter="__", extra="forbid")

    env: Literal["development", "test", "production"] = "production"
    home: Path = Path(".lockstitch")
    # Where start-up keeps the parsed catalogue (catalog.parse_cache); default: the user's cache
    # ($XDG_CACHE_HOME or ~/.cache)/lockstitch, so a fresh home starts as fast as an old one.
    cache_dir: Path | None = None
    database_url: str | None = None
    config: Path | None = None
    encryption_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    partners: list[PartnerConfig] = Field(default_factory=list)
    source_type_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    log_level: str = "info"
    log_format: Literal["console", "json"] = "console"
    max_body_bytes: int = 1_048_576
    default_pricing_tier: PricingTier = PricingTier.ENTERPRISE
    worker_poll_seconds: float = 1.0
    # Where lockstitch.local-files sources may read from (default: $LOCKSTITCH_HOME/files).
    local_files_root: Path | None = None
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    # When set, /metrics, /docs and /openapi.json want it (Bearer, or Basic with it as password).
    operations_token: SecretStr | None = None
    # Fault-injection tests only: "<point>[:<n>]" kills the process at the n-th pass (kit.failpoints).
    crash_at: str | None = None

    @field_validator("home", "local_files_root", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # Plugins run with their workspace as working directory: a relative home (make run's
        # ./.lockstitch) would point their executable and config paths nowhere.
        return value.expanduser().resolve() if value is not None else None

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("source_type_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = getattr(init_settings, "init_kwargs", {})
        path = init_kwargs.get("config") or os.environ.get("LOCKSTITCH_CONFIG")
        return (init_settings, env_settings, _TomlSource(settings_cls, str(path) if path else None))

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'lockstitch.db').resolve()}"

    @property
    def oauth_callback_url(self) -> str:
        return self.oauth.callback_url or f"{self.base_url.rstrip('/')}/oauth/callback"

    @property
    def files_root(self) -> Path:
        return self.local_files_root or self.home / "files"

    def account_files_root(self, account_id: int) -> Path:
        """Where one account's ``lockstitch.local-files`` sources read: its own folder."""
        return self.files_root / str(account_id)

    @property
    def warehouses_dir(self) -> Path:
        return self.home / "warehouses"

    def account_warehouse(self, account_id: int) -> Path:
        """Where one account's local destinations (DuckDB files, JSONL folders) write."""
        return self.warehouses_dir / str(account_id)

    @property
    def allow_private_addresses(self) -> bool:
        if self.network.allow_private is not None:
            return self.network.allow_private
        return self.env == "development"

    def server_paths(self) -> list[Path]:
        """Lockstitch's own files and folders: never a partner's source or destination."""
        paths = [self.home / DEV_KEYS_FILE, self.plugins_dir, self.home / "tmp"]
        if self.is_sqlite:
            database = Path(self.database.split("///", 1)[-1])
            paths += [database, database.with_name(database.name + "-wal")]
        if self.config is not None:
            paths.append(self.config)
        return [p.resolve() for p in paths]

    @property
    def plugins_dir(self) -> Path:
        return self.runner.plugins_dir or self.home / "plugins"

    @property
    def catalog_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lockstitch"

    @property
    def is_sqlite(self) -> bool:
        return self.database.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def partner(self, partner_id: str) -> PartnerConfig | None:
        for partner in self.partners:
            if partner.id == partner_id:
                return partner
        return None

    @cached_property
    def keyring(self) -> Keyring:
        """The encryption keyring; in development a key is generated on first use."""
        specs = list(self.encryption_keys)
        if not specs and self.env == "development":
            specs = self._dev_keys()
        if not specs:
            raise ConfigurationError(
                "no encryption key configured: set LOCKSTITCH_ENCRYPTION_KEYS (or encryption_keys in "
                "the LOCKSTITCH_CONFIG file) to a key from `lockstitch keys generate`; only "
                "LOCKSTITCH_ENV=development generates one by itself"
            )
        return Keyring.from_specs(specs)

    @property
    def dev_keys_path(self) -> Path:
        return self.home / DEV_KEYS_FILE

    def _dev_keys(self) -> list[str]:
        path = self.dev_keys_path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_key() + "\n")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ConfigurationError:
        raise
    except ValueError as exc:  # pydantic's ValidationError: name the setting, never echo secrets
        raise ConfigurationError(f"invalid configuration: {_describe(exc)}") from None


def _describe(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors(include_input=False):
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg')}")
        return "; ".join(parts)
    return exc.__class__.__name__
