"""Learning dynamics and representational geometry."""
