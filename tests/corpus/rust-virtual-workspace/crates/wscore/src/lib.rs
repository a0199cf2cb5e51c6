/// Parses `key=value` pairs, one a line; other lines are skipped.
///
/// ```
/// let pairs = wscore::parse("a=1\nnoise\nb=2");
/// assert_eq!(pairs, vec![("a", "1"), ("b", "2")]);
/// ```
pub fn parse(text: &str) -> Vec<(&str, &str)> {
    text.lines().filter_map(|l| l.split_once('=')).collect()
}
