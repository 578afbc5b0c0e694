//! What the barista's board shows, worked out from the live queue and the moves still on their
//! way to the server. Pure (no signals, no clock of its own), so it is tested natively.
//!
//! A move is shown at once (optimistic) through an *overlay*: the order as it will be after the
//! move, drawn instead of the live one until the live view has caught up with it (same state)
//! or the server refused (then the overlay goes and the card snaps back, with the reason).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use espresso_core::protocol::{ErrorCode, MenuItem, Order, OrderId, OrderState, UserId};
use espresso_core::view::QueueView;

use crate::backend::{BackendError, StaffAction};
use crate::drink::{drink_text, options_text};
use crate::i18n::{error_words, t, tf};

/// A barista's move of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Move {
    /// Make: `queued` → `in_progress` (mine).
    Claim,
    /// Back to the queue: `in_progress` → `queued`.
    Unclaim,
    /// Done: `in_progress` → `ready`.
    Complete,
    /// Handed over: `ready` → `collected`.
    Collect,
    /// Cancelled with a reason (before it is ready).
    Cancel,
}

impl Move {
    /// The state the order is in after the move.
    pub fn target(self) -> OrderState {
        match self {
            Move::Claim => OrderState::InProgress,
            Move::Unclaim => OrderState::Queued,
            Move::Complete => OrderState::Ready,
            Move::Collect => OrderState::Collected,
            Move::Cancel => OrderState::Cancelled,
        }
    }

    /// The API call, for the four plain moves (a cancel carries a reason).
    pub fn staff_action(self) -> Option<StaffAction> {
        match self {
            Move::Claim => Some(StaffAction::Claim),
            Move::Unclaim => Some(StaffAction::Unclaim),
            Move::Complete => Some(StaffAction::Complete),
            Move::Collect => Some(StaffAction::Collect),
            Move::Cancel => None,
        }
    }

    /// The button's words.
    pub fn label(self) -> &'static str {
        match self {
            Move::Claim => t("Make", "Preparar"),
            Move::Unclaim => t("Back to queue", "Voltar à fila"),
            Move::Complete => t("Done", "Pronto"),
            Move::Collect => t("Handed over", "Entregue"),
            Move::Cancel => t("Cancel", "Cancelar"),
        }
    }

    /// What doing it means, for messages ("could not start making #12").
    fn verb(self) -> &'static str {
        match self {
            Move::Claim => t("start making", "começar a preparar"),
            Move::Unclaim => t("put back", "devolver à fila"),
            Move::Complete => t("mark ready", "marcar como pronto"),
            Move::Collect => t("hand over", "entregar"),
            Move::Cancel => t("cancel", "cancelar"),
        }
    }

    /// The move that takes this one back, or why there is none.
    pub fn undo(self) -> Result<Move, &'static str> {
        match self {
            Move::Claim => Ok(Move::Unclaim),
            Move::Unclaim => Ok(Move::Claim),
            Move::Complete => Err(t(
                "is already marked ready, and a ready drink cannot go back to making. Hand it over when it is collected.",
                "já está marcado como pronto, e uma bebida pronta não volta ao preparo. Entregue-a quando for retirada.",
            )),
            Move::Collect => Err(t(
                "was handed over; that cannot be undone.",
                "foi entregue; isso não pode ser desfeito.",
            )),
            Move::Cancel => Err(t(
                "was cancelled; that cannot be undone.",
                "foi cancelado; isso não pode ser desfeito.",
            )),
        }
    }
}

/// The next step for an order ("Enter" on the bump bar): make it, finish it, hand it over.
/// `None` when there is nothing for this barista to do (another barista is making it).
pub fn next_move(state: OrderState, mine: bool) -> Option<Move> {
    match state {
        OrderState::Queued => Some(Move::Claim),
        OrderState::InProgress if mine => Some(Move::Complete),
        OrderState::Ready => Some(Move::Collect),
        _ => None,
    }
}

