//! lists.sr.ht through the emulator: a `git format-patch` series mailed
//! with lettre becomes a patchset whose mails `git am` applies, a v2 in
//! reply becomes a second patchset, `updatePatchset` changes status for
//! the list owner only; the SMTP dialogue itself; mailing lists made and
//! listed over GraphQL.

mod sourcehut_support;

use std::path::{Path, PathBuf};

use drover_emulator::{Emulator, Forge, RepoSeed, Site};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::{json, Value};
use sourcehut_support::{
    assert_no_violations, authed_url, git_ok, gql, gql_as, http, start, BOB_TOKEN, TOKEN,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const LIST: &str = "~alice/api-devel@lists.sr.ht";

/// Sends `git format-patch` files (the leading mbox `From ` line cut, as
/// git send-email does) through the SMTP intake with lettre.
async fn send_patches(emu: &Emulator, files: &[PathBuf]) {
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(emu.smtp_addr().port())
        .credentials(Credentials::new("alice".into(), TOKEN.into()))
        .build();
    let envelope = Envelope::new(
        Some("tester@example.invalid".parse().unwrap()),
        vec![LIST.parse().unwrap()],
    )
    .unwrap();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let (first, rest) = text.split_once('\n').unwrap();
        assert!(first.starts_with("From "), "an mbox separator: {first}");
        let crlf = rest.replace('\n', "\r\n");
        mailer
            .send_raw(&envelope, crlf.as_bytes())
            .await
            .expect("delivered");
    }
}

/// The `*.patch` files `git format-patch` wrote to `dir`, in order.
fn patch_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

const PATCHES: &str = r#"
query Patches($list: String!) {
  user(username: "alice") {
    list(name: $list) {
      name owner { canonicalName }
      patches {
        cursor
        results {
          id subject status version prefix created mbox
          submitter { canonicalName ... on User { username } ... on Mailbox { address } }
          coverLetter { subject messageID patch { index count } }
          patches { results { subject messageID inReplyTo envelope patch { index count version prefix subject } } }
        }
      }
    }
  }
}"#;

