"""A target's config for loading one source into a destination (the extraction runner calls it).

The destination's properties (credentials unsealed) go through the type's mapping
(``catalog.tap_config.build_config``: Stitch names and strings -> the target's names and JSON
types; hosts through the outbound policy), on top of the target's fixed settings. Then the
source's ``name`` goes where the target takes a schema (``schema_key``), and a local
destination's location is resolved in the account's warehouse folder (a folder-per-source target
gets ``<folder>/<source name>``).
"""

from __future__ import annotations

from typing import Any

from lockstitch.catalog import s3_access
from lockstitch.catalog.tap_config import ConfigError, build_config, check_addresses
from lockstitch.context import Context
from lockstitch.destinations import credentials, local, s3
from lockstitch.kit import naming
from lockstitch.models import Destination


async def target_config(ctx: Context, destination: Destination, source_name: str) -> dict[str, Any]:
    """The config file content for the destination's target, for the source named ``source_name``.

    Raises ``catalog.tap_config.ConfigError`` (its message names a property or the type, never a
    value; a refused host gets the outbound policy's uniform message) when the destination
    cannot be loaded into as configured, and ``kit.crypto.DecryptionError`` when a credential
    does not open.
    """
    destination_type = ctx.catalog.destination_type(destination.type)
    if destination_type is None or destination_type.definition.target is None:
        raise ConfigError(f"destination type {destination.type} has no target in the catalogue")
    if not naming.is_valid_name(source_name):
        raise ConfigError("a source name must be a valid schema name")
    target = destination_type.definition.target
    values: dict[str, Any] = {**destination.properties, **credentials.unseal_all(ctx.keyring, destination)}
    values.update(await check_addresses(ctx.outbound, target.config, values))
    config = build_config(target.config, target.settings, values)
    # The operator's S3 endpoint, for S3 targets (keys go through the environment: runner).
    config.update(s3_access.target_settings(ctx.settings.s3, destination_type.details.protocol))

    store = local.store_of(destination_type)
    if store is not None:
        key = local.config_key(destination_type, store)
        where = local.Warehouse.of(ctx.settings, destination.account_id).location(
            destination_type, destination.properties
        )
        if key is None or where is None:
            raise ConfigError(f"property {store.property} {local.OUTSIDE_HOME}")
        config[key] = str(where / source_name if store.folder_per_source else where)
        # Targets open a file but do not make its folder (target-duckdb: "No such file").
        (where if store.folder_per_source else where.parent).mkdir(parents=True, exist_ok=True)
    if target.schema_key:
        config[target.schema_key] = source_name
    s3.finish_target_config(destination_type.details.protocol, config, source_name)
    return config
