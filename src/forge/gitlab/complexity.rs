//! What drover's GitLab GraphQL queries cost against GitLab's complexity
//! limit, so that batches are sized to pass rather than refused and split.
//!
//! GitLab refuses a query whose complexity exceeds 250 for a signed-in
//! request (200 anonymous, 300 for an administrator; `app/graphql/
//! gitlab_schema.rb`, and `doc/api/graphql/_index.md` "Maximum query
//! complexity"), answering `Query has complexity of N, which exceeds max
//! complexity of 250` with no data. A field costs 1, 2 when it calls
//! Gitaly, or what it declares (a tree's `lastCommit` declares 10); a
//! field with a resolver costs its children plus 1 (+1 for Gitaly, +1 for
//! a `sort` argument, defaults included), and a resolver connection
//! adds that again times `min(first, 100) × 1 %` (`app/graphql/types/
//! base_field.rb`, `app/graphql/resolvers/base_resolver.rb`, GitLab 13.x
//! with graphql-ruby 1.11). The figures below follow those rules for the
//! exact fields drover's documents select; `tests/forges` checks each one
//! against the emulator's generic count over the parsed document.
//!
//! A limit other than 250 (an instance's own, an administrator's token) is
//! learnt from the first refusal's message: [`Budget::learn`].

use std::sync::atomic::{AtomicU64, Ordering};

/// GitLab's limit for a signed-in request (`AUTHENTICATED_MAX_COMPLEXITY`).
pub const MAX_COMPLEXITY: u64 = 250;

/// GitLab's largest query text (`doc/api/graphql/_index.md`: "10,000
/// characters per query").
pub const MAX_QUERY_CHARS: usize = 10_000;

/// `project(fullPath:)`: a resolver field, 1 plus its children.
const PROJECT: u64 = 1;
/// `repository`: a plain field.
const REPOSITORY: u64 = 1;
/// `tree(ref:, path:)`: a resolver that calls Gitaly, 2 plus its children.
const TREE: u64 = 2;
/// `blobs { nodes { name mode sha } }`: `blobs` calls Gitaly (2), `nodes`
/// 1, three fields.
const BLOBS: u64 = 2 + 1 + 3;
/// `trees { nodes { name } }`: `trees` does not call Gitaly.
const TREES: u64 = 1 + 1 + 1;
/// `submodules { nodes { name } }`: `submodules` calls Gitaly.
const SUBMODULES: u64 = 2 + 1 + 1;
/// One listed directory: `t{j}: tree(...) { ENTRIES }`.
pub const DIRECTORY: u64 = TREE + BLOBS + TREES + SUBMODULES;
/// `branch: tree(ref:) { lastCommit { sha } }`: `lastCommit` declares 10.
pub const BRANCH: u64 = TREE + 10 + 1;
/// `mrs: mergeRequests(sourceBranches:, first: 20) { nodes { iid webUrl
/// state diffHeadSha } }`: (nodes 1 + 4 fields + resolver 1 + the
/// default `sort` 1) × (1 + 20 × 1 %) = 8.4, truncated.
pub const MERGE_REQUESTS: u64 = 8;
/// The fields of a project discovery and lookup read: `id fullPath path
/// webUrl archived visibility description` (7) and `repository { rootRef
/// empty tree { lastCommit { sha } } }`: 1 + 2 + 2 + (2 + 11).
pub const PROJECT_FIELDS: u64 = 7 + REPOSITORY + 2 + 2 + BRANCH;

/// One project's part of a snapshot query: `dirs` listed directories,
/// with drover's branch tip and its merge requests when asked.
pub fn snapshot_part(dirs: usize, branch: bool, merge_requests: bool) -> u64 {
    let repository = if dirs > 0 || branch { REPOSITORY } else { 0 };
    PROJECT
        + repository
        + DIRECTORY * dirs as u64
        + if branch { BRANCH } else { 0 }
        + if merge_requests { MERGE_REQUESTS } else { 0 }
}

/// One project of a lookup: `p{i}: project(fullPath:) { PROJECT_FIELDS }`.
pub const LOOKUP_PART: u64 = PROJECT + PROJECT_FIELDS;

