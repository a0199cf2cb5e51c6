def stats(text):
    """Returns (lines, words, longest word) of `text`."""
    words = text.split()
    longest = max(words, key=len) if words else ""
    return len(text.splitlines()), len(words), longest
