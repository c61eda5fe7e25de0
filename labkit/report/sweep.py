"""``labkit sweep`` (filled in by the sweep issue)."""


def add_parser(sub) -> None:
    return None
