//! GitHub REST conformance checks on hand-made exchanges: the descriptions
//! load, a good pull-request creation passes, drover's protocol requests
//! conform, and each kind of mistake (missing required body field, wrong
//! response type, unknown path, bad enum query value, undocumented status)
//! produces the expected violation text. The last test runs a live emulator
//! to check the pipeline hook, `assert_conformant` and the panic on drop.

mod conformance_support;

use std::panic::AssertUnwindSafe;

use conformance_support::{assert_one, exchange, specs, texts};
use drover_emulator::conformance::{self, Api, Outcome};
use drover_emulator::specs::Specs;
use drover_emulator::{Emulator, EmulatorConfig, Forge, RepoSeed, Site};
use serde_json::{json, Value};

/// GitHub's own example of a pull request (`components/examples`).
fn pull_request_example(specs: &Specs) -> Value {
    let text = std::fs::read_to_string(specs.file("github/rest-api.subset.json").unwrap()).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut pr = doc["components"]["examples"]["pull-request"]["value"].clone();
    // The example predates `type` becoming a required member of a team.
    for team in pr["requested_teams"].as_array_mut().unwrap() {
        team["type"] = json!("organization");
    }
    pr
}

fn create_pull_body() -> Value {
    json!({ "title": "drover: sync", "head": "drover/sync", "base": "main",
            "body": "<!-- drover:proposal repo=acme/api fingerprint=ab12 -->", "maintainer_can_modify": false })
}

mod conformance_rest {
    use super::*;

