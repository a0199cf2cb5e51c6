//! The SMTP intake on `127.0.0.1:0`: enough of RFC 5321 for
//! `git send-email`, lettre and drover's mailer, without TLS.
//!
//! EHLO (advertising 8BITMIME, PIPELINING, SMTPUTF8, SIZE and AUTH PLAIN
//! LOGIN) / HELO, AUTH PLAIN and LOGIN (any credentials are accepted: the
//! intake plays the list server's MX, which needs none), MAIL FROM, RCPT TO,
//! DATA with dot-unstuffing, RSET, NOOP, VRFY, QUIT. Commands out of order
//! get 503; RCPT TO a list address (`~owner/name@…`, `u.owner.name@…`)
//! whose list does not exist gets `550 5.1.1`, as lists.sr.ht refuses
//! unknown lists. A post to a list without a `Message-ID` is accepted but
//! not archived (lists.sr.ht drops it) and recorded as a violation: the
//! sender's relay must add one (lettre does not). Every accepted message is stored raw in
//! [`crate::world::World::inbox`] and filed on the lists it was posted to
//! (see [`super::intake`]).

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::intake::{self, Recipient};
use crate::server::AppState;

/// The largest message accepted (advertised with SIZE).
const MAX_SIZE: usize = 100 * 1024 * 1024;

/// Accepts SMTP sessions until the task is aborted.
pub async fn serve(listener: TcpListener, state: AppState) {
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        sessions.spawn(async move {
            if let Err(e) = session(stream, state).await {
                tracing::debug!(error = %e, "smtp session ended");
            }
        });
        while sessions.try_join_next().is_some() {}
    }
}

/// Where a session stands.
#[derive(Default)]
struct Envelope {
    greeted: bool,
    from: Option<String>,
    to: Vec<String>,
}

async fn session(stream: TcpStream, state: AppState) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 lists.sr.ht.invalid ESMTP drover-emulator\r\n")
        .await?;
    let mut env = Envelope::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']).to_string();
        let (verb, arg) = match command.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_string()),
            None => (command.to_ascii_uppercase(), String::new()),
        };
        let reply: String = match verb.as_str() {
            "EHLO" => {
                env = Envelope {
                    greeted: true,
                    ..Envelope::default()
                };
                format!(
                    "250-lists.sr.ht.invalid\r\n250-8BITMIME\r\n250-PIPELINING\r\n\
                     250-SMTPUTF8\r\n250-SIZE {MAX_SIZE}\r\n250 AUTH PLAIN LOGIN\r\n"
                )
            }
            "HELO" => {
                env = Envelope {
                    greeted: true,
                    ..Envelope::default()
                };
                "250 lists.sr.ht.invalid\r\n".into()
            }
            "AUTH" => auth(&arg, &mut lines, &mut write).await?,
            "MAIL" if !env.greeted => "503 5.5.1 Send HELO/EHLO first\r\n".into(),
            "MAIL" if env.from.is_some() => "503 5.5.1 Nested MAIL command\r\n".into(),
            "MAIL" => match path_arg(&arg, "FROM:") {
                Some(from) => {
                    env.from = Some(from);
                    env.to.clear();
                    "250 2.1.0 OK\r\n".into()
                }
                None => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n".into(),
            },
            "RCPT" if env.from.is_none() => "503 5.5.1 Need MAIL before RCPT\r\n".into(),
            "RCPT" => match path_arg(&arg, "TO:") {
                Some(to) if to.is_empty() => "501 5.1.3 Bad recipient address\r\n".into(),
                Some(to) => {
                    let kind = intake::recipient(&state.world.lock(), &to);
                    if let Recipient::UnknownList(a) = kind {
                        format!("550 5.1.1 <{a}>: no such mailing list\r\n")
                    } else {
                        env.to.push(to);
                        "250 2.1.5 OK\r\n".into()
                    }
                }
                None => "501 5.5.4 Syntax: RCPT TO:<address>\r\n".into(),
            },
            "DATA" if env.from.is_none() => "503 5.5.1 Need MAIL command\r\n".into(),
            "DATA" if env.to.is_empty() => "554 5.5.1 No valid recipients\r\n".into(),
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let raw = read_data(&mut lines).await?;
                if raw.len() > MAX_SIZE {
                    env.from = None;
                    env.to.clear();
                    "552 5.3.4 Message too big\r\n".into()
                } else {
                    let from = env.from.take().unwrap_or_default();
                    deliver(&state, &from, std::mem::take(&mut env.to), raw);
                    "250 2.0.0 OK: queued\r\n".into()
                }
            }
            "RSET" => {
                env.from = None;
                env.to.clear();
                "250 2.0.0 OK\r\n".into()
            }
            "NOOP" => "250 2.0.0 OK\r\n".into(),
            "VRFY" => "252 2.1.5 Cannot VRFY user\r\n".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            "STARTTLS" => "502 5.5.1 STARTTLS not offered\r\n".into(),
            _ => "500 5.5.2 Command not recognized\r\n".into(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

/// AUTH PLAIN / LOGIN, with or without an initial response; any
/// credentials are accepted.
async fn auth<R, W>(arg: &str, lines: &mut R, write: &mut W) -> std::io::Result<String>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut words = arg.split_whitespace();
    let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
    let initial = words.next().map(str::to_string);
    let decodes = |s: &str| s == "=" || base64::engine::general_purpose::STANDARD.decode(s).is_ok();
    match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(r) => r,
                None => prompt(lines, write, b"334 \r\n").await?,
            };
            Ok(if response == "*" {
                "501 5.7.0 Authentication cancelled\r\n".into()
            } else if decodes(&response) {
                "235 2.7.0 Authentication successful\r\n".into()
            } else {
                "501 5.5.2 Cannot decode response\r\n".into()
            })
        }
        "LOGIN" => {
            let user = match initial {
                Some(u) => u,
                None => prompt(lines, write, b"334 VXNlcm5hbWU6\r\n").await?,
            };
            let pass = prompt(lines, write, b"334 UGFzc3dvcmQ6\r\n").await?;
            Ok(if decodes(&user) && decodes(&pass) {
                "235 2.7.0 Authentication successful\r\n".into()
            } else {
                "501 5.5.2 Cannot decode response\r\n".into()
            })
        }
        _ => Ok("504 5.5.4 Unrecognized authentication type\r\n".into()),
    }
}

