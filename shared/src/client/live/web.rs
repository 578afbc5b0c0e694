//! The live stream's socket in the browser: `WebSocket` from web-sys. The browser answers
//! WebSocket pings by itself and hides them; the server's `{"type": "ping"}` frames are what
//! keep the idle timer from firing.

use futures::StreamExt;
use futures::channel::mpsc;
use url::Url;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

use super::Incoming;

/// What the socket's callbacks report.
enum Raw {
    Open,
    Frame(Incoming),
}

pub(super) struct Conn {
    socket: WebSocket,
    raw: mpsc::UnboundedReceiver<Raw>,
    // Kept alive as long as the socket may call them; unset in `Drop` first.
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

fn describe(error: JsValue) -> String {
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

pub(super) async fn connect(url: &Url) -> Result<Conn, String> {
    let socket = WebSocket::new(url.as_str()).map_err(describe)?;
    let (tx, raw) = mpsc::unbounded();
    let opened = tx.clone();
    let on_open = Closure::<dyn FnMut(Event)>::new(move |_event: Event| {
        let _ = opened.unbounded_send(Raw::Open);
    });
    let messages = tx.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let frame = match event.data().as_string() {
            Some(text) => Incoming::Text(text),
            None => Incoming::Alive,
        };
        let _ = messages.unbounded_send(Raw::Frame(frame));
    });
    // An error event is always followed by a close event (code 1006): that one is reported.
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
        let _ = tx.unbounded_send(Raw::Frame(Incoming::Closed {
            code: Some(event.code()).filter(|code| *code != 1006),
            reason: event.reason(),
        }));
    });
    socket.set_onopen(Some(wasm_bindgen::JsCast::unchecked_ref(on_open.as_ref())));
    socket.set_onmessage(Some(wasm_bindgen::JsCast::unchecked_ref(
        on_message.as_ref(),
    )));
    socket.set_onclose(Some(wasm_bindgen::JsCast::unchecked_ref(on_close.as_ref())));
    let mut conn = Conn {
        socket,
        raw,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    };
    match conn.raw.next().await {
        Some(Raw::Open) => Ok(conn),
        Some(Raw::Frame(Incoming::Closed { reason, .. })) if !reason.is_empty() => Err(reason),
        _ => Err("the WebSocket could not be opened".into()),
    }
}

impl Conn {
    pub(super) async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.socket.send_with_str(&text).map_err(describe)
    }

    pub(super) async fn next(&mut self) -> Incoming {
        match self.raw.next().await {
            Some(Raw::Frame(frame)) => frame,
            Some(Raw::Open) => Incoming::Alive,
            None => Incoming::Closed {
                code: None,
                reason: "the connection ended".into(),
            },
        }
    }

    pub(super) async fn close(self) {
        // `Drop` closes it.
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}
