"""A source's discovered streams and the partner's stream and field selection (spec 2.6, 3.6 to 3.9).

tap --discover --> runner --> service.store_discovered_catalog --> streams rows (discovery.py)
GET  .../streams, .../streams/{id}  --> service --> views (selection.merged_metadata)
PUT  .../streams/metadata --> changes.parse_body / changes.plan (every rule, nothing written
     on an error) --> service writes chosen_metadata, recomputes source.selection_complete
extraction runner --> selection.singer_catalog(streams) --> tap --catalog
"""
