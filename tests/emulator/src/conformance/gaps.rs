//! Where the shared descriptions fall short, in one place: the **known-gaps
//! table** ([`KNOWN_GAPS`]), request bodies the description cannot check
//! ([`BODY_OVERRIDES`]), corrections of plain errors in the upstream files
//! ([`PARAM_ERRATA`]), and what is out of REST scope ([`out_of_scope`]).
//!
//! An exchange on a known gap is not a violation: it is counted (see
//! `conformance::gap_hits`) and nothing about it is checked. Every other
//! exchange that matches no operation is a violation. Add a row here only
//! for an operation drover or the emulator really needs and that the shared
//! subset lacks (see `../shared/forge-specs/SOURCES.md`), never to silence a
//! shape the description does cover.

use serde::Serialize;

use crate::server::Site;

/// GitHub's description, relative to the forge-specs directory.
pub const GITHUB_SPEC: &str = "github/rest-api.subset.json";
/// GitLab's description, relative to the forge-specs directory.
pub const GITLAB_SPEC: &str = "gitlab/openapi_v2.subset.yaml";
/// The documented JSON body of GitLab's commit-create.
pub const GITLAB_COMMIT_DOCS: &str = "gitlab/commit-create.from-docs.json";

/// A REST API with a description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    Github,
    Gitlab,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Github => "github",
            Api::Gitlab => "gitlab",
        }
    }
}

/// An operation drover or the emulator uses that the shared subset lacks.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct KnownGap {
    pub api: Api,
    pub method: &'static str,
    /// Matched like a description's templates (GitLab paths include `/api/v4`).
    pub template: &'static str,
    pub why: &'static str,
}

impl KnownGap {
    /// `GET /api/v4/projects`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

/// The known-gaps table.
pub const KNOWN_GAPS: &[KnownGap] = &[
    KnownGap {
        api: Api::Github,
        method: "GET",
        template: "/repos/{owner}/{repo}/git/refs",
        why: "listing refs: absent from shared subset, see SOURCES.md (the description lists \
              refs only through GET .../git/matching-refs/{ref})",
    },
    KnownGap {
        api: Api::Github,
        method: "GET",
        template: "/repos/{owner}/{repo}/git/refs/",
        why: "listing refs with a trailing slash, as octokit's git-refs fixture records it \
              (200): absent from shared subset, see SOURCES.md",
    },
    KnownGap {
        api: Api::Github,
        method: "GET",
        template: "/organizations/{org_id}/repos",
        why: "the Link-header target GitHub gives for later pages of GET /orgs/{org}/repos \
              (like /repositories/{id}/issues in octokit's paginate-issues fixture): \
              not a documented operation, absent from shared subset, see SOURCES.md",
    },
    KnownGap {
        api: Api::Github,
        method: "GET",
        template: "/users/{username}/installation",
        why: "a user account's installation of the authenticated app (GitHub's \"Get a user \
              installation for the authenticated app\"; drover's `installation: auto` when \
              forge.owner is a user): absent from shared subset, which has the organisation's \
              and the repository's only, see SOURCES.md",
    },
    KnownGap {
        api: Api::Gitlab,
        method: "GET",
        template: "/api/v4/projects",
        why: "listing projects: absent from shared subset (only POST /projects was copied), \
              see SOURCES.md",
    },
    KnownGap {
        api: Api::Gitlab,
        method: "GET",
        template: "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes",
        why:
            "MR notes: absent from shared subset (not located in the regions read), see SOURCES.md",
    },
    KnownGap {
        api: Api::Gitlab,
        method: "POST",
        template: "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes",
        why:
            "MR notes: absent from shared subset (not located in the regions read), see SOURCES.md",
    },
    KnownGap {
        api: Api::Gitlab,
        method: "PUT",
        template: "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}",
        why:
            "MR notes: absent from shared subset (not located in the regions read), see SOURCES.md",
    },
    KnownGap {
        api: Api::Gitlab,
        method: "GET",
        template: "/api/v4/users",
        why: "listing users (`?username=`): not in openapi_v2.yaml (SOURCES.md), documented in \
              gitlab/docs/api/users.sections.md",
    },
];

/// How to check a request body the description gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyRule {
    /// The JSON schema built from `gitlab/commit-create.from-docs.json`.
    CommitCreateDocs,
    /// Not checked.
    Unchecked,
}

