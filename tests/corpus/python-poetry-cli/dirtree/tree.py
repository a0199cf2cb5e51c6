import os


def render(root, prefix=""):
    """Lines of a tree drawing of the directory `root`, sorted by name."""
    lines = []
    names = sorted(n for n in os.listdir(root) if not n.startswith("."))
    for i, name in enumerate(names):
        last = i == len(names) - 1
        lines.append(f"{prefix}{'└── ' if last else '├── '}{name}")
        path = os.path.join(root, name)
        if os.path.isdir(path):
            lines.extend(render(path, prefix + ("    " if last else "│   ")))
    return lines
