"""Shapes, explanations, comparisons and invariance: data in, data out."""
