def total_cents(lines):
    """Sum of quantity * unit price over (quantity, unit_cents) pairs."""
    return sum(quantity * unit for quantity, unit in lines)
