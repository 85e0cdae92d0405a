"""Placeholder until pylayout lands: one statement per line."""


def layout_statement(text: str, depth: int, width: int) -> list[str]:
    return ["    " * depth + text]
