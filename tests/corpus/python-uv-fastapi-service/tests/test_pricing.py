from orders_api.pricing import total_cents


def test_total():
    assert total_cents([(2, 150), (1, 99)]) == 399
