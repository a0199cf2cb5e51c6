//! "Did you mean …?": the known name closest to a mistyped one, for
//! unknown keys in drover's files and unknown template variables.

/// The candidate closest to `word`, when one is close enough to be what
/// was meant (a typo or two, a swapped pair): Damerau–Levenshtein
/// distance at most a third of the word's length (at least 1).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn typos_find_their_name_and_strangers_find_none() {
        let keys = ["branch", "labels", "reviewers", "variables", "author"];
        assert_eq!(closest("brach", keys), Some("branch"));
        assert_eq!(closest("reveiwers", keys), Some("reviewers"));
        assert_eq!(closest("lables", keys), Some("labels"));
        assert_eq!(closest("schedule", keys), None);
        assert_eq!(closest("x", ["y", "xy"]), Some("xy"));
    }
}
