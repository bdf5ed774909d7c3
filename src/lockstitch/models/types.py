"""Column types and index shapes shared by the models."""

from sqlalchemy import BigInteger, Index, Integer, text

# 64-bit ids on PostgreSQL; SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
Id = BigInteger().with_variant(Integer(), "sqlite")


def partial_unique_index(name: str, *columns: str, where: str) -> Index:
    """A unique index over the rows where ``where`` holds, on both dialects (SQLite and
    PostgreSQL each need the predicate named for them, or they index every row)."""
    return Index(name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where))
