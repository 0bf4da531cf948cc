"""Reference rules: the SLA a case starts with."""
