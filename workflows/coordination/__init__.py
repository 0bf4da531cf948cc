"""Coordination around a case: joint meetings and the small-matters fund."""
