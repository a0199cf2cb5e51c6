/// Total of an order in cents.
///
/// ```
/// assert_eq!(orders_domain::total(&[(2, 150), (1, 99)]), 399);
/// ```
pub fn total(lines: &[(u32, u64)]) -> u64 {
    lines
        .iter()
        .map(|(qty, cents)| u64::from(*qty) * cents)
        .sum()
}
