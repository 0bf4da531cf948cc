"""Evaluation's table: the weights of the composite score."""

from __future__ import annotations

from sqlalchemy import (
    Float,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base


class EvaluationWeight(Base):
    """A weight of the composite evaluation score, e.g. ``department.closure`` = 0.3."""

    __tablename__ = "evaluation_weights"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    weight: Mapped[float] = mapped_column(Float)
