/// Upper-cases and adds a bang.
///
/// ```
/// assert_eq!(rooted_core::shout("hi"), "HI!");
/// ```
pub fn shout(s: &str) -> String {
    format!("{}!", s.to_uppercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty() {
        assert_eq!(super::shout(""), "!");
    }
}