async fn fetch(url: &str) -> Vec<u8> {
    let response = http().get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sourcehut_format_patch_series_become_patchsets_that_git_am_applies() {
    let emu = start().await;
    emu.create_repo(
        Forge::Sourcehut,
        "alice/api",
        RepoSeed::default().file("src/lib.rs", "pub fn a() {}\n"),
    )
    .unwrap();
    emu.srht_create_list("alice", "api-devel").unwrap();
    emu.srht_set_user_email("alice", "tester@example.invalid")
        .unwrap();

    // Three commits, mailed as `[PATCH api 1/3]` … by real git format-patch.
    let work = tempfile::tempdir().unwrap();
    let root = work.path().to_path_buf();
    let url = authed_url(&emu, "~alice/api");
    let (v1, series_tree) = tokio::task::spawn_blocking(move || {
        let repo = root.join("repo");
        git_ok(&root, &["clone", "-q", &url, "repo"]);
        for (i, title) in ["First change", "Second change", "Third change"]
            .iter()
            .enumerate()
        {
            std::fs::write(repo.join(format!("f{i}.txt")), format!("{title}\n")).unwrap();
            git_ok(&repo, &["add", "."]);
            git_ok(&repo, &["commit", "-q", "-m", title]);
        }
        git_ok(
            &repo,
            &[
                "format-patch",
                "-q",
                "--thread=shallow",
                "--subject-prefix=PATCH api",
                &format!("--to={LIST}"),
                "-o",
                "../v1",
                "origin/main..HEAD",
            ],
        );
        (
            root.join("v1"),
            git_ok(&repo, &["rev-parse", "HEAD^{tree}"]),
        )
    })
    .await
    .unwrap();
    let v1_files = patch_files(&v1);
    assert_eq!(v1_files.len(), 3);
    send_patches(&emu, &v1_files).await;

    let data = gql(&emu, Site::SrhtLists, PATCHES, json!({"list": "api-devel"})).await;
    let list = &data["user"]["list"];
    assert_eq!(list["owner"]["canonicalName"], "~alice");
    let sets = list["patches"]["results"].as_array().unwrap();
    assert_eq!(sets.len(), 1, "{data:#}");
    let ps = &sets[0];
    assert_eq!(ps["version"], 1);
    assert_eq!(ps["prefix"], "api");
    assert_eq!(ps["subject"], "First change");
    assert_eq!(ps["status"], "PROPOSED");
    assert_eq!(ps["coverLetter"], Value::Null);
    assert_eq!(ps["submitter"]["canonicalName"], "~alice");
    let patches = ps["patches"]["results"].as_array().unwrap();
    let indices: Vec<&Value> = patches.iter().map(|p| &p["patch"]["index"]).collect();
    assert_eq!(indices, [1, 2, 3]);
    assert_eq!(
        patches[2]["patch"],
        json!({"index": 3, "count": 3, "version": 1, "prefix": "api", "subject": "Third change"})
    );
    assert_eq!(patches[1]["inReplyTo"], patches[0]["messageID"]);
    let first_message_id = patches[0]["messageID"].as_str().unwrap().to_string();
    assert!(!first_message_id.contains('<'));
    let envelope =
        String::from_utf8(fetch(patches[0]["envelope"].as_str().unwrap()).await).unwrap();
    assert!(
        envelope.contains("Subject: [PATCH api 1/3] First change"),
        "{envelope}"
    );

    // `git am` of the patchset's mbox onto a fresh clone rebuilds the series.
    let mbox = fetch(ps["mbox"].as_str().unwrap()).await;
    assert_eq!(
        mbox,
        emu.srht_patchset_mbox(ps["id"].as_u64().unwrap()).unwrap()
    );
    let root = work.path().to_path_buf();
    let url = authed_url(&emu, "~alice/api");
    let applied_tree = tokio::task::spawn_blocking(move || {
        git_ok(&root, &["clone", "-q", &url, "applied"]);
        let applied = root.join("applied");
        std::fs::write(root.join("v1.mbox"), &mbox).unwrap();
        git_ok(&applied, &["am", "-q", "../v1.mbox"]);
        assert_eq!(
            git_ok(&applied, &["log", "--format=%s", "-3"]),
            "Third change\nSecond change\nFirst change"
        );
        git_ok(&applied, &["rev-parse", "HEAD^{tree}"])
    })
    .await
    .unwrap();
    assert_eq!(applied_tree, series_tree);

    // v2 with a cover letter, in reply to v1: a second patchset.
    let root = work.path().to_path_buf();
    let in_reply_to = format!("--in-reply-to=<{first_message_id}>");
    tokio::task::spawn_blocking(move || {
        // Every commit is remade: format-patch's Message-IDs are
        // `<sha>.<unix seconds>.git.<email>`, so an unchanged commit sent
        // again within the same second would repeat its id, and lists.sr.ht
        // drops mail whose Message-ID the list already has.
        let repo = root.join("repo");
        git_ok(&repo, &["reset", "-q", "--hard", "origin/main"]);
        for (i, title) in ["First change", "Second change", "Third change"]
            .iter()
            .enumerate()
        {
            std::fs::write(
                repo.join(format!("f{i}.txt")),
                format!("{title}, revised\n"),
            )
            .unwrap();
            git_ok(&repo, &["add", "."]);
            git_ok(&repo, &["commit", "-q", "-m", title]);
        }
        git_ok(
            &repo,
            &[
                "format-patch",
                "-q",
                "-v2",
                "--cover-letter",
                "--thread=shallow",
                &in_reply_to,
                "--subject-prefix=PATCH api",
                &format!("--to={LIST}"),
                "-o",
                "../v2",
                "origin/main..HEAD",
            ],
        );
    })
    .await
    .unwrap();
    let v2_files = patch_files(&work.path().join("v2"));
    assert_eq!(v2_files.len(), 4, "cover letter and three patches");
    send_patches(&emu, &v2_files).await;

    let data = gql(&emu, Site::SrhtLists, PATCHES, json!({"list": "api-devel"})).await;
    let sets = data["user"]["list"]["patches"]["results"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sets.len(), 2);
    let (v2ps, v1ps) = (&sets[0], &sets[1]);
    assert_eq!(v2ps["version"], 2, "newest first");
    assert_eq!(v2ps["prefix"], "api");
    assert_eq!(v2ps["subject"], "*** SUBJECT HERE ***");
    assert_eq!(
        v2ps["coverLetter"]["patch"],
        json!({"index": 0, "count": 3})
    );
    let cover_id = v2ps["coverLetter"]["messageID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(v2ps["patches"]["results"].as_array().unwrap().len(), 3);
    assert_eq!(v1ps["id"], ps["id"]);

    let stored = emu.srht_patchsets("alice", "api-devel").unwrap();
    let diffs = emu.srht_patch_diffs(stored[0].id).unwrap();
    assert_eq!(diffs.len(), 3);
    assert!(
        diffs[0].starts_with("diff --git a/f0.txt b/f0.txt\n"),
        "{}",
        diffs[0]
    );
    assert!(diffs[0].ends_with("+First change\n"), "{}", diffs[0]);
    assert_eq!(
        stored.iter().map(|p| p.mails.len()).collect::<Vec<_>>(),
        [3, 4]
    );
    assert!(emu.inbox().is_empty(), "filed mail leaves the inbox");

    // drover marks v1 superseded; only the list owner may.
    let update = "mutation($id: Int!, $s: PatchsetStatus!) { updatePatchset(id: $id, status: $s) { id status version } }";
    let vars = json!({"id": v1ps["id"], "s": "SUPERSEDED"});
    let body = gql_as(&emu, Site::SrhtLists, BOB_TOKEN, update, vars.clone()).await;
    assert_eq!(body["data"]["updatePatchset"], Value::Null);
    assert!(body.get("errors").is_none());
    let data = gql(&emu, Site::SrhtLists, update, vars).await;
    assert_eq!(data["updatePatchset"]["status"], "SUPERSEDED");
    let data = gql(
        &emu,
        Site::SrhtLists,
        "query($id: Int!) { patchset(id: $id) { status list { name } } }",
        json!({"id": v1ps["id"]}),
    )
    .await;
    assert_eq!(
        data["patchset"],
        json!({"status": "SUPERSEDED", "list": {"name": "api-devel"}})
    );

    // The owner's reply with the email control header approves v2.
    let reply = format!(
        "From: Tester <tester@example.invalid>\r\nTo: {LIST}\r\nSubject: Re: [PATCH api v2 0/3] *** SUBJECT HERE ***\r\n\
         Message-ID: <approve@example.invalid>\r\nIn-Reply-To: <{cover_id}>\r\n\
         X-Sourcehut-Patchset-Update: APPROVED\r\n\r\nThanks!\r\n"
    );
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(emu.smtp_addr().port())
        .build();
    let envelope = Envelope::new(
        Some("tester@example.invalid".parse().unwrap()),
        vec![LIST.parse().unwrap()],
    )
    .unwrap();
    mailer.send_raw(&envelope, reply.as_bytes()).await.unwrap();
    let data = gql(
        &emu,
        Site::SrhtLists,
        "{ me { patches { results { version status } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data["me"]["patches"]["results"],
        json!([{"version": 2, "status": "APPROVED"}, {"version": 1, "status": "SUPERSEDED"}])
    );
    assert_no_violations(&emu);
}

/// Reads one SMTP reply (all its lines); the last line.
async fn reply<R: AsyncBufReadExt + Unpin>(r: &mut R) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        all.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sourcehut_smtp_dialogue_follows_rfc_5321() {
    let emu = start().await;
    emu.srht_create_list("alice", "api-devel").unwrap();
    let stream = tokio::net::TcpStream::connect(emu.smtp_addr())
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    assert!(reply(&mut read).await.starts_with("220 "));
    let mut say = async |line: &str| {
        write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    };
    say("MAIL FROM:<a@b>").await;
    assert!(reply(&mut read).await.starts_with("503 "), "EHLO first");
    say("EHLO client.invalid").await;
    let ehlo = reply(&mut read).await;
    assert!(
        ehlo.contains("250-8BITMIME") && ehlo.contains("AUTH PLAIN LOGIN"),
        "{ehlo}"
    );
    say("AUTH LOGIN").await;
    assert_eq!(reply(&mut read).await, "334 VXNlcm5hbWU6\r\n");
    say("YWxpY2U=").await;
    assert_eq!(reply(&mut read).await, "334 UGFzc3dvcmQ6\r\n");
    say("c2VjcmV0").await;
    assert!(reply(&mut read).await.starts_with("235 "));
    say("RCPT TO:<x@y>").await;
    assert!(reply(&mut read).await.starts_with("503 "), "MAIL first");
    say("MAIL FROM:<someone@elsewhere.org> BODY=8BITMIME").await;
    assert!(reply(&mut read).await.starts_with("250 "));
    say("RCPT TO:<~alice/nope@lists.sr.ht>").await;
    assert!(
        reply(&mut read).await.starts_with("550 5.1.1"),
        "unknown list"
    );
    say("RCPT TO:<u.alice.api-devel@lists.example.org>").await;
    assert!(reply(&mut read).await.starts_with("250 "));
    say("DATA").await;
    assert!(reply(&mut read).await.starts_with("354 "));
    say("From: Some One <someone@elsewhere.org>\r\nTo: u.alice.api-devel@lists.example.org\r\nSubject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <hello@elsewhere.org>\r\nDate: Wed, 1 May 2024 12:00:00 +0000\r\n\r\nHi,\r\n..leading dot\r\n.").await;
    assert!(reply(&mut read).await.starts_with("250 "));
    say("RSET").await;
    assert!(reply(&mut read).await.starts_with("250 "));
    say("NOOP").await;
    assert!(reply(&mut read).await.starts_with("250 "));
    say("QUIT").await;
    assert!(reply(&mut read).await.starts_with("221 "));

    let inbox = emu.inbox();
    assert_eq!(inbox.len(), 1, "not a patch: it stays in the inbox");
    assert_eq!(inbox[0].envelope_from, "someone@elsewhere.org");
    assert_eq!(inbox[0].subject.as_deref(), Some("Grüße"));
    assert!(String::from_utf8_lossy(&inbox[0].raw).contains("\r\n.leading dot\r\n"));

    let data = gql(
        &emu,
        Site::SrhtLists,
        r#"{ message(messageID: "<hello@elsewhere.org>") { id messageID }
             user(username: "alice") { list(name: "api-devel") { lastActivity emails { results {
               subject body date patch { index } patchset { id }
               sender { canonicalName ... on Mailbox { name address } } } } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(data["message"]["messageID"], "hello@elsewhere.org");
    let email = &data["user"]["list"]["emails"]["results"][0];
    assert_eq!(email["subject"], "Grüße");
    assert_eq!(email["body"], "Hi,\r\n.leading dot\r\n");
    assert_eq!(email["date"], "2024-05-01T12:00:00Z");
    assert_eq!(email["patch"], Value::Null);
    assert_eq!(
        email["sender"],
        json!({"canonicalName": "someone@elsewhere.org", "name": "Some One", "address": "someone@elsewhere.org"})
    );
    assert_no_violations(&emu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sourcehut_mailing_lists_are_created_and_listed_over_graphql() {
    let emu = start().await;
    for i in 0..30 {
        emu.srht_create_list("alice", &format!("list-{i:02}"))
            .unwrap();
    }
    let create = "mutation($n: String!) { createMailingList(name: $n, description: \"Patches\", visibility: PUBLIC) { id name description visibility owner { canonicalName } } }";
    let data = gql(&emu, Site::SrhtLists, create, json!({"n": "api-devel"})).await;
    assert_eq!(
        data["createMailingList"]["owner"]["canonicalName"],
        "~alice"
    );
    for (name, message) in [
        ("api-devel", "A mailing list with this name already exists."),
        ("bad name", "Name must match ^[A-Za-z0-9._-]+$"),
    ] {
        let body = gql_as(&emu, Site::SrhtLists, TOKEN, create, json!({"n": name})).await;
        assert_eq!(body["errors"][0]["message"], message);
    }
    let query = "query($c: Cursor) { me { lists(cursor: $c) { cursor results { name } } } }";
    let first = gql(&emu, Site::SrhtLists, query, json!({"c": null})).await;
    assert_eq!(
        first["me"]["lists"]["results"].as_array().unwrap().len(),
        25
    );
    let cursor = first["me"]["lists"]["cursor"].clone();
    let second = gql(&emu, Site::SrhtLists, query, json!({"c": cursor})).await;
    let rest = second["me"]["lists"]["results"].as_array().unwrap();
    assert_eq!(rest.len(), 6);
    assert_eq!(second["me"]["lists"]["cursor"], Value::Null);

    // Mail to the new list lands there.
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(emu.smtp_addr().port())
        .build();
    let message = lettre::Message::builder()
        .from("Bob <bob@example.org>".parse().unwrap())
        .to(LIST.parse().unwrap())
        .subject("Question")
        .body("Hello\n".to_string())
        .unwrap();
    mailer.send(message).await.unwrap();
    // lettre adds no Message-ID by itself: lists.sr.ht drops such mail.
    assert!(emu
        .srht_list_mails("alice", "api-devel")
        .unwrap()
        .is_empty());
    let violations = emu.violations();
    assert_eq!(violations.len(), 1);
    assert!(
        violations[0].contains("without a Message-ID"),
        "{violations:?}"
    );
    emu.state().violations.lock().clear();
    let message = lettre::Message::builder()
        .from("Bob <bob@example.org>".parse().unwrap())
        .to(LIST.parse().unwrap())
        .subject("Question")
        .message_id(None)
        .body("Hello\n".to_string())
        .unwrap();
    mailer.send(message).await.unwrap();
    assert_eq!(emu.srht_list_mails("alice", "api-devel").unwrap().len(), 1);
    assert_no_violations(&emu);
}
