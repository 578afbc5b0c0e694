//! What the installed app remembers between runs: the server it talks to and the shop it serves,
//! chosen on the sign-in screen (first-run setup) and kept in `settings.json` in the app's data
//! folder. Older installs kept only the server, in `server.txt`: that is still read.

use std::path::Path;

use espresso_core::protocol::is_shop_id;
use serde::{Deserialize, Serialize};

/// The server the shell talks to when none is configured.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

/// The shop an app serves when none is configured.
pub const DEFAULT_SHOP: &str = "main";

/// The file in the app's data folder that keeps the choices made in the app.
pub const SETTINGS_FILE: &str = "settings.json";

/// Where earlier versions kept the server (read, never written).
pub const OLD_SERVER_FILE: &str = "server.txt";

/// The choices saved in the app (each `None` until made).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<String>,
}

impl Settings {
    /// The settings saved in `dir`: `settings.json`, else the server from an old `server.txt`,
    /// else none. An unreadable file counts as none (the sign-in screen lets the user choose
    /// again).
    pub fn load(dir: &Path) -> Self {
        if let Ok(text) = std::fs::read_to_string(dir.join(SETTINGS_FILE)) {
            match serde_json::from_str::<Settings>(&text) {
                Ok(settings) => return settings.tidy(),
                Err(error) => {
                    tracing::warn!(%error, "ignoring an unreadable {SETTINGS_FILE}")
                }
            }
        }
        let server_url = std::fs::read_to_string(dir.join(OLD_SERVER_FILE)).ok();
        Settings {
            server_url,
            shop: None,
        }
        .tidy()
    }

    /// Save to `dir` (the whole file is replaced at once, so a crash never leaves half of it).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let staging = dir.join(format!("{SETTINGS_FILE}.new"));
        std::fs::write(&staging, text)?;
        std::fs::rename(&staging, dir.join(SETTINGS_FILE))
    }

    /// Blank values are no values.
    fn tidy(self) -> Self {
        let clean =
            |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Settings {
            server_url: clean(self.server_url),
            shop: clean(self.shop),
        }
    }
}

/// The first non-blank of the environment's value, the saved one and the default.
fn pick(env: Option<String>, saved: Option<&str>, default: &str) -> String {
    env.map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .or_else(|| saved.map(str::to_owned))
        .unwrap_or_else(|| default.to_owned())
}

/// The server for this run: `ESPRESSO_SERVER_URL`, else the saved one, else
/// [`DEFAULT_SERVER_URL`].
pub fn server_url_for_run(saved: &Settings) -> String {
    server_url_from(std::env::var("ESPRESSO_SERVER_URL").ok(), saved)
}

fn server_url_from(env: Option<String>, saved: &Settings) -> String {
    pick(env, saved.server_url.as_deref(), DEFAULT_SERVER_URL)
}

/// The shop for this run: `ESPRESSO_SHOP`, else the saved one, else [`DEFAULT_SHOP`]. A name
/// that cannot be a shop's is replaced by the default (with a log line).
pub fn shop_for_run(saved: &Settings) -> String {
    shop_from(std::env::var("ESPRESSO_SHOP").ok(), saved)
}

fn shop_from(env: Option<String>, saved: &Settings) -> String {
    let shop = pick(env, saved.shop.as_deref(), DEFAULT_SHOP);
    if is_shop_id(&shop) {
        shop
    } else {
        tracing::warn!(?shop, "not a shop id; using {DEFAULT_SHOP:?}");
        DEFAULT_SHOP.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "espresso-app-settings-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn nothing_saved_means_the_defaults() {
        let dir = temp_dir("empty");
        let saved = Settings::load(&dir);
        assert_eq!(saved, Settings::default());
        assert_eq!(server_url_from(None, &saved), DEFAULT_SERVER_URL);
        assert_eq!(shop_from(None, &saved), DEFAULT_SHOP);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_old_server_file_is_still_read_and_the_new_file_wins() {
        let dir = temp_dir("old");
        std::fs::write(dir.join(OLD_SERVER_FILE), "http://cafe-laptop:8080\n").unwrap();
        let saved = Settings::load(&dir);
        assert_eq!(saved.server_url.as_deref(), Some("http://cafe-laptop:8080"));
        assert_eq!(saved.shop, None);
        assert_eq!(server_url_from(None, &saved), "http://cafe-laptop:8080");

        let chosen = Settings {
            server_url: Some("http://10.0.0.5:8080".into()),
            shop: Some("pop-up".into()),
        };
        chosen.save(&dir).unwrap();
        let saved = Settings::load(&dir);
        assert_eq!(saved, chosen);
        assert_eq!(shop_from(None, &saved), "pop-up");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_environment_overrides_what_was_saved() {
        let saved = Settings {
            server_url: Some("http://saved:8080".into()),
            shop: Some("saved-shop".into()),
        };
        assert_eq!(
            server_url_from(Some("http://env:8080".into()), &saved),
            "http://env:8080"
        );
        assert_eq!(shop_from(Some("kiosk_2".into()), &saved), "kiosk_2");
        // A blank variable is no override.
        assert_eq!(shop_from(Some("  ".into()), &saved), "saved-shop");
        // Nor is a name no shop can have.
        assert_eq!(shop_from(Some("../admin".into()), &saved), DEFAULT_SHOP);
    }

    #[test]
    fn an_unreadable_settings_file_counts_as_none() {
        let dir = temp_dir("broken");
        std::fs::write(dir.join(SETTINGS_FILE), "{ not json").unwrap();
        assert_eq!(Settings::load(&dir), Settings::default());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
