"""Evaluation: the figures, scores and red/black list, the big screen, the exports."""
