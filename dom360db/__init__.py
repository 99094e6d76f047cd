"""dom360db: the PostgreSQL schema of DOM360 and the thin toolkit that applies and operates it."""

__version__ = "0.1.0"