    /// The operations a description file declares (JSON is YAML too).
    fn operations_in(specs: &Specs, file: &str) -> usize {
        let text = std::fs::read_to_string(specs.file(file).unwrap()).unwrap();
        let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
        doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().keys())
            .filter(|k| methods.contains(&k.as_str()))
            .count()
    }

    #[test]
    fn descriptions_load_with_every_operation() {
        let Some(specs) = specs() else { return };
        let github = conformance::description(&specs, Api::Github).unwrap();
        // Every operation of the subset loads (57 in its first version,
        // more as SOURCES.md's extensions add path items); the file is
        // self-contained.
        let operations = operations_in(&specs, "github/rest-api.subset.json");
        assert!(operations >= 57, "{operations}");
        assert_eq!(github.len(), operations);
        assert!(
            github.unresolved_refs.is_empty(),
            "{:?}",
            github.unresolved_refs
        );
        let gitlab = conformance::description(&specs, Api::Gitlab).unwrap();
        let operations = operations_in(&specs, "gitlab/openapi_v2.subset.yaml");
        assert!(operations >= 36, "{operations}");
        assert_eq!(gitlab.len(), operations);
        // Only the definitions the subset's header lists as not copied
        // (19 in its first version).
        assert!(
            (19..=40).contains(&gitlab.unresolved_refs.len()),
            "{:?}",
            gitlab.unresolved_refs
        );
        assert!(gitlab
            .unresolved_refs
            .contains("#/definitions/API_Entities_MergeRequest"));
    }

    #[test]
    fn a_good_pull_request_creation_passes() {
        let Some(specs) = specs() else { return };
        let ex = exchange(
            Site::Github,
            "POST",
            "/repos/acme/api/pulls",
            Some(create_pull_body()),
            201,
            Some(pull_request_example(&specs)),
        );
        let report = conformance::check(&specs, &ex);
        assert_eq!(
            report.outcome,
            Outcome::Operation("POST /repos/{owner}/{repo}/pulls".into())
        );
        assert!(report.violations.is_empty(), "{:#?}", texts(&report));
        // The GitHub Enterprise prefix reaches the same operation.
        let ghe = exchange(
            Site::Github,
            "POST",
            "/api/v3/repos/acme/api/pulls",
            Some(create_pull_body()),
            201,
            Some(pull_request_example(&specs)),
        );
        assert!(conformance::check(&specs, &ghe).violations.is_empty());
    }

    #[test]
    fn a_missing_required_head_is_a_request_violation() {
        let Some(specs) = specs() else { return };
        let mut body = create_pull_body();
        body.as_object_mut().unwrap().remove("head");
        let ex = exchange(
            Site::Github,
            "POST",
            "/repos/acme/api/pulls",
            Some(body),
            201,
            Some(pull_request_example(&specs)),
        );
        assert_one(
        &conformance::check(&specs, &ex),
        &["github POST /repos/acme/api/pulls [POST /repos/{owner}/{repo}/pulls]: request body at #: required: \"head\" is a required property"],
    );
    }

    #[test]
    fn a_wrong_type_in_a_response_is_a_response_violation() {
        let Some(specs) = specs() else { return };
        let mut pr = pull_request_example(&specs);
        pr["number"] = json!("1347");
        pr["head"]["sha"] = json!(7);
        let ex = exchange(
            Site::Github,
            "POST",
            "/repos/acme/api/pulls",
            Some(create_pull_body()),
            201,
            Some(pr),
        );
        let report = conformance::check(&specs, &ex);
        let texts = texts(&report);
        assert_eq!(texts.len(), 2, "{texts:#?}");
        assert!(
            texts.iter().any(|t| t
                .ends_with("response body at #/number: type: \"1347\" is not of type \"integer\"")),
            "{texts:#?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t.contains("response body at #/head/sha: type:")),
            "{texts:#?}"
        );
    }

    #[test]
    fn an_unknown_path_is_a_violation() {
        let Some(specs) = specs() else { return };
        let ex = exchange(
            Site::Github,
            "GET",
            "/repos/acme/api/nonsense",
            None,
            404,
            None,
        );
        let report = conformance::check(&specs, &ex);
        assert_eq!(report.outcome, Outcome::Unmatched);
        assert_one(&report, &["github GET /repos/acme/api/nonsense: request operation at #: paths: no operation in the official description (github/rest-api.subset.json)"]);
        // A documented path with an undocumented method says which methods exist.
        let ex = exchange(
            Site::Github,
            "PUT",
            "/repos/acme/api/pulls",
            None,
            404,
            None,
        );
        assert_one(
            &conformance::check(&specs, &ex),
            &["documented only for GET, POST"],
        );
    }

    #[test]
    fn bad_query_and_path_parameters_are_violations() {
        let Some(specs) = specs() else { return };
        let ok = exchange(
            Site::Github,
            "GET",
            "/repos/acme/api/pulls?state=open&head=acme%3Adrover%2Fsync&per_page=100",
            None,
            200,
            Some(json!([])),
        );
        assert!(
            conformance::check(&specs, &ok).violations.is_empty(),
            "{:#?}",
            texts(&conformance::check(&specs, &ok))
        );
        let ex = exchange(
            Site::Github,
            "GET",
            "/repos/acme/api/pulls?state=bogus",
            None,
            200,
            Some(json!([])),
        );
        assert_one(
        &conformance::check(&specs, &ex),
        &["github GET /repos/acme/api/pulls?state=bogus [GET /repos/{owner}/{repo}/pulls]: request query parameter at #/state: enum: \"bogus\" is not one of"],
    );
        let ex = exchange(
            Site::Github,
            "GET",
            "/repos/acme/api/pulls?per_page=many&perpage=5",
            None,
            200,
            Some(json!([])),
        );
        let report = conformance::check(&specs, &ex);
        let texts = texts(&report);
        assert_eq!(texts.len(), 2, "{texts:#?}");
        assert!(
            texts
                .iter()
                .any(|t| t.contains("query parameter at #/per_page: type:")),
            "{texts:#?}"
        );
        assert!(
            texts.iter().any(
                |t| t.contains("query parameter at #: additionalProperties:")
                    && t.contains("perpage")
            ),
            "{texts:#?}"
        );
        let ex = exchange(
            Site::Github,
            "GET",
            "/repos/acme/api/pulls/first",
            None,
            404,
            Some(
                json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
            ),
        );
        assert_one(
            &conformance::check(&specs, &ex),
            &["request path parameter at #/pull_number: type:"],
        );
    }

    #[test]
    fn statuses_and_bodies_follow_the_documented_responses() {
        let Some(specs) = specs() else { return };
        // 200 where GitHub documents 201 for a creation.
        let ex = exchange(
            Site::Github,
            "POST",
            "/repos/acme/api/pulls",
            Some(create_pull_body()),
            200,
            Some(pull_request_example(&specs)),
        );
        assert_one(&conformance::check(&specs, &ex), &["response status at #: responses: status 200 is not documented (documented: 201, 403, 422)"]);
        // 401 is answered on any operation, with GitHub's basic error.
        let ex = exchange(
            Site::Github,
            "GET",
            "/repos/acme/api",
            None,
            401,
            Some(
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
            ),
        );
        assert!(conformance::check(&specs, &ex).violations.is_empty());
        let ex = exchange(
            Site::Github,
            "GET",
            "/repos/acme/api",
            None,
            401,
            Some(json!({"message": 401})),
        );
        assert_one(
            &conformance::check(&specs, &ex),
            &["response body at #/message: type: 401 is not of type \"string\""],
        );
        // A conditional GET may be answered 304 without a body anywhere.
        let ex = exchange(Site::Github, "GET", "/repos/acme/api", None, 304, None);
        assert!(conformance::check(&specs, &ex).violations.is_empty());
        // 409 is documented for some operations only.
        let ex = exchange(
            Site::Github,
            "GET",
            "/rate_limit",
            None,
            409,
            Some(json!({"message": "x"})),
        );
        assert_one(
            &conformance::check(&specs, &ex),
            &["status 409 is not documented (documented: 200, 304, 404)"],
        );
        // 204 has no body.
        let ex = exchange(
            Site::Github,
            "DELETE",
            "/repos/acme/api/git/refs/heads/drover/sync",
            None,
            204,
            Some(json!({})),
        );
        assert_one(&conformance::check(&specs, &ex), &["[DELETE /repos/{owner}/{repo}/git/refs/{ref}]: response body at #: content: status 204 is documented without a body"]);
    }

    #[test]
    fn the_requests_of_drovers_forge_protocol_conform() {
        let Some(specs) = specs() else { return };
        let sha = "0123456789abcdef0123456789abcdef01234567";
        // docs/forge-protocol.md, request side only (status 0: no response).
        let requests = [
            (
                "POST",
                "/repos/acme/api/git/trees",
                json!({"base_tree": sha, "tree": [
                {"path": "ci.yml", "mode": "100644", "type": "blob", "content": "on: push\n"},
                {"path": "old.txt", "mode": "100644", "type": "blob", "sha": null}]}),
            ),
            (
                "POST",
                "/repos/acme/api/git/commits",
                json!({"message": "drover: sync\n\nDrover-Fingerprint: ab12",
                "tree": sha, "parents": [sha], "author": {"name": "drover", "email": "drover@example.com"}}),
            ),
            (
                "POST",
                "/repos/acme/api/git/refs",
                json!({"ref": "refs/heads/drover/sync", "sha": sha}),
            ),
            (
                "PATCH",
                "/repos/acme/api/git/refs/heads/drover/sync",
                json!({"sha": sha, "force": true}),
            ),
            ("POST", "/repos/acme/api/pulls", create_pull_body()),
            (
                "PATCH",
                "/repos/acme/api/pulls/7",
                json!({"title": "t", "body": "b"}),
            ),
            (
                "PATCH",
                "/repos/acme/api/pulls/7",
                json!({"state": "closed"}),
            ),
            (
                "POST",
                "/repos/acme/api/issues/7/labels",
                json!({"labels": ["drover"]}),
            ),
            (
                "POST",
                "/repos/acme/api/pulls/7/requested_reviewers",
                json!({"reviewers": ["octo"]}),
            ),
            (
                "POST",
                "/repos/acme/api/issues/7/comments",
                json!({"body": "rebased"}),
            ),
        ];
        for (method, path, body) in requests {
            let ex = exchange(Site::Github, method, path, Some(body), 0, None);
            let report = conformance::check(&specs, &ex);
            assert!(
                matches!(report.outcome, Outcome::Operation(_)),
                "{path}: {:?}",
                report.outcome
            );
            assert!(report.violations.is_empty(), "{:#?}", texts(&report));
        }
        let ex = exchange(
            Site::Github,
            "PATCH",
            "/repos/acme/api/pulls/7",
            Some(json!({"state": "merged"})),
            0,
            None,
        );
        assert_one(
            &conformance::check(&specs, &ex),
            &["request body at #/state: enum:"],
        );
        let ex = exchange(
            Site::Github,
            "POST",
            "/repos/acme/api/pulls/7/requested_reviewers",
            Some(json!({})),
            0,
            None,
        );
        assert_one(
            &conformance::check(&specs, &ex),
            &["request body at #: anyOf:"],
        );
    }

    #[tokio::test]
    async fn the_pipeline_checks_every_exchange_and_drop_reports_violations() {
        if specs().is_none() {
            return;
        }
        let emu = Emulator::start(EmulatorConfig {
            allow_violations: true,
            ..Default::default()
        })
        .await
        .unwrap();
        emu.create_token(Forge::Gitlab, "gitlabber", "glpat-x")
            .unwrap();
        let client = reqwest::Client::new();
        let get = |url: String| client.get(url).header("PRIVATE-TOKEN", "glpat-x").send();
        get(format!("{}/api/v4/projects?owned=true", emu.gitlab_url()))
            .await
            .unwrap();
        get(format!("{}/api/v4/no/such/thing", emu.gitlab_url()))
            .await
            .unwrap();
        let hits = conformance::gap_hits(emu.state());
        assert_eq!(
            hits.get("gitlab GET /api/v4/projects"),
            Some(&1),
            "{hits:?}"
        );
        let violations = emu.violations();
        assert!(
            violations.iter().any(|v| v.starts_with(
                "conformance: gitlab GET /api/v4/no/such/thing: request operation at #: paths:"
            )),
            "{violations:#?}"
        );
        let panic =
            std::panic::catch_unwind(AssertUnwindSafe(|| emu.assert_conformant())).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("conformance violation(s)")
                && message.contains("/api/v4/no/such/thing"),
            "{message}"
        );
        drop(emu);

        let strict = Emulator::start(EmulatorConfig::default()).await.unwrap();
        strict
            .create_repo(Forge::Github, "acme/web", RepoSeed::default())
            .unwrap();
        client
            .get(format!("{}/repos/acme/web/nonsense", strict.github_url()))
            .send()
            .await
            .unwrap();
        let panic = std::panic::catch_unwind(AssertUnwindSafe(move || drop(strict))).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with("emulator dropped with 1 conformance violation(s)"),
            "{message}"
        );
    }
}
