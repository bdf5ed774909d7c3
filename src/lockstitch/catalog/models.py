"""The shape of a source-type YAML file, validated on load."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lockstitch.kit.plans import PricingTier, meets

PropertyType = Literal[
    "user_provided",
    "read_only",
    "system_provided_by_default",
    "user_provided_immutable",
    "user_provided_advanced",
]
StepType = Literal["form", "oauth", "profile", "discover_schema", "field_selection", "fully_configured"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PropertyDef(_Strict):
    name: str = Field(min_length=1)
    is_required: bool
    is_credential: bool
    system_provided: bool
    property_type: PropertyType
    json_schema: dict[str, Any] | None
    tap_mutable: bool = False


class StepDef(_Strict):
    type: StepType
    properties: list[PropertyDef] = Field(default_factory=list)


class Details(_Strict):
    pricing_tier: PricingTier = PricingTier.STANDARD
    pipeline_state: Literal["alpha", "beta", "released", "deprecated"] = "released"
    default_start_date: str | None = None
    default_scheduling_interval: int | None = 60
    protocol: str
    access: bool = True
    image_version: str | None = None

    def access_for(self, account_tier: str) -> bool:
        """Stitch's ``details.access`` for an account: its plan meets the type's tier and the
        type is usable (not switched off, not alpha or deprecated)."""
        if not self.access or self.pipeline_state in ("alpha", "deprecated"):
            return False
        return meets(account_tier, self.pricing_tier)


class ConfigMapping(_Strict):
    """Where one Stitch property goes in the tap's config, and how its value is converted.

    ``key`` may be dotted (``ssh_tunnel.port``, ``files.0.path``) for nested settings; a numeric
    part indexes a list. Conversions: ``string`` (as stored), ``integer``, ``boolean``
    ("true"/"false" -> JSON booleans), ``json`` (the value as it is, arrays and objects
    included), ``csv-list`` ("a, b" -> ["a", "b"]), ``csv-string`` (the reverse, for taps that
    split a string themselves: ["a", "b"] or "a, b" -> "a,b"), ``local-path`` (a path relative to the
    account's local files root, resolved; one that escapes the root is refused), ``host`` and
    ``url`` (checked by the outbound policy, below).
    """

    key: str = Field(min_length=1)
    convert: Literal[
        "string",
        "integer",
        "boolean",
        "json",
        "csv-list",
        "csv-string",
        "local-path",
        "host",
        "tls-host",
        "url",
    ] = "string"
    # ``tls-host``: a host name the plugin reaches over TLS (it builds https://<host>/...): checked
    # like a host, but the name stays, since the certificate check needs it.
    # ``host`` and ``url``: a place the plugin connects to, so it goes through the outbound policy
    # first (``catalog.tap_config.check_addresses``). A host is replaced by the address that was
    # checked (the plugin connects there, no second lookup), unless ``verified_by`` names a
    # property that is "true" when the plugin verifies the server's certificate against the name
    # (then the name stays: a certificate check defeats a DNS answer that changed). A URL keeps
    # its name (TLS). ``tunnelled_by``: a property that is "true" when the plugin reaches this
    # host through an SSH tunnel, so the bastion resolves it, not Lockstitch.
    verified_by: str | None = None
    tunnelled_by: str | None = None
    # For a property holding a JSON array of objects (Workday RaaS's ``reports``: a string of
    # [{"report_name": ..., "report_url": ...}]) whose listed fields are URLs the plugin connects
    # to: each one goes through the outbound policy like a ``url`` (its name kept, TLS); the value
    # itself is converted as ``convert`` says.
    url_fields: list[str] = Field(default_factory=list)


class PluginDef(_Strict):
    """A Singer plugin (tap or target) installed from PyPI into its own virtualenv."""

    package: str = Field(min_length=1)
    version: str = Field(min_length=1)
    executable: str = Field(min_length=1)
    # Extra requirements pinned beside the plugin (e.g. "setuptools<81" for older SDK taps).
    extra_requirements: list[str] = Field(default_factory=list)
    # A pip version to install into the plugin's venv first, when the plugin's metadata needs one.
    pip: str | None = None
    # Install although the plugin's metadata caps Python below the one running it: only for a
    # plugin shown to work on that Python (its YAML says how), whose maintainers capped it
    # without a reason that applies (pipelinewise-target-s3-csv 2.0.0: "<3.11").
    ignore_requires_python: bool = False
    # Restore the ``collections.Mapping``/``Sequence``/... aliases that Python 3.10 removed, in
    # this plugin's venv only (a start-up hook in its site-packages, ``runner.plugins``): for a
    # plugin whose exactly pinned dependencies (funcy 1.10, the urllib3 vendored in an old
    # botocore or requests) import them, so no newer release can be put beside it.
    collections_aliases: bool = False
    # Constraints for the build environments pip makes for the plugin's source-only dependencies
    # (suds-jurko 0.6 and googleads use setuptools' ``use_2to3``, gone in setuptools 58:
    # ["setuptools<58"]). Passed as PIP_CONSTRAINT, which the venv's pip (23.2, from ensurepip)
    # applies to build environments too; they also constrain the install itself.
    build_constraints: list[str] = Field(default_factory=list)
    # ``module:callable`` for a plugin whose package declares no console script although it has
    # a CLI (tap-calendly 0.0.3: ``tap_calendly.tap:TapCalendly.cli``): the installer writes
    # ``bin/<executable>`` calling it, as pip writes a declared one.
    entry_point: str | None = Field(
        default=None, pattern=r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$"
    )
    # singer-sdk plugins take long flags only (--config, --discover...) and support --about/--test.
    sdk: bool = False
    # Stitch property name -> plugin config key; properties not listed are not passed on.
    config: dict[str, ConfigMapping] = Field(default_factory=dict)
    # Fixed settings that Stitch never exposes as properties.
    settings: dict[str, Any] = Field(default_factory=dict)


class TokenRelayDef(_Strict):
    """How a tap that speaks OAuth (refresh-token grant) is pointed at the run's token relay
    (``runner/token_relay.py``): which config keys take the relay's URL and throwaway client
    credentials, and the settings that switch the tap to OAuth."""

    token_url_key: str = Field(min_length=1)
    client_id_key: str = "client_id"
    client_secret_key: str = "client_secret"  # noqa: S105 - a config key name
    refresh_token_key: str = "refresh_token"  # noqa: S105 - a config key name
    settings: dict[str, Any] = Field(default_factory=dict)


class TapDef(PluginDef):
    """The Singer tap that runs a source type."""

    # How the tap is handed its catalog: "--catalog" (singer-sdk) or "--properties" (classic taps).
    catalog_flag: Literal["--catalog", "--properties"] = "--catalog"
    # Properties the tap rewrites in its config file during a run (a cache it fills...): read
    # back after every run, discovery included, and stored on the source for the next run
    # (``runner.write_back``). Each must be a ``tap_mutable`` property mapped as a string, and
    # none an OAuth token (``SourceTypeFile``).
    writes_back: list[str] = Field(default_factory=list)
    # Connection checks also run ``--test`` (singer-sdk: one record per stream) after discovery:
    # discovery alone does not prove that the tap can read.
    test_connection: bool = False
    # Where the tap wants a fresh OAuth access token (config key), for OAuth sources whose tap is
    # handed a token instead of refreshing by itself.
    access_token_key: str | None = None
    # Taps that can refresh by themselves are pointed at a per-run token relay instead, so runs
    # longer than an access token's life never meet an expired token.
    token_relay: TokenRelayDef | None = None
    # Values the catalogue verifier (``runner.verify``) puts in its synthetic source where the
    # card's schema says too little for a dummy to be one the tap takes ("owner/repo").
    verify_values: dict[str, Any] = Field(default_factory=dict)


class TargetDef(PluginDef):
    """The Singer target that loads into a destination type."""

    # The config key naming the schema (or folder, file prefix) a source loads into; the runner
    # sets it to the source's ``name``.
    schema_key: str | None = None


class OAuthDef(_Strict):
    """The type's OAuth provider and which of its oauth-step properties hold what."""

    provider: str = Field(min_length=1)
    # Scopes to ask for (default: the provider's).
    scopes: list[str] | None = None
    client_id: str = "client_id"
    client_secret: str = "client_secret"  # noqa: S105 - a property name
    refresh_token: str = "refresh_token"  # noqa: S105 - a property name
    # A property the system fills with Lockstitch's callback URL (HubSpot's card has one).
    redirect_uri: str | None = None
    # A form property holding the token endpoint (generic REST sources): wins over the provider's.
    token_url_property: str | None = None
    # A form property choosing the client authentication ("basic" or "body"): wins over the provider's.
    client_auth_property: str | None = None


class TypeFile(_Strict):
    """What a source-type and a destination-type file both hold: the card's steps and details."""

    type: str = Field(min_length=1, max_length=200)
    description: str = ""
    steps: list[StepDef] = Field(min_length=1)
    details: Details
    upgrade_available: dict[str, str] | None = None


class SourceTypeFile(TypeFile):
    # Values the system fills for read-only properties at creation, as templates over
    # {account_id}, {source_id}, {image_version}.
    system_values: dict[str, str] = Field(default_factory=dict)
    tap: TapDef | None = None
    oauth: OAuthDef | None = None
    # Why the type has no tap (none published, none installs on Python 3.11, a push source...),
    # or remarks on its mapping; carried into docs/catalog.md.
    notes: str = ""

    @model_validator(mode="after")
    def _runnable_or_says_why(self) -> SourceTypeFile:
        if self.tap is None:
            # Nobody could run a source of it: Stitch's answer is ``access: false`` (POST answers
            # AccessDenied), and the catalogue document must say why.
            if self.details.access:
                raise ValueError("a type without a tap must have details.access false")
            if not self.notes.strip():
                raise ValueError("a type without a tap must say why in notes")
        else:
            problem = writes_back_problem(self)
            if problem is not None:
                raise ValueError(f"tap.writes_back: {problem}")
        return self


def writes_back_problem(definition: SourceTypeFile) -> str | None:
    """Why the tap's ``writes_back`` cannot work as written, or None.

    A listed property must be on the card as ``tap_mutable`` and mapped in ``tap.config`` as a
    string (the value read back is the one the tap was handed, unconverted). An OAuth type's
    tokens and client are never listed: the token engine is the only party that stores and
    refreshes them (a tap is handed them afresh on every run, and a relay tap holds only the
    relay's throwaway values, ``runner/token_relay.py``), so a tap's copy must not be kept.
    """
    tap = definition.tap
    assert tap is not None
    properties = {p.name: p for step in definition.steps for p in step.properties}
    oauth = definition.oauth
    owned = {"access_token", oauth.refresh_token, oauth.client_id, oauth.client_secret} if oauth else set()
    relay = tap.token_relay
    relay_keys = (
        {relay.token_url_key, relay.client_id_key, relay.client_secret_key, relay.refresh_token_key}
        if relay
        else set()
    )
    if relay and tap.access_token_key:
        relay_keys.add(tap.access_token_key)
    for name in tap.writes_back:
        prop = properties.get(name)
        mapping = tap.config.get(name)
        if name in owned or (mapping is not None and mapping.key in relay_keys):
            return (
                f"{name} is an OAuth token or client property: Lockstitch's token engine alone "
                "stores and refreshes it, so a tap's copy is never written back"
            )
        if prop is None or not prop.tap_mutable:
            return f"{name} is not a tap_mutable property of the type"
        if mapping is None or mapping.convert != "string":
            return f"{name} must be mapped in tap.config as a string"
    return None


class DestinationTypeFile(TypeFile):
    """One destination type: its report card (``form -> fully_configured``), details, target."""

    target: TargetDef | None = None
