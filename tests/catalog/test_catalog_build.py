"""The generated catalogue: committed YAML is the generator's output, every configurable Stitch card
is served through the API as Stitch serves it, and a type nobody can run is refused as Stitch
refuses it (``AccessDenied``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from lockstitch.catalog.loader import load_catalog, load_source_type
from tests.conftest import REPO, AccountHandle, MakeAccount
from tests.helpers import assert_source_error
from tests.stitch_docs import reference_cards

SHIPPED = load_catalog()
CONFIGURABLE = sorted(name for name, card in reference_cards().items() if card.get("steps"))


def _generator() -> ModuleType:
    path = REPO / "scripts" / "build_catalog.py"
    spec = importlib.util.spec_from_file_location("build_catalog", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_catalog", module)
    spec.loader.exec_module(module)
    return module


def test_committed_yaml_is_the_generators_output() -> None:
    """Re-running scripts/build_catalog.py reproduces every generated file byte for byte."""
    expected = _generator().expected_files()
    assert len(expected) >= 160
    differ = [path.name for path, text in expected.items() if path.read_text(encoding="utf-8") != text]
    assert differ == [], "run scripts/build_catalog.py"


def test_generated_access_follows_the_tap() -> None:
    """A generated file's ``details.access`` is true exactly where its block names a tap."""
    for path in _generator().expected_files():
        definition = load_source_type(path).definition
        assert definition.details.access is (definition.tap is not None), path.name


def test_a_type_without_a_tap_loads_with_notes_and_no_access(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "type: x\nsteps: [{type: form}]\nnotes: none published\ndetails: {protocol: x, access: false}\n"
    )
    loaded = load_source_type(path)
    assert loaded.definition.notes == "none published"
    assert loaded.access_for("enterprise") is False


async def test_source_types_endpoint_serves_every_reference_card(
    client: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    """``GET /v4/source-types`` for a standard account (as Stitch's reference was read) has every
    configurable card equal to the reference, ``access`` false where the type has no tap; an
    enterprise account's cards differ only in ``access`` (its tier admits enterprise types)."""
    standard = await make_account(tier="standard")
    enterprise = await make_account(tier="enterprise")
    served = {c["type"]: c for c in (await client.get("/v4/source-types", headers=standard.headers)).json()}
    served_enterprise = {
        c["type"]: c for c in (await client.get("/v4/source-types", headers=enterprise.headers)).json()
    }
    assert set(CONFIGURABLE) <= set(served)
    for name in CONFIGURABLE:
        reference = reference_cards()[name]
        source_type = SHIPPED.source_type(name)
        assert source_type is not None
        runnable = source_type.definition.tap is not None
        details = {**reference["details"], "access": reference["details"]["access"] and runnable}
        assert served[name] == {**reference, "details": details}, name
        usable = runnable and reference["details"]["pipeline_state"] not in ("alpha", "deprecated")
        assert served_enterprise[name] == {**reference, "details": {**details, "access": usable}}, name


@pytest.mark.parametrize("source_type", ["import_api", "webhook.zapier", "hp.rando"])
async def test_a_type_without_a_tap_is_access_denied(
    client: httpx.AsyncClient, account: AccountHandle, source_type: str
) -> None:
    """POST /v4/sources of a type served with ``access: false`` answers Stitch's AccessDenied,
    even for an enterprise account, and creates nothing."""
    response = await client.post(
        "/v4/sources", headers=account.headers, json={"type": source_type, "display_name": "Pushed"}
    )
    assert_source_error(
        response, 400, "AccessDenied", f"you do not have access to source type ({source_type})"
    )
    assert (await client.get("/v4/sources", headers=account.headers)).json() == []
