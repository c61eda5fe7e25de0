"""Biological neurons and spiking networks."""
