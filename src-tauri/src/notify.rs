//! System notifications (the customer's drink is ready; a new order for the barista).

use espresso_core::calls::NotifyPermission;
use tauri::plugin::PermissionState;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

/// Show a system notification, never failing the UI: an error in preparing it is logged; the
/// plugin sends it on a background task, which drops a delivery failure (no notification
/// service, as on a kiosk or a test's virtual display) silently.
pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    let clip = |text: &str, most: usize| text.chars().take(most).collect::<String>();
    let Some(notifications) = app.try_state::<tauri_plugin_notification::Notification<R>>() else {
        tracing::warn!(?title, "notifications are not set up; not shown");
        return;
    };
    let shown = notifications
        .builder()
        .title(clip(title, 120))
        .body(clip(body, 400))
        .show();
    if let Err(error) = shown {
        tracing::warn!(?title, %error, "could not show the notification");
    }
}

/// Whether notifications may be shown (desktops grant them; phones ask).
pub fn permission<R: Runtime>(app: &AppHandle<R>) -> NotifyPermission {
    from_state(app.notification().permission_state())
}

/// Ask the user for the permission (phones); answers as [`permission`].
pub fn request_permission<R: Runtime>(app: &AppHandle<R>) -> NotifyPermission {
    from_state(app.notification().request_permission())
}

fn from_state(
    state: Result<PermissionState, tauri_plugin_notification::Error>,
) -> NotifyPermission {
    match state {
        Ok(PermissionState::Granted) => NotifyPermission::Granted,
        Ok(PermissionState::Prompt | PermissionState::PromptWithRationale) => NotifyPermission::Ask,
        Ok(PermissionState::Denied) | Err(_) => NotifyPermission::Denied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_read_as_the_ui_expects() {
        assert_eq!(
            from_state(Ok(PermissionState::Granted)),
            NotifyPermission::Granted
        );
        assert_eq!(
            from_state(Ok(PermissionState::Prompt)),
            NotifyPermission::Ask
        );
        assert_eq!(
            from_state(Ok(PermissionState::PromptWithRationale)),
            NotifyPermission::Ask
        );
        assert_eq!(
            from_state(Ok(PermissionState::Denied)),
            NotifyPermission::Denied
        );
    }
}
