//! The OS keyring for real: a client signed in through the Secret Service comes back signed in
//! after a restart (a new client, a new store on the same entry). Runs under `cargo xtask test`,
//! which gives the e2e suites their own D-Bus session with an unlocked gnome-keyring.

use std::sync::Arc;

use chrono::Utc;
use espresso_core::Client;
use espresso_core::session::{KeyringStore, SessionStore};
use espresso_server::Server;
use espresso_server::config::ServeConfig;

#[tokio::test]
#[ignore = "needs a Secret Service (D-Bus session + unlocked keyring): run through `cargo xtask test`"]
async fn a_session_kept_in_the_os_keyring_signs_the_restarted_app_back_in() -> anyhow::Result<()> {
    anyhow::ensure!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: run through `cargo xtask test`"
    );
    let dir = tempfile::tempdir()?;
    let db = format!("sqlite://{}", dir.path().join("espresso.db").display());
    let server = Server::start(ServeConfig::for_tests(db, "/nonexistent")).await?;
    let url = server.url();
    // One entry per test run, so runs never see each other's sessions.
    let account = format!("{url} keyring-test-{}", std::process::id());

    let store = Arc::new(KeyringStore::new("espresso-tests", &account)?);
    store.clear()?;
    let tablet = Client::with_store(&url, store)?;
    assert!(!tablet.is_signed_in());
    let user = server
        .store()
        .grant(
            "barista@cafe.test",
            espresso_core::protocol::Role::Barista,
            Utc::now(),
        )
        .await?;
    let session = espresso_server::auth::open_session(server.store(), &user, Utc::now()).await?;
    tablet.set_session(Some(session));
    if let Some(error) = tablet.take_store_error() {
        anyhow::bail!("the keyring did not take the session: {error:?}");
    }
    drop(tablet);

    // The tablet restarts: a new client reads the session back from the keyring.
    let restarted = Client::with_store(
        &url,
        Arc::new(KeyringStore::new("espresso-tests", &account)?),
    )?;
    assert!(restarted.is_signed_in(), "signed in again from the keyring");
    let me = restarted.me().await?;
    assert_eq!(me.email, "barista@cafe.test");

    // Signing out forgets it in the keyring too.
    restarted.sign_out().await?;
    let after = KeyringStore::new("espresso-tests", &account)?;
    assert!(
        after.load()?.is_none(),
        "signed out: nothing left in the keyring"
    );
    server.stop().await
}
