//! The `dir:` mailer's folder (API.md, Operations): one `<timestamp>-<to>.eml` file per message.
//! The server writes it; whoever reads sign-in codes from it (the tests, the order robot) reads
//! it with [`mails_to`] and [`code_in`], so the naming and the reading live here once.

use std::path::{Path, PathBuf};

/// The `<to>` part of a message's file name: `to` with every character other than ASCII letters,
/// digits and `@.+-_` replaced by `_`, and no leading dot. A validated email is left as it is;
/// this is the guard for anything else (no path separators, no hidden files).
pub fn file_safe_address(to: &str) -> String {
    to.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.+-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_owned()
}

/// The part of a message's file name after the timestamp, as the mailer writes it for `email`:
/// lowercase, and any character other than letters, digits and `@.+-_` replaced by `_`.
fn file_name_for(email: &str) -> String {
    file_safe_address(&email.trim().to_lowercase())
}

/// The messages mailed to `email` in `dir` so far, oldest first. A missing folder has none.
///
/// A name is `<timestamp>-<to>.eml` and the timestamp has no `-`, so the address is everything
/// after the first `-`: `ann@x` never picks up `jo-ann@x`'s mail. Hidden files (the mailer's
/// half-written temporaries) are skipped.
pub fn mails_to(dir: &Path, email: &str) -> Vec<PathBuf> {
    let wanted = format!("{}.eml", file_name_for(email));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut mails: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry.file_name().to_str().is_some_and(|name| {
                !name.starts_with('.')
                    && name
                        .split_once('-')
                        .is_some_and(|(_stamp, to)| to == wanted)
            })
        })
        .map(|entry| entry.path())
        .collect();
    mails.sort();
    mails
}

/// The 6-digit code of a message: the first line of its body that is exactly six digits.
pub fn code_in(message: &str) -> Option<String> {
    let body = message
        .split_once("\r\n\r\n")
        .or_else(|| message.split_once("\n\n"))
        .map_or(message, |(_headers, body)| body);
    body.lines()
        .map(str::trim)
        .find(|line| line.len() == 6 && line.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &str = "From: Espresso <espresso@localhost>\r\nTo: <ann@example.com>\r\n\
        Subject: Your Espresso code: 042917\r\n\r\nYour Espresso sign-in code is:\r\n\r\n042917\r\n\r\n\
        It works for 10 minutes, once.\r\n";

    #[test]
    fn the_code_is_the_six_digit_line_of_the_body_not_the_subject() {
        let mail = MAIL.replace("Subject: Your Espresso code: 042917", "Subject: 123456");
        assert_eq!(code_in(&mail).as_deref(), Some("042917"));
        assert_eq!(code_in("Subject: x\r\n\r\nno code here\r\n12345\r\n"), None);
        assert_eq!(code_in("1234567\n 654321 \n"), Some("654321".into()));
    }

    #[test]
    fn mails_are_matched_by_the_whole_address_and_sorted_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str| std::fs::write(dir.path().join(name), MAIL).unwrap();
        write("20250301T090002.000000Z-ann@example.com.eml");
        write("20250301T090001.000000Z-ann@example.com.eml");
        write("20250301T090003.000000Z-jo-ann@example.com.eml");
        write("20250301T090004.000000Z-ann@example.co.eml");
        write(".20250301T090005.000000Z-ann@example.com.eml.tmp");
        let names: Vec<_> = mails_to(dir.path(), "Ann@Example.com")
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        assert_eq!(
            names,
            [
                "20250301T090001.000000Z-ann@example.com.eml",
                "20250301T090002.000000Z-ann@example.com.eml"
            ]
        );
        assert_eq!(mails_to(dir.path(), "jo-ann@example.com").len(), 1);
        assert!(mails_to(&dir.path().join("missing"), "ann@example.com").is_empty());
    }

    #[test]
    fn an_address_is_kept_and_anything_else_cannot_leave_the_folder() {
        assert_eq!(file_safe_address("ann@example.com"), "ann@example.com");
        assert_eq!(file_safe_address("a+b_c-d.e@x.io"), "a+b_c-d.e@x.io");
        assert_eq!(file_safe_address("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_safe_address(".hidden@x.io"), "hidden@x.io");
    }
}
