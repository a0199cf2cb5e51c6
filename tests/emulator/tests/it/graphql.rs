//! The GraphQL executor: aliases, fragments, variables, errors with paths,
//! and validation against the official schemas through the forge endpoints.

use drover_emulator::graphql::{execute, Args, FieldValue, GraphqlRequest, GraphqlSchema, Object};
use drover_emulator::{Forge, RepoSeed};
use serde_json::{json, Value};

use crate::util::{self, http, GITHUB_TOKEN, GITLAB_TOKEN};

const SDL: &str = r#"
type Query { repository(owner: String!, name: String!): Repository, node(id: ID!): Node }
interface Node { id: ID! }
type Repository implements Node { id: ID! name: String! files(paths: [String!]!): [Blob!]! broken: String }
type Blob implements Node { id: ID! path: String! text: String }
"#;

/// A context unrelated to the emulator, to show the executor is generic.
struct Files(Vec<(&'static str, &'static str)>);

struct Query;
struct Repo(String);
struct Blob(String, Option<String>);

impl Object<Files> for Query {
    fn type_name(&self) -> &str {
        "Query"
    }
    fn field(&self, name: &str, args: &Args, _: &Files) -> Result<FieldValue<Files>, String> {
        match name {
            "repository" => Ok(FieldValue::object(Repo(
                args.required_str("name")?.to_string(),
            ))),
            "node" => Ok(FieldValue::object(Blob(
                args.required_str("id")?.to_string(),
                None,
            ))),
            _ => Err(format!("no {name}")),
        }
    }
}

impl Object<Files> for Repo {
    fn type_name(&self) -> &str {
        "Repository"
    }
    fn field(&self, name: &str, args: &Args, ctx: &Files) -> Result<FieldValue<Files>, String> {
        match name {
            "id" => Ok(FieldValue::scalar(format!("R_{}", self.0))),
            "name" => Ok(FieldValue::scalar(self.0.clone())),
            "files" => {
                let paths = args
                    .get("paths")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                Ok(FieldValue::list(
                    paths.iter().filter_map(Value::as_str).map(|p| {
                        let text = ctx
                            .0
                            .iter()
                            .find(|(k, _)| *k == p)
                            .map(|(_, v)| v.to_string());
                        FieldValue::object(Blob(p.to_string(), text))
                    }),
                ))
            }
            _ => Err("this field always fails".into()),
        }
    }
}

impl Object<Files> for Blob {
    fn type_name(&self) -> &str {
        "Blob"
    }
    fn field(&self, name: &str, _: &Args, _: &Files) -> Result<FieldValue<Files>, String> {
        Ok(match name {
            "id" => FieldValue::scalar(format!("B_{}", self.0)),
            "path" => FieldValue::scalar(self.0.clone()),
            _ => FieldValue::opt_scalar(self.1.clone()),
        })
    }
}

#[test]
fn executes_aliases_fragments_and_variables() {
    let schema = GraphqlSchema::parse_lenient(SDL, "test.graphql");
    assert!(schema.load_errors.is_empty(), "{:?}", schema.load_errors);
    let query = r#"
        query Batch($a: String!, $b: String!, $paths: [String!]!) {
          first: repository(owner: "acme", name: $a) { ...Repo }
          second: repository(owner: "acme", name: $b) { ...Repo broken }
          node(id: "x") { __typename ... on Blob { path } ... on Repository { name } }
        }
        fragment Repo on Repository {
          __typename
          name
          files(paths: $paths) { p: path text }
        }
        query Other { node(id: "y") { id } }
    "#;
    let request = GraphqlRequest {
        query: query.into(),
        operation_name: Some("Batch".into()),
        variables: Some(
            json!({ "a": "web", "b": "api", "paths": ["Cargo.toml", "missing"] })
                .as_object()
                .unwrap()
                .clone(),
        ),
    };
    let files = Files(vec![("Cargo.toml", "[package]")]);
    let outcome = execute(&schema, &request, &Query, &files);
    assert!(outcome.violation.is_none());
    let body = outcome.body;
    assert_eq!(body["data"]["first"]["__typename"], "Repository");
    assert_eq!(body["data"]["first"]["name"], "web");
    assert_eq!(
        body["data"]["first"]["files"][0],
        json!({ "p": "Cargo.toml", "text": "[package]" })
    );
    assert_eq!(body["data"]["first"]["files"][1]["text"], Value::Null);
    assert_eq!(body["data"]["second"]["name"], "api");
    assert_eq!(body["data"]["second"]["broken"], Value::Null);
    assert_eq!(
        body["data"]["node"],
        json!({ "__typename": "Blob", "path": "x" })
    );
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["path"], json!(["second", "broken"]));
    assert_eq!(errors[0]["message"], "this field always fails");

    // A missing required variable is a request error, and a violation.
    let bad = GraphqlRequest {
        variables: None,
        ..request.clone()
    };
    let outcome = execute(&schema, &bad, &Query, &files);
    assert!(outcome.body.get("data").is_none());
    assert!(outcome.violation.is_some());
    // So is a document that does not validate.
    let invalid = GraphqlRequest {
        query: "{ repository(owner: 1) { nope } }".into(),
        ..request
    };
    let outcome = execute(&schema, &invalid, &Query, &files);
    assert!(outcome.body["errors"].as_array().unwrap().len() >= 2);
    assert!(outcome.violation.unwrap().contains("nope"));
}

