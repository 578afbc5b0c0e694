//! Reading sign-in codes the way a person does: from their mail. The server's `dir:` mailer
//! (`--mailer dir:PATH`) writes each message as `PATH/<timestamp>-<to>.eml` (UTC timestamp,
//! microseconds, so names sort by time) with the 6-digit code alone on a line of the body.
//!
//! This is the only way the robot and the e2e tests get a code: there is no backdoor into the
//! server. Nothing here talks to the server.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often [`wait_for_code`] looks at the folder again, at first and at most.
const POLL_FIRST: Duration = Duration::from_millis(10);
const POLL_MAX: Duration = Duration::from_millis(200);

/// No code came in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoCode {
    pub email: String,
    pub dir: PathBuf,
    pub waited: Duration,
    /// The newest message to the address, if one came but held no code.
    pub unreadable: Option<PathBuf>,
}

impl std::fmt::Display for NoCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no sign-in code for {} arrived in {} within {:?} (is the server's mailer `dir:{}`?)",
            self.email,
            self.dir.display(),
            self.waited,
            self.dir.display()
        )?;
        if let Some(path) = &self.unreadable {
            write!(f, "; {} holds no 6-digit code", path.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for NoCode {}

pub use espresso_core::maildir::{code_in, mails_to};

/// The code of the newest message to `email` beyond the first `seen` ones, if there is one yet.
pub fn new_code(dir: &Path, email: &str, seen: usize) -> Result<Option<String>, PathBuf> {
    let mails = mails_to(dir, email);
    let Some(newest) = mails.get(seen..).and_then(<[PathBuf]>::last) else {
        return Ok(None);
    };
    match std::fs::read_to_string(newest)
        .ok()
        .as_deref()
        .and_then(code_in)
    {
        Some(code) => Ok(Some(code)),
        None => Err(newest.clone()),
    }
}

/// Wait until a message to `email` beyond the first `seen` ones (count them with [`mails_to`]
/// before asking for the code) is in `dir`, and return its code; give up after `deadline`.
pub async fn wait_for_code(
    dir: &Path,
    email: &str,
    seen: usize,
    deadline: Duration,
) -> Result<String, NoCode> {
    let start = Instant::now();
    let mut pause = POLL_FIRST;
    let mut unreadable = None;
    loop {
        match new_code(dir, email, seen) {
            Ok(Some(code)) => return Ok(code),
            Ok(None) => {}
            Err(path) => unreadable = Some(path),
        }
        if start.elapsed() >= deadline {
            return Err(NoCode {
                email: email.to_owned(),
                dir: dir.to_owned(),
                waited: deadline,
                unreadable,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &str = "From: Espresso <espresso@localhost>\r\nTo: <ann@example.com>\r\n\
        Subject: Your Espresso code: 042917\r\n\r\nYour Espresso sign-in code is:\r\n\r\n042917\r\n\r\n\
        It works for 10 minutes, once.\r\n";

    #[tokio::test]
    async fn waiting_returns_the_code_of_the_newest_mail_beyond_those_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        std::fs::write(
            path.join("20250301T090001.000000Z-ann@example.com.eml"),
            MAIL,
        )
        .unwrap();
        let seen = mails_to(&path, "ann@example.com").len();
        let writer = tokio::spawn({
            let path = path.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                let mail = MAIL.replace("\r\n042917\r\n", "\r\n777111\r\n");
                std::fs::write(
                    path.join("20250301T090009.000000Z-ann@example.com.eml"),
                    mail,
                )
                .unwrap();
            }
        });
        let code = wait_for_code(&path, "ann@example.com", seen, Duration::from_secs(5))
            .await
            .unwrap();
        writer.await.unwrap();
        assert_eq!(code, "777111");
    }

    #[tokio::test]
    async fn waiting_gives_up_at_the_deadline_and_says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let error = wait_for_code(dir.path(), "bob@example.com", 0, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("bob@example.com"), "{error}");
        assert!(error.to_string().contains("dir:"), "{error}");
    }
}
