"""Text from input files, made safe to print on a terminal."""


def printable(text: str) -> str:
    """The text with control characters as escapes (\\x1b, \\n), never the terminal's control codes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
