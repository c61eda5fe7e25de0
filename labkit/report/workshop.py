"""``labkit workshop`` (filled in by the workshop issue)."""


def add_parser(sub) -> None:
    return None
