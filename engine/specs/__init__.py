"""Parsing, deploy-time validation, versioned definitions, forms and instance migration."""
