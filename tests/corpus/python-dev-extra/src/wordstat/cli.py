import argparse
import sys

from .stats import stats


def main(argv=None):
    parser = argparse.ArgumentParser(prog="wordstat")
    parser.add_argument("files", nargs="*", type=argparse.FileType("r"), default=[sys.stdin])
    args = parser.parse_args(argv)
    for f in args.files:
        lines, words, longest = stats(f.read())
        print(f"{f.name}\t{lines}\t{words}\t{longest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
