"""Errors the ``labkit`` command answers with one sentence and exit code 2."""


class UsageError(ValueError):
    """Bad command-line input: exit code 2, nothing started or written."""
