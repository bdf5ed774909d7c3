"""The catalogue verifier: synthetic sources, the classification of a tap's last words, and real
taps (cached by the suite) run offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lockstitch.catalog.loader import load_catalog, load_source_type
from lockstitch.catalog.models import SourceTypeFile
from lockstitch.catalog.source_type import SourceType
from lockstitch.catalog.synthetic import sample, synthetic_form
from lockstitch.runner.plugins import Plugins
from lockstitch.runner.process import Finished
from lockstitch.runner.verify import Outcome, classify, tap_config_for, verify_type
from tests.conftest import PLUGINS_CACHE
from tests.stitch_docs import reference_cards

FIXTURES = Path(__file__).parent.parent / "fixtures" / "failing_types"
CATALOG = load_catalog()


def _reference_type(card: dict[str, Any]) -> SourceType:
    steps = [
        {
            "type": s["type"],
            "properties": [{k: v for k, v in p.items() if k != "provided"} for p in s["properties"]],
        }
        for s in card["steps"]
    ]
    read_only = {
        p["name"]: "x"
        for s in card["steps"]
        for p in s["properties"]
        if p["property_type"] == "read_only" and p["is_required"] and p["name"] != "image_version"
    }
    definition = {
        "type": card["type"],
        # Tap-less, as a bare card: closed and saying so (the catalogue's rule).
        "details": {**card["details"], "access": False},
        "steps": steps,
        "system_values": read_only,
        "notes": "a reference card",
    }
    return SourceType(SourceTypeFile.model_validate(definition), origin="reference")


CONFIGURABLE = sorted(name for name, card in reference_cards().items() if "steps" in card)


@pytest.mark.parametrize("name", CONFIGURABLE)
def test_a_synthetic_form_is_one_a_partner_could_send(name: str) -> None:
    """Every value passes its property's schema and every required settable property has one."""
    source_type = _reference_type(reference_cards()[name])
    form = synthetic_form(source_type)
    for prop, value in form.items():
        assert source_type.properties[prop].is_valid(value), (name, prop, value)
    for prop, spec in source_type.properties.items():
        settable = spec.definition.property_type != "read_only"
        if spec.definition.is_required and settable and prop not in ("image_version", "frequency_in_minutes"):
            assert prop in form, (name, prop)


@pytest.mark.parametrize(
    ("pattern", "matching"),
    [("^(REST|BULK)$", "REST"), ("^[0-9]{12}$", "000000000000"), ("^1$|^30$", "1"), (r"^\d+$", "0")],
)
def test_a_pattern_sample_matches_its_pattern(pattern: str, matching: str) -> None:
    assert sample(pattern) == matching


def _finished(lines: list[str], code: int = 1, *, stdout: bytes = b"", timed_out: bool = False) -> Finished:
    return Finished(exit_code=code, stdout=stdout, stderr_tail=lines, timed_out=timed_out)


@pytest.mark.parametrize(
    ("finished", "outcome"),
    [
        (
            _finished(
                [
                    "Traceback (most recent call last):",
                    "requests.exceptions.ProxyError: HTTPSConnectionPool(host='api.x.com', port=443): "
                    "Max retries exceeded",
                ]
            ),
            Outcome.ACCEPTED,
        ),
        (_finished(["CRITICAL Config is missing required keys: ['api_key']"]), Outcome.REJECTED),
        (_finished(["Traceback (most recent call last):", "KeyError: 'start_date'"]), Outcome.REJECTED),
        (
            _finished(["Traceback (most recent call last):", "ModuleNotFoundError: No module named 'imp'"]),
            Outcome.CRASHED,
        ),
        (_finished(["requests.exceptions.HTTPError: 401 Client Error: Unauthorized"]), Outcome.ACCEPTED),
        (_finished(["INFO Backing off (ConnectionError)"], -9, timed_out=True), Outcome.ACCEPTED),
        (_finished(["INFO starting"], -9, timed_out=True), Outcome.CRASHED),
        (_finished([], 0, stdout=b'{"streams": []}'), Outcome.ACCEPTED),
        (_finished([], 0), Outcome.CRASHED),
        (_finished(["ValueError: invalid literal for int() with base 10: 'x'"]), Outcome.CRASHED),
    ],
)
def test_classification(finished: Finished, outcome: Outcome) -> None:
    assert classify(finished, 90)[0] == outcome


def test_an_oauth_tap_gets_the_relay_or_the_stored_tokens() -> None:
    rest = CATALOG.source_type("lockstitch.rest-api")
    assert rest is not None
    assert rest.definition.tap is not None
    relay = rest.definition.tap.token_relay
    assert relay is not None
    config = tap_config_for(rest, rest.definition.tap)
    assert config[relay.token_url_key].startswith("http://127.0.0.1:9/")
    assert config["auth_method"] == "oauth"


PLUGINS = Plugins(PLUGINS_CACHE)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["platform.hp-postgres", "platform.hp-mysql", "platform.github"])
async def test_cached_taps_accept_their_config(name: str) -> None:
    """A handful of shipped types whose taps the suite installs anyway: each takes the config its
    mapping builds and fails only at the (unreachable) network, as docs/catalog.md says."""
    source_type = CATALOG.source_type(name)
    assert source_type is not None
    verdict = await verify_type(source_type, PLUGINS, time_limit=300)
    assert verdict.outcome == Outcome.ACCEPTED, verdict


@pytest.mark.slow
async def test_a_tap_that_misses_a_key_is_a_rejected_config() -> None:
    # tap-spreadsheets without the `format` it requires: the KeyError of a misnamed mapping.
    verdict = await verify_type(
        load_source_type(FIXTURES / "lockstitch.test-crash.yaml"), PLUGINS, time_limit=300
    )
    assert verdict.outcome == Outcome.REJECTED, verdict
    assert "format" in verdict.detail


@pytest.mark.slow
async def test_a_tap_that_cannot_install_says_so() -> None:
    uninstallable = load_source_type(FIXTURES / "lockstitch.test-uninstallable.yaml")
    verdict = await verify_type(uninstallable, PLUGINS, time_limit=300)
    assert verdict.outcome == Outcome.INSTALL_FAILED
    assert "tap-lockstitch-does-not-exist" in verdict.detail


@pytest.mark.parametrize(
    "source_type", [t for t in CATALOG.source_types() if t.definition.tap], ids=lambda t: t.type
)
def test_verify_values_are_valid_values(source_type: SourceType) -> None:
    tap = source_type.definition.tap
    assert tap is not None
    synthetic_form(source_type, tap.verify_values)  # raises on a value its schema refuses
