import sys

from .tree import render


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else "."
    print(root)
    for line in render(root):
        print(line)
    return 0
