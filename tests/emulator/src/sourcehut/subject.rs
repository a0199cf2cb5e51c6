//! Patch subject parsing, as lists.sr.ht does it.
//!
//! lists.sr.ht matches the unfolded, decoded Subject against
//!
//! ```text
//! patch_subject = .*\[(?:RFC )?PATCH( (?P<prefix>[^\]]+))?\] (?P<subject>.*)
//! patch_version = (v(?P<version>[0-9]+))?( ?(?P<index>[0-9]+)/(?P<count>[0-9]+))?$
//! ```
//!
//! (`re.match` for the first, `re.search` on the prefix for the second;
//! the version part is then cut from the prefix and the rest stripped).
//! So `[PATCH repo v2 1/3] title` gives prefix `repo`, version 2, index 1,
//! count 3; `[PATCH v2] t` gives prefix `""`; `[PATCH] t` no prefix and
//! 1/1 v1; `[RFC PATCH repo] t` prefix `repo`; the last bracket that
//! matches wins (`Re: [PATCH] t` matches too, but only mails carrying a
//! diff count as patches). `PATCH` is case-sensitive, and a space must
//! follow the `]`. The parsing is hand-written to keep the crate free of a
//! regex engine; it follows the regexes' backtracking exactly.

/// What lists.sr.ht stores for a patch mail (GraphQL `Patch`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchSubject {
    /// `None` for `[PATCH] …`; `Some("")` for `[PATCH v2] …`.
    pub prefix: Option<String>,
    pub version: u32,
    /// 0 for a cover letter; 1 when the subject has no `N/M`.
    pub index: u32,
    pub count: u32,
    /// The text after `] `.
    pub subject: String,
}

impl PatchSubject {
    /// Whether this is a cover letter (`0/N`).
    pub fn is_cover(&self) -> bool {
        self.index == 0
    }
}

/// Parses a subject; `None` if it is not a patch subject.
pub fn parse(subject: &str) -> Option<PatchSubject> {
    let (prefix, title) = match_subject(subject)?;
    let mut out = PatchSubject {
        prefix: prefix.map(str::to_string),
        version: 1,
        index: 1,
        count: 1,
        subject: title.to_string(),
    };
    if let Some(prefix) = prefix {
        let (at, version, series) = search_version(prefix);
        out.version = version.unwrap_or(1);
        if let Some((index, count)) = series {
            out.index = index;
            out.count = count;
        }
        out.prefix = Some(prefix[..at].trim().to_string());
    }
    Some(out)
}

/// `patch_subject`: the prefix group (if any) and the subject group.
fn match_subject(s: &str) -> Option<(Option<&str>, &str)> {
    // The greedy `.*` makes the last workable `[` win.
    for (i, _) in s.match_indices('[').collect::<Vec<_>>().into_iter().rev() {
        let rest = &s[i + 1..];
        let candidates = [rest.strip_prefix("RFC "), Some(rest)];
        for rest in candidates.into_iter().flatten() {
            let Some(after) = rest.strip_prefix("PATCH") else {
                continue;
            };
            // `( (?P<prefix>[^\]]+))?` is tried before skipping it.
            if let Some(p) = after.strip_prefix(' ') {
                let end = p.find(']').unwrap_or(p.len());
                // `[^\]]+` is greedy and must end right before `] `.
                if end > 0 {
                    if let Some(title) = p[end..].strip_prefix("] ") {
                        return Some((Some(&p[..end]), title));
                    }
                }
            }
            if let Some(title) = after.strip_prefix("] ") {
                return Some((None, title));
            }
        }
    }
    None
}

type Series = Option<(u32, u32)>;

/// `patch_version.search(prefix)`: where the match starts, the version and
/// the `index/count`, for the earliest start that matches to the end.
fn search_version(prefix: &str) -> (usize, Option<u32>, Series) {
    for (at, _) in prefix.char_indices() {
        if let Some((version, series)) = match_version(&prefix[at..]) {
            return (at, version, series);
        }
    }
    (prefix.len(), None, None)
}

/// `(v[0-9]+)?( ?[0-9]+/[0-9]+)?$` matched at the start of `s`.
fn match_version(s: &str) -> Option<(Option<u32>, Series)> {
    if let Some(after_v) = s.strip_prefix('v') {
        let digits = leading_digits(after_v);
        // Greedy digits, backtracking to fewer if the rest fails.
        for k in (1..=digits).rev() {
            if let Some(series) = match_series(&after_v[k..]) {
                return Some((after_v[..k].parse().ok(), series));
            }
        }
    }
    match_series(s).map(|series| (None, series))
}

/// `( ?[0-9]+/[0-9]+)?$`.
fn match_series(s: &str) -> Option<Series> {
    if s.is_empty() {
        return Some(None);
    }
    let s = s.strip_prefix(' ').unwrap_or(s);
    let (index, rest) = s.split_at(leading_digits(s));
    let count = rest.strip_prefix('/')?;
    if index.is_empty() || count.is_empty() || leading_digits(count) != count.len() {
        return None;
    }
    Some(Some((index.parse().ok()?, count.parse().ok()?)))
}

fn leading_digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (Option<&'static str>, u32, u32, u32, String) {
        let r = parse(s).unwrap_or_else(|| panic!("{s:?} should parse"));
        let prefix: Option<&'static str> = r.prefix.map(|p| &*Box::leak(p.into_boxed_str()));
        (prefix, r.version, r.index, r.count, r.subject)
    }

    #[test]
    fn subjects_parse_like_lists_sr_ht() {
        let t = |s: &str| s.to_string();
        assert_eq!(
            p("[PATCH myproject v2 3/4] Add foo to bar"),
            (Some("myproject"), 2, 3, 4, t("Add foo to bar"))
        );
        assert_eq!(p("[PATCH v2] title"), (Some(""), 2, 1, 1, t("title")));
        assert_eq!(p("[PATCH repo] title"), (Some("repo"), 1, 1, 1, t("title")));
        assert_eq!(p("[PATCH] title"), (None, 1, 1, 1, t("title")));
        assert_eq!(p("[PATCH 0/3] cover"), (Some(""), 1, 0, 3, t("cover")));
        assert_eq!(p("[PATCH repo 2/3] t"), (Some("repo"), 1, 2, 3, t("t")));
        assert_eq!(
            p("[RFC PATCH repo v3 1/2] t"),
            (Some("repo"), 3, 1, 2, t("t"))
        );
        assert_eq!(p("Re: [PATCH repo] t"), (Some("repo"), 1, 1, 1, t("t")));
        assert_eq!(
            p("[PATCH drover/sync v12 10/11] x"),
            (Some("drover/sync"), 12, 10, 11, t("x"))
        );
        // Backtracking on the version digits: v21/3 is v2 + 1/3.
        assert_eq!(p("[PATCH v21/3] x"), (Some(""), 2, 1, 3, t("x")));
        assert_eq!(p("[PATCH dev2] x"), (Some("de"), 2, 1, 1, t("x")));
        assert!(parse("[patch] lower case").is_none());
        assert!(parse("[PATCH]no space").is_none());
        assert!(parse("Just a mail").is_none());
        assert!(parse("[PATCHv2] glued").is_none());
    }
}
