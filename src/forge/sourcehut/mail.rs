//! Patch mail: a proposal as one `git format-patch`-style message (as `git
//! send-email` sends it, without the mbox `From ` line), built with
//! lettre, and the SMTP submission that carries it to the list.
//!
//! The subject is `[PATCH repo] title`, or `[PATCH repo vN] title` for a
//! new version, which answers (`In-Reply-To`, `References`) the first
//! version's mail. The body is the commit message without its title, the
//! `---` line, the diff in `git apply` form and the `-- ` signature, so
//! `git am` rebuilds the commit, author and date included. Every mail has
//! a fresh `Message-ID`: lists.sr.ht drops mail whose id it already has,
//! which also makes a retried submission harmless.

use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::ForgeError;
use crate::config::{Author, Smtp, SmtpSecurity};
use crate::model::Secret;

/// What one patch mail says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchMail {
    pub subject: String,
    /// Without `<>`.
    pub message_id: String,
    /// The first version's Message-ID, for versions after the first.
    pub in_reply_to: Option<String>,
    pub body: String,
}

/// The subject of version `version` of `repo`'s patch titled `title`.
pub fn subject(repo: &str, version: u32, title: &str) -> String {
    match version {
        0 | 1 => format!("[PATCH {repo}] {title}"),
        v => format!("[PATCH {repo} v{v}] {title}"),
    }
}

/// A Message-ID no earlier mail has: time, randomness and the fingerprint,
/// at the author's mail domain.
pub fn message_id(fingerprint: &str, author_email: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let domain = author_email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .unwrap_or("drover.invalid");
    let short: String = fingerprint.chars().take(12).collect();
    format!("drover.{nanos}.{:016x}.{short}@{domain}", fastrand::u64(..))
}

/// The mail for a commit message and its patch.
pub fn compose(
    repo: &str,
    version: u32,
    commit_message: &str,
    patch: &str,
    message_id: String,
    in_reply_to: Option<String>,
) -> PatchMail {
    let (title, rest) = commit_message
        .split_once('\n')
        .unwrap_or((commit_message, ""));
    let description = rest.trim_start_matches('\n').trim_end();
    let mut body = String::new();
    if !description.is_empty() {
        body.push_str(description);
        body.push('\n');
    }
    body.push_str("---\n");
    body.push_str(patch);
    if !patch.ends_with('\n') {
        body.push('\n');
    }
    body.push_str(&format!("-- \ndrover {}\n", env!("CARGO_PKG_VERSION")));
    PatchMail {
        subject: subject(repo, version, title.trim()),
        message_id,
        in_reply_to,
        body,
    }
}

/// A plain reply (no patch) to the mail `parent` whose subject was
/// `subject`: lists.sr.ht files it in that thread.
pub fn reply(subject: &str, parent: &str, text: &str, message_id: String) -> PatchMail {
    let subject = if subject.starts_with("Re: ") {
        subject.to_owned()
    } else {
        format!("Re: {subject}")
    };
    let mut body = text.trim_end().to_owned();
    body.push_str(&format!("\n\n-- \ndrover {}\n", env!("CARGO_PKG_VERSION")));
    PatchMail {
        subject,
        message_id,
        in_reply_to: Some(parent.to_owned()),
        body,
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> ForgeError {
    ForgeError::Api {
        status: None,
        message: format!("{what}: {e}"),
    }
}

/// The message as lettre sends it, from the author to the list.
pub fn message(mail: &PatchMail, author: &Author, list: &str) -> Result<Message, ForgeError> {
    let from = Mailbox::new(
        Some(author.name.clone()),
        author
            .email
            .parse()
            .map_err(|e| invalid("defaults.author.email", e))?,
    );
    let to: Mailbox = list
        .parse()
        .map_err(|e| invalid(&format!("list address `{list}`"), e))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .date_now()
        .message_id(Some(format!("<{}>", mail.message_id)));
    if let Some(parent) = &mail.in_reply_to {
        builder = builder
            .in_reply_to(format!("<{parent}>"))
            .references(format!("<{parent}>"));
    }
    let body = eight_bit(&mail.body).unwrap_or_else(|| Body::new(mail.body.clone()));
    builder
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body),
        )
        .map_err(|e| invalid("patch mail", e))
}

