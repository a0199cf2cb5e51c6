//! Git-style unified diffs of single files and whole patches, in the form
//! `git apply` accepts (`diff --git` headers, `/dev/null` for creations and
//! deletions, "\ No newline at end of file" markers).

use similar::TextDiff;

use super::FileDrift;
use crate::model::RepoPath;

/// The diff of one file from `before` to `after` (`None` = absent).
pub fn git_diff(path: &RepoPath, before: Option<&[u8]>, after: Option<&[u8]>) -> String {
    let mut out = format!("diff --git a/{path} b/{path}\n");
    match (before, after) {
        (None, _) => out.push_str("new file mode 100644\n"),
        (_, None) => out.push_str("deleted file mode 100644\n"),
        _ => {}
    }
    let (old, new) = (before.unwrap_or_default(), after.unwrap_or_default());
    let (Ok(old_text), Ok(new_text)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        out.push_str(&format!("Binary files a/{path} and b/{path} differ\n"));
        return out;
    };
    let from = if before.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".into()
    };
    let to = if after.is_some() {
        format!("b/{path}")
    } else {
        "/dev/null".into()
    };
    let diff = TextDiff::from_lines(old_text, new_text);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header(&from, &to)
        .to_string();
    if body.is_empty() {
        // An empty file created or deleted: headers alone say it.
        return out;
    }
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// All of a repository's drift as one patch.
pub fn patch_of(drifts: &[FileDrift]) -> String {
    drifts.iter().map(|d| d.diff.as_str()).collect()
}
