"""``engine.prepared.adopt`` on the domain's models: an object built from a prepared row behaves as
one the ORM loaded (lazy loads, change tracking, refresh, expiry, a weak identity map)."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import JSON, bindparam, select, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, reconstructor

from engine.prepared import Prepared, adopt
from workflows.org.models import OrgUnit
from workflows.people.models import User

_USER = Prepared(select(User.__table__).where(User.id == bindparam("id")))


@pytest.fixture
def worker_id(sessions) -> int:
    with sessions() as session, session.begin():
        unit = OrgUnit(code="hq-g01", name="一网格", level="grid")
        session.add(unit)
        session.flush()
        user = User(username="w1", display_name="网格员", password_hash="x", role="grid_worker", org_unit_id=unit.id)
        session.add(user)
        session.flush()
        return user.id


def test_an_adopted_object_lazy_loads_tracks_changes_and_refreshes(sessions, worker_id):
    with sessions() as session, session.begin():
        user = adopt(session, User, _USER.run(session, {"id": worker_id}).first())
        assert user.org_unit.code == "hq-g01"  # a lazy load through the session
        assert not session.dirty and not session.new
        user.display_name = "张网格员"
        assert user in session.dirty
        session.flush()
        session.execute(update(User).where(User.id == worker_id).values(role="coordinator"))
        session.refresh(user)
        assert (user.role, user.display_name) == ("coordinator", "张网格员")
    with sessions() as session:
        assert session.get(User, worker_id).display_name == "张网格员"


def test_an_adopted_object_is_expired_by_a_rollback_and_held_weakly(sessions, worker_id):
    with sessions() as session:
        user = adopt(session, User, _USER.run(session, {"id": worker_id}).first())
        user.display_name = "改了又回滚"
        session.rollback()
        assert user.display_name == "网格员"  # reloaded from the database
        key = (User, (worker_id,), None)
        assert session.identity_map.get(key) is user
        del user
        gc.collect()
        assert session.identity_map.get(key) is None


class _Other(DeclarativeBase):
    pass


class _Rebuilt(_Other):
    __tablename__ = "rebuilt"
    id: Mapped[int] = mapped_column(primary_key=True)

    @reconstructor
    def _rebuild(self):
        self.cache = {}


class _Tracked(_Other):
    __tablename__ = "tracked"
    id: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[dict] = mapped_column(MutableDict.as_mutable(JSON))


@pytest.mark.parametrize("model", [_Rebuilt, _Tracked])
def test_adopt_refuses_mappings_whose_loading_does_more(sessions, model):
    with sessions() as session, pytest.raises(InvalidRequestError, match="load or refresh listeners"):
        adopt(session, model, {"id": 1, "data": {}})
