"""Errors the ``labkit`` command answers with one sentence and exit code 2, in one place."""


class UsageError(ValueError):
    """Bad command-line input: exit code 2, nothing started or written."""


class SweepError(UsageError):
    """Bad sweep input: exit code 2, nothing started."""


class CatalogError(ValueError):
    """The catalog file, or a name looked up in it, is wrong."""
