//! Where sign-in codes go: `log` (printed), `dir:PATH` (one .eml file per message) or
//! `smtp://user:pass@host:port` (lettre; `smtps://…` or `?tls=required` for TLS, `?from=ADDRESS`
//! for the sender, which otherwise is the user name when it is an address).
//!
//! A mailer only delivers; it never decides who gets a code. Failures are counted
//! ([`failures`]) for the metrics and returned; the caller logs them and does not tell the client.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// The log target of the `log` mailer's codes (DEBUG): `RUST_LOG` filters name it.
pub const CODES_TARGET: &str = "espresso_server::sign_in_codes";

/// Sender of the `log` and `dir:` messages (nothing is really sent, the name only reads well).
const LOCAL_FROM: &str = "Espresso <espresso@localhost>";

/// Messages that could not be delivered since the process started.
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// How many sign-in messages failed to go out since start (for `/metrics`).
pub fn failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// The configured mail transport.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Print the message to the log (development, a café without mail).
    Log,
    /// Write `PATH/<timestamp>-<to>.eml` (tests and tools read the code from there).
    Dir(PathBuf),
    /// Send through an SMTP server (shared: the transport is large and cloned per message).
    Smtp(Arc<SmtpMailer>),
}

/// An SMTP relay and the sender address used with it.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for logs: the URL itself holds the password.
    server: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Parse `--mailer`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        if spec == "log" {
            Ok(Self::Log)
        } else if let Some(path) = spec.strip_prefix("dir:") {
            anyhow::ensure!(
                !path.is_empty(),
                "mailer dir: needs a folder, as in dir:PATH"
            );
            Ok(Self::Dir(PathBuf::from(path)))
        } else if spec.starts_with("smtp://") || spec.starts_with("smtps://") {
            SmtpMailer::parse(spec).map(|smtp| Self::Smtp(Arc::new(smtp)))
        } else {
            anyhow::bail!("unsupported mailer {spec:?}: expected log, dir:PATH or smtp://…")
        }
    }

    /// Whether this mailer writes codes into the server's log (a try-out mailer, not for a café
    /// whose logs anyone else reads).
    pub fn logs_codes(&self) -> bool {
        matches!(self, Self::Log)
    }

    /// Send the sign-in `code` to `to`, with `link` (the page that asked, which signs in with
    /// it) when there is one. A failure is counted before it is returned.
    pub async fn send_code(
        &self,
        to: &str,
        code: &str,
        link: Option<&str>,
        lang: MailLang,
    ) -> anyhow::Result<()> {
        self.send(to, &Mail::code(code, link, lang)).await
    }

    /// Send `mail` to `to`. A failure is counted before it is returned.
    pub async fn send(&self, to: &str, mail: &Mail) -> anyhow::Result<()> {
        let sent = match self {
            Self::Log => {
                // Its own target at DEBUG, not an INFO line among the rest: logs shipped at
                // INFO carry no codes. `serve` turns this target on when it uses this mailer.
                tracing::debug!(target: CODES_TARGET, "{} for {to}: {}", mail.what, mail.secret);
                Ok(())
            }
            Self::Dir(dir) => write_eml(dir, to, mail, Utc::now()).await.map(|_| ()),
            Self::Smtp(smtp) => smtp.send(to, mail).await,
        };
        if sent.is_err() {
            FAILURES.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }
}

/// The language of a sign-in mail: the app's that asked (`lang` in the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MailLang {
    #[default]
    En,
    /// Brazilian Portuguese, as the apps write it.
    Pt,
}

impl MailLang {
    /// `pt` or any `pt-…` tag is Portuguese; anything else, or none, English.
    pub fn of(tag: Option<&str>) -> Self {
        let primary = tag
            .and_then(|tag| tag.trim().split(['-', '_']).next())
            .map(str::to_ascii_lowercase);
        match primary.as_deref() {
            Some("pt") => Self::Pt,
            _ => Self::En,
        }
    }

    fn pick(self, en: &'static str, pt: &'static str) -> &'static str {
        match self {
            Self::En => en,
            Self::Pt => pt,
        }
    }
}

/// One message: its subject, its text and its HTML (a mail app shows the HTML, a plain one the
/// text), and for the `log` mailer what it is and the one thing in it that signs in.
#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
    what: &'static str,
    secret: String,
}

