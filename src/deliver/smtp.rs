//! Mail over SMTP with lettre: one digest per person per run, as plain text
//! and HTML (`multipart/alternative`), over STARTTLS (required) or implicit
//! TLS, with AUTH when the policy names the credentials' variables.
//!
//! Every header exc writes is built from one-line values (control
//! characters removed) and encoded by lettre (RFC 2047 for UTF-8), so a
//! title cannot add a header or a recipient. The Message-ID is derived from
//! the notices and the recipient: a digest sent again after a crash carries
//! the same one. `Auto-Submitted: auto-generated` (RFC 3834) keeps
//! auto-responders quiet.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use sha2::Digest;

use super::{Accepted, Batch, Settings, extra_roots, is_loopback, secret};
use crate::model::notify::{Smtp, SmtpTls};
use crate::output::notify::{self as words, one_line};

/// Sends one person's digest.
pub fn send(c: &Smtp, batch: &Batch, settings: &Settings) -> std::result::Result<Accepted, String> {
    let message = build(c, batch, settings)?;
    let transport = transport(batch.channel, c, settings)?;
    let mut wait = Duration::from_secs(settings.retry.backoff_seconds.into());
    let mut last = String::new();
    for attempt in 1..=settings.retry.attempts.max(1) {
        match transport.send(&message) {
            Ok(response) => {
                let text: Vec<&str> = response.message().collect();
                return Ok(Accepted {
                    detail: one_line(&format!("{} {}", response.code(), text.join(" "))),
                    issue: None,
                });
            }
            Err(e) if e.is_permanent() => return Err(format!("the server refused it: {}", describe(&e))),
            Err(e) => last = describe(&e),
        }
        if attempt < settings.retry.attempts {
            std::thread::sleep(wait);
            wait = wait.saturating_mul(2).min(Duration::from_secs(60));
        }
    }
    Err(format!("{last} (after {} tries)", settings.retry.attempts.max(1)))
}

/// The error in words: lettre's own, which names codes and causes, not secrets.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut s = one_line(&e.to_string());
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(&format!(": {}", one_line(&inner.to_string())));
        source = inner.source();
    }
    s
}

/// The digest for `batch.to`.
pub fn build(c: &Smtp, batch: &Batch, settings: &Settings) -> std::result::Result<Message, String> {
    let from: Mailbox = one_line(&c.from).parse().map_err(|e| format!("channel `{}`: from: {e}", batch.channel))?;
    let address = batch.to.parse().map_err(|e| format!("{} is not a mail address: {e}", one_line(batch.to)))?;
    let display = display_name(batch.name);
    let to = Mailbox::new(display.clone(), address);
    let text = words::digest_text(display.as_deref().unwrap_or(batch.to), &batch.notices, settings.as_of);
    let html = words::digest_html(display.as_deref().unwrap_or(batch.to), &batch.notices, settings.as_of);
    let subject = one_line(&words::subject(&batch.notices, settings.as_of));
    let mut hash = sha2::Sha256::new();
    hash.update(batch.to.as_bytes());
    for n in &batch.notices {
        hash.update(b"\n");
        hash.update(n.event.key().as_bytes());
    }
    let id: String = hash.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    let domain = from.email.domain().to_string();
    Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<exc.{id}@{domain}>")))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Exc-Run"), one_line(&settings.run)))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// The name in `Name <email>`, on one line, if there is one.
fn display_name(written: &str) -> Option<String> {
    let name = written.rsplit_once('<').map(|(n, _)| n).unwrap_or("");
    let name = one_line(name).trim_matches('"').trim().to_string();
    (!name.is_empty()).then_some(name)
}

