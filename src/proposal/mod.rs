//! A proposal: what drover asks a forge to propose ([`Proposal`]), its
//! words (title, body and commit message, from a repository's drift), and
//! the decision every forge makes from what its snapshot saw
//! ([`decide`]: hands-off, unchanged, declined, or write). Pure: the words
//! are snapshot-tested (they are what reviewers read), the decision
//! table-tested. The body carries a hidden marker by which drover finds
//! its own proposals again, with the fingerprint of the content it
//! proposes.

mod accounts;
mod decide;

use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::config::Author;
use crate::drift::{patch_of, FileDrift};
use crate::model::{BranchTip, ExistingProposal, FileChange, ForgeNote, Missing};

pub use accounts::Accounts;
pub use decide::{decide, Decision, Seen, Theirs};

/// Diffs longer than this many lines are folded in the body.
const FOLD_LINES: usize = 40;
/// Forges cap bodies (GitHub: 65,536 characters); stay well below.
const MAX_DIFF_CHARS: usize = 50_000;

/// What drover asks a forge to propose for one repository.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub branch: String,
    pub title: String,
    pub body: String,
    pub commit_message: String,
    /// The default-branch head the changes were computed against.
    pub base: Option<String>,
    /// Its root tree, when the snapshot knew it.
    pub base_tree: Option<String>,
    pub changes: Vec<FileChange>,
    /// The same changes as a patch (`git apply` form), for forges that
    /// propose by patch file or mail.
    pub patch: String,
    pub author: Author,
    /// Other addresses drover's own commits carry: fleet.yaml's
    /// `defaults.author` when the forge's credentials commit as someone
    /// else now (a GitHub App's bot). A branch tip by one of them is still
    /// drover's, not someone else's work.
    pub also_ours: Vec<String>,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    /// The fingerprint of `changes` (also in the body's marker and the
    /// commit's `Drover-Fingerprint:` trailer).
    pub fingerprint: String,
    pub default_branch: String,
    /// drover's branch as the snapshot saw it.
    pub branch_tip: Option<BranchTip>,
    /// Proposals from drover's branch as the snapshot saw them, newest first.
    pub existing: Vec<ExistingProposal>,
    /// The forge's own note on the snapshot the changes were computed from.
    pub note: ForgeNote,
    /// What the forge left out of the open proposal last time (reviewers,
    /// labels): asked for again, and only that.
    pub retry: Missing,
    /// The digest ([`Proposal::words_digest`]) of the title and body drover
    /// last sent for the open proposal: equal words are not sent again.
    pub words_sent: Option<String>,
    /// The sweep's memo of reviewers' accounts.
    pub accounts: Accounts,
}

impl Proposal {
    /// The digest of the title and body, as the store records what was sent.
    pub fn words_digest(&self) -> String {
        words_digest(&self.title, &self.body)
    }

    /// Whether the open proposal's title and body must be written: they
    /// differ from what drover last sent, or nobody knows what that was.
    pub fn words_changed(&self) -> bool {
        self.words_sent.as_deref() != Some(self.words_digest().as_str())
    }
}

/// The digest of a title and a body.
pub fn words_digest(title: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(title.as_bytes());
    hasher.update([0]);
    hasher.update(body.as_bytes());
    hex::encode(hasher.finalize())
}

/// What a proposal says, for one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalText {
    pub title: String,
    pub body: String,
    pub commit_message: String,
    /// Digest of the proposed content: equal drift, equal fingerprint.
    pub fingerprint: String,
}

/// The facts a proposal's words are made of.
pub struct ProposalFacts<'a> {
    /// The repository's name as fleet.yaml's overrides key it.
    pub repo_name: &'a str,
    pub full_name: &'a str,
    pub language: &'a str,
    /// Template revision: the policy fingerprint.
    pub template_revision: &'a str,
    /// Where the policies and templates come from, in words a person can
    /// look up (`Config::revision`).
    pub templates_origin: &'a str,
    /// fleet.yaml's `docs_url` and `config_url`, linked when set.
    pub docs_url: Option<&'a str>,
    pub config_url: Option<&'a str>,
    /// Whether the repository may opt out in its own `.drover.yaml`.
    pub repository_skips: bool,
    pub drifts: &'a [FileDrift],
}

