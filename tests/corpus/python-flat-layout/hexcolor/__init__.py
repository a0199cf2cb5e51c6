"""Converts between hex colour strings and RGB tuples."""


def to_rgb(hex_string):
    """'#ff8000' -> (255, 128, 0)."""
    h = hex_string.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))


def to_hex(rgb):
    """(255, 128, 0) -> '#ff8000'."""
    return "#" + "".join(f"{c:02x}" for c in rgb)
