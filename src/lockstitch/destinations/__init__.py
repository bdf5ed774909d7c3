"""Destinations and destination types (spec 2.3, 3.14): where an account's sources load.

endpoints (HTTP) -> service (rules: body, properties, limit) -> repository (queries)
                       |-> properties (values as strings, checked against the type's card)
                       |-> credentials (sealed per destination and property)
                       '-> a queued ConnectionCheck -> tasks.CheckDestinations (worker)
                                                          '-> probes (one per protocol, local disk)
extraction runner -> service.destination_for_source, service.target_config (targets)
"""
