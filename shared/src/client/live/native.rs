//! The live stream's socket on native targets: tokio-tungstenite (TLS through native-tls for
//! `wss://`). Pings are answered by tungstenite itself.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use super::Incoming;
use crate::client::rt;

/// How long a close handshake may take before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// How much one read of the socket takes at most. tungstenite zero-fills that much of its buffer
/// before every read (two a frame: the frame, then the read that finds nothing more). At its
/// default of 128 KiB that was a tenth of what the robot spent, for frames of about 1.5 KB; a
/// longer message is read in more than one go.
const READ_BUFFER_BYTES: usize = 8 * 1024;

pub(super) struct Conn {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub(super) async fn connect(url: &Url) -> Result<Conn, String> {
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let (socket, _response) =
        tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false)
            .await
            .map_err(|e| e.to_string())?;
    Ok(Conn { socket })
}

impl Conn {
    pub(super) async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.socket
            .send(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    }

    pub(super) async fn next(&mut self) -> Incoming {
        match self.socket.next().await {
            Some(Ok(Message::Text(text))) => Incoming::Text(text.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => Incoming::Closed {
                code: frame.as_ref().map(|f| u16::from(f.code)),
                reason: frame
                    .map(|f| f.reason.as_str().to_owned())
                    .unwrap_or_default(),
            },
            Some(Ok(_)) => Incoming::Alive,
            Some(Err(error)) => Incoming::Closed {
                code: None,
                reason: error.to_string(),
            },
            None => Incoming::Closed {
                code: None,
                reason: "the connection ended".into(),
            },
        }
    }

    pub(super) async fn close(mut self) {
        let _ = rt::timeout(CLOSE_TIMEOUT, self.socket.close(None)).await;
    }
}
