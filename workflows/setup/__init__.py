"""Setting up an installation: the schema (Alembic), bootstrap of diagrams and reference data."""