/// Sends a 334 challenge and reads the client's answer line.
async fn prompt<R, W>(lines: &mut R, write: &mut W, challenge: &[u8]) -> std::io::Result<String>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    write.write_all(challenge).await?;
    let mut response = String::new();
    lines.read_line(&mut response).await?;
    Ok(response.trim().to_string())
}

/// The address of `FROM:<a> PARAMS` / `TO:<a>`; `None` on bad syntax.
fn path_arg(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    match (rest.find('<'), rest.find('>')) {
        (Some(0), Some(b)) => Some(rest[1..b].trim().to_string()),
        _ => rest.split_whitespace().next().map(str::to_string),
    }
}

async fn read_data<R: AsyncBufReadExt + Unpin>(lines: &mut R) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(raw);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(raw);
        }
        let unstuffed = if line.starts_with(b".") {
            &line[1..]
        } else {
            &line[..]
        };
        raw.extend_from_slice(unstuffed);
    }
}

/// Stores one received message in the inbox and files it on the lists it
/// was posted to.
pub fn deliver(state: &AppState, from: &str, to: Vec<String>, raw: Vec<u8>) {
    let mut world = state.world.lock();
    let mail = intake::inbox_mail(&mut world, from, to, raw);
    world.inbox.push(mail.clone());
    let posts = mail
        .envelope_to
        .iter()
        .any(|to| matches!(intake::recipient(&world, to), Recipient::Post(_)));
    intake::file(&mut world, &mail);
    drop(world);
    if posts && mail.message_id.is_none() {
        state.violation(format!(
            "smtp: mail to a list without a Message-ID header is dropped by lists.sr.ht (subject {:?})",
            mail.subject.as_deref().unwrap_or("")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_and_rcpt_arguments() {
        assert_eq!(
            path_arg("FROM:<a@b> BODY=8BITMIME", "FROM:").as_deref(),
            Some("a@b")
        );
        assert_eq!(path_arg("from: <>", "FROM:").as_deref(), Some(""));
        assert_eq!(
            path_arg("TO:<~alice/x@lists.sr.ht>", "TO:").as_deref(),
            Some("~alice/x@lists.sr.ht")
        );
        assert_eq!(path_arg("TO:a@b", "TO:").as_deref(), Some("a@b"));
        assert_eq!(path_arg("X", "TO:"), None);
    }
}
