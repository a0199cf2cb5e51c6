//! fleet.yaml edited as text when a migration is through: the `forge:`
//! block is replaced by the `migrate_to:` block (renamed), which goes, and
//! every other line — comments, blank lines, key order — stays as written.

/// A top-level block: from its key's line up to the next top-level key,
/// without the comments and blank lines just before that key (they belong
/// to it).
fn block(lines: &[&str], key: &str) -> Option<(usize, usize)> {
    let start = lines.iter().position(|l| {
        l.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '#']))
    })?;
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let top = line.starts_with(|c: char| !c.is_whitespace() && c != '#');
        if top {
            end = i;
            break;
        }
    }
    while end > start + 1 {
        let prev = lines[end - 1];
        let attached = prev.trim().is_empty() || prev.starts_with('#');
        if !attached {
            break;
        }
        end -= 1;
    }
    Some((start, end))
}

/// The text with `forge:` pointing where `migrate_to:` pointed and no
/// `migrate_to:`; `note` becomes a comment above the new `forge:`.
pub fn retarget(text: &str, note: &str) -> Result<String, String> {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = text.lines().collect();
    let (fs, fe) = block(&lines, "forge").ok_or("fleet.yaml has no top-level `forge:`")?;
    let (ms, me) =
        block(&lines, "migrate_to").ok_or("fleet.yaml has no top-level `migrate_to:`")?;
    let mut target: Vec<String> = lines[ms..me].iter().map(|l| l.to_string()).collect();
    target[0] = target[0].replacen("migrate_to", "forge", 1);
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if i == fs {
            out.push(format!("# {note}"));
            out.extend(target.iter().cloned());
            i = fe;
        } else if i == ms {
            i = me;
            // The blank line that separated the removed block goes too.
            while i < lines.len()
                && lines[i].trim().is_empty()
                && out.last().is_some_and(|l| l.trim().is_empty())
            {
                i += 1;
            }
        } else {
            out.push(lines[i].to_string());
            i += 1;
        }
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    let mut result = out.join(eol);
    if text.ends_with('\n') {
        result.push_str(eol);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: &str = "\
# Our fleet.
forge:
  kind: gitlab   # the old home
  url: https://gitlab.example.com
  owner: acme
  token: env:GITLAB_TOKEN

# Where we are going.
migrate_to:
  kind: github
  # the org was renamed last year
  owner: acme-corp
  token: env:GITHUB_TOKEN

defaults:
  labels: [drover]   # keep
";

    #[test]
    fn the_forge_block_is_replaced_and_everything_else_stays() {
        let out = retarget(FLEET, "moved from gitlab by drover migrate").unwrap();
        assert_eq!(
            out,
            "\
# Our fleet.
# moved from gitlab by drover migrate
forge:
  kind: github
  # the org was renamed last year
  owner: acme-corp
  token: env:GITHUB_TOKEN

# Where we are going.

defaults:
  labels: [drover]   # keep
"
        );
        let parsed: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(parsed["forge"]["kind"], "github");
        assert!(parsed.get("migrate_to").is_none());
    }

    #[test]
    fn the_target_block_may_come_first_or_last() {
        let text = "migrate_to:\n  kind: sourcehut\n  owner: acme\n  token: env:T\nforge:\n  kind: gitlab\n  owner: acme\n  token: env:G\n";
        let out = retarget(text, "n").unwrap();
        assert_eq!(
            out,
            "# n\nforge:\n  kind: sourcehut\n  owner: acme\n  token: env:T\n"
        );
        assert!(retarget("forge:\n  kind: github\n", "n").is_err());
    }

    #[test]
    fn crlf_files_stay_crlf_and_a_last_block_leaves_no_blank_tail() {
        let text = "forge:\r\n  kind: gitlab\r\n\r\nmigrate_to:\r\n  kind: github\r\n";
        assert_eq!(
            retarget(text, "n").unwrap(),
            "# n\r\nforge:\r\n  kind: github\r\n"
        );
    }
}
