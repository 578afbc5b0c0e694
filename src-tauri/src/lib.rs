//! espresso-app: the thin Tauri shell. It owns the native core's `Client` and exposes its calls
//! as Tauri commands, one to one with the UI's `Backend` seam. It holds no business rules.

use espresso_core::Client;
use espresso_core::protocol::Health;

/// The server the shell talks to when none is configured.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

/// The server URL for this run: `ESPRESSO_SERVER_URL`, else [`DEFAULT_SERVER_URL`].
pub fn server_url_from_env() -> String {
    std::env::var("ESPRESSO_SERVER_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned())
}

/// State shared by the commands.
pub struct Shell {
    client: Result<Client, String>,
}

impl Shell {
    pub fn new(server_url: &str) -> Self {
        Self {
            client: Client::new(server_url).map_err(|e| e.to_string()),
        }
    }

    fn client(&self) -> Result<&Client, String> {
        self.client.as_ref().map_err(Clone::clone)
    }
}

/// `Backend::health`: is the server up, and which version is it.
#[tauri::command]
async fn health(shell: tauri::State<'_, Shell>) -> Result<Health, String> {
    shell.client()?.health().await.map_err(|e| e.to_string())
}

/// Start the shell. Panics only if the window system cannot start at all.
pub fn run() {
    let shell = Shell::new(&server_url_from_env());
    #[allow(clippy::expect_used)]
    tauri::Builder::default()
        .manage(shell)
        .invoke_handler(tauri::generate_handler![health])
        .run(tauri::generate_context!())
        .expect("the window system could not start");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_server_is_reported_not_panicked() {
        // Port 9 (discard) on loopback refuses connections.
        let shell = Shell::new("http://127.0.0.1:9");
        let error = shell.client().unwrap().health().await.unwrap_err();
        assert!(error.to_string().contains("cannot reach"), "{error}");
    }

    #[test]
    fn a_bad_server_url_is_kept_as_a_readable_error() {
        let shell = Shell::new("::not a url::");
        assert!(shell.client().unwrap_err().contains("invalid server URL"));
    }
}
