//! What the customer's screen decides, worked out from the live view and what the screen knows
//! (a start under way, a refusal, the booth code it arrived with, the order it follows). Pure
//! (no signals, no I/O), so it is tested natively, like the barista's board model.

use chrono::{DateTime, Utc};
use espresso_core::protocol::{ErrorCode, Order, OrderId, OrderState, ScanPass};
use espresso_core::view::MyOrdersView;

use crate::backend::BackendError;

/// What the main page shows; changes only when the kind of screen changes, so a screen's own
/// state (the drink being chosen) survives live updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Loading,
    /// Ask for the first name before the first order (an order carries the name it starts with).
    AskName,
    Starting,
    Refused,
    /// Choose the drink of this order.
    Menu(OrderId),
    /// Follow this order.
    Status(OrderId),
    /// This order ended (collected, cancelled, timed out): say how, until the customer is done.
    Finished(String),
    /// No order: how to get one.
    Idle,
}

/// Everything the phase depends on, besides the live view.
#[derive(Debug, Clone, Copy, Default)]
pub struct Screen<'a> {
    /// A start call is under way.
    pub starting: bool,
    /// The last start was refused (the refusal is on screen until dismissed).
    pub refused: bool,
    /// The live view has loaded (REST at start, or after a reset).
    pub loaded: bool,
    /// The first name is settled (asked once per account on this device, or already known).
    pub name_settled: bool,
    /// The page holds a booth code or a scan pass not yet used.
    pub has_code: bool,
    /// The order this screen follows, so its end is shown.
    pub followed: Option<&'a str>,
}

/// The phase of the main page.
pub fn phase(screen: Screen<'_>, current: Option<&Order>, view: &MyOrdersView) -> Phase {
    if screen.starting {
        return Phase::Starting;
    }
    if screen.refused {
        return Phase::Refused;
    }
    if !screen.loaded {
        return Phase::Loading;
    }
    if let Some(order) = current {
        return match order.state {
            OrderState::AwaitingDrink => Phase::Menu(order.id.clone()),
            _ => Phase::Status(order.id.clone()),
        };
    }
    // About to start an order (which carries the name it starts with): ask first, once.
    if !screen.name_settled && screen.has_code {
        return Phase::AskName;
    }
    if let Some(id) = screen.followed {
        let finished = view
            .history()
            .iter()
            .any(|order| order.id == id && order.state.is_finished());
        if finished {
            return Phase::Finished(id.to_owned());
        }
    }
    Phase::Idle
}

/// The open order: the live view's, else the one the start call returned until the view has
/// it (never one the view already has as finished).
pub fn current_order(view: &MyOrdersView, started: Option<&Order>) -> Option<Order> {
    view.current().cloned().or_else(|| {
        started
            .filter(|order| !view.history().iter().any(|done| done.id == order.id))
            .cloned()
    })
}

/// After a refused start: whether the booth code is kept, so "Try again" can use it (the
/// network failed, or the shop may open or the queue shorten); any other refusal uses it up.
pub fn keeps_code(error: &BackendError) -> bool {
    error.is_transient()
        || matches!(
            error.code(),
            Some(ErrorCode::ShopClosed | ErrorCode::QueueFull)
        )
}

/// What starts the order: the booth code from the link (a customer signed in already orders
/// with it at once), or the scan pass it was traded for before sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ticket {
    Code(String),
    Pass(String),
}

/// Where the app is with the booth code of the link it was opened with, before sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Asking the server for a scan pass.
    Checking,
    /// The code cannot be used (or the server cannot be reached): said at once.
    Refused,
    /// Nothing to check, or checked: on to sign-in (or the order, when signed in).
    Done,
}

/// What the check of a scanned code leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOutcome {
    /// A good code: keep the pass and sign in; the pass starts the order.
    Hold,
    /// The shop is closed: not the code's fault. Sign in with the code kept; the order starts
    /// (and the closed screen moves on) when the shop opens.
    SignIn,
    /// Say why now, before any sign-in; `keep_code` when trying again may help (offline).
    Say { keep_code: bool },
}

pub fn scan_outcome(result: Result<(), &BackendError>) -> ScanOutcome {
    match result {
        Ok(()) => ScanOutcome::Hold,
        Err(error) if error.code() == Some(&ErrorCode::ShopClosed) => ScanOutcome::SignIn,
        Err(error) => ScanOutcome::Say {
            keep_code: error.is_transient(),
        },
    }
}

/// A kept pass is worth using until a little before it expires (a start sent at the last
/// second would only be refused).
pub fn pass_is_live(pass: &ScanPass, now: DateTime<Utc>) -> bool {
    now + chrono::TimeDelta::seconds(5) < pass.expires_at
}

#[cfg(test)]
mod tests {
    use espresso_core::protocol::{CustomerRef, Problem};

    use super::*;

    const ME: &str = "usr_me";

    fn order(id: &str, state: OrderState) -> Order {
        let at: DateTime<Utc> = "2026-05-04T09:00:00Z".parse().unwrap();
        Order {
            id: id.into(),
            shop: "main".into(),
            number: None,
            state,
            drink: None,
            customer: CustomerRef {
                id: ME.into(),
                display_name: None,
            },
            barista_id: None,
            created_at: at,
            placed_at: None,
            claimed_at: None,
            ready_at: None,
            finished_at: None,
            deadline_at: None,
            cancel_reason: None,
            cancelled_by: None,
            timeout_stage: None,
        }
    }

    fn view(orders: Vec<Order>) -> MyOrdersView {
        let mut view = MyOrdersView::new("main", ME);
        view.load(orders, 1);
        view
    }

