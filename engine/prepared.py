"""Core statements compiled once per dialect and run on the DBAPI cursor of the session's connection.

The runtime's hot path runs four to six small statements per step. Through ``Connection.execute``
each costs 50-150 µs of SQLAlchemy bookkeeping (cache key, execution context, result wrapping),
more than SQLite needs to run it. A ``Prepared`` statement keeps SQLAlchemy's compiler and column
types (bind and result processors, so UTC timestamps and JSON columns behave exactly as elsewhere)
but executes directly, inside the transaction the session has already begun. Driver errors are
re-raised as SQLAlchemy's ``DBAPIError`` family, as ``execute`` would.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.attributes import instance_state


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind names, in placeholder order for positional paramstyles
    positional: bool
    binds: tuple  # (name, processor or None, fixed value or _REQUIRED)
    results: tuple  # processor or None, per selected column
    keys: tuple[str, ...]  # selected column keys
    per_driver_type: bool = False  # some result processors are picked by the type the driver reports


class Prepared:
    """One statement; ``run`` / ``run_many`` / ``first`` / ``rowcount`` on a session's connection."""

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def run(self, session: Session, params: dict | None = None):
        cursor, compiled, error = self._cursor(session)
        _execute(cursor, compiled.sql, self._bind(compiled, params or {}), error, many=False)
        return _Result(cursor, compiled)

    def run_many(self, session: Session, rows: Sequence[dict]) -> None:
        if not rows:
            return
        cursor, compiled, error = self._cursor(session)
        _execute(cursor, compiled.sql, [self._bind(compiled, row) for row in rows], error, many=True)
        cursor.close()

    def _cursor(self, session: Session):
        dbapi_connection, dialect = _connection_of(session)
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        return dbapi_connection.cursor(), compiled, dialect.loaded_dbapi.Error

    def _compile(self, dialect) -> _Compiled:
        with self._lock:
            compiled = self.statement.compile(dialect=dialect)
            if "POSTCOMPILE" in compiled.string:
                raise ValueError("a prepared statement cannot expand a list bind (IN with a list): "
                                 f"write it with OR or fixed values instead: {compiled.string}")
            names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
            binds = tuple(_bind_spec(compiled.binds[name], name, dialect) for name in names)
            columns = list(getattr(self.statement, "selected_columns", ()) or ())
            if not columns and getattr(self.statement, "_returning", None):
                columns = list(self.statement._returning)
            results = tuple(_result_processor(c, dialect) for c in columns)
            entry = _Compiled(compiled.string, names, compiled.positional, binds, results,
                              tuple(c.key for c in columns),
                              any(isinstance(r, _PerDriverType) for r in results))
            self._compiled[dialect.name] = entry
            return entry

    @staticmethod
    def _bind(compiled: _Compiled, params: dict):
        values = []
        for name, processor, fixed in compiled.binds:
            value = params[name] if fixed is _REQUIRED else fixed
            values.append(processor(value) if processor is not None and value is not None else value)
        return tuple(values) if compiled.positional else dict(zip(compiled.names, values, strict=True))


_REQUIRED = object()


def dialect_of(session: Session):
    """The dialect of the session's connection (beginning its transaction, as the next statement would)."""
    return _connection_of(session)[1]


_CONNECTION_KEY = "gridlink.prepared.connection"


def _connection_of(session: Session):
    """The DBAPI connection of the session's current transaction (looked up once per transaction)."""
    cached = session.info.get(_CONNECTION_KEY)
    transaction = session.get_transaction()
    if cached is not None and cached[0] is transaction and transaction.is_active:
        return cached[1], cached[2]
    # no transaction yet, a new one, or one a failed flush deactivated: ``connection()`` begins
    # the next or raises SQLAlchemy's PendingRollbackError
    connection = session.connection()
    session.info[_CONNECTION_KEY] = (session.get_transaction(), connection.connection.dbapi_connection,
                                     connection.dialect)
    return connection.connection.dbapi_connection, connection.dialect


def _bind_spec(bind, name: str, dialect) -> tuple:
    """A bind's processor, and its value when the statement fixes it (a literal such as ``+ 1``)."""
    processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
    return name, processor, _REQUIRED if bind.required else bind.value


def _execute(cursor, sql: str, params, dbapi_error: type[Exception], many: bool) -> None:
    try:
        (cursor.executemany if many else cursor.execute)(sql, params)
    except dbapi_error as exc:
        cursor.close()
        raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc


