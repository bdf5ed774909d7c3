"""Column types shared by the models."""

from sqlalchemy import BigInteger, Integer

# 64-bit ids on PostgreSQL; SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
Id = BigInteger().with_variant(Integer(), "sqlite")