#[tokio::test]
async fn forge_endpoints_validate_against_the_official_schemas() {
    // Provokes a violation on purpose.
    let emu = util::start_with(drover_emulator::EmulatorConfig {
        allow_violations: true,
        ..Default::default()
    })
    .await;
    emu.create_repo(Forge::Github, "acme/web", RepoSeed::default())
        .unwrap();
    emu.create_repo(Forge::Gitlab, "acme/sub/web", RepoSeed::default())
        .unwrap();
    let client = http();
    let post = |url: String, token: &str, body: Value| {
        client.post(url).bearer_auth(token).json(&body).send()
    };
    let ok: Value = post(
        format!("{}/graphql", emu.github_url()),
        GITHUB_TOKEN,
        json!({ "query": "query($o: String!) { viewer { login } r: repository(owner: $o, name: \"web\") { nameWithOwner isArchived } }",
                "variables": { "o": "acme" } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        ok,
        json!({ "data": { "viewer": { "login": "octo" }, "r": { "nameWithOwner": "acme/web", "isArchived": false } } })
    );
    // The GHE alias reaches the same endpoint.
    let ghe = post(
        format!("{}/api/graphql", emu.github_url()),
        GITHUB_TOKEN,
        json!({ "query": "{ viewer { login } }" }),
    )
    .await
    .unwrap();
    assert_eq!(ghe.status(), 200);
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());

    let invalid = post(
        format!("{}/graphql", emu.github_url()),
        GITHUB_TOKEN,
        json!({ "query": "{ repository(owner: \"acme\", name: \"web\") { noSuchField } }" }),
    )
    .await
    .unwrap();
    assert_eq!(invalid.status(), 200);
    let body: Value = invalid.json().await.unwrap();
    assert!(body.get("data").is_none());
    let messages = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str());
    assert!(
        messages.clone().any(|m| m.contains("noSuchField")),
        "{body}"
    );
    assert_eq!(emu.violations().len(), 1);

    let gl: Value = post(
        format!("{}/api/graphql", emu.gitlab_url()),
        GITLAB_TOKEN,
        json!({ "query": "{ project(fullPath: \"acme/sub/web\") { fullPath archived } }" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(gl["data"]["project"]["fullPath"], "acme/sub/web");
    assert_eq!(emu.violations().len(), 1);
}

#[test]
fn official_schemas_load_and_only_githubs_duplicates_are_tolerated() {
    use drover_emulator::specs::Specs;
    use drover_emulator::Site;
    let specs = Specs::locate(None).unwrap();
    if specs.dir().is_none() {
        eprintln!("forge specs not found outside CI: skipping");
        return;
    }
    for site in Site::ALL {
        let schema = specs.graphql_schema(site).unwrap();
        if site != Site::Github {
            assert!(
                schema.load_errors.is_empty(),
                "{site:?}: {:?}",
                schema.load_errors
            );
        }
    }
    let github = specs.graphql_schema(Site::Github).unwrap();
    assert_eq!(github.load_errors.len(), 2, "{:?}", github.load_errors);
    assert!(
        github
            .load_errors
            .iter()
            .all(|e| e.contains("repositoryDeployKeySetting")),
        "{:?}",
        github.load_errors
    );
}
