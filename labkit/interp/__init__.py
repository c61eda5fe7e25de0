"""Interpretability of artificial neurons."""
