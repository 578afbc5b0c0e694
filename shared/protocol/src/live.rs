//! Frames of the live stream (`GET /api/v1/live`, WebSocket text frames of JSON), internally
//! tagged by `"type"`.

use serde::{Deserialize, Serialize};

use super::Event;
use crate::ShopId;

/// The server sends a ping (WebSocket and [`ServerFrame::Ping`]) this often.
pub const PING_INTERVAL_S: u64 = 20;
/// A connection silent this long is closed (by the server; a client may do the same).
pub const IDLE_TIMEOUT_S: u64 = 60;
/// WebSocket close code for a client that could not keep up; it resumes with `since`.
pub const CLOSE_SLOW_CONSUMER: u16 = 4008;
/// WebSocket close code: the `hello` token is not valid (expired or signed out): refresh it
/// and reconnect.
pub const CLOSE_UNAUTHENTICATED: u16 = 4001;
/// WebSocket close code: the server has no such shop. Reconnecting will not help.
pub const CLOSE_NOT_FOUND: u16 = 4004;

/// What a client sends. Only `hello`, once, first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Hello {
        /// The access token, or null to watch as the public.
        token: Option<String>,
        /// The shop id.
        shop: ShopId,
        /// The last `seq` this client has seen, to get what it missed; null for live events only.
        since: Option<u64>,
    },
}

/// What the server sends. Read through [`WireFrame`] (see its `Deserialize`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to `hello`: the newest `seq` of the shop (0 before any) and what this
    /// connection will see.
    Welcome { head: u64, scope: Scope },
    /// One event of the log, in `seq` order, without gaps within the scope's view. Boxed: an
    /// event is large and the other frames are tiny.
    Event { seq: u64, event: Box<Event> },
    /// `since` is older than the retained history: reload through REST, continue from `head`.
    Reset,
    /// Sent with the WebSocket ping: a browser cannot see WebSocket pings, so this is how a web
    /// client knows the server is still there. Nothing to answer.
    Ping,
}

/// A server frame as it is read: every field of every type, each optional. serde reads an
/// internally tagged enum by first copying the whole frame into a buffer of its own (it cannot
/// know the variant before it has seen `"type"`, which may come last), and then reading the
/// variant from that copy: for an event frame (an order and its seven timestamps) that copy was
/// most of what a screen spends on the stream. This reads the frame in one pass, whatever the
/// order of its fields, and then checks the fields its type needs are there.
#[derive(Deserialize)]
struct WireFrame {
    #[serde(rename = "type")]
    kind: FrameType,
    head: Option<u64>,
    scope: Option<Scope>,
    seq: Option<u64>,
    event: Option<Box<Event>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum FrameType {
    Welcome,
    Event,
    Reset,
    Ping,
}

impl<'de> Deserialize<'de> for ServerFrame {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let frame = WireFrame::deserialize(deserializer)?;
        let needs = |field: &'static str| D::Error::missing_field(field);
        Ok(match frame.kind {
            FrameType::Welcome => Self::Welcome {
                head: frame.head.ok_or_else(|| needs("head"))?,
                scope: frame.scope.ok_or_else(|| needs("scope"))?,
            },
            FrameType::Event => Self::Event {
                seq: frame.seq.ok_or_else(|| needs("seq"))?,
                event: frame.event.ok_or_else(|| needs("event"))?,
            },
            FrameType::Reset => Self::Reset,
            FrameType::Ping => Self::Ping,
        })
    }
}