/// Why the server refused `mv`, in the words a barista needs mid-rush.
pub fn refusal_words(error: &BackendError, mv: Move) -> String {
    let verb = mv.verb();
    match error {
        BackendError::Network(_) | BackendError::Timeout => {
            return tf!(
                "Could not reach the server to {verb} it. Nothing changed: try again.",
                "Não foi possível falar com o servidor para {verb}. Nada mudou: tente de novo."
            );
        }
        BackendError::SignedOut => {
            return t(
                "You are signed out. Sign in again.",
                "Você foi desconectado. Entre de novo.",
            )
            .into();
        }
        _ => {}
    }
    let Some(problem) = error.problem() else {
        let error = error_words(error);
        return tf!(
            "Could not {verb} it: {error}",
            "Não foi possível {verb}: {error}"
        );
    };
    match &problem.code {
        ErrorCode::AlreadyClaimed => t(
            "Another barista started this one first.",
            "Outro barista começou este primeiro.",
        )
        .into(),
        ErrorCode::InvalidTransition => match problem.state {
            Some(OrderState::Cancelled) => {
                t("This order was cancelled.", "Este pedido foi cancelado.").into()
            }
            Some(OrderState::TimedOut) => t("This order timed out.", "Este pedido expirou.").into(),
            Some(OrderState::Collected) => t(
                "This order was already handed over.",
                "Este pedido já foi entregue.",
            )
            .into(),
            Some(OrderState::Ready) => tf!(
                "Could not {verb} it: it is already ready.",
                "Não foi possível {verb}: ele já está pronto."
            ),
            Some(OrderState::InProgress) => tf!(
                "Could not {verb} it: it is already being made.",
                "Não foi possível {verb}: ele já está sendo preparado."
            ),
            Some(OrderState::Queued) => tf!(
                "Could not {verb} it: it is back in the queue.",
                "Não foi possível {verb}: ele voltou para a fila."
            ),
            _ => tf!("Could not {verb} it now.", "Não foi possível {verb} agora."),
        },
        ErrorCode::Forbidden => tf!(
            "Could not {verb} it: only the barista making it can do that.",
            "Não foi possível {verb}: só o barista que o está preparando pode fazer isso."
        ),
        ErrorCode::NotFound => t(
            "This order is no longer there.",
            "Este pedido não está mais aqui.",
        )
        .into(),
        _ => {
            let why = error_words(error);
            let why = why.trim_end_matches('.');
            tf!(
                "Could not {verb} it: {why}.",
                "Não foi possível {verb}: {why}."
            )
        }
    }
}

/// One card as drawn: everything but the ticking age, the selection and the highlight (those
/// change without rebuilding the card).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardModel {
    pub id: OrderId,
    pub number: Option<u32>,
    /// The state shown (the move on its way, if any).
    pub state: OrderState,
    pub drink: String,
    pub icon: String,
    /// The chosen options in words ("Oat milk"), joined.
    pub options: String,
    pub customer: Option<String>,
    /// Claimed by me.
    pub mine: bool,
    /// Claimed by another barista.
    pub others: bool,
    pub placed_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    /// A call for this order is on its way: its buttons are off.
    pub busy: bool,
}

impl CardModel {
    pub fn number_text(&self) -> String {
        self.number
            .map_or_else(|| "–".to_owned(), |n| n.to_string())
    }

    pub fn next_move(&self) -> Option<Move> {
        next_move(self.state, self.mine)
    }
}

/// The three columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    pub queue: Vec<CardModel>,
    pub making: Vec<CardModel>,
    pub ready: Vec<CardModel>,
}

impl Board {
    pub fn columns(&self) -> [&[CardModel]; 3] {
        [&self.queue, &self.making, &self.ready]
    }

    pub fn find(&self, id: &str) -> Option<&CardModel> {
        self.columns()
            .into_iter()
            .flat_map(|column| column.iter())
            .find(|card| card.id == id)
    }

