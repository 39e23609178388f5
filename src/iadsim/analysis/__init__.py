"""Analyses of Results: summaries, attribution, sensitivity, inference."""
