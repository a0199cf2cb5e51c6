"""Prints a directory as a tree."""
__version__ = "0.3.0"