def _result_processor(column, dialect):
    impl = column.type.dialect_impl(dialect)
    try:
        return impl.result_processor(dialect, None)
    except (TypeError, InvalidRequestError):  # e.g. psycopg's floats: it depends on the driver's type code
        return _PerDriverType(impl, dialect)


@dataclass(frozen=True)
class _PerDriverType:
    """A column whose result processor depends on the type code the driver reports for it."""

    impl: object
    dialect: object

    def processor(self, type_code):
        return self.impl.result_processor(self.dialect, type_code)


class _Result:
    """The rows of a prepared statement, with the columns' result processors applied."""

    def __init__(self, cursor, compiled: _Compiled):
        self.cursor = cursor
        self.compiled = compiled
        self.results = compiled.results
        if compiled.per_driver_type and cursor.description:
            self.results = tuple(r.processor(d[1]) if isinstance(r, _PerDriverType) else r
                                 for r, d in zip(compiled.results, cursor.description, strict=True))

    @property
    def rowcount(self) -> int:
        count = self.cursor.rowcount
        self.cursor.close()
        return count

    def all(self) -> list[Row]:
        rows = self.cursor.fetchall()
        self.cursor.close()
        return [self._row(row) for row in rows]

    def first(self) -> Row | None:
        row = self.cursor.fetchone()
        self.cursor.close()
        return None if row is None else self._row(row)

    def _row(self, row) -> Row:
        return Row((key, proc(value) if proc is not None else value)
                   for key, proc, value in zip(self.compiled.keys, self.results, row, strict=True))


class Row(dict):
    """A result row: a dict of column key -> value, whose columns also read as attributes."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def adopt(session: Session, model: type, row: Row):
    """The session's object for ``row``, a row of all of ``model``'s columns read with a prepared
    statement: the object the session already holds for that key, else one built from the row and
    placed in the session's identity map as the ORM's own loading does (``loading._instance``: a
    new instance without ``__init__``, its loaded values, its identity key, the session's id). No
    query, no pending change, no attribute events. Loading through the ORM costs several times more
    than the statement; constructing the object and ``session.add`` cost 69 µs against 5 µs for this."""
    layout = _layout(model)
    key = (model, tuple(row[name] for name in layout.primary_key), None)
    existing = session.identity_map.get(key)
    if existing is not None:
        return existing
    obj = layout.manager.new_instance()
    obj.__dict__.update({attribute: row[column] for attribute, column in layout.columns})
    state = instance_state(obj)
    state.key, state.identity_token, state.session_id = key, None, session.hash_key
    session.identity_map._add_unpresent(state, key)
    return obj


@dataclass(frozen=True)
class _Layout:
    manager: object  # the mapped class's ClassManager
    primary_key: tuple[str, ...]  # column keys, in the mapper's primary-key order
    columns: tuple[tuple[str, str], ...]  # (attribute key, column key) for every column attribute


_LAYOUTS: dict[type, _Layout] = {}


def _layout(model: type) -> _Layout:
    layout = _LAYOUTS.get(model)
    if layout is None:
        configure_mappers()
        mapper = sa_inspect(model)
        _check_adoptable(mapper)
        layout = _LAYOUTS[model] = _Layout(
            manager=mapper.class_manager, primary_key=tuple(column.key for column in mapper.primary_key),
            columns=tuple((attr.key, attr.columns[0].key) for attr in mapper.column_attrs))
    return layout


def _check_adoptable(mapper) -> None:
    """``adopt`` skips what the ORM does beyond placing the object: refuse mappings that rely on it."""
    name = mapper.class_.__name__
    if mapper.inherits is not None or mapper.polymorphic_on is not None:
        raise InvalidRequestError(f"adopt: {name} is an inheriting or polymorphic mapping")
    if mapper.class_manager.dispatch.load or mapper.class_manager.dispatch.refresh:
        raise InvalidRequestError(f"adopt: {name} has load or refresh listeners (a reconstructor, a mutable "
                                  "column)")
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if len(attr.columns) != 1 or not isinstance(column, Column) or column.table is not mapper.local_table:
            raise InvalidRequestError(f"adopt: {name}.{attr.key} is not a plain column of {mapper.local_table}")


def flushed(session: Session) -> Session:
    """The session with its pending changes flushed, as an ORM query would have done first
    (prepared statements do not autoflush): for reads that replace ORM queries."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session
