"""Source databases for discovery and replication tests, seeded on the machine's real servers:
PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306). Each test run gets its own database."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from lockstitch.context import Context
from lockstitch.runner.tasks import RunConnectionChecks
from tests import canary
from tests.conftest import POSTGRES_ADMIN

PG_SEED = """
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    balance numeric(12, 2),
    created_at timestamptz NOT NULL DEFAULT now(),
    tags text[],
    doc jsonb
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id int REFERENCES customers (id),
    amount numeric,
    ordered_on date,
    updated_at timestamp NOT NULL DEFAULT now()
);
CREATE VIEW big_customers AS SELECT id, name, balance FROM customers WHERE balance > 100;
INSERT INTO customers (name, balance, tags, doc) VALUES
    ('Ada', 120.50, ARRAY['vip', 'early'], '{"plan": "pro", "seats": 3}'),
    ('Grace', 80.00, ARRAY['trial'], '{"plan": "free"}'),
    ('Linus', 999.99, NULL, NULL);
INSERT INTO orders (customer_id, amount, ordered_on) VALUES (1, 10.5, '2024-01-02'), (3, 99.95, '2024-02-03');
"""

MARIADB_SEED = """
CREATE TABLE products (
    id INT AUTO_INCREMENT PRIMARY KEY,
    title VARCHAR(200) NOT NULL,
    price DECIMAL(10, 2),
    attributes JSON,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE stock (
    product_id INT PRIMARY KEY,
    quantity INT NOT NULL,
    checked_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE VIEW cheap_products AS SELECT id, title FROM products WHERE price < 10;
INSERT INTO products (title, price, attributes) VALUES
    ('Needle', 2.50, '{"size": "small"}'), ('Thread', 4.00, NULL), ('Machine', 349.00, '{"watts": 70}');
INSERT INTO stock (product_id, quantity) VALUES (1, 100), (3, 2);
"""
MARIADB_USER = "lockstitch_tap"
MARIADB_PASSWORD = "tap-password-Qx7"
# Every database password the discovery and replication tests hand Lockstitch: the suite-wide
# canary scan (tests/canary.py) fails the run if one shows up in a log line or a response.
DATABASE_PASSWORDS = (
    MARIADB_PASSWORD,
    "trust-auth-ignores-this",
    "another-ignored-one",
    "trust-ignores-it",
    "wrong-password-9d3f1c",
    "target-password-never-logged",
)
canary.remember(*DATABASE_PASSWORDS)


def _suffix() -> str:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{run}"


_made = itertools.count(1)


@pytest.fixture
async def source_postgres() -> AsyncIterator[str]:
    """The name of a freshly seeded PostgreSQL database (tables of several types and a view);
    each test gets its own, since replication tests change the rows."""
    name = f"lockstitch_src_{_suffix()}_{next(_made)}"
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    seeded = await asyncpg.connect(POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}")
    try:
        await seeded.execute(PG_SEED)
    finally:
        await seeded.close()
    yield name
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def mariadb(sql: str, database: str | None = None) -> str:
    argv = ["mariadb", "-h", "127.0.0.1", "-P", "3306", "-u", "root", "--batch", "--skip-column-names"]
    if database:
        argv.append(database)
    done = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        pytest.fail(
            f"MariaDB at 127.0.0.1:3306 did not take the seed ({done.stderr.strip()}); `make test` starts it"
        )
    return done.stdout


@pytest.fixture
def source_mariadb() -> Iterator[str]:
    """The name of a freshly seeded MariaDB database, readable by MARIADB_USER with
    MARIADB_PASSWORD (one per test, like source_postgres)."""
    name = f"lockstitch_src_{_suffix()}_{next(_made)}"
    mariadb(
        f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`;"
        f"CREATE USER IF NOT EXISTS '{MARIADB_USER}'@'%' IDENTIFIED BY '{MARIADB_PASSWORD}';"
        f"CREATE USER IF NOT EXISTS '{MARIADB_USER}'@'localhost' IDENTIFIED BY '{MARIADB_PASSWORD}';"
        f"GRANT ALL ON `{name}`.* TO '{MARIADB_USER}'@'%';"
        f"GRANT ALL ON `{name}`.* TO '{MARIADB_USER}'@'localhost';"
        # Binlog-reading taps look at replication settings during discovery.
        f"GRANT REPLICATION CLIENT, REPLICATION SLAVE, SELECT ON *.* TO '{MARIADB_USER}'@'%';"
        f"GRANT REPLICATION CLIENT, REPLICATION SLAVE, SELECT ON *.* TO '{MARIADB_USER}'@'localhost';"
    )
    mariadb(MARIADB_SEED, name)
    yield name
    mariadb(f"DROP DATABASE IF EXISTS `{name}`;")


async def run_checks(ctx: Context) -> None:
    """Run every queued connection check to its end, as the worker would."""
    job = RunConnectionChecks()
    while await job.run_once(ctx, ctx.process_id) or job.busy:
        await job.wait()