/// The fingerprint of a set of changes.
pub fn fingerprint(drifts: &[FileDrift]) -> String {
    let mut hasher = Sha256::new();
    for d in drifts {
        hasher.update(d.path.as_str());
        hasher.update([0]);
        match &d.after {
            Some(bytes) => {
                hasher.update([1]);
                hasher.update(bytes);
            }
            None => hasher.update([2]),
        }
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

pub fn compose(facts: &ProposalFacts<'_>) -> ProposalText {
    let fingerprint = fingerprint(facts.drifts);
    let n = facts.drifts.len();
    let title = match facts.drifts {
        [one] => format!("drover: {} {}", verb(one), one.path),
        _ => format!(
            "drover: bring {n} managed files in line with the {} templates",
            facts.language
        ),
    };
    let revision = &facts.template_revision[..facts.template_revision.len().min(12)];

    let mut body = String::new();
    let _ = writeln!(
        body,
        "<!-- drover:proposal repo={} fingerprint={fingerprint} -->",
        facts.full_name
    );
    let _ = writeln!(
        body,
        "`{}` differs from what drover's **{}** templates render for it in {n} managed file{}.\n",
        facts.full_name,
        facts.language,
        if n == 1 { "" } else { "s" }
    );
    let taken: Vec<String> = facts
        .drifts
        .iter()
        .filter_map(|d| {
            let lines = d.takeover?;
            Some(format!(
                "`{}` ({lines} line{} written by hand, {} below)",
                d.path,
                if lines == 1 { "" } else { "s" },
                if d.after.is_some() {
                    "replaced: the removed lines are in the diff"
                } else {
                    "deleted: its lines are in the diff"
                }
            ))
        })
        .collect();
    if !taken.is_empty() {
        let _ = writeln!(
            body,
            "> **This replaces files that were written by hand**, not by drover: {}. Check that nothing they did is lost.\n",
            taken.join("; ")
        );
    }
    body.push_str("| File | Change | Mode | Why |\n|---|---|---|---|\n");
    for d in facts.drifts {
        let _ = writeln!(
            body,
            "| `{}` | {} | {} | {} |",
            d.path,
            verb(d),
            d.mode.as_str(),
            d.why.replace('|', "\\|")
        );
    }
    let _ = writeln!(
        body,
        "\nRendered from {} (policy `{}@{revision}`).\n",
        facts.templates_origin, facts.language
    );

    let patch = patch_of(facts.drifts);
    let lines = patch.lines().count();
    let shown = if patch.len() > MAX_DIFF_CHARS {
        let mut cut = MAX_DIFF_CHARS;
        while !patch.is_char_boundary(cut) {
            cut -= 1;
        }
        format!(
            "{}\n… (diff truncated; {lines} lines in all)\n",
            &patch[..cut]
        )
    } else {
        patch.clone()
    };
    let fence = if shown.contains("```") { "````" } else { "```" };
    if lines > FOLD_LINES {
        let _ = writeln!(body, "<details><summary>Diff ({lines} lines)</summary>\n\n{fence}diff\n{shown}{fence}\n\n</details>\n");
    } else {
        let _ = writeln!(body, "{fence}diff\n{shown}{fence}\n");
    }

    opting_out(&mut body, facts);

    let mut commit_message = format!("{title}\n\n");
    for d in facts.drifts {
        let _ = writeln!(
            commit_message,
            "- {} {} ({}): {}",
            verb(d),
            d.path,
            d.mode.as_str(),
            d.why
        );
    }
    let _ = write!(
        commit_message,
        "\nTemplate revision: {}@{revision} from {}\nDrover-Fingerprint: {fingerprint}\n",
        facts.language,
        facts.templates_origin.replace('`', "")
    );
    ProposalText {
        title,
        body,
        commit_message,
        fingerprint,
    }
}

/// How to keep a file as it is: in the repository's own `.drover.yaml`
/// when the fleet allows it (service teams can edit that), else by asking
/// for a skip in fleet.yaml, linked when the fleet says where it lives.
fn opting_out(body: &mut String, facts: &ProposalFacts<'_>) {
    body.push_str("### Opting out\n\n");
    let example = facts
        .drifts
        .first()
        .map(|d| d.path.as_str())
        .unwrap_or("PATH");
    let fleet_yaml = match facts.config_url {
        Some(url) => format!("[fleet.yaml]({url})"),
        None => "fleet.yaml".to_owned(),
    };
    if facts.repository_skips {
        let _ = writeln!(
            body,
            "To keep this repository's own version of a file, list it in a `{}` file at the \
             repository's root (drover reads it on its next sweep and leaves that file alone here):\n\n\
             ```yaml\nskip:\n  - path: {example}\n    reason: <why this repository differs>\n```\n",
            crate::config::repo_file::PATH
        );
        let _ = writeln!(
            body,
            "The fleet's owners can do the same for you in {fleet_yaml}, under \
             `repositories.overrides.{}.skip`.\n",
            yaml_key(facts.repo_name)
        );
    } else {
        let _ = writeln!(
            body,
            "To keep this repository's own version of a file, ask the fleet's owners to add a skip \
             to {fleet_yaml} (drover then leaves that file alone here):\n\n```yaml\nrepositories:\n  \
             overrides:\n    {}:\n      skip:\n        - path: {example}\n          reason: <why this repository differs>\n```\n",
            yaml_key(facts.repo_name)
        );
    }
    body.push_str(
        "To leave the whole repository alone, the fleet's owners set `ignore: <reason>` in its override. \
         Closing this proposal without merging also works: drover remembers and does not \
         propose the same change again. If you push commits to this branch, drover stops touching it.\n",
    );
    if let Some(url) = facts.docs_url {
        let _ = writeln!(body, "\nMore about drover here: {url}");
    }
}

fn verb(d: &FileDrift) -> &'static str {
    match d.change {
        crate::drift::Change::Create => "create",
        crate::drift::Change::Update => "update",
        crate::drift::Change::Delete => "delete",
    }
}

/// A repository name as a YAML mapping key (quoted when YAML would
/// misread it).
fn yaml_key(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !name.starts_with(['-', '.'])
    {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{git_diff, Change};
    use crate::model::{Mode, RepoPath};

    fn drift(path: &str, change: Change, before: Option<&str>, after: Option<&str>) -> FileDrift {
        let path = RepoPath::new(path).unwrap();
        FileDrift {
            diff: git_diff(&path, before.map(str::as_bytes), after.map(str::as_bytes)),
            path,
            mode: if after.is_none() {
                Mode::Absent
            } else {
                Mode::Whole
            },
            change,
            why: "keeps CI | in one place".into(),
            takeover: None,
            template: None,
            after: after.map(|a| a.as_bytes().to_vec()),
        }
    }

    fn sample<'a>(
        repo_name: &'a str,
        full_name: &'a str,
        language: &'a str,
        template_revision: &'a str,
        drifts: &'a [FileDrift],
    ) -> ProposalFacts<'a> {
        ProposalFacts {
            repo_name,
            full_name,
            language,
            template_revision,
            templates_origin: "`v1.2.0` of the fleet's configuration repository",
            docs_url: None,
            config_url: None,
            repository_skips: true,
            drifts,
        }
    }

    #[test]
    fn without_repository_skips_the_body_says_whom_to_ask_and_links_the_fleet() {
        let drifts = [drift(
            "Dockerfile",
            Change::Create,
            None,
            Some("FROM scratch\n"),
        )];
        let mut facts = sample("api", "acme/api", "rust", "ff", &drifts);
        facts.repository_skips = false;
        facts.config_url = Some("https://git.example.com/platform/fleet/-/blob/main/fleet.yaml");
        facts.docs_url = Some("https://wiki.example.com/drover");
        let body = compose(&facts).body;
        assert!(!body.contains(".drover.yaml"), "{body}");
        assert!(
            body.contains("ask the fleet's owners to add a skip to [fleet.yaml](https://git.example.com/platform/fleet/-/blob/main/fleet.yaml)"),
            "{body}"
        );
        assert!(body.contains("        - path: Dockerfile\n"), "{body}");
        assert!(
            body.trim_end()
                .ends_with("More about drover here: https://wiki.example.com/drover"),
            "{body}"
        );
        // The same changes, the same fingerprint, whatever the words.
        facts.repository_skips = true;
        assert_eq!(compose(&facts).fingerprint, fingerprint(&drifts));
    }

    #[test]
    fn a_proposal_explains_itself() {
        let drifts = [
            drift("Dockerfile", Change::Create, None, Some("FROM scratch\n")),
            drift(
                ".gitlab-ci.yml",
                Change::Delete,
                Some("stages: [test]\n"),
                None,
            ),
        ];
        let text = compose(&sample(
            "billing-api",
            "acme/billing-api",
            "rust",
            "0123456789abcdef0123",
            &drifts,
        ));
        let fp = text.fingerprint.clone();
        let redact = |s: &str| s.replace(&fp, "[fingerprint]");
        insta::assert_snapshot!("title", text.title);
        insta::assert_snapshot!("body", redact(&text.body));
        insta::assert_snapshot!("commit_message", redact(&text.commit_message));
    }

    #[test]
    fn long_diffs_are_folded_and_fingerprints_follow_content() {
        let long: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let drifts = [drift("big.txt", Change::Create, None, Some(&long))];
        let mut facts = sample("a b", "acme/a b", "go", "ff", &drifts);
        facts.repository_skips = false;
        let text = compose(&facts);
        assert!(
            text.body
                .contains("<details><summary>Diff (105 lines)</summary>"),
            "{}",
            text.body
        );
        assert!(
            text.body.contains("    \"a b\":\n"),
            "quoted YAML key: {}",
            text.body
        );
        assert_eq!(text.title, "drover: create big.txt");
        let other = [drift("big.txt", Change::Create, None, Some("x\n"))];
        assert_ne!(fingerprint(&drifts), fingerprint(&other));
        assert_eq!(fingerprint(&drifts), compose(&facts).fingerprint);
    }

    #[test]
    fn a_replaced_hand_written_file_is_said_first() {
        let mut d = drift(
            "Dockerfile",
            Change::Update,
            Some("FROM x\nRUN y\n"),
            Some("FROM z\n"),
        );
        d.takeover = Some(2);
        let text = compose(&sample("api", "acme/api", "rust", "0123456789abcdef", &[d]));
        let first = text.body.lines().nth(1).unwrap_or_default();
        assert!(
            text.body
                .contains("**This replaces files that were written by hand**")
                && text
                    .body
                    .contains("`Dockerfile` (2 lines written by hand, replaced"),
            "{}",
            text.body
        );
        assert!(
            text.body.find("written by hand").unwrap() < text.body.find("| File |").unwrap(),
            "said before the table: {first}"
        );
    }
}
