"""Neural fields and neuron designs."""