/// A discovery page: `group` (1) and its `projects` connection, a
/// resolver paged 100: (pageInfo 3 + nodes 1 + the project's fields +
/// resolver 1) × 2.
pub const DISCOVERY: u64 = 1 + (3 + 1 + PROJECT_FIELDS + 1) * 2;

/// The limit and how far drover's figures fell short of GitLab's, as this
/// forge has seen them; shared by every batch of a sweep.
#[derive(Debug)]
pub struct Budget {
    limit: AtomicU64,
    /// GitLab's count over drover's, in thousandths (1000 until a refusal
    /// says otherwise).
    scale: AtomicU64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            limit: AtomicU64::new(MAX_COMPLEXITY),
            scale: AtomicU64::new(1000),
        }
    }
}

impl Budget {
    /// How many of `costs` (each project's part, in order) go in the next
    /// batch: as many as fit the limit and the query size, at least one.
    pub fn fit(&self, costs: &[(u64, usize)]) -> usize {
        let limit = self.limit.load(Ordering::Relaxed);
        let scale = self.scale.load(Ordering::Relaxed).max(1000);
        let (mut total, mut chars, mut n) = (0u64, 0usize, 0usize);
        for (cost, len) in costs {
            let cost = cost.saturating_mul(scale).div_ceil(1000);
            if n > 0 && (total + cost > limit || chars + len > MAX_QUERY_CHARS) {
                break;
            }
            total += cost;
            chars += len;
            n += 1;
        }
        n
    }

    /// Learns from a refusal of a query drover counted at `counted`:
    /// GitLab's limit, and how far drover's count fell short. `false`
    /// when `message` is no complexity refusal.
    pub fn learn(&self, message: &str, counted: u64) -> bool {
        let Some((complexity, limit)) = refusal(message) else {
            return false;
        };
        self.limit.store(limit, Ordering::Relaxed);
        if counted > 0 {
            let scale = complexity.saturating_mul(1000).div_ceil(counted);
            self.scale.fetch_max(scale, Ordering::Relaxed);
        }
        true
    }
}

/// `(N, M)` from GitLab's "Query has complexity of N, which exceeds max
/// complexity of M".
pub fn refusal(message: &str) -> Option<(u64, u64)> {
    let number = |s: &str| -> Option<u64> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let (_, rest) = message.split_once("Query has complexity of ")?;
    let complexity = number(rest)?;
    let (_, rest) = rest.split_once("which exceeds max complexity of ")?;
    Some((complexity, number(rest)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fill_the_limit_and_the_query_size() {
        let budget = Budget::default();
        // 120 a project: two fit in 250.
        assert_eq!(budget.fit(&[(120, 1000); 5]), 2);
        // One project over the limit still goes alone (GitLab will say).
        assert_eq!(budget.fit(&[(300, 1000); 2]), 1);
        // Cheap but long: the query size bounds it.
        assert_eq!(budget.fit(&[(10, 3000); 5]), 3);
        assert_eq!(budget.fit(&[]), 0);
    }

    #[test]
    fn a_refusal_teaches_the_limit_and_the_shortfall() {
        let budget = Budget::default();
        let message = "POST /api/graphql: GitLab GraphQL: Query has complexity of 300, which exceeds max complexity of 200";
        assert_eq!(refusal(message), Some((300, 200)));
        assert!(budget.learn(message, 240));
        // Limit 200, GitLab counts 1.25 × drover: 100 → 125, one a batch.
        assert_eq!(budget.fit(&[(100, 10); 4]), 1);
        assert_eq!(budget.fit(&[(80, 10); 4]), 2);
        assert!(!budget.learn("GitLab GraphQL: something else", 10));
    }

    #[test]
    fn the_figures_follow_gitlabs_rules() {
        assert_eq!(DIRECTORY, 15);
        assert_eq!(BRANCH, 13);
        assert_eq!(snapshot_part(7, true, false), 2 + 105 + 13);
        assert_eq!(LOOKUP_PART, 26);
        assert_eq!(DISCOVERY, 61);
    }
}
