//! Listeners, seeding, inspection, counters, logs, auth, rate limits, SMTP.

use std::io::{BufRead, BufReader, Write};

use drover_emulator::{
    Emulator, EmulatorConfig, Forge, OwnerKind, RateLimitConfig, RepoSeed, Site,
};
use serde_json::Value;

use crate::util::{self, http, GITHUB_TOKEN, GITLAB_TOKEN, SRHT_TOKEN};

const N: usize = 12;

fn seed_fleet(emu: &Emulator) {
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    for i in 0..N {
        let seed =
            RepoSeed::default().file("Cargo.toml", format!("[package]\nname = \"svc{i}\"\n"));
        emu.create_repo(Forge::Github, &format!("acme/svc{i}"), seed.clone())
            .unwrap();
        // Half of GitLab's fleet sits in a subgroup.
        let group = if i % 2 == 0 { "acme" } else { "acme/platform" };
        emu.create_repo(Forge::Gitlab, &format!("{group}/svc{i}"), seed.clone())
            .unwrap();
        emu.create_repo(
            Forge::Sourcehut,
            &format!("~alice/svc{i}"),
            seed.default_branch("trunk"),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn seeds_an_organisation_on_each_forge_and_serves_it() {
    let emu = util::start().await;
    seed_fleet(&emu);
    {
        let world = emu.world().lock();
        let gh = world.owner(Forge::Github, "acme").unwrap().id;
        assert_eq!(world.repos_of(gh, false).len(), N);
        let gl = world.owner(Forge::Gitlab, "acme").unwrap().id;
        assert_eq!(world.repos_of(gl, false).len(), N / 2);
        assert_eq!(world.repos_of(gl, true).len(), N);
        let sr = world.owner(Forge::Sourcehut, "alice").unwrap().id;
        assert_eq!(world.repos_of(sr, false).len(), N);
    }
    for forge in Forge::ALL {
        let path = match forge {
            Forge::Gitlab => "acme/platform/svc3",
            Forge::Github => "acme/svc3",
            Forge::Sourcehut => "~alice/svc3",
        };
        let content = emu
            .file(forge, path, "HEAD", "Cargo.toml")
            .unwrap()
            .unwrap();
        assert!(String::from_utf8(content).unwrap().contains("svc3"));
        assert_eq!(emu.refs(forge, path).unwrap().len(), 1);
        assert!(emu.proposals(forge, path).unwrap().is_empty());
    }
    let client = http();
    let repo: Value = client
        .get(format!("{}/repos/acme/svc3", emu.github_url()))
        .bearer_auth(GITHUB_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(repo["full_name"], "acme/svc3");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["owner"]["type"], "Organization");
    let project: Value = client
        .get(format!(
            "{}/api/v4/projects/acme%2Fplatform%2Fsvc3",
            emu.gitlab_url()
        ))
        .header("PRIVATE-TOKEN", GITLAB_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(project["path_with_namespace"], "acme/platform/svc3");
    assert_eq!(
        emu.request_count(Site::Github, "GET /repos/{owner}/{repo}"),
        1
    );
    assert_eq!(
        emu.request_count(Site::Gitlab, "GET /api/v4/projects/{id}"),
        1
    );
    assert_eq!(emu.total_requests(), 2);
    emu.reset_counters();
    assert_eq!(emu.total_requests(), 0);
    assert!(emu.exchanges().is_empty());
}

#[tokio::test]
async fn github_enterprise_aliases_auth_and_rate_limit_headers() {
    let emu = util::start().await;
    emu.create_repo(Forge::Github, "acme/web", RepoSeed::default())
        .unwrap();
    emu.create_repo(Forge::Github, "acme/secret", RepoSeed::default().private())
        .unwrap();
    let client = http();
    let get = |path: &str, token: Option<&str>| {
        let mut req = client.get(format!("{}{path}", emu.github_url()));
        if let Some(t) = token {
            req = req.header("Authorization", format!("token {t}"));
        }
        req.send()
    };
    let r = get("/api/v3/repos/acme/web", Some(GITHUB_TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-limit"], "5000");
    assert_eq!(r.headers()["x-ratelimit-remaining"], "4999");
    assert_eq!(r.headers()["x-ratelimit-used"], "1");
    assert_eq!(r.headers()["x-ratelimit-resource"], "core");
    let r = get("/repos/acme/web", Some(GITHUB_TOKEN)).await.unwrap();
    assert_eq!(r.headers()["x-ratelimit-remaining"], "4998");
    // Both spellings count as the same route.
    assert_eq!(
        emu.request_count(Site::Github, "GET /repos/{owner}/{repo}"),
        2
    );
    assert_eq!(get("/repos/acme/secret", None).await.unwrap().status(), 404);
    assert_eq!(
        get("/repos/acme/secret", Some(GITHUB_TOKEN))
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = get("/repos/acme/web", Some("nope")).await.unwrap();
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["message"], "Bad credentials");
    // `/rate_limit` is free and reports the budget.
    let rl: Value = get("/rate_limit", Some(GITHUB_TOKEN))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rl["resources"]["core"]["used"], 3);
    let gl = client
        .get(format!("{}/api/v4/projects/1", emu.gitlab_url()))
        .bearer_auth(GITLAB_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(gl.status(), 404);
    assert_eq!(gl.headers()["ratelimit-limit"], "2000");
    assert_eq!(gl.headers()["ratelimit-remaining"], "1999");
    assert!(gl.headers().contains_key("ratelimit-reset"));
    // GitLab.com's budget is per minute, GitHub's per hour.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let reset = |h: &reqwest::header::HeaderMap, name: &str| -> i64 {
        h[name].to_str().unwrap().parse().unwrap()
    };
    let gitlab_reset = reset(gl.headers(), "ratelimit-reset");
    assert!(
        (now..=now + 61).contains(&gitlab_reset),
        "{gitlab_reset} vs {now}"
    );
}

#[tokio::test]
async fn exhausted_budgets_answer_like_the_forges() {
    let limits = RateLimitConfig {
        github_core: 2,
        gitlab: 1,
        ..RateLimitConfig::default()
    };
    let emu = util::start_with(EmulatorConfig {
        rate_limits: limits,
        ..Default::default()
    })
    .await;
    let client = http();
    let gh = |_: ()| {
        client
            .get(format!("{}/repos/a/b", emu.github_url()))
            .bearer_auth(GITHUB_TOKEN)
            .send()
    };
    assert_eq!(gh(()).await.unwrap().status(), 404);
    assert_eq!(gh(()).await.unwrap().status(), 404);
    let r = gh(()).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let body: Value = r.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("API rate limit exceeded"));
    let gl = |_: ()| {
        client
            .get(format!("{}/api/v4/projects/9", emu.gitlab_url()))
            .bearer_auth(GITLAB_TOKEN)
            .send()
    };
    assert_eq!(gl(()).await.unwrap().status(), 404);
    let r = gl(()).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    emu.rate_limits().reset();
    assert_eq!(gl(()).await.unwrap().status(), 404);
}

#[tokio::test]
async fn request_log_is_json_lines_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let emu = util::start_with(EmulatorConfig {
        log_path: Some(log.clone()),
        ..Default::default()
    })
    .await;
    let client = http();
    client
        .get(format!(
            "{}/api/v4/projects/7?statistics=true",
            emu.gitlab_url()
        ))
        .header("PRIVATE-TOKEN", GITLAB_TOKEN)
        .send()
        .await
        .unwrap();
    client
        .post(format!("{}/query", emu.srht_git_url()))
        .bearer_auth(SRHT_TOKEN)
        .json(&serde_json::json!({ "query": "{ me { canonicalName } }" }))
        .send()
        .await
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains(GITLAB_TOKEN) && !text.contains(SRHT_TOKEN),
        "{text}"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["site"], "gitlab");
    assert_eq!(lines[0]["query"], "statistics=true");
    assert_eq!(lines[0]["status"], 404);
    assert_eq!(lines[0]["route"], "/api/v4/projects/{id}");
    assert_eq!(lines[0]["request_headers"]["private-token"], "<redacted>");
    assert_eq!(
        lines[1]["request_headers"]["authorization"],
        "Bearer <redacted>"
    );
    let data: Value = serde_json::from_str(lines[1]["response_body"].as_str().unwrap()).unwrap();
    assert_eq!(data["data"]["me"]["canonicalName"], "~alice");
    assert_eq!(emu.exchanges().len(), 2);
}

#[tokio::test]
async fn control_api_seeds_and_inspects() {
    let emu = util::start().await;
    let client = http();
    let seed = serde_json::json!({
        "repos": [{ "forge": "gitlab", "path": "g/sub/p", "files": { "a.txt": "A" } }]
    });
    let r = client
        .post(format!("{}/_emulator/seed", emu.github_url()))
        .json(&seed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let refs: Value = client
        .get(format!(
            "{}/_emulator/refs?forge=gitlab&path=g/sub/p",
            emu.github_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(refs["refs/heads/main"].is_string());
    let file = client
        .get(format!(
            "{}/_emulator/file?forge=gitlab&path=g/sub/p&file=a.txt",
            emu.github_url()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(file, "A");
    // Control requests are not counted.
    assert_eq!(emu.total_requests(), 0);
}

#[tokio::test]
async fn smtp_intake_stores_mail() {
    let emu = util::start().await;
    // lists.sr.ht refuses mail to a list that does not exist.
    emu.srht_create_list("alice", "svc").unwrap();
    let addr = emu.smtp_addr();
    tokio::task::spawn_blocking(move || {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        let mut line = String::new();
        let mut expect = |reader: &mut BufReader<std::net::TcpStream>, code: &str| loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with(code), "{line}");
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        };
        expect(&mut reader, "220");
        for (cmd, code) in [
            ("EHLO me\r\n", "250"),
            ("MAIL FROM:<bob@example.invalid>\r\n", "250"),
            ("RCPT TO:<~alice/svc@lists.sr.ht>\r\n", "250"),
            ("DATA\r\n", "354"),
        ] {
            w.write_all(cmd.as_bytes()).unwrap();
            expect(&mut reader, code);
        }
        w.write_all(
            b"Subject: [PATCH svc v2 1/1] Fix it\r\nMessage-ID: <1@x>\r\n\r\n..dot\r\n.\r\n",
        )
        .unwrap();
        expect(&mut reader, "250");
        w.write_all(b"QUIT\r\n").unwrap();
        expect(&mut reader, "221");
    })
    .await
    .unwrap();
    let inbox = emu.inbox();
    assert_eq!(inbox.len(), 1);
    assert_eq!(
        inbox[0].subject.as_deref(),
        Some("[PATCH svc v2 1/1] Fix it")
    );
    assert_eq!(
        inbox[0].envelope_to,
        vec!["~alice/svc@lists.sr.ht".to_string()]
    );
    assert!(String::from_utf8_lossy(&inbox[0].raw).ends_with("\r\n.dot\r\n"));
}

#[tokio::test]
async fn shutdown_closes_every_listener() {
    let mut emu = util::start().await;
    let url = format!("{}/rate_limit", emu.github_url());
    assert!(http().get(&url).send().await.is_ok());
    emu.shutdown();
    tokio::task::yield_now().await;
    assert!(http().get(&url).send().await.is_err());
}