/// What a live connection sees, decided by the token of its `hello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Baristas, displays, admins: everything of their shop.
    Staff,
    /// A signed-in customer: their own orders plus `shop.updated`.
    Customer,
    /// No token: `shop.updated` and `stats.updated` only.
    Public,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventType, Stats};
    use serde_json::json;

    #[test]
    fn hello_reads_as_api_md_shows_it() {
        let hello: ClientFrame = serde_json::from_value(
            json!({"type": "hello", "token": null, "shop": "main", "since": null}),
        )
        .unwrap();
        assert_eq!(
            hello,
            ClientFrame::Hello {
                token: None,
                shop: "main".into(),
                since: None
            }
        );
        let resume = ClientFrame::Hello {
            token: Some("at".into()),
            shop: "main".into(),
            since: Some(41),
        };
        assert_eq!(
            serde_json::to_value(&resume).unwrap(),
            json!({"type": "hello", "token": "at", "shop": "main", "since": 41})
        );
    }

    #[test]
    fn hello_refuses_unknown_fields_and_types() {
        let extra = json!({"type": "hello", "token": null, "shop": "main", "since": null, "x": 1});
        assert!(serde_json::from_value::<ClientFrame>(extra).is_err());
        let other = json!({"type": "subscribe", "shop": "main"});
        assert!(serde_json::from_value::<ClientFrame>(other).is_err());
    }

    #[test]
    fn server_frames_are_tagged_by_type() {
        let welcome = ServerFrame::Welcome {
            head: 42,
            scope: Scope::Customer,
        };
        assert_eq!(
            serde_json::to_value(&welcome).unwrap(),
            json!({"type": "welcome", "head": 42, "scope": "customer"})
        );
        assert_eq!(
            serde_json::to_value(ServerFrame::Reset).unwrap(),
            json!({"type": "reset"})
        );
        assert_eq!(
            serde_json::to_value(ServerFrame::Ping).unwrap(),
            json!({"type": "ping"})
        );
        let at = "2026-05-04T09:00:00Z".parse().unwrap();
        let frame = ServerFrame::Event {
            seq: 43,
            event: Box::new(Event::stats_updated("main", Stats::default(), at)),
        };
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(json["type"], "event");
        assert_eq!(json["seq"], 43);
        assert_eq!(json["event"]["type"], "stats.updated");
        let back: ServerFrame = serde_json::from_value(json).unwrap();
        assert_eq!(back, frame);
        if let ServerFrame::Event { event, .. } = back {
            assert_eq!(event.kind, EventType::StatsUpdated);
        }
    }

    #[test]
    fn server_frames_are_read_whatever_the_order_of_their_fields() {
        let at = "2026-05-04T09:00:00Z".parse().unwrap();
        let event = Event::stats_updated("main", Stats::default(), at);
        let event_json = serde_json::to_string(&event).unwrap();
        let frames = [
            (
                r#"{"type":"welcome","head":42,"scope":"staff"}"#.to_owned(),
                ServerFrame::Welcome {
                    head: 42,
                    scope: Scope::Staff,
                },
            ),
            (
                r#"{"scope":"public","head":0,"type":"welcome"}"#.to_owned(),
                ServerFrame::Welcome {
                    head: 0,
                    scope: Scope::Public,
                },
            ),
            (
                format!(r#"{{"event":{event_json},"seq":7,"type":"event"}}"#),
                ServerFrame::Event {
                    seq: 7,
                    event: Box::new(event.clone()),
                },
            ),
            (r#"{"type":"reset"}"#.to_owned(), ServerFrame::Reset),
            // A field a later server may add is ignored, as before.
            (
                r#"{"type":"ping","server_time":"2026-05-04T09:00:00Z"}"#.to_owned(),
                ServerFrame::Ping,
            ),
        ];
        for (text, frame) in frames {
            assert_eq!(
                serde_json::from_str::<ServerFrame>(&text).unwrap(),
                frame,
                "{text}"
            );
        }
        for wrong in [
            r#"{"type":"welcome","head":42}"#.to_owned(),
            r#"{"type":"welcome","scope":"staff","head":-1}"#.to_owned(),
            r#"{"type":"event","seq":7}"#.to_owned(),
            format!(r#"{{"type":"event","event":{event_json}}}"#),
            r#"{"type":"goodbye"}"#.to_owned(),
            r#"{"head":42,"scope":"staff"}"#.to_owned(),
            r#"["welcome",42]"#.to_owned(),
        ] {
            assert!(
                serde_json::from_str::<ServerFrame>(&wrong).is_err(),
                "{wrong} was read"
            );
        }
    }

    #[test]
    fn scopes_have_their_wire_names() {
        assert_eq!(
            serde_json::to_value([Scope::Staff, Scope::Customer, Scope::Public]).unwrap(),
            json!(["staff", "customer", "public"])
        );
    }
}
