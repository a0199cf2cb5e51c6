/// Sums the numbers found in `text`, ignoring everything else.
///
/// ```
/// assert_eq!(custom_paths::sum("1 apple, 2 pears"), 3);
/// ```
pub fn sum(text: &str) -> i64 {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse::<i64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn none() {
        assert_eq!(super::sum("none"), 0);
    }
}
