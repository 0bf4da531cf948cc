"""A case: reporting it, decisions on its tasks and who may act, the process hooks, its timeline,
photos, Open311 intake."""
