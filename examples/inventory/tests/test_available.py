from inventory import available


def test_missing_items_are_zero():
    assert available({}, "bolt") == 0