impl Mail {
    /// The sign-in code's message, with a link that signs in on the device that asked.
    pub fn code(code: &str, link: Option<&str>, lang: MailLang) -> Self {
        Self {
            subject: subject(code, lang),
            text: body(code, link, lang),
            html: html_body(code, link, lang),
            what: "sign-in code",
            secret: code.to_owned(),
        }
    }

    /// An invitation to the team of `shop_name`, in `lang` (the sending admin's): `link` signs
    /// them in (once, for 24 hours).
    pub fn invitation(shop_name: &str, link: &str, lang: MailLang) -> Self {
        let (subject, open, works) = match lang {
            MailLang::En => (
                format!("You're on the team at {shop_name}"),
                "Open this link to sign in:",
                "It works once, for 24 hours. Later, sign in with your email address and the \
                 code we send you. If you did not expect this, ignore this message.",
            ),
            MailLang::Pt => (
                format!("Você faz parte da equipe de {shop_name}"),
                "Abra este link para entrar:",
                "Ele funciona uma vez, por 24 horas. Depois, entre com seu endereço de e-mail \
                 e o código que enviaremos. Se você não esperava esta mensagem, ignore-a.",
            ),
        };
        let text = format!("{subject}.\n\n{open}\n\n{link}\n\n{works}\n");
        let (html_lang, title, link_works) = match lang {
            MailLang::En => (
                "en",
                "You're on the team",
                "The link works once, for 24 hours. Later, sign in with your email address and \
                 the code we send you. If you did not expect this, ignore this message.",
            ),
            MailLang::Pt => (
                "pt",
                "Você faz parte da equipe",
                "O link funciona uma vez, por 24 horas. Depois, entre com seu endereço de \
                 e-mail e o código que enviaremos. Se você não esperava esta mensagem, ignore-a.",
            ),
        };
        let heading = escape_html(&subject);
        let button = sign_in_button(link, lang);
        let html = format!(
            "<!doctype html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>{title}</title></head>\
             <body style=\"margin:0;padding:24px;background:#F6F1EA;color:#2B1D14;\
             font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif\">\
             <div style=\"max-width:420px;margin:0 auto;background:#FFFFFF;border-radius:16px;\
             padding:28px\">\
             <h1 style=\"font-size:20px;margin:0 0 16px\">{heading}</h1>\
             {button}\
             <p style=\"font-size:15px;line-height:1.5;margin:0\">{link_works}</p>\
             </div></body></html>"
        );
        Self {
            subject,
            text,
            html,
            what: "sign-in link",
            secret: link.to_owned(),
        }
    }
}

/// A link as the mails' one button.
fn sign_in_button(link: &str, lang: MailLang) -> String {
    format!(
        "<p style=\"margin:0 0 20px\"><a href=\"{}\" style=\"display:inline-block;\
         background:#2B1D14;color:#FFFFFF;text-decoration:none;font-weight:700;\
         padding:12px 20px;border-radius:10px\">{}</a></p>",
        escape_html(link),
        lang.pick("Sign in", "Entrar")
    )
}

/// Text safe inside HTML (element content and quoted attributes).
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl SmtpMailer {
    fn parse(spec: &str) -> anyhow::Result<Self> {
        // Errors must not repeat the URL: it holds the password.
        let url = url::Url::parse(spec).map_err(|e| anyhow::anyhow!("invalid smtp URL: {e}"))?;
        let from = url
            .query_pairs()
            .find(|(key, _)| key == "from")
            .map(|(_, value)| value.into_owned())
            .or_else(|| percent_decode(url.username()).filter(|user| user.contains('@')))
            .context("the smtp mailer needs a sender: add ?from=ADDRESS to the URL")?;
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid sender address {from:?}: {e}"))?;
        let server = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port()
                .map_or_else(|| "default port".to_owned(), |p| p.to_string())
        );
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(spec)
            .map_err(|e| anyhow::anyhow!("invalid smtp mailer: {e}"))?
            .build();
        Ok(Self {
            transport,
            from,
            server,
        })
    }

    async fn send(&self, to: &str, mail: &Mail) -> anyhow::Result<()> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid recipient: {e}"))?;
        // Text and HTML: a mail app shows the HTML (the code large), a plain one the text.
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(lettre::message::MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .context("cannot build the message")?;
        self.transport
            .send(message)
            .await
            .with_context(|| format!("SMTP server {}", self.server))?;
        Ok(())
    }
}