    fn loaded() -> Screen<'static> {
        Screen {
            loaded: true,
            name_settled: true,
            ..Screen::default()
        }
    }

    #[test]
    fn a_start_or_a_refusal_comes_before_anything_the_view_says() {
        let open = view(vec![order("o1", OrderState::Queued)]);
        let current = current_order(&open, None);
        let starting = Screen {
            starting: true,
            refused: true,
            ..loaded()
        };
        assert_eq!(phase(starting, current.as_ref(), &open), Phase::Starting);
        let refused = Screen {
            refused: true,
            ..loaded()
        };
        assert_eq!(phase(refused, current.as_ref(), &open), Phase::Refused);
        let not_loaded = Screen {
            loaded: false,
            ..loaded()
        };
        assert_eq!(phase(not_loaded, current.as_ref(), &open), Phase::Loading);
    }

    #[test]
    fn an_open_order_is_its_menu_until_the_drink_is_chosen_then_its_status() {
        let choosing = view(vec![order("o1", OrderState::AwaitingDrink)]);
        let current = current_order(&choosing, None);
        assert_eq!(
            phase(loaded(), current.as_ref(), &choosing),
            Phase::Menu("o1".into())
        );
        for state in [
            OrderState::Queued,
            OrderState::InProgress,
            OrderState::Ready,
        ] {
            let open = view(vec![order("o1", state)]);
            let current = current_order(&open, None);
            assert_eq!(
                phase(loaded(), current.as_ref(), &open),
                Phase::Status("o1".into()),
                "{state:?}"
            );
        }
    }

    #[test]
    fn the_name_is_asked_only_when_an_order_is_about_to_start() {
        let empty = view(Vec::new());
        let unnamed = Screen {
            name_settled: false,
            ..loaded()
        };
        assert_eq!(phase(unnamed, None, &empty), Phase::Idle);
        let arriving = Screen {
            has_code: true,
            ..unnamed
        };
        assert_eq!(phase(arriving, None, &empty), Phase::AskName);
        let named = Screen {
            has_code: true,
            ..loaded()
        };
        assert_eq!(phase(named, None, &empty), Phase::Idle);
    }

    #[test]
    fn the_followed_order_s_end_is_shown_until_the_customer_is_done() {
        let ended = view(vec![order("o1", OrderState::Collected)]);
        let following = Screen {
            followed: Some("o1"),
            ..loaded()
        };
        assert_eq!(phase(following, None, &ended), Phase::Finished("o1".into()));
        // Another order's end, or none followed: nothing to say.
        let other = Screen {
            followed: Some("o2"),
            ..loaded()
        };
        assert_eq!(phase(other, None, &ended), Phase::Idle);
        assert_eq!(phase(loaded(), None, &ended), Phase::Idle);
    }

    #[test]
    fn the_started_order_stands_in_until_the_view_has_it_but_never_once_finished() {
        let started = order("o1", OrderState::AwaitingDrink);
        let empty = view(Vec::new());
        assert_eq!(current_order(&empty, Some(&started)), Some(started.clone()));
        let live = view(vec![order("o1", OrderState::Queued)]);
        assert_eq!(
            current_order(&live, Some(&started)).map(|o| o.state),
            Some(OrderState::Queued)
        );
        let finished = view(vec![order("o1", OrderState::Cancelled)]);
        assert_eq!(current_order(&finished, Some(&started)), None);
    }

    #[test]
    fn a_refusal_keeps_the_code_only_when_trying_again_can_help() {
        let refusal = |code: ErrorCode| BackendError::from(Problem::new(code));
        assert!(keeps_code(&BackendError::Timeout));
        assert!(keeps_code(&BackendError::Network("down".into())));
        assert!(keeps_code(&refusal(ErrorCode::ShopClosed)));
        assert!(keeps_code(&refusal(ErrorCode::QueueFull)));
        assert!(!keeps_code(&refusal(ErrorCode::CodeExpired)));
        assert!(!keeps_code(&refusal(ErrorCode::CodeInvalid)));
        assert!(!keeps_code(&BackendError::SignedOut));
        // A pass past its time or used: scan again.
        assert!(!keeps_code(&refusal(ErrorCode::PassExpired)));
    }

    #[test]
    fn a_scanned_code_is_held_said_at_once_or_kept_for_when_the_shop_opens() {
        let refusal = |code: ErrorCode| BackendError::from(Problem::new(code));
        assert_eq!(scan_outcome(Ok(())), ScanOutcome::Hold);
        for code in [
            ErrorCode::CodeExhausted,
            ErrorCode::CodeExpired,
            ErrorCode::CodeInvalid,
        ] {
            assert_eq!(
                scan_outcome(Err(&refusal(code.clone()))),
                ScanOutcome::Say { keep_code: false },
                "{code}"
            );
        }
        assert_eq!(
            scan_outcome(Err(&BackendError::Timeout)),
            ScanOutcome::Say { keep_code: true }
        );
        assert_eq!(
            scan_outcome(Err(&refusal(ErrorCode::ShopClosed))),
            ScanOutcome::SignIn
        );
    }

    #[test]
    fn a_kept_pass_is_used_only_while_it_lasts() {
        let at: DateTime<Utc> = "2026-05-04T09:00:00Z".parse().unwrap();
        let pass = ScanPass {
            pass: "pass_x".into(),
            shop: "main".into(),
            code: "K7QX2M".into(),
            issued_at: at,
            expires_at: at + chrono::TimeDelta::minutes(10),
        };
        assert!(pass_is_live(&pass, at));
        assert!(pass_is_live(&pass, at + chrono::TimeDelta::seconds(594)));
        assert!(!pass_is_live(&pass, at + chrono::TimeDelta::seconds(596)));
        assert!(!pass_is_live(&pass, at + chrono::TimeDelta::minutes(11)));
    }
}
