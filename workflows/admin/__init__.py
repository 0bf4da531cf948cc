"""Administration: settings (org tree, departments, users, categories, SLA, fund), process versions,
drafts, the audit trail."""
