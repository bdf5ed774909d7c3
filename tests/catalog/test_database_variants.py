"""Stitch's database variants, on the two database taps Lockstitch verified: each serves Stitch's
card (``test_reference_cards.test_card_matches_stitch`` compares it), and a complete form becomes a
config holding every key its tap requires, only keys the tap reads, in the types it reads them.

The taps' requirements: pipelinewise-tap-mysql 1.6.0 exits unless ``REQUIRED_CONFIG_KEYS`` (host,
port, user, password; ``tap_mysql/__init__.py``) are there; meltanolabs-tap-postgres 0.10.0
asserts host, port, user and password (``TapPostgres.__init__``; its ``--about`` schema lists none
as required) and reads ``database`` for the database every PostgreSQL card asks for (``dbname``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lockstitch.catalog.loader import load_catalog
from lockstitch.catalog.source_type import SourceType
from lockstitch.catalog.tap_config import build_config, check_addresses
from lockstitch.kit.outbound import OutboundPolicy
from tests.conftest import AccountHandle
from tests.helpers import assert_source_error
from tests.stitch_docs import reference_cards

SHIPPED = load_catalog()
MYSQL = ["mariadb", "hp-mariadb", "aurora", "hp-aurora", "cloudsql", "hp-cloudsql", "mysql"]
POSTGRES = ["heroku_pg", "hp-heroku-pg", "cloudsql_pg", "hp-cloudsql-pg", "postgres"]
VARIANTS = {f"platform.{n}": "mysql" for n in MYSQL} | {f"platform.{n}": "postgres" for n in POSTGRES}
TAPS = {"mysql": ("pipelinewise-tap-mysql", "1.6.0"), "postgres": ("meltanolabs-tap-postgres", "0.10.0")}
CONNECT = {"host", "port", "user", "password"}
REQUIRED = {"mysql": CONNECT, "postgres": CONNECT | {"database"}}
# Every config key the tap reads: pipelinewise-tap-mysql's config lookups (connection.py,
# __init__.py, sync_strategies/binlog.py); meltanolabs-tap-postgres's `--about` settings.
READS = {
    "mysql": {"host", "port", "user", "password", "database", "filter_dbs", "server_id", "ssl", "ssl_ca"}
    | {"ssl_cert", "ssl_key", "internal_hostname", "session_sqls", "use_gtid", "engine", "cursorclass"},
    "postgres": {"host", "port", "user", "password", "database", "filter_schemas", "ssl_enable", "ssh_tunnel"}
    | {"default_replication_method", "replication_slot_name", "replication_max_run_seconds", "ssl_mode"},
}
SSH_TUNNEL = {"enable", "host", "username", "port", "private_key", "private_key_password"}

# Card properties no tap setting takes, each with why (the YAML files say the same).
SCHEDULING = {"anchor_time", "cron_expression", "frequency_in_minutes", "image_version"}  # Lockstitch's
MYSQL_ANY = {"ssh", "ssh_host", "ssh_port", "ssh_user"}  # the tap cannot tunnel
MYSQL_ANY |= {"use_log_based_replication"}  # the method is chosen per stream in the catalog
MYSQL_ANY |= {"incremental_limit"}
OLD_MYSQL = MYSQL_ANY | {"allow_non_auto_increment_pks"}
CERT_CHECKS = {"check_hostname", "verify_mode", "ssl_client_auth_enabled"}  # the tap decides them
HP_MYSQL = MYSQL_ANY | {"ssl_client_auth_enabled", "include_schemas_in_destination_stream_name"}
PG_ANY = {"filter_dbs", "itersize", "include_schemas_in_destination_stream_name"}  # one database
HP_PG = PG_ANY | {"use_log_based_replication"}
NO_TAP_SETTING = {
    "platform.mariadb": OLD_MYSQL,
    "platform.aurora": OLD_MYSQL,
    # internal_hostname: the tap only patches ssl.match_hostname with it, which Python no longer calls.
    "platform.cloudsql": OLD_MYSQL | CERT_CHECKS | {"internal_hostname"},
    "platform.mysql": OLD_MYSQL | CERT_CHECKS,
    "platform.hp-mariadb": HP_MYSQL,
    "platform.hp-aurora": HP_MYSQL,
    "platform.hp-cloudsql": HP_MYSQL,
    # Their default_replication_method takes only "true"/"false": no method the tap knows.
    "platform.heroku_pg": PG_ANY | {"default_replication_method"},
    "platform.cloudsql_pg": PG_ANY | {"default_replication_method"},
    "platform.hp-heroku-pg": HP_PG,
    "platform.hp-cloudsql-pg": HP_PG,
    "platform.postgres": HP_PG | {"debug_lsn", "wal2json_message_format"},
}

# A value for every property any variant has: the first one the card's json_schema accepts is used.
SAMPLES: dict[str, list[Any]] = {
    "host": ["db.partner.example"],
    "port": ["5432"],
    "user": ["reader"],
    "password": ["form-password"],
    "dbname": ["shop"],
    "database": ["shop"],
    "filter_dbs": ["shop, crm"],
    "server_id": ["7311"],
    "ssl": ["true"],
    "ssl_ca": ["-----BEGIN CERTIFICATE-----ca"],
    "ssl_cert": ["-----BEGIN CERTIFICATE-----cert"],
    "ssl_key": ["-----BEGIN PRIVATE KEY-----key"],
    "internal_hostname": ["project:region:instance", "instance.example"],
    "ssh": ["false"],
    "ssh_host": ["bastion.partner.example"],
    "ssh_port": ["22"],
    "ssh_user": ["tunnel"],
    "default_replication_method": ["INCREMENTAL", "true"],
    "replication_slot_name": ["lockstitch_slot"],
    "logical_poll_total_seconds": ["600"],
    "itersize": ["20000"],
    "incremental_limit": ["1000"],
    "socket_timeout": ["30"],
    "debug_lsn": ["false"],
    "wal2json_message_format": ["1"],
    "use_log_based_replication": ["false"],
    "include_schemas_in_destination_stream_name": ["false"],
    "allow_non_auto_increment_pks": ["false"],
    "check_hostname": ["true"],
    "verify_mode": ["true"],
    "ssl_client_auth_enabled": ["true"],
    "anchor_time": ["2024-01-01T00:00:00Z"],
    "cron_expression": ["0 0 * * * ?"],
    "frequency_in_minutes": ["60"],
    "image_version": ["1.latest"],
}


def variant(name: str) -> SourceType:
    found = SHIPPED.source_type(name)
    assert found is not None, f"{name} is not shipped"
    return found


def complete_form(source_type: SourceType) -> dict[str, Any]:
    """A value for every property of the card, each one its json_schema accepts."""
    form: dict[str, Any] = {}
    for name, spec in source_type.properties.items():
        fitting = [value for value in SAMPLES[name] if spec.is_valid(value)]
        assert fitting, f"no sample fits {source_type.type}.{name}"
        form[name] = fitting[0]
    return form


def test_every_variant_is_shipped_and_compared_with_stitch() -> None:
    """All twelve are in the catalogue and in Stitch's reference, so the reference-card test
    (parametrized over shipped types found in the reference) compares each card."""
    shipped = {t.type for t in SHIPPED.source_types()}
    assert set(VARIANTS) <= shipped & set(reference_cards())


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_runs_on_the_verified_tap(name: str) -> None:
    tap = variant(name).definition.tap
    assert tap is not None
    assert (tap.package, tap.version) == TAPS[VARIANTS[name]]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_property_is_mapped_or_has_no_tap_setting(name: str) -> None:
    """Each card property either reaches the tap or is one no setting of the tap takes (named
    above with the reason): a property the card gains, or a mapping lost, shows up here."""
    source_type = variant(name)
    tap = source_type.definition.tap
    assert tap is not None
    mapped = set(tap.config)
    unmapped = SCHEDULING | NO_TAP_SETTING[name]
    assert mapped <= set(source_type.properties), mapped - set(source_type.properties)
    assert not mapped & unmapped
    assert mapped | (unmapped & set(source_type.properties)) == set(source_type.properties)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_complete_form_gives_the_tap_every_key_it_requires(name: str) -> None:
    source_type = variant(name)
    tap = source_type.definition.tap
    assert tap is not None
    family = VARIANTS[name]
    config = build_config(tap.config, tap.settings, complete_form(source_type))
    assert REQUIRED[family] <= set(config), REQUIRED[family] - set(config)
    assert set(config) <= READS[family], set(config) - READS[family]
    assert config["user"] == "reader"
    assert config["password"] == "form-password"
    if family == "mysql":
        # The tap int()s the port itself and compares ssl with the string "true".
        assert (config["port"], config["ssl"]) == ("5432", "true")
        assert config["server_id"] == "7311"
        cards = source_type.properties
        # The older cards' database is the tap's key of the same name (the database it opens).
        assert config.get("database") == ("shop" if "database" in cards else None)
        # filter_dbs, when the card has one, wins over dbname: the comma-separated string the
        # tap splits, spaces gone.
        assert config.get("filter_dbs") == ("shop,crm" if "filter_dbs" in cards else None)
    else:
        assert (config["port"], config["ssl_enable"], config["database"]) == (5432, True, "shop")
        assert config["filter_schemas"] == ["public"]
        assert set(config["ssh_tunnel"]) <= SSH_TUNNEL
        assert config["ssh_tunnel"] == {
            "enable": False,
            "host": "bastion.partner.example",
            "port": 22,
            "username": "tunnel",
        }
        if "logical_poll_total_seconds" in source_type.properties:
            assert config["replication_max_run_seconds"] == 600
    json.dumps(config)  # the tap reads it as JSON


@pytest.mark.parametrize("name", [f"platform.{n}" for n in ("hp-mariadb", "hp-aurora", "hp-cloudsql")])
def test_filter_dbs_as_an_array_reaches_the_tap_as_its_string(name: str) -> None:
    """The hp-* MySQL cards accept filter_dbs as an array; pipelinewise-tap-mysql calls
    ``filter_dbs.split(",")``, so a list would crash it."""
    source_type = variant(name)
    tap = source_type.definition.tap
    assert tap is not None
    assert source_type.properties["filter_dbs"].is_valid(["shop", " crm"])
    config = build_config(tap.config, tap.settings, {"dbname": "ignored", "filter_dbs": ["shop", " crm"]})
    assert config["filter_dbs"] == "shop,crm"
    assert build_config(tap.config, tap.settings, {"dbname": "shop"})["filter_dbs"] == "shop"


async def _resolve(name: str) -> list[str]:
    return {"db.partner.example": ["198.51.100.7"], "bastion.partner.example": ["198.51.100.8"]}[name]


POLICY = OutboundPolicy(allow_private=False, allowed_cidrs=["198.51.100.0/24"], resolver=_resolve)


@pytest.mark.parametrize("name", sorted(VARIANTS))
async def test_the_host_rules_of_the_verified_types(name: str) -> None:
    """As hp-mysql and hp-postgres: pipelinewise-tap-mysql checks no certificate with ssl
    alone, so its host always becomes the checked address; meltanolabs-tap-postgres verifies the
    certificate against the name (verify-full), so with ssl the name stays, and through an SSH
    tunnel only the bastion is checked."""
    tap = variant(name).definition.tap
    assert tap is not None
    plain = {"host": "db.partner.example", "ssl": "false"}
    assert await check_addresses(POLICY, tap.config, plain) == {"host": "198.51.100.7"}
    with_ssl = await check_addresses(POLICY, tap.config, {**plain, "ssl": "true"})
    tunnelled = {**plain, "ssh": "true", "ssh_host": "bastion.partner.example"}
    if VARIANTS[name] == "mysql":
        assert with_ssl == {"host": "198.51.100.7"}
        assert await check_addresses(POLICY, tap.config, tunnelled) == {"host": "198.51.100.7"}
    else:
        assert with_ssl == {}
        assert await check_addresses(POLICY, tap.config, tunnelled) == {"ssh_host": "198.51.100.8"}


DEPRECATED = [n for n in sorted(VARIANTS) if variant(n).details.pipeline_state == "deprecated"]


async def test_deprecated_variants_are_refused_as_stitch_refuses_them(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    """Stitch serves its older database types with access false and points at the hp-* type
    that replaced them; creating one answers AccessDenied, even on an enterprise plan. (An
    operator who still runs them re-enables one with an override file, as the heroku_pg run does.)"""
    assert len(DEPRECATED) == 7
    for name in DEPRECATED:
        card = await client.get(f"/v4/source-types/{name}", headers=account.headers)
        assert card.status_code == 200, card.text
        assert card.json()["details"]["access"] is False
        assert card.json()["upgrade_available"] == reference_cards()[name]["upgrade_available"]
        response = await client.post(
            "/v4/sources",
            headers=account.headers,
            json={"type": name, "display_name": "Old database", "properties": {}},
        )
        assert_source_error(response, 400, "AccessDenied", f"you do not have access to source type ({name})")
