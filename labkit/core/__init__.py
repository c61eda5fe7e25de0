"""Infrastructure without science: devices, seeds, parameters, recorded metrics, caches, training."""