/// A request body replaced at load time.
#[derive(Debug)]
pub struct BodyOverride {
    pub api: Api,
    pub method: &'static str,
    pub template: &'static str,
    pub rule: BodyRule,
    pub why: &'static str,
}

/// Request bodies the description cannot check as JSON.
pub const BODY_OVERRIDES: &[BodyOverride] = &[
    BodyOverride {
        api: Api::Gitlab,
        method: "POST",
        template: "/api/v4/projects/{id}/repository/commits",
        rule: BodyRule::CommitCreateDocs,
        why: "the OpenAPI declares only a multipart `file`; the JSON body is documented in \
              gitlab/commit-create.from-docs.json",
    },
    BodyOverride {
        api: Api::Gitlab,
        method: "POST",
        template: "/api/v4/projects/{id}/repository/files/{file_path}",
        rule: BodyRule::Unchecked,
        why: "the OpenAPI declares only a multipart `file` and the files API's JSON body was \
              not saved (SOURCES.md)",
    },
    BodyOverride {
        api: Api::Gitlab,
        method: "PUT",
        template: "/api/v4/projects/{id}/repository/files/{file_path}",
        rule: BodyRule::Unchecked,
        why: "the OpenAPI declares only a multipart `file` and the files API's JSON body was \
              not saved (SOURCES.md)",
    },
];

/// A parameter schema corrected at load time.
#[derive(Debug)]
pub struct ParamErratum {
    pub api: Api,
    pub method: &'static str,
    pub template: &'static str,
    pub param: &'static str,
    /// The JSON Schema used instead.
    pub schema: &'static str,
    pub why: &'static str,
}

/// Plain errors of the upstream generated files.
pub const PARAM_ERRATA: &[ParamErratum] = &[ParamErratum {
    api: Api::Gitlab,
    method: "GET",
    template: "/api/v4/projects/{id}/repository/branches/{branch}",
    param: "branch",
    schema: r#"{"type": "string"}"#,
    why: "upstream declares integer/int32 here, while HEAD and DELETE on the same path declare \
          string (\"The name of the branch\"): a branch name is a string",
}];

/// The body override of an operation, if any.
pub fn body_override(api: Api, method: &str, template: &str) -> Option<&'static BodyOverride> {
    BODY_OVERRIDES
        .iter()
        .find(|o| o.api == api && o.method == method && o.template == template)
}

/// The erratum of a parameter, if any.
pub fn param_erratum(
    api: Api,
    method: &str,
    template: &str,
    param: &str,
) -> Option<&'static ParamErratum> {
    PARAM_ERRATA
        .iter()
        .find(|e| e.api == api && e.method == method && e.template == template && e.param == param)
}

/// The known gap `method path` falls on, if any.
pub fn known_gap(api: Api, method: &str, path: &str) -> Option<&'static KnownGap> {
    KNOWN_GAPS.iter().find(|g| {
        g.api == api
            && g.method == method
            && super::template::Template::new(api, g.template)
                .matches(path)
                .is_some()
    })
}

/// Why an exchange is not REST to check, if it is not: sourcehut (GraphQL
/// only, no REST description), git smart HTTP, GraphQL endpoints (their
/// documents are validated against the schemas on arrival), control routes.
pub fn out_of_scope(site: Site, path: &str) -> Option<&'static str> {
    if path.starts_with("/_emulator") {
        return Some("emulator control route");
    }
    if matches!(site, Site::SrhtGit | Site::SrhtLists) {
        return Some("sourcehut: GraphQL only, no REST description");
    }
    if crate::githttp::match_path(site, path).is_some() {
        return Some("git smart HTTP");
    }
    let graphql = match site {
        Site::Github => path == "/graphql" || path == "/api/graphql",
        _ => path == "/api/graphql",
    };
    graphql.then_some("GraphQL (documents validated against the schema on arrival)")
}
