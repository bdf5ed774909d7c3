"""The per-protocol destination probes against real local servers: MariaDB (MySQL protocol),
PostgreSQL (redshift's and panoply's protocol), loopback listeners for TDS and TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lockstitch.context import Context
from lockstitch.destinations.local import Warehouse
from lockstitch.destinations.probes import Outcome, probe
from lockstitch.destinations.probes.tds import prelogin_packet, server_version
from lockstitch.destinations.probes.tls import api_host, probe_tls
from lockstitch.kit.outbound import unreachable
from tests import canary
from tests.discovery.conftest import _suffix, mariadb

MYSQL_PASSWORD = "mysql-destination-secret-8h2"  # a canary: never in a message or log line
canary.remember(MYSQL_PASSWORD)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
def mysql_user() -> Iterator[str]:
    """A MariaDB user with MYSQL_PASSWORD and the global privileges the target uses: CREATE (a
    database per source), writes, and DELETE (FULL_TABLE streams clear old table versions)."""
    name = f"i12_dst_{_suffix()}"[:32]
    mariadb(
        f"CREATE USER IF NOT EXISTS '{name}'@'%' IDENTIFIED BY '{MYSQL_PASSWORD}';"
        f"CREATE USER IF NOT EXISTS '{name}'@'localhost' IDENTIFIED BY '{MYSQL_PASSWORD}';"
        f"GRANT CREATE, INSERT, SELECT, UPDATE, DELETE, ALTER, DROP, INDEX ON *.* TO '{name}'@'%';"
        f"GRANT CREATE, INSERT, SELECT, UPDATE, DELETE, ALTER, DROP, INDEX ON *.* TO '{name}'@'localhost';"
    )
    yield name
    mariadb(f"DROP USER IF EXISTS '{name}'@'%'; DROP USER IF EXISTS '{name}'@'localhost';")


async def _probe(
    ctx: Context, tmp_path: Path, type_name: str, props: dict[str, str], secrets: dict[str, str]
) -> Outcome:
    destination_type = ctx.catalog.destination_type(type_name)
    assert destination_type is not None
    return await probe(destination_type, props, secrets, Warehouse(tmp_path), ctx.outbound, 5.0)


async def _listener(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, str(server.sockets[0].getsockname()[1])


async def _speaks_ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")  # an open port that speaks something else
    await writer.drain()
    writer.close()


async def test_mysql_good_destination_passes(ctx: Context, tmp_path: Path, mysql_user: str) -> None:
    props = {"host": "127.0.0.1", "port": "3306", "username": mysql_user, "ssl": "false"}
    outcome = await _probe(ctx, tmp_path, "mysql_destination", props, {"password": MYSQL_PASSWORD})
    assert outcome.ok, outcome.message
    assert f"user {mysql_user} may create databases" in outcome.log
    assert all(MYSQL_PASSWORD not in line for line in outcome.log)


async def test_mysql_wrong_password_gives_the_servers_reason(
    ctx: Context, tmp_path: Path, mysql_user: str
) -> None:
    wrong = "wrong-mysql-password-51c"
    props = {"host": "127.0.0.1", "port": "3306", "username": mysql_user}
    outcome = await _probe(ctx, tmp_path, "mysql_destination", props, {"password": wrong})
    assert outcome.ok is False
    assert outcome.message is not None
    assert outcome.message.startswith("could not connect to MySQL at 127.0.0.1:3306: Access denied for user")
    assert wrong not in outcome.message
    assert MYSQL_PASSWORD not in outcome.message


async def test_mysql_user_without_create_fails(ctx: Context, tmp_path: Path, mysql_user: str) -> None:
    mariadb(
        f"REVOKE CREATE ON *.* FROM '{mysql_user}'@'%'; REVOKE CREATE ON *.* FROM '{mysql_user}'@'localhost';"
    )
    props = {"host": "127.0.0.1", "port": "3306", "username": mysql_user}
    outcome = await _probe(ctx, tmp_path, "mysql_destination", props, {"password": MYSQL_PASSWORD})
    assert outcome.ok is False
    assert outcome.message is not None
    assert "may not create databases" in outcome.message


async def test_mysql_closed_port_and_other_protocol_read_alike(ctx: Context, tmp_path: Path) -> None:
    listener, open_port = await _listener(_speaks_ssh)
    try:
        for port in ("1", open_port):
            props = {"host": "127.0.0.1", "port": port, "username": "root"}
            outcome = await _probe(ctx, tmp_path, "mysql_destination", props, {"password": MYSQL_PASSWORD})
            assert outcome.ok is False
            assert outcome.message == unreachable(f"127.0.0.1:{port}")
    finally:
        listener.close()
        await listener.wait_closed()


@pytest.mark.parametrize("type_name", ["redshift", "panoply"])
async def test_redshift_protocol_is_postgresql(ctx: Context, tmp_path: Path, type_name: str) -> None:
    """redshift and panoply are checked over the PostgreSQL protocol (the local server)."""
    props = {"host": "127.0.0.1", "port": "5432", "username": "postgres", "database": "test"}
    outcome = await _probe(ctx, tmp_path, type_name, props, {"password": "ignored-by-trust"})
    assert outcome.ok, outcome.message
    assert "connected; select 1 answered" in outcome.log
    closed = await _probe(ctx, tmp_path, type_name, {**props, "port": "1"}, {})
    assert closed.message == unreachable("127.0.0.1:1")


def test_prelogin_packet_and_answer() -> None:
    packet = prelogin_packet()
    assert packet[0] == 0x12
    assert int.from_bytes(packet[2:4], "big") == len(packet)
    # A server's answer: VERSION 16.0.4135 and ENCRYPTION, as SQL Server 2022 sends them.
    payload = bytes([0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xFF]) + bytes([16, 0, 0x10, 0x27, 0, 0]) + b"\x02"
    answer = bytes([0x04, 0x01]) + (8 + len(payload)).to_bytes(2, "big") + bytes(4) + payload
    assert server_version(answer) == "16.0.4135"
    assert server_version(b"SSH-2.0-OpenSSH_9.2\r\n") is None
    assert server_version(answer[:5]) is None


async def test_tds_prelogin_answered_passes_and_others_read_alike(ctx: Context, tmp_path: Path) -> None:
    payload = bytes([0x00, 0, 6, 0, 6, 0xFF]) + bytes([15, 0, 0x07, 0xD0, 0, 0])
    answer = bytes([0x04, 0x01]) + (8 + len(payload)).to_bytes(2, "big") + bytes(4) + payload

    async def sql_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(8)
        await reader.readexactly(int.from_bytes(header[2:4], "big") - 8)
        writer.write(answer)
        await writer.drain()
        writer.close()

    good, good_port = await _listener(sql_server)
    other, other_port = await _listener(_speaks_ssh)
    try:
        props = {"host": "127.0.0.1", "username": "sa", "database": "db"}
        for type_name in ("mssql_server", "azure_sqldw"):
            ok = await _probe(ctx, tmp_path, type_name, {**props, "port": good_port}, {"password": "x" * 8})
            assert ok.ok, ok.message
            assert "a TDS server answered the PRELOGIN (version 15.0.2000)" in ok.log
            assert any("credentials were not verified" in line for line in ok.log)
            for port in ("1", other_port):
                failed = await _probe(ctx, tmp_path, type_name, {**props, "port": port}, {})
                assert failed.message == unreachable(f"127.0.0.1:{port}")
    finally:
        for server in (good, other):
            server.close()
            await server.wait_closed()


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context for 'localhost' and a client context that trusts only its certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


async def test_tls_probe(ctx: Context, tmp_path: Path) -> None:
    """A completed, verified handshake passes; a refused port, a port that speaks no TLS and a
    certificate the client does not trust all read alike."""
    server_context, client_context = _self_signed(tmp_path)

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    tls_server = await asyncio.start_server(hold, "127.0.0.1", 0, ssl=server_context)
    tls_port = str(tls_server.sockets[0].getsockname()[1])
    plain, plain_port = await _listener(_speaks_ssh)
    try:
        ok = await probe_tls(
            "localhost", tls_port, ctx.outbound, 5.0, service="Snowflake", context=client_context
        )
        assert ok.ok, ok.message
        assert (
            f"TLS handshake with localhost:{tls_port} completed; its certificate is valid for localhost"
            in ok.log
        )
        for port, context in (("1", client_context), (plain_port, client_context), (tls_port, None)):
            failed = await probe_tls(
                "localhost", port, ctx.outbound, 5.0, service="Snowflake", context=context
            )
            assert failed.message == unreachable(f"localhost:{port}")
        # Through the dispatcher: a snowflake destination's host and port (the system's trust
        # store does not know the test certificate: the uniform message).
        outcome = await _probe(
            ctx, tmp_path, "snowflake", {"host": "localhost", "port": tls_port}, {"password": "p" * 8}
        )
        assert outcome.message == unreachable(f"localhost:{tls_port}")
    finally:
        for server in (tls_server, plain):
            server.close()
            await server.wait_closed()


def test_api_hosts() -> None:
    assert api_host("snowflake", {"host": "xy123.eu-west-1.snowflakecomputing.com", "port": "443"}) == (
        "xy123.eu-west-1.snowflakecomputing.com",
        "443",
    )
    jdbc = "jdbc:spark://dbc-1.cloud.databricks.com:443/default;transportMode=http;ssl=1;PWD=tok"
    assert api_host("databricks_delta", {"jdbc_url": jdbc}) == ("dbc-1.cloud.databricks.com", "443")
    assert api_host("databricks_delta", {"jdbc_url": "not a url"}) is None
    assert api_host("bigquery_v2", {}) == ("bigquery.googleapis.com", "443")
    assert api_host("dataworld", {}) == ("api.data.world", "443")