fn transport(channel: &str, c: &Smtp, settings: &Settings) -> std::result::Result<SmtpTransport, String> {
    let mut builder = SmtpTransport::builder_dangerous(c.host.as_str())
        .port(c.port())
        .timeout(Some(Duration::from_secs(settings.retry.timeout_seconds.into())));
    let params = || -> std::result::Result<TlsParameters, String> {
        let mut p = TlsParameters::builder(c.host.clone());
        if let Some(pem) = extra_roots()? {
            p = p.certificate_store(CertificateStore::None);
            for cert in pem_certificates(&pem) {
                p = p.add_root_certificate(
                    Certificate::from_pem(&cert).map_err(|e| format!("{}: {e}", super::CA_FILE_ENV))?,
                );
            }
        }
        p.build_rustls().map_err(|e| format!("TLS: {e}"))
    };
    builder = match c.tls {
        SmtpTls::Starttls => builder.tls(Tls::Required(params()?)),
        SmtpTls::Tls => builder.tls(Tls::Wrapper(params()?)),
        SmtpTls::None if is_loopback(&c.host) => builder.tls(Tls::None),
        SmtpTls::None => {
            return Err(format!(
                "channel `{channel}`: tls: none is only for a relay on this machine; use starttls or tls"
            ));
        }
    };
    if let (Some(user), Some(pass)) = (&c.username_env, &c.password_env) {
        builder = builder.credentials(Credentials::new(secret(channel, user)?, secret(channel, pass)?));
    }
    Ok(builder.build())
}

/// Each PEM certificate block in a bundle, as its own PEM text.
fn pem_certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE-----") {
            current = Some(String::new());
        }
        if let Some(c) = current.as_mut() {
            c.push_str(line);
            c.push('\n');
        }
        if line.starts_with("-----END CERTIFICATE-----")
            && let Some(c) = current.take()
        {
            out.push(c.into_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Event, Facts, Kind};
    use crate::model::notify::Retry;
    use crate::model::record::{Risk, Status};
    use crate::output::notify::Notice;

    /// Records cannot hold a CR/LF in a title (the schema refuses it), and
    /// even if one did, the digest would carry no header of its making.
    #[test]
    fn a_title_with_cr_lf_adds_no_header_or_recipient() {
        let facts = Facts {
            id: "EXC-1".into(),
            title: "CRM\r\nBcc: evil@example.com\r\nX-Injected: yes".into(),
            kind: "other".into(),
            status: Status::Approved,
            risk: Risk::High,
            requester: "Ann <ann@example.com>".into(),
            risk_owner: "Dana\r\nCc: evil@example.com <dana@example.com>".into(),
            expires: "2026-03-01".parse().unwrap(),
            tickets: vec![],
            path: "exceptions/EXC-1.yaml".into(),
            link: None,
        };
        let event = Event {
            id: "EXC-1".into(),
            kind: Kind::ExpiryNear,
            about: "2026-03-01".into(),
            at: "2026-02-15T00:00:00Z".parse().unwrap(),
            outcome: None,
            message: "expires".into(),
        };
        let batch = Batch {
            channel: "mail",
            to: "dana@example.com",
            name: "Dana\r\nCc: evil@example.com <dana@example.com>",
            notices: vec![Notice { event: &event, facts: &facts }],
        };
        let settings = Settings {
            retry: Retry::default(),
            as_of: "2026-02-15".parse().unwrap(),
            run: "r\r\nX-Run: 1".into(),
            registry: "sec".into(),
            issues: Default::default(),
        };
        let smtp = Smtp {
            host: "127.0.0.1".into(),
            port: None,
            tls: SmtpTls::Starttls,
            from: "exc <exc@example.com>".into(),
            username_env: None,
            password_env: None,
        };
        let m = build(&smtp, &batch, &settings).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap();
        for bad in ["bcc:", "cc:", "x-injected:", "x-run:"] {
            assert!(!head.lines().any(|l| l.to_ascii_lowercase().starts_with(bad)), "{bad}\n{head}");
        }
        let to: Vec<String> = m.envelope().to().iter().map(|a| a.to_string()).collect();
        assert_eq!(to, ["dana@example.com"]);
    }
}
