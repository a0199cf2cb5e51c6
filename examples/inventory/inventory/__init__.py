"""Stock levels of the warehouse."""


def available(stock: dict[str, int], item: str) -> int:
    return max(stock.get(item, 0), 0)
