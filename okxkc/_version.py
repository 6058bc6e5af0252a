"""The one place the okxkc version is written."""

__version__ = "0.1.0"
