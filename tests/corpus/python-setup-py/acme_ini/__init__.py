"""Checks INI files against a list of required keys."""
import configparser

__all__ = ["missing_keys"]


def missing_keys(text, required):
    """Returns the "section.key" names in `required` that `text` lacks."""
    parser = configparser.ConfigParser()
    parser.read_string(text)
    missing = []
    for name in required:
        section, _, key = name.partition(".")
        if not parser.has_option(section, key):
            missing.append(name)
    return missing