    /// Where a card is: (column, row).
    pub fn position(&self, id: &str) -> Option<(usize, usize)> {
        self.columns().iter().enumerate().find_map(|(c, column)| {
            column
                .iter()
                .position(|card| card.id == id)
                .map(|row| (c, row))
        })
    }

    /// The card with this number, if it is on the board.
    pub fn by_number(&self, number: u32) -> Option<&CardModel> {
        self.columns()
            .into_iter()
            .flat_map(|column| column.iter())
            .find(|card| card.number == Some(number))
    }

    /// Whether some card's number starts with these digits.
    pub fn number_starts_with(&self, digits: &str) -> bool {
        self.columns()
            .into_iter()
            .flat_map(|column| column.iter())
            .filter_map(|card| card.number)
            .any(|n| n.to_string().starts_with(digits))
    }

    /// The card an arrow key moves to from `from` (`None`: the first card there is).
    pub fn step(&self, from: Option<&str>, key: Arrow) -> Option<OrderId> {
        let columns = self.columns();
        let first = || {
            columns
                .iter()
                .find_map(|column| column.first())
                .map(|card| card.id.clone())
        };
        let Some((c, r)) = from.and_then(|id| self.position(id)) else {
            return first();
        };
        let column = columns[c];
        let pick = |c: usize, r: usize| -> Option<OrderId> {
            let column = columns[c];
            column
                .get(r.min(column.len().saturating_sub(1)))
                .map(|card| card.id.clone())
        };
        match key {
            Arrow::Up => column.get(r.saturating_sub(1)).map(|card| card.id.clone()),
            Arrow::Down => column
                .get((r + 1).min(column.len() - 1))
                .map(|card| card.id.clone()),
            Arrow::Left => (0..c)
                .rev()
                .find(|&c| !columns[c].is_empty())
                .and_then(|c| pick(c, r))
                .or_else(|| pick(c, r)),
            Arrow::Right => (c + 1..columns.len())
                .find(|&c| !columns[c].is_empty())
                .and_then(|c| pick(c, r))
                .or_else(|| pick(c, r)),
        }
    }
}

/// An arrow key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrow {
    Up,
    Down,
    Left,
    Right,
}

/// The order as it will be once `mv` is done, shown while the call is on its way.
pub fn predicted(order: &Order, mv: Move, me: &UserId) -> Order {
    let mut order = order.clone();
    order.state = mv.target();
    match mv {
        Move::Claim => order.barista_id = Some(me.clone()),
        Move::Unclaim => order.barista_id = None,
        _ => {}
    }
    order
}

/// Build the board from the live view, the overlays and the orders with a call on its way.
///
/// An overlay is drawn instead of the live order while its call is on its way, or while the
/// live order is not yet in the overlay's state (the event is still coming). An overlay for an
/// order that left the view is ignored.
pub fn build_board(
    view: &QueueView,
    overlays: &BTreeMap<OrderId, Order>,
    busy: &BTreeSet<OrderId>,
    me: &UserId,
) -> Board {
    let menu: &[MenuItem] = view.shop().map_or(&[], |shop| shop.menu.as_slice());
    let live = view
        .queued()
        .into_iter()
        .chain(view.in_progress())
        .chain(view.ready_to_collect());
    let mut board = Board::default();
    for order in live {
        let shown = match overlays.get(&order.id) {
            Some(overlay) if busy.contains(&order.id) || overlay.state != order.state => overlay,
            _ => order,
        };
        let card = card_of(shown, menu, me, busy.contains(&order.id));
        match shown.state {
            OrderState::Queued => board.queue.push(card),
            OrderState::InProgress => board.making.push(card),
            OrderState::Ready => board.ready.push(card),
            _ => {}
        }
    }
    let by_number = |a: &CardModel, b: &CardModel| {
        (a.number.is_none(), a.number, &a.id).cmp(&(b.number.is_none(), b.number, &b.id))
    };
    board.queue.sort_by(by_number);
    // Mine first (what I am making), then the others', each by number.
    board
        .making
        .sort_by(|a, b| (!a.mine).cmp(&!b.mine).then_with(|| by_number(a, b)));
    board.ready.sort_by(|a, b| {
        (a.ready_at.is_none(), a.ready_at)
            .cmp(&(b.ready_at.is_none(), b.ready_at))
            .then_with(|| by_number(a, b))
    });
    board
}

