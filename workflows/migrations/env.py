"""Alembic environment: runs against the connection handed in by workflows.setup.schema."""

from __future__ import annotations

from alembic import context

import engine.incidents  # noqa: F401  (registers the incident and in-flight tables)
import engine.storage.models  # noqa: F401  (registers the engine tables)
import workflows.admin.drafts  # noqa: F401  (registers the modeller drafts and the admin audit trail)
import workflows.messaging.models  # noqa: F401  (registers the outbox, webhooks and contact settings)
import workflows.tables  # noqa: F401  (registers the domain tables)
from engine import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through workflows.setup.schema.upgrade(), which passes a connection")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
