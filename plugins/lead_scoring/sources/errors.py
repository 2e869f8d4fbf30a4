class SourceUnavailable(RuntimeError):
    """A source system is missing, unreachable or empty; the message names it."""
