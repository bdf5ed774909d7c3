"""The catalogue of source types: data files in, report cards out.

    definitions/sources/*.yaml  --loader-->  SourceType (validated, schemas compiled)
    operator source_type_dirs   --loader-->  (add or override by ``type``)
    SourceType + facts          --report_card-->  Stitch report card JSON

One YAML file per type holds its report-card steps and properties exactly as Stitch serves them,
its ``details``, the Singer tap that runs it and its OAuth provider (used by later stages).
"""
