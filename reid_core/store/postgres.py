"""The part of ``sqlite_utils.Database`` the store parts use, on a PostgreSQL connection (psycopg 3).

The store's SQL is written once: plain statements with ``?`` placeholders run on both engines
(they are translated to psycopg's ``%s`` here), and the table helpers (``db[name].insert``,
``upsert``, ``rows_where``...) are re-implemented below with the same meaning. The connection runs in
autocommit mode like the SQLite one (``isolation_level=None``): a statement outside ``atomic()``
commits alone, ``atomic()`` blocks commit together (nested ones become savepoints).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from reid_core.errors import ResourceError, one_line


def to_psycopg(sql: str) -> str:
    """``?`` placeholders as ``%s`` (a literal ``%`` doubled); the store's SQL has no ``?`` in strings."""
    return sql.replace("%", "%%").replace("?", "%s")


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _insert_sql(table: str, columns: list[str], placeholder: str = "%s") -> str:
    names = ", ".join(map(_name, columns))
    return f"INSERT INTO {_name(table)} ({names}) VALUES ({', '.join(placeholder for _ in columns)})"


@dataclass
class Inserted:
    last_pk: Any


@contextmanager
def server_errors(where: str) -> Iterator[None]:
    """A lost or failing server (connection dropped, server shut down, its disk full) as the one-line
    ``ResourceError`` a SQLite storage failure gives; SQL mistakes stay bugs with a traceback."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise ResourceError(f"{where}: database server failed ({one_line(exc)})") from exc


class PgConnection:
    """What the store asks of ``db.conn`` (``executemany``, ``in_transaction``), and ``run``: every
    statement the store sends goes through one of them."""

    def __init__(self, conn: psycopg.Connection, where: str) -> None:
        self.raw, self.where = conn, where

    def run(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        """Execute psycopg-style SQL (``%s`` placeholders)."""
        with server_errors(self.where):
            return self.raw.execute(sql, list(params))

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            with server_errors(self.where), self.raw.cursor() as cursor:
                cursor.executemany(to_psycopg(sql), rows)


class PgTable:
    def __init__(self, db: PgDatabase, name: str, pk: str | tuple[str, ...]) -> None:
        self.db, self.name, self.pk = db, name, pk

    def insert(self, row: dict) -> Inserted:
        """Insert one row; ``last_pk`` is its generated ``id`` (or the given key)."""
        columns = list(row)
        sql = _insert_sql(self.name, columns)
        if self.pk == "id":
            created = self.db.conn.run(sql + " RETURNING id", list(row.values())).fetchone()
            return Inserted(created[0])
        self.db.conn.run(sql, list(row.values()))
        return Inserted(tuple(row[k] for k in self.pk) if isinstance(self.pk, tuple) else row[self.pk])

    def insert_all(
        self, rows: Iterable[dict], batch_size: int = 10_000, pk: object = None, ignore: bool = False
    ) -> None:
        """Insert rows; ``ignore``: a row whose key is already there is left out (``pk`` is the table's anyway)."""
        rows = list(rows)
        if not rows:
            return
        columns = list(rows[0])
        self.db.conn.executemany(
            _insert_sql(self.name, columns, "?") + (" ON CONFLICT DO NOTHING" if ignore else ""),
            [[row[c] for c in columns] for row in rows],
        )
        if self.pk == "id" and "id" in columns:  # explicit ids: move the identity past them
            self.db.conn.run(
                f"SELECT setval(pg_get_serial_sequence('{self.name}', 'id'), (SELECT MAX(id) FROM {_name(self.name)}))"
            )

    def upsert(self, row: dict, pk: str | tuple[str, ...]) -> None:
        keys = (pk,) if isinstance(pk, str) else tuple(pk)
        columns = list(row)
        updates = [c for c in columns if c not in keys]
        action = "DO NOTHING"
        if updates:
            action = "DO UPDATE SET " + ", ".join(f"{_name(c)} = EXCLUDED.{_name(c)}" for c in updates)
        conflict = f" ON CONFLICT ({', '.join(map(_name, keys))}) {action}"
        self.db.conn.run(_insert_sql(self.name, columns) + conflict, list(row.values()))

    def update(self, pk_value: Any, updates: dict) -> None:
        assignments = ", ".join(f"{_name(c)} = %s" for c in updates)
        sql = f"UPDATE {_name(self.name)} SET {assignments} WHERE id = %s"
        self.db.conn.run(sql, [*updates.values(), pk_value])

    def rows_where(
        self, where: str | None = None, where_args: Sequence[Any] | None = None, order_by: str | None = None
    ) -> Iterator[dict]:
        sql = f"SELECT * FROM {_name(self.name)}"
        if where:
            sql += f" WHERE {where}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        cursor = self.db.execute(sql, where_args or [])
        names = [d.name for d in cursor.description]
        for values in cursor.fetchall():
            yield {n: v for n, v in zip(names, values) if n != "rowid"}

    @property
    def count(self) -> int:
        return int(self.db.conn.run(f"SELECT COUNT(*) FROM {_name(self.name)}").fetchone()[0])


class PgDatabase:
    """A PostgreSQL connection dressed as the ``sqlite_utils.Database`` the store parts expect."""

    def __init__(self, conn: psycopg.Connection, primary_keys: dict[str, str | tuple[str, ...]], where: str) -> None:
        self.conn = PgConnection(conn, where)
        self.primary_keys = primary_keys

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor:
        return self.conn.run(to_psycopg(sql), params or ())

    def __getitem__(self, table: str) -> PgTable:
        return PgTable(self, table, self.primary_keys[table])

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with server_errors(self.conn.where), self.conn.raw.transaction():
            yield

    def table_names(self) -> list[str]:
        rows = self.conn.run(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
        )
        return [str(r[0]) for r in rows.fetchall()]

    def close(self) -> None:
        self.conn.raw.close()