/// Whether an overlay can go: its call is answered and the live view shows the same state (or
/// no longer has the order).
pub fn overlay_settled(view: &QueueView, overlay: &Order, busy: bool) -> bool {
    if busy {
        return false;
    }
    let live = view
        .queued()
        .into_iter()
        .chain(view.in_progress())
        .chain(view.ready_to_collect())
        .find(|order| order.id == overlay.id);
    live.is_none_or(|order| order.state == overlay.state)
}

fn card_of(order: &Order, menu: &[MenuItem], me: &UserId, busy: bool) -> CardModel {
    let item = order
        .drink
        .as_ref()
        .and_then(|drink| menu.iter().find(|item| item.id == drink.item_id));
    let options = order
        .drink
        .as_ref()
        .map(|drink| options_text(&drink.options, item))
        .unwrap_or_default();
    let claimed = order.state == OrderState::InProgress;
    let mine = claimed && order.barista_id.as_ref() == Some(me);
    CardModel {
        id: order.id.clone(),
        number: order.number,
        state: order.state,
        drink: order.drink.as_ref().map_or_else(
            || t("Choosing…", "Escolhendo…").to_owned(),
            |drink| drink.name.clone(),
        ),
        icon: item.map_or_else(
            || {
                order
                    .drink
                    .as_ref()
                    .map(|d| d.item_id.clone())
                    .unwrap_or_default()
            },
            |item| item.icon.clone(),
        ),
        options,
        customer: order
            .customer
            .display_name
            .as_ref()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty()),
        mine,
        others: claimed && order.barista_id.is_some() && !mine,
        placed_at: order.placed_at,
        ready_at: order.ready_at,
        busy,
    }
}

/// The words of the "new order" notification: "New order #12", "Flat White · Oat milk, for Sam".
pub fn new_order_notice(order: &Order) -> (String, String) {
    let title = match order.number {
        Some(number) => tf!("New order #{number}", "Novo pedido #{number}"),
        None => t("New order", "Novo pedido").to_owned(),
    };
    let mut body = match &order.drink {
        Some(drink) => drink_text(&drink.name, &drink.options, None),
        None => t(
            "A drink is on its way to the queue",
            "Uma bebida está a caminho da fila",
        )
        .to_owned(),
    };
    if let Some(name) = order
        .customer
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        body.push_str(&tf!(", for {name}", ", para {name}"));
    }
    (title, body)
}

