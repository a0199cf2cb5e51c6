//! A minimal SMTP intake on `127.0.0.1:0`: enough of RFC 5321 for
//! `git send-email`, lettre and drover's mailer (EHLO/HELO, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT). Every accepted message is
//! stored raw in [`crate::world::World::inbox`].
//!
//! Owned by the sourcehut engineer, who turns inbox mail addressed to a
//! list into patchsets (see [`deliver`]). No STARTTLS and no AUTH: the
//! emulator is loopback-only.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::server::AppState;
use crate::world::Mail;

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

async fn session(stream: TcpStream, state: AppState) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 drover-emulator ESMTP\r\n").await?;
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-drover-emulator\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "MAIL" => {
                from = address(&command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(&command));
                b"250 OK\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let raw = read_data(&mut lines).await?;
                deliver(&state, &from, std::mem::take(&mut to), raw);
                b"250 OK: queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The address inside `<…>` of a MAIL FROM / RCPT TO command.
fn address(command: &str) -> String {
    match (command.find('<'), command.rfind('>')) {
        (Some(a), Some(b)) if a < b => command[a + 1..b].to_string(),
        _ => command.split(':').nth(1).unwrap_or("").trim().to_string(),
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
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        raw.extend_from_slice(unstuffed);
    }
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.split("\r\n\r\n")
        .next()
        .unwrap_or(raw)
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        })
        .map(|(_, v)| v.trim())
}

/// Stores one received message in the inbox. The sourcehut engineer extends
/// this to file list mail as patchsets.
pub fn deliver(state: &AppState, from: &str, to: Vec<String>, raw: Vec<u8>) {
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut world = state.world.lock();
    let mail = Mail {
        id: world.next_id(),
        envelope_from: from.to_string(),
        envelope_to: to,
        message_id: header(&text, "Message-ID").map(str::to_string),
        in_reply_to: header(&text, "In-Reply-To").map(str::to_string),
        subject: header(&text, "Subject").map(str::to_string),
        raw,
        received_at: world.now(),
    };
    world.inbox.push(mail);
}
