//! GitLab REST conformance checks on hand-made exchanges: commit-create
//! bodies against the documented JSON body (good, missing `actions`, bad
//! `action`, missing `content`), parameters and the corrected erratum, and
//! the known gaps and out-of-scope exchanges that are counted, not reported.

mod conformance_support;

use conformance_support::{assert_one, exchange, specs, texts};
use drover_emulator::conformance::{self, Outcome};
use drover_emulator::Site;
use serde_json::{json, Value};

mod conformance_gitlab {
    use super::*;

    #[test]
    fn gitlab_commit_create_bodies_follow_the_docs() {
        let Some(specs) = specs() else { return };
        let docs: Value = serde_json::from_str(
            &std::fs::read_to_string(specs.file("gitlab/commit-create.from-docs.json").unwrap())
                .unwrap(),
        )
        .unwrap();
        let path = "/api/v4/projects/acme%2Fapi/repository/commits";
        let good = json!({
            "branch": "drover/sync", "start_sha": "0123456789abcdef0123456789abcdef01234567",
            "commit_message": "drover: sync\n\nDrover-Fingerprint: ab12", "author_name": "drover", "author_email": "drover@example.com",
            "force": true,
            "actions": [
                { "action": "create", "file_path": ".gitlab-ci.yml", "content": "stages: [test]\n" },
                { "action": "update", "file_path": "Cargo.toml", "content": "[package]\n" },
                { "action": "delete", "file_path": "old.txt" }
            ]
        });
        // GitLab answers 201 where its generated spec documents 200.
        for (body, status) in [(good.clone(), 201), (docs["example_request"].clone(), 200)] {
            let ex = exchange(
                Site::Gitlab,
                "POST",
                path,
                Some(body),
                status,
                Some(docs["example_response"].clone()),
            );
            let report = conformance::check(&specs, &ex);
            assert_eq!(
                report.outcome,
                Outcome::Operation("POST /api/v4/projects/{id}/repository/commits".into())
            );
            assert!(report.violations.is_empty(), "{:#?}", texts(&report));
        }
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("actions");
        let ex = exchange(
            Site::Gitlab,
            "POST",
            path,
            Some(missing),
            201,
            Some(docs["example_response"].clone()),
        );
        assert_one(&conformance::check(&specs, &ex), &["gitlab POST /api/v4/projects/acme%2Fapi/repository/commits [POST /api/v4/projects/{id}/repository/commits]: request body at #: required: \"actions\" is a required property"]);
        let mut bad = good.clone();
        bad["actions"][1]["action"] = json!("modify");
        let ex = exchange(
            Site::Gitlab,
            "POST",
            path,
            Some(bad),
            201,
            Some(docs["example_response"].clone()),
        );
        assert_one(
            &conformance::check(&specs, &ex),
            &["request body at #/actions/1/action: enum: \"modify\" is not one of"],
        );
        let mut no_content = good;
        no_content["actions"][0]
            .as_object_mut()
            .unwrap()
            .remove("content");
        let ex = exchange(
            Site::Gitlab,
            "POST",
            path,
            Some(no_content),
            201,
            Some(docs["example_response"].clone()),
        );
        assert_one(
            &conformance::check(&specs, &ex),
            &["request body at #/actions/0: required: \"content\" is a required property"],
        );
    }

    #[test]
    fn gitlab_parameters_and_errata() {
        let Some(specs) = specs() else { return };
        // The upstream file types {branch} as an integer here; corrected.
        let ex = exchange(
            Site::Gitlab,
            "GET",
            "/api/v4/projects/7/repository/branches/drover%2Fsync",
            None,
            404,
            Some(json!({"message": "404 Branch Not Found"})),
        );
        assert!(
            conformance::check(&specs, &ex).violations.is_empty(),
            "{:#?}",
            texts(&conformance::check(&specs, &ex))
        );
        // Form-encoded bodies (which GitLab also takes) are not checked as JSON.
        let mut form = exchange(
            Site::Gitlab,
            "POST",
            "/api/v4/projects/7/repository/commits",
            None,
            201,
            None,
        );
        form.request_headers.insert(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        );
        form.request_body = Some("branch=main&commit_message=x&actions[][action]=create".into());
        form.request_body_len = 53;
        form.status = 400;
        form.response_body = Some(r#"{"message":"x"}"#.into());
        form.response_headers
            .insert("content-type".into(), "application/json".into());
        assert!(
            conformance::check(&specs, &form).violations.is_empty(),
            "{:#?}",
            texts(&conformance::check(&specs, &form))
        );
        // A refusal the description does not document is a violation.
        let ex = exchange(
            Site::Gitlab,
            "DELETE",
            "/api/v4/projects/7/repository/branches/main",
            None,
            400,
            Some(json!({"message": "x"})),
        );
        assert_one(&conformance::check(&specs, &ex), &["response status at #: responses: status 400 is not documented (documented: 204, 404)"]);
        // An unencoded project path matches no operation, as on GitLab.
        let ex = exchange(
            Site::Gitlab,
            "GET",
            "/api/v4/projects/acme/api/merge_requests",
            None,
            404,
            None,
        );
        assert_eq!(conformance::check(&specs, &ex).outcome, Outcome::Unmatched);
        let ex = exchange(Site::Gitlab, "GET", "/api/v4/projects/acme%2Fapi/merge_requests?source_branch=drover%2Fsync&state=everything&labels[]=a&private_token=x", None, 200, Some(json!([])));
        assert_one(
            &conformance::check(&specs, &ex),
            &["request query parameter at #/state: enum: \"everything\""],
        );
    }

    #[test]
    fn known_gaps_are_counted_not_reported() {
        let Some(specs) = specs() else { return };
        for (site, method, path) in [
            (Site::Gitlab, "GET", "/api/v4/projects?membership=true"),
            (
                Site::Gitlab,
                "POST",
                "/api/v4/projects/7/merge_requests/3/notes",
            ),
            (Site::Github, "GET", "/repos/acme/api/git/refs/"),
        ] {
            let ex = exchange(
                site,
                method,
                path,
                Some(json!({"body": "x"})),
                200,
                Some(json!([])),
            );
            let report = conformance::check(&specs, &ex);
            assert!(
                matches!(report.outcome, Outcome::KnownGap(_)),
                "{path}: {:?}",
                report.outcome
            );
            assert!(report.violations.is_empty());
        }
        // Out of REST scope: GraphQL, git, sourcehut.
        for (site, path) in [
            (Site::Github, "/api/graphql"),
            (Site::Gitlab, "/acme/api.git/info/refs"),
            (Site::SrhtGit, "/query"),
        ] {
            let ex = exchange(site, "POST", path, None, 200, None);
            assert!(
                matches!(
                    conformance::check(&specs, &ex).outcome,
                    Outcome::OutOfScope(_)
                ),
                "{path}"
            );
        }
    }
}
