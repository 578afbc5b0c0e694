//! The `dir:` mailer's folder (API.md, Operations): one `<timestamp>-<to>.eml` file per message.
//! The server writes it; whoever reads sign-in codes from it (the tests, the order robot) must
//! name the files the same way, so the naming lives here once.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_kept_and_anything_else_cannot_leave_the_folder() {
        assert_eq!(file_safe_address("ann@example.com"), "ann@example.com");
        assert_eq!(file_safe_address("a+b_c-d.e@x.io"), "a+b_c-d.e@x.io");
        assert_eq!(file_safe_address("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_safe_address(".hidden@x.io"), "hidden@x.io");
    }
}