/// The digits typed so far for a number, after one more: keeps typing a longer number while
/// some card's number starts with them, else starts again from this digit.
pub fn typed_number(board: &Board, so_far: &str, digit: char) -> String {
    let longer = format!("{so_far}{digit}");
    if board.number_starts_with(&longer) {
        longer
    } else {
        digit.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use espresso_core::protocol::{CustomerRef, Drink, Modifier, Problem};

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap_or_default()
    }

    fn me() -> UserId {
        UserId::new("me")
    }

    fn order(id: &str, number: u32, state: OrderState, barista: Option<&str>) -> Order {
        Order {
            id: id.into(),
            shop: "main".into(),
            number: Some(number),
            state,
            drink: Some(Drink {
                item_id: "flat_white".into(),
                name: "Flat White".into(),
                options: [("milk".to_owned(), "Oat".to_owned())].into(),
            }),
            customer: CustomerRef {
                id: format!("c-{id}").into(),
                display_name: Some("Sam".into()),
            },
            barista_id: barista.map(UserId::from),
            created_at: at(0),
            placed_at: Some(at(number as i64)),
            claimed_at: None,
            ready_at: (state == OrderState::Ready).then(|| at(100 + number as i64)),
            finished_at: None,
            deadline_at: None,
            cancel_reason: None,
            cancelled_by: None,
            timeout_stage: None,
        }
    }

    #[test]
    fn a_new_order_is_announced_by_number_drink_and_name() {
        let mut new = order("a", 12, OrderState::Queued, None);
        assert_eq!(
            new_order_notice(&new),
            (
                "New order #12".to_owned(),
                "Flat White · Oat milk, for Sam".to_owned()
            )
        );
        new.customer.display_name = None;
        new.drink.as_mut().unwrap().options.clear();
        assert_eq!(new_order_notice(&new).1, "Flat White");
    }

    fn view(orders: Vec<Order>) -> QueueView {
        let mut view = QueueView::new("main");
        view.load(orders, 1);
        view
    }

    fn ids(cards: &[CardModel]) -> Vec<&str> {
        cards.iter().map(|card| card.id.as_str()).collect()
    }

    #[test]
    fn orders_land_in_their_columns_with_mine_first_in_making() {
        let view = view(vec![
            order("q2", 2, OrderState::Queued, None),
            order("q1", 1, OrderState::Queued, None),
            order("theirs", 3, OrderState::InProgress, Some("other")),
            order("mine", 4, OrderState::InProgress, Some("me")),
            order("r", 5, OrderState::Ready, Some("me")),
        ]);
        let board = build_board(&view, &BTreeMap::new(), &BTreeSet::new(), &me());
        assert_eq!(ids(&board.queue), ["q1", "q2"]);
        assert_eq!(ids(&board.making), ["mine", "theirs"]);
        assert!(board.making[1].others && !board.making[1].mine);
        assert!(board.making[0].mine && !board.making[0].others);
        assert_eq!(ids(&board.ready), ["r"]);
        assert_eq!(board.queue[0].customer.as_deref(), Some("Sam"));
    }

    #[test]
    fn a_move_shows_at_once_and_snaps_back_when_the_overlay_goes() {
        let queued = order("o1", 1, OrderState::Queued, None);
        let view = view(vec![queued.clone()]);
        let overlays: BTreeMap<_, _> =
            [(OrderId::from("o1"), predicted(&queued, Move::Claim, &me()))].into();
        let busy: BTreeSet<_> = [OrderId::from("o1")].into();
        let board = build_board(&view, &overlays, &busy, &me());
        assert_eq!(ids(&board.making), ["o1"]);
        assert!(board.making[0].busy && board.making[0].mine);
        // Refused: the overlay is dropped and the card is back in the queue.
        let board = build_board(&view, &BTreeMap::new(), &BTreeSet::new(), &me());
        assert_eq!(ids(&board.queue), ["o1"]);
        assert!(!board.queue[0].busy);
    }

    #[test]
    fn an_answered_overlay_stays_until_the_live_view_catches_up() {
        let queued = order("o1", 1, OrderState::Queued, None);
        let claimed = predicted(&queued, Move::Claim, &me());
        let before = view(vec![queued]);
        assert!(!overlay_settled(&before, &claimed, false));
        assert!(!overlay_settled(&before, &claimed, true));
        let board = build_board(
            &before,
            &[(OrderId::from("o1"), claimed.clone())].into(),
            &BTreeSet::new(),
            &me(),
        );
        assert_eq!(ids(&board.making), ["o1"]);
        let after = view(vec![order("o1", 1, OrderState::InProgress, Some("me"))]);
        assert!(overlay_settled(&after, &claimed, false));
        // A handed-over order leaves the view: its overlay is settled too.
        let collected = predicted(
            &order("o2", 2, OrderState::Ready, None),
            Move::Collect,
            &me(),
        );
        assert!(overlay_settled(&after, &collected, false));
    }

    #[test]
    fn a_collected_overlay_hides_the_card() {
        let ready = order("r", 1, OrderState::Ready, Some("me"));
        let view = view(vec![ready.clone()]);
        let overlays = [(OrderId::from("r"), predicted(&ready, Move::Collect, &me()))].into();
        let board = build_board(&view, &overlays, &[OrderId::from("r")].into(), &me());
        assert!(board.ready.is_empty());
    }

    #[test]
    fn enter_advances_by_state() {
        assert_eq!(next_move(OrderState::Queued, false), Some(Move::Claim));
        assert_eq!(
            next_move(OrderState::InProgress, true),
            Some(Move::Complete)
        );
        assert_eq!(next_move(OrderState::InProgress, false), None);
        assert_eq!(next_move(OrderState::Ready, false), Some(Move::Collect));
        assert_eq!(Move::Claim.undo(), Ok(Move::Unclaim));
        assert_eq!(Move::Unclaim.undo(), Ok(Move::Claim));
        assert!(Move::Complete.undo().is_err());
        assert!(Move::Collect.undo().is_err());
    }

    #[test]
    fn refusals_read_in_plain_words() {
        let lost = BackendError::from(Problem::new(ErrorCode::AlreadyClaimed));
        assert_eq!(
            refusal_words(&lost, Move::Claim),
            "Another barista started this one first."
        );
        let mut gone = Problem::new(ErrorCode::InvalidTransition);
        gone.state = Some(OrderState::Cancelled);
        assert_eq!(
            refusal_words(&BackendError::from(gone), Move::Complete),
            "This order was cancelled."
        );
        assert!(refusal_words(&BackendError::Timeout, Move::Claim).contains("Nothing changed"));
    }

    #[test]
    fn options_read_as_said() {
        let item = MenuItem {
            id: "flat_white".into(),
            name: "Flat White".into(),
            icon: "flat_white".into(),
            available: true,
            modifiers: vec![Modifier {
                id: "milk".into(),
                name: "Milk".into(),
                options: vec!["Regular".into(), "Oat".into()],
                required: true,
                unavailable: vec![],
            }],
        };
        let options = [("milk".to_owned(), "Oat".to_owned())].into();
        assert_eq!(options_text(&options, Some(&item)), "Oat milk");
        assert_eq!(options_text(&options, None), "Oat milk");
        assert_eq!(options_text(&BTreeMap::new(), Some(&item)), "");
    }

    #[test]
    fn arrows_and_digits_find_cards() {
        let view = view(vec![
            order("a", 1, OrderState::Queued, None),
            order("b", 2, OrderState::Queued, None),
            order("c", 12, OrderState::InProgress, Some("me")),
            order("d", 4, OrderState::Ready, None),
        ]);
        let board = build_board(&view, &BTreeMap::new(), &BTreeSet::new(), &me());
        assert_eq!(board.step(None, Arrow::Down).as_deref(), Some("a"));
        assert_eq!(board.step(Some("a"), Arrow::Down).as_deref(), Some("b"));
        assert_eq!(board.step(Some("b"), Arrow::Down).as_deref(), Some("b"));
        assert_eq!(board.step(Some("b"), Arrow::Up).as_deref(), Some("a"));
        assert_eq!(board.step(Some("b"), Arrow::Right).as_deref(), Some("c"));
        assert_eq!(board.step(Some("c"), Arrow::Right).as_deref(), Some("d"));
        assert_eq!(board.step(Some("d"), Arrow::Right).as_deref(), Some("d"));
        assert_eq!(board.step(Some("d"), Arrow::Left).as_deref(), Some("c"));
        assert_eq!(typed_number(&board, "", '1'), "1");
        assert_eq!(typed_number(&board, "1", '2'), "12");
        assert_eq!(typed_number(&board, "12", '4'), "4");
        assert_eq!(board.by_number(12).map(|c| c.id.as_str()), Some("c"));
    }
}
