"""labkit's version, in a module of its own so that the ground floor never imports the package face."""
__version__ = "0.1.0"
