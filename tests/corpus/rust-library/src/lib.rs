//! Turn titles into URL slugs.

/// Lower-cases `title` and joins its words with `-`.
///
/// ```
/// assert_eq!(rust_library::slug("Hello, Fleet!"), "hello-fleet");
/// ```
pub fn slug(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty() {
        assert_eq!(super::slug("  "), "");
    }
}