/// `%XX`-decoded URL text (a user name such as `bar%40example.com`); `+` stays a plus.
fn percent_decode(text: &str) -> Option<String> {
    let escaped = format!("x={}", text.replace('+', "%2B"));
    url::form_urlencoded::parse(escaped.as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
}

fn subject(code: &str, lang: MailLang) -> String {
    match lang {
        MailLang::En => format!("Your Espresso code: {code}"),
        MailLang::Pt => format!("Seu código Espresso: {code}"),
    }
}

/// The text of the message; the code stands alone on its line so people and tests find it, and
/// so does the link.
fn body(code: &str, link: Option<&str>, lang: MailLang) -> String {
    let link = link
        .map(|link| {
            let lead = lang.pick(
                "On the phone or computer where you asked for it, this link signs you in:",
                "No celular ou computador onde você o pediu, este link faz você entrar:",
            );
            format!("{lead}\n\n{link}\n\n")
        })
        .unwrap_or_default();
    match lang {
        MailLang::En => format!(
            "Your Espresso sign-in code is:\n\n{code}\n\n{link}\
             It works for 10 minutes, once. If you did not ask for it, ignore this message.\n"
        ),
        MailLang::Pt => format!(
            "Seu código de acesso ao Espresso é:\n\n{code}\n\n{link}\
             Ele vale por 10 minutos, uma vez. Se você não o pediu, ignore esta mensagem.\n"
        ),
    }
}

/// The HTML of the message: the code large and spaced for reading across a counter, and the
/// link as a button; styles inline (mail apps drop style sheets), nothing fetched from
/// elsewhere. `code` is digits only.
fn html_body(code: &str, link: Option<&str>, lang: MailLang) -> String {
    let (how, button) = match link {
        Some(link) => (
            lang.pick(
                "Type it on the sign-in screen, or press the button on the phone or computer \
                 where you asked for it.",
                "Digite-o na tela de entrada, ou toque no botão no celular ou computador onde \
                 você o pediu.",
            ),
            sign_in_button(link, lang),
        ),
        None => (
            lang.pick(
                "Type it on the sign-in screen.",
                "Digite-o na tela de entrada.",
            ),
            String::new(),
        ),
    };
    let (html_lang, title, heading, works) = match lang {
        MailLang::En => (
            "en",
            "Your Espresso code",
            "Your Espresso sign-in code",
            "It works for 10 minutes, once. If you did not ask for it, ignore this message.",
        ),
        MailLang::Pt => (
            "pt",
            "Seu código Espresso",
            "Seu código de acesso ao Espresso",
            "Ele vale por 10 minutos, uma vez. Se você não o pediu, ignore esta mensagem.",
        ),
    };
    format!(
        "<!doctype html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title></head>\
         <body style=\"margin:0;padding:24px;background:#F6F1EA;color:#2B1D14;\
         font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif\">\
         <div style=\"max-width:420px;margin:0 auto;background:#FFFFFF;border-radius:16px;\
         padding:28px\">\
         <h1 style=\"font-size:20px;margin:0 0 16px\">{heading}</h1>\
         <p style=\"font-size:40px;font-weight:700;letter-spacing:8px;margin:0 0 16px;\
         font-family:ui-monospace,Menlo,Consolas,monospace\">{code}</p>\
         {button}\
         <p style=\"font-size:15px;line-height:1.5;margin:0\">{how} {works}</p>\
         </div></body></html>"
    )
}

/// The whole message as written by the `dir:` mailer (RFC 5322, CRLF line ends).
fn eml(to: &str, mail: &Mail, at: DateTime<Utc>) -> String {
    let id = crate::store::new_id("msg");
    format!(
        "From: {LOCAL_FROM}\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{id}@espresso.localhost>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        subject = mail.subject,
        date = at.to_rfc2822(),
        body = mail.text.replace('\n', "\r\n"),
    )
}

/// Write `dir/<timestamp>-<to>.eml`: first a hidden temporary file, then a rename, so a reader
/// polling the folder never sees half a message. The timestamp (UTC, microseconds) makes names
/// sort by time.
async fn write_eml(
    dir: &Path,
    to: &str,
    mail: &Mail,
    at: DateTime<Utc>,
) -> anyhow::Result<PathBuf> {
    let name = format!(
        "{}-{}.eml",
        at.format("%Y%m%dT%H%M%S%.6fZ"),
        espresso_protocol::maildir::file_safe_address(to)
    );
    let path = dir.join(&name);
    let temporary = dir.join(format!(".{name}.tmp"));
    // A message holds a sign-in code: the folder 0700, the file 0600.
    let (folder, file, message) = (dir.to_owned(), temporary.clone(), eml(to, mail, at));
    tokio::task::spawn_blocking(move || {
        crate::private::create_dir(&folder)
            .with_context(|| format!("cannot create the mail folder {}", folder.display()))?;
        let _ = std::fs::remove_file(&file);
        crate::private::write_new(&file, message.as_bytes())
            .with_context(|| format!("cannot write {}", file.display()))
    })
    .await
    .context("the mail writer stopped")??;
    tokio::fs::rename(&temporary, &path)
        .await
        .with_context(|| {
            format!(
                "cannot rename {} to {}",
                temporary.display(),
                path.display()
            )
        })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_three_mailers_parse_and_anything_else_does_not() {
        assert!(matches!(Mailer::parse("log"), Ok(Mailer::Log)));
        assert!(matches!(Mailer::parse("dir:/tmp/mail"),
                Ok(Mailer::Dir(p)) if p == Path::new("/tmp/mail")));
        assert!(Mailer::parse("dir:").is_err());
        assert!(Mailer::parse("carrier-pigeon").is_err());
        let smtp =
            Mailer::parse("smtp://cafe:s3cret@mail.example.com:2525?from=coffee@example.com")
                .unwrap();
        let shown = format!("{smtp:?}");
        assert!(shown.contains("mail.example.com:2525"), "{shown}");
        assert!(shown.contains("coffee@example.com"), "{shown}");
        assert!(
            !shown.contains("s3cret"),
            "the password must not be logged: {shown}"
        );
    }

    #[test]
    fn smtp_needs_a_sender_and_may_take_it_from_the_user_name() {
        let error = Mailer::parse("smtp://cafe:s3cret@mail.example.com").unwrap_err();
        assert!(error.to_string().contains("from="), "{error}");
        assert!(!format!("{error:#}").contains("s3cret"));
        let smtp = Mailer::parse("smtp://bar%2Bcafe%40example.com:pw@mail.example.com").unwrap();
        assert!(format!("{smtp:?}").contains("bar+cafe@example.com"));
        assert!(Mailer::parse("smtps://mail.example.com?from=a@example.com").is_ok());
    }

    #[tokio::test]
    async fn the_dir_mailer_writes_one_message_with_the_code_on_its_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let mail_dir = dir.path().join("new-folder");
        let at = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap();
        let path = write_eml(
            &mail_dir,
            "ann@example.com",
            &Mail::code("042917", None, MailLang::En),
            at,
        )
        .await
        .unwrap();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            "20250301T090000.000000Z-ann@example.com.eml"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("From: Espresso <espresso@localhost>\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nTo: <ann@example.com>\r\n"));
        assert!(text.contains("\r\nSubject: Your Espresso code: 042917\r\n"));
        assert!(text.contains("\r\nDate: Sat, 1 Mar 2025 09:00:00 +0000\r\n"));
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(body.lines().any(|line| line == "042917"), "{body}");
        // Nothing but the message is left in the folder (the temporary file was renamed).
        assert_eq!(std::fs::read_dir(&mail_dir).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn a_message_that_cannot_be_written_is_counted_as_failed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, "").unwrap();
        let before = failures();
        let mailer = Mailer::Dir(file);
        assert!(
            mailer
                .send_code("ann@example.com", "123456", None, MailLang::En)
                .await
                .is_err()
        );
        assert!(failures() > before);
    }

    #[test]
    fn an_invitation_has_its_link_in_text_and_html_with_the_shop_name_escaped() {
        let link = "http://cafe.test/barista?shop=main&signin=inv_1.abc";
        let mail = Mail::invitation("Bar <Zoë> & Co", link, MailLang::En);
        assert_eq!(mail.subject, "You're on the team at Bar <Zoë> & Co");
        assert!(mail.text.lines().any(|line| line == link), "{}", mail.text);
        assert!(
            mail.html
                .contains("href=\"http://cafe.test/barista?shop=main&amp;signin=inv_1.abc\""),
            "{}",
            mail.html
        );
        assert!(
            mail.html.contains("Bar &lt;Zoë&gt; &amp; Co"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<Zoë>"));
    }

    #[test]
    fn a_code_mail_has_its_link_when_asked_from_a_page_and_only_then() {
        let link = "http://cafe.test/order?shop=main&otp=otp_1.042917";
        let mail = Mail::code("042917", Some(link), MailLang::En);
        assert!(
            mail.text.lines().any(|line| line == "042917"),
            "{}",
            mail.text
        );
        assert!(mail.text.lines().any(|line| line == link), "{}", mail.text);
        assert!(
            mail.html
                .contains("href=\"http://cafe.test/order?shop=main&amp;otp=otp_1.042917\""),
            "{}",
            mail.html
        );
        let bare = Mail::code("042917", None, MailLang::En);
        assert!(!bare.text.contains("http"), "{}", bare.text);
        assert!(!bare.html.contains("href="), "{}", bare.html);
    }

    #[test]
    fn a_code_mail_is_written_in_the_language_of_the_app_that_asked() {
        assert_eq!(MailLang::of(Some("pt")), MailLang::Pt);
        assert_eq!(MailLang::of(Some("pt-BR")), MailLang::Pt);
        assert_eq!(MailLang::of(Some("PT_pt")), MailLang::Pt);
        for other in [None, Some("en"), Some("de"), Some(""), Some("xx-yy-zz")] {
            assert_eq!(MailLang::of(other), MailLang::En, "{other:?}");
        }
        let link = "http://cafe.test/order?shop=main&otp=otp_1.042917";
        let mail = Mail::code("042917", Some(link), MailLang::Pt);
        assert_eq!(mail.subject, "Seu código Espresso: 042917");
        // The code and the link keep their own lines, as in English.
        assert!(
            mail.text.lines().any(|line| line == "042917"),
            "{}",
            mail.text
        );
        assert!(mail.text.lines().any(|line| line == link), "{}", mail.text);
        assert!(mail.text.contains("vale por 10 minutos"), "{}", mail.text);
        assert!(mail.html.contains("<html lang=\"pt\">"), "{}", mail.html);
        assert!(mail.html.contains(">Entrar</a>"), "{}", mail.html);
        assert!(!mail.html.contains("It works"), "{}", mail.html);
    }

    #[test]
    fn an_invitation_is_written_in_the_language_of_the_admin_who_sent_it() {
        let link = "http://cafe.test/barista?shop=main&signin=inv_1.s3cret";
        let mail = Mail::invitation("Café <Zoë>", link, MailLang::Pt);
        assert_eq!(mail.subject, "Você faz parte da equipe de Café <Zoë>");
        assert!(mail.text.lines().any(|line| line == link), "{}", mail.text);
        assert!(
            mail.text.contains("Abra este link para entrar:"),
            "{}",
            mail.text
        );
        assert!(mail.html.contains("<html lang=\"pt\">"), "{}", mail.html);
        assert!(
            mail.html.contains("equipe de Café &lt;Zoë&gt;</h1>"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains(">Entrar</a>"), "{}", mail.html);
        assert!(!mail.html.contains("works once"), "{}", mail.html);
        let english = Mail::invitation("Café", link, MailLang::En);
        assert_eq!(english.subject, "You're on the team at Café");
        assert!(english.text.starts_with("You're on the team at Café.\n"));
        assert!(
            english.html.contains("<html lang=\"en\">"),
            "{}",
            english.html
        );
        assert!(english.html.contains(">Sign in</a>"), "{}", english.html);
    }

    #[test]
    fn file_names_cannot_escape_the_folder() {
        assert_eq!(
            espresso_protocol::maildir::file_safe_address("../../etc/passwd"),
            "_.._etc_passwd"
        );
        assert_eq!(
            espresso_protocol::maildir::file_safe_address("ann@example.com"),
            "ann@example.com"
        );
    }
}
