//! The shell's Tauri commands: [`call`] answers every app call ([`Call`], defined once in the
//! core's `calls` module) and two more follow a shop live through a channel. The names are the
//! core's `calls::command` list; errors reach the UI as the core's serialised `ClientError`.

use espresso_core::calls::{Call, Host, NotifyPermission, Reply};
use espresso_core::client::live::{LiveConfig, LiveStream, LiveUpdate};
use espresso_core::protocol::ShopId;
use espresso_core::{Client, ClientError};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime};

use crate::notify;
use crate::shell::Shell;

type Answer<T> = Result<T, ClientError>;
type State<'a> = tauri::State<'a, Shell>;

/// Answers one app call (`calls::command::CALL`).
#[tauri::command(rename_all = "snake_case")]
pub async fn call(app: AppHandle, shell: State<'_>, call: Call) -> Answer<Reply> {
    call.run(&ShellHost {
        app: &app,
        shell: &shell,
    })
    .await
}

/// Follow `shop` live; every update goes to `on_update` in order. Returns the subscription's
/// id for [`live_close`] (`calls::command::LIVE_SUBSCRIBE`).
#[tauri::command(rename_all = "snake_case")]
pub async fn live_subscribe(
    shell: State<'_>,
    shop: ShopId,
    since: Option<u64>,
    on_update: Channel<LiveUpdate>,
) -> Answer<u64> {
    let client = shell.client()?;
    let (stream, mut updates) =
        LiveStream::connect_with(&client, &shop, since, LiveConfig::default());
    let id = shell.add_stream(stream);
    tauri::async_runtime::spawn(async move {
        while let Some(update) = updates.next().await {
            if on_update.send(update).is_err() {
                break;
            }
        }
    });
    Ok(id)
}

/// Close a subscription (`calls::command::LIVE_CLOSE`).
#[tauri::command(rename_all = "snake_case")]
pub async fn live_close(shell: State<'_>, id: u64) -> Answer<()> {
    shell.close_stream(id);
    Ok(())
}

/// The host calls as the installed app answers them.
struct ShellHost<'a, R: Runtime> {
    app: &'a AppHandle<R>,
    shell: &'a Shell,
}

impl<R: Runtime> Host for ShellHost<'_, R> {
    fn client(&self) -> Answer<Client> {
        self.shell.client()
    }

    async fn server_url(&self) -> Answer<String> {
        Ok(self.shell.server_url())
    }

    async fn set_server(&self, url: String, shop: String) -> Answer<()> {
        self.shell.switch_server(&url, &shop).await
    }

    async fn set_shop(&self, shop: String) -> Answer<()> {
        self.shell.switch_shop(&shop).await
    }

    async fn notify(&self, title: String, body: String) -> Answer<()> {
        notify::show(self.app, &title, &body);
        Ok(())
    }

    async fn notification_permission(&self) -> Answer<NotifyPermission> {
        Ok(notify::permission(self.app))
    }

    async fn request_notification_permission(&self) -> Answer<NotifyPermission> {
        Ok(notify::request_permission(self.app))
    }

    /// The display's hidden settings: the only way the booth screen closes.
    async fn quit_app(&self) -> Answer<()> {
        self.shell.allow_close();
        self.app.exit(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use espresso_core::StaffAction;

    #[test]
    fn staff_actions_read_as_the_ui_writes_them() {
        for action in [
            StaffAction::Claim,
            StaffAction::Unclaim,
            StaffAction::Complete,
            StaffAction::Collect,
        ] {
            let wire = serde_json::to_string(&action).unwrap();
            assert_eq!(wire, format!("\"{}\"", action.as_str()));
            assert_eq!(serde_json::from_str::<StaffAction>(&wire).unwrap(), action);
        }
    }
}
