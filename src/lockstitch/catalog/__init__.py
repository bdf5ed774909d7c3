"""The catalogue of source types: data files in, report cards out.

    definitions/sources/*.yaml  --loader-->  SourceType (validated, schemas compiled)
    operator source_type_dirs   --loader-->  (add or override by ``type``)
    SourceType + facts          --report_card-->  Stitch report card JSON
    definitions/providers/*.yaml + operator config  --providers-->  Providers (as deployed)
    properties + ConfigMapping  --tap_config-->  a tap's or target's config file

One YAML file per type holds its report-card steps and properties exactly as Stitch serves them,
its ``details``, the Singer tap that runs it and its OAuth provider (used by later stages).
Data only: no routes (``/v4/source-types`` is ``sources.type_endpoints``), no domain imports.
"""
