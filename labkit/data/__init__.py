"""Datasets and simulators; a simulator returns its ground truth beside the data."""