/// The body sent 8bit as git format-patch sends it, whatever the length of
/// its lines up to SMTP's 998 octets (lettre's own 8bit check stops at 76
/// and would quote-print a long trailer line); `None` past that, for an
/// encoding `git am` also decodes.
fn eight_bit(text: &str) -> Option<Body> {
    if text.lines().any(|l| l.len() > 998) {
        return None;
    }
    let mut crlf = String::with_capacity(text.len() + text.len() / 40);
    for line in text.split_inclusive('\n') {
        let line = line
            .strip_suffix('\n')
            .map_or(line, |l| l.strip_suffix('\r').unwrap_or(l));
        crlf.push_str(line);
        crlf.push_str("\r\n");
    }
    if !text.is_empty() && !text.ends_with('\n') {
        crlf.truncate(crlf.len() - 2);
    }
    Some(Body::dangerous_pre_encoded(
        crlf.into_bytes(),
        ContentTransferEncoding::EightBit,
    ))
}

/// The SMTP server patch mail is submitted to.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// `host:port`, for messages.
    server: String,
}

impl Mailer {
    pub fn new(smtp: &Smtp, password: Option<Secret>) -> Result<Mailer, ForgeError> {
        let port = smtp.port();
        let mut builder = match smtp.security {
            SmtpSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    .map_err(|e| invalid("forge.smtp", e))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|e| invalid("forge.smtp", e))?,
        }
        .port(port)
        .timeout(Some(std::time::Duration::from_secs(60)));
        if let (Some(user), Some(password)) = (&smtp.username, password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Mailer {
            transport: builder.build(),
            server: format!("{}:{port}", smtp.host),
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// Submits once. A 4xx reply or a broken connection is transient; a
    /// 5xx reply (an unknown list, a refused login) is not.
    pub async fn send_once(&self, message: Message) -> Result<(), ForgeError> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(ForgeError::Api {
                status: None,
                message: format!("SMTP {}: {e}", self.server),
            }),
            Err(e) => Err(ForgeError::Network(format!("SMTP {}: {e}", self.server))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str =
        "diff --git a/x b/x\nnew file mode 100644\n--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+x\n";

    #[test]
    fn a_mail_reads_like_git_format_patch() {
        let mail = compose(
            "api",
            1,
            "drover: add x\n\n- create x\n\nDrover-Fingerprint: ab\n",
            PATCH,
            "id@x".into(),
            None,
        );
        assert_eq!(mail.subject, "[PATCH api] drover: add x");
        assert_eq!(
            mail.body,
            format!(
                "- create x\n\nDrover-Fingerprint: ab\n---\n{PATCH}-- \ndrover {}\n",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn later_versions_answer_the_first() {
        let mail = compose("api", 3, "t\n", PATCH, "b@x".into(), Some("a@x".into()));
        assert_eq!(mail.subject, "[PATCH api v3] t");
        let author = Author {
            name: "drover".into(),
            email: "drover@example.com".into(),
        };
        let text = String::from_utf8(
            message(&mail, &author, "~acme/api-devel@lists.sr.ht")
                .unwrap()
                .formatted(),
        )
        .unwrap();
        for header in [
            "Message-ID: <b@x>",
            "In-Reply-To: <a@x>",
            "References: <a@x>",
            "Subject: [PATCH api v3] t",
            "Content-Transfer-Encoding: 8bit",
        ] {
            assert!(text.contains(header), "{header} in\n{text}");
        }
        assert!(text.contains("\r\n---\r\ndiff --git a/x b/x\r\n"), "{text}");
    }

    #[test]
    fn message_ids_never_repeat() {
        let a = message_id("abcdef0123456789", "drover@example.com");
        let b = message_id("abcdef0123456789", "drover@example.com");
        assert_ne!(a, b);
        assert!(a.ends_with(".abcdef012345@example.com"), "{a}");
    }
}
