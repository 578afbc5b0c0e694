//! The barista's desk: the live queue, the moves on their way, the selection and the messages,
//! as one `Copy` handle every card, button and key handler shares.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use espresso_core::protocol::{Order, OrderId, Shop, ShopId, UserId};
use espresso_core::view::QueueView;
use leptos::prelude::*;

use super::model::{
    Board, Move, build_board, new_order_notice, overlay_settled, predicted, refusal_words,
};
use crate::backend::{BackendRef, Calls};
use crate::feed::Feed;
use crate::i18n::{Lang, error_words, lang, t, tf};
use crate::util::{load_flag, save_flag};

/// How long a card's message stays (it also goes at the card's next move).
const NOTE_MS: u64 = 8_000;
/// How long a message across the top stays (a refusal a little longer).
const FLASH_MS: u64 = 3_500;
const FLASH_BAD_MS: u64 = 6_000;
/// How long an answered move waits for its live event before the live view is believed.
const OVERLAY_MS: u64 = 8_000;
/// How long a new order is highlighted.
const FRESH_MS: u64 = 5_000;
/// The least time between two new-order chimes.
const CHIME_GAP_MS: f64 = 1_500.0;

/// A move done here, for Backspace to take back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub id: OrderId,
    pub number: Option<u32>,
    pub mv: Move,
}

/// A message across the top of the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub bad: bool,
    generation: u64,
}

#[derive(Clone, Copy)]
pub struct Desk {
    pub backend: BackendRef,
    shop: StoredValue<ShopId>,
    me: StoredValue<UserId>,
    pub feed: Feed<QueueView>,
    pub clock: ReadSignal<DateTime<Utc>>,
    /// Orders as they will be after a move on its way (or answered, until the live event).
    overlays: RwSignal<BTreeMap<OrderId, Order>>,
    /// Orders with a call on its way: their buttons are off.
    busy: RwSignal<BTreeSet<OrderId>>,
    /// Why a card's last move did not happen, by order id.
    pub notes: RwSignal<BTreeMap<OrderId, (String, u64)>>,
    pub flash: RwSignal<Option<Flash>>,
    /// Orders that just arrived (highlighted for a moment).
    pub fresh: RwSignal<BTreeSet<OrderId>>,
    pub selected: RwSignal<Option<OrderId>>,
    /// The digits typed so far to pick a card by number.
    pub typed: RwSignal<String>,
    pub typed_at: StoredValue<f64>,
    history: RwSignal<Vec<Done>>,
    pub board: Memo<Board>,
    pub muted: RwSignal<bool>,
    /// The order in the cancel dialog.
    pub cancelling: RwSignal<Option<OrderId>>,
    pub help_open: RwSignal<bool>,
    pub menu_open: RwSignal<bool>,
    pub confirm_close: RwSignal<bool>,
    /// The owner's console is shown in place of the board (admins).
    pub console_open: RwSignal<bool>,
    pub shop_busy: RwSignal<bool>,
    pub items_busy: RwSignal<BTreeSet<String>>,
    generation: StoredValue<u64>,
    last_chime: StoredValue<f64>,
    last_notice: StoredValue<f64>,
    overlay_generation: StoredValue<BTreeMap<OrderId, u64>>,
}

const SOUND_PREF: &str = "barista.sound";

impl Desk {
    pub fn new(
        backend: BackendRef,
        shop: ShopId,
        me: UserId,
        feed: Feed<QueueView>,
        clock: ReadSignal<DateTime<Utc>>,
    ) -> Self {
        let overlays = RwSignal::new(BTreeMap::<OrderId, Order>::new());
        let busy = RwSignal::new(BTreeSet::<OrderId>::new());
        let me = StoredValue::new(me);
        let board = Memo::new(move |_| {
            let me = me.get_value();
            feed.view.with(|view| {
                overlays.with(|overlays| busy.with(|busy| build_board(view, overlays, busy, &me)))
            })
        });
        let desk = Self {
            backend,
            shop: StoredValue::new(shop),
            me,
            feed,
            clock,
            overlays,
            busy,
            notes: RwSignal::new(BTreeMap::new()),
            flash: RwSignal::new(None),
            fresh: RwSignal::new(BTreeSet::new()),
            selected: RwSignal::new(None),
            typed: RwSignal::new(String::new()),
            typed_at: StoredValue::new(0.0),
            history: RwSignal::new(Vec::new()),
            board,
            muted: RwSignal::new(!load_flag(SOUND_PREF, true)),
            cancelling: RwSignal::new(None),
            help_open: RwSignal::new(false),
            menu_open: RwSignal::new(false),
            confirm_close: RwSignal::new(false),
            console_open: RwSignal::new(false),
            shop_busy: RwSignal::new(false),
            items_busy: RwSignal::new(BTreeSet::new()),
            generation: StoredValue::new(0),
            last_chime: StoredValue::new(0.0),
            last_notice: StoredValue::new(0.0),
            overlay_generation: StoredValue::new(BTreeMap::new()),
        };
        // Drop the overlays the live view has caught up with.
        Effect::new(move |_| {
            let settled: Vec<OrderId> = feed.view.with(|view| {
                overlays.with(|overlays| {
                    busy.with(|busy| {
                        overlays
                            .values()
                            .filter(|o| overlay_settled(view, o, busy.contains(&o.id)))
                            .map(|o| o.id.clone())
                            .collect()
                    })
                })
            });
            if !settled.is_empty() {
                overlays.update(|overlays| {
                    for id in &settled {
                        overlays.remove(id);
                    }
                });
            }
        });
        // A selected card that left the board is no longer selected.
        Effect::new(move |_| {
            let gone = desk.selected.with(|id| {
                id.as_ref()
                    .is_some_and(|id| board.with(|b| b.find(id).is_none()))
            });
            if gone {
                desk.selected.set(None);
            }
        });
        desk
    }

    pub fn shop_id(&self) -> ShopId {
        self.shop.get_value()
    }

    fn next_generation(&self) -> u64 {
        self.generation
            .try_update_value(|g| {
                *g += 1;
                *g
            })
            .unwrap_or_default()
    }

    /// The order as the board shows it now.
    fn shown_order(&self, id: &str) -> Option<Order> {
        if let Some(overlay) = self.overlays.with_untracked(|o| o.get(id).cloned()) {
            return Some(overlay);
        }
        self.feed.view.with_untracked(|view| {
            view.queued()
                .into_iter()
                .chain(view.in_progress())
                .chain(view.ready_to_collect())
                .find(|order| order.id == id)
                .cloned()
        })
    }

    pub fn is_busy(&self, id: &str) -> bool {
        self.busy.with_untracked(|busy| busy.contains(id))
    }

    /// Do `mv` to order `id`: shown at once, undone with the reason if the server refuses.
    /// A second call while one is on its way for the same order does nothing.
    pub fn act(self, id: &str, mv: Move, reason: Option<String>, remember: bool) {
        if self.is_busy(id) {
            return;
        }
        let Some(order) = self.shown_order(id) else {
            self.say(
                t(
                    "That order is no longer on the board.",
                    "Esse pedido não está mais no quadro.",
                )
                .into(),
                true,
            );
            return;
        };
        let id = OrderId::from(id);
        let number = order.number;
        let me = self.me.get_value();
        let generation = self.next_generation();
        self.overlay_generation
            .update_value(|g| _ = g.insert(id.clone(), generation));
        self.notes.update(|notes| _ = notes.remove(&id));
        self.busy.update(|busy| _ = busy.insert(id.clone()));
        self.overlays
            .update(|o| _ = o.insert(id.clone(), predicted(&order, mv, &me)));
        let backend = self.backend.get();
        let shop = self.shop_id();
        leptos::task::spawn_local(async move {
            let result = match mv.staff_action() {
                Some(action) => backend.order_action(shop.clone(), id.clone(), action).await,
                None => backend.cancel_order(shop.clone(), id.clone(), reason).await,
            };
            self.busy.try_update(|busy| _ = busy.remove(&id));
            match result {
                Ok(order) => {
                    self.overlays
                        .try_update(|o| _ = o.insert(id.clone(), order));
                    if remember {
                        self.history.try_update(|h| {
                            h.push(Done {
                                id: id.clone(),
                                number,
                                mv,
                            });
                            // A rush's worth is plenty.
                            if h.len() > 50 {
                                h.remove(0);
                            }
                        });
                    }
                    set_timeout(
                        move || {
                            let current = self
                                .overlay_generation
                                .try_with_value(|g| g.get(&id).copied())
                                .flatten();
                            if current == Some(generation) {
                                self.overlays.try_update(|o| _ = o.remove(&id));
                            }
                        },
                        std::time::Duration::from_millis(OVERLAY_MS),
                    );
                }
                Err(error) => {
                    self.overlays.try_update(|o| _ = o.remove(&id));
                    let words = refusal_words(&error, mv);
                    let on_board = self
                        .board
                        .try_with_untracked(|b| b.find(&id).is_some())
                        .unwrap_or(false);
                    if on_board {
                        self.note(&id, words);
                    } else {
                        let label = number.map_or_else(String::new, |n| format!("#{n}: "));
                        self.say(format!("{label}{words}"), true);
                    }
                }
            }
        });
    }

    /// Enter: the next step of the selected card.
    pub fn advance_selected(self) {
        let Some(id) = self.selected.get_untracked() else {
            self.say(
                t(
                    "Type an order number (or use the arrow keys) to pick a card first.",
                    "Digite o número de um pedido (ou use as setas) para escolher um cartão primeiro.",
                )
                .into(),
                false,
            );
            return;
        };
        let Some(card) = self.board.with_untracked(|b| b.find(&id).cloned()) else {
            return;
        };
        if card.busy {
            return;
        }
        match card.next_move() {
            Some(mv) => self.act(&id, mv, None, true),
            None => self.note(
                &id,
                t(
                    "Nothing to do here: this one is another barista's.",
                    "Nada a fazer aqui: este é de outro barista.",
                )
                .into(),
            ),
        }
    }

    /// Remember a move done by tapping, so Backspace can take it back too.
    pub fn tap(self, id: &str, mv: Move) {
        self.act(
            id,
            mv,
            None,
            matches!(mv, Move::Claim | Move::Complete | Move::Collect),
        );
    }

    /// Backspace: take back the last move done here, where the server can.
    pub fn undo_last(self) {
        let Some(last) = self.history.try_update(Vec::pop).flatten() else {
            self.say(
                t("Nothing to take back.", "Nada para desfazer.").into(),
                false,
            );
            return;
        };
        let label = last.number.map_or_else(
            || t("That order", "Esse pedido").to_owned(),
            |n| format!("#{n}"),
        );
        match last.mv.undo() {
            Ok(mv) => {
                self.selected.set(Some(last.id.clone()));
                let what = undo_words(mv);
                self.say(
                    tf!(
                        "Taking back: {label} {what}.",
                        "Desfazendo: {label} {what}."
                    ),
                    false,
                );
                self.act(&last.id, mv, None, false);
            }
            Err(why) => self.say(format!("{label} {why}"), true),
        }
    }

    /// A message on one card.
    pub fn note(self, id: &str, text: String) {
        let generation = self.next_generation();
        let key = OrderId::from(id);
        self.notes
            .try_update(|notes| _ = notes.insert(key.clone(), (text, generation)));
        set_timeout(
            move || {
                self.notes.try_update(|notes| {
                    if notes.get(&key).is_some_and(|(_, g)| *g == generation) {
                        notes.remove(&key);
                    }
                });
            },
            std::time::Duration::from_millis(NOTE_MS),
        );
    }

    /// A message across the top.
    pub fn say(self, text: String, bad: bool) {
        let generation = self.next_generation();
        self.flash.try_set(Some(Flash {
            text,
            bad,
            generation,
        }));
        set_timeout(
            move || {
                if self
                    .flash
                    .try_with_untracked(|f| f.as_ref().is_some_and(|f| f.generation == generation))
                    .unwrap_or(false)
                {
                    self.flash.try_set(None);
                }
            },
            std::time::Duration::from_millis(if bad { FLASH_BAD_MS } else { FLASH_MS }),
        );
    }

    /// A new order arrived: chime (unless muted) and highlight it for a moment; a system
    /// notification when the board is not in front (another app, another tab, minimised).
    pub fn arrived(self, order: &Order) {
        let id = order.id.clone();
        // One chime and one notification for a burst of orders, not one each.
        let now = js_sys::Date::now();
        let quiet = now - self.last_chime.get_value() > CHIME_GAP_MS;
        if !self.muted.get_untracked() && quiet {
            self.last_chime.set_value(now);
            crate::util::chime(true);
        }
        if now - self.last_notice.get_value() > CHIME_GAP_MS && !crate::util::page_in_front() {
            self.last_notice.set_value(now);
            let (title, body) = new_order_notice(order);
            let backend = self.backend.get();
            leptos::task::spawn_local(async move {
                let _ = backend.notify(title, body).await;
            });
        }
        self.fresh.try_update(|fresh| _ = fresh.insert(id.clone()));
        set_timeout(
            move || {
                self.fresh.try_update(|fresh| _ = fresh.remove(&id));
            },
            std::time::Duration::from_millis(FRESH_MS),
        );
    }

    pub fn toggle_sound(self) {
        let muted = !self.muted.get_untracked();
        self.muted.set(muted);
        save_flag(SOUND_PREF, !muted);
        if !muted {
            // Also proves to the browser the page may play sound.
            crate::util::chime(false);
        }
    }

    /// Open or close the shop (closing is confirmed first by the caller).
    pub fn set_open(self, open: bool) {
        if self.shop_busy.get_untracked() {
            return;
        }
        self.shop_busy.set(true);
        let backend = self.backend.get();
        let shop = self.shop_id();
        leptos::task::spawn_local(async move {
            match backend.set_shop_open(shop.clone(), open).await {
                Ok(shop) => self.keep_shop(shop),
                Err(error) => self.say(
                    {
                        let why = plain(&error);
                        match (open, lang()) {
                            (true, Lang::En) => format!("Could not open the shop: {why}"),
                            (false, Lang::En) => format!("Could not close the shop: {why}"),
                            (true, Lang::Pt) => format!("Não foi possível abrir a loja: {why}"),
                            (false, Lang::Pt) => format!("Não foi possível fechar a loja: {why}"),
                        }
                    },
                    true,
                ),
            }
            self.shop_busy.try_set(false);
        });
    }

    /// 86 a drink, or bring it back.
    pub fn set_available(self, item_id: String, available: bool) {
        if self.items_busy.with_untracked(|b| b.contains(&item_id)) {
            return;
        }
        self.items_busy.update(|b| _ = b.insert(item_id.clone()));
        let backend = self.backend.get();
        let shop = self.shop_id();
        leptos::task::spawn_local(async move {
            match backend
                .set_item_available(shop.clone(), item_id.clone(), available)
                .await
            {
                Ok(shop) => self.keep_shop(shop),
                Err(error) => self.say(
                    {
                        let why = plain(&error);
                        tf!(
                            "Could not change the menu: {why}",
                            "Não foi possível mudar o cardápio: {why}"
                        )
                    },
                    true,
                ),
            }
            self.items_busy.try_update(|b| _ = b.remove(&item_id));
        });
    }

    /// Mark one option of a drink out (oat milk ran out) or back; `busy` while on its way.
    pub fn set_option_available(
        self,
        item_id: String,
        modifier_id: String,
        option: String,
        available: bool,
    ) {
        let key = option_key(&item_id, &modifier_id, &option);
        if self.items_busy.with_untracked(|b| b.contains(&key)) {
            return;
        }
        self.items_busy.update(|b| _ = b.insert(key.clone()));
        let backend = self.backend.get();
        let shop = self.shop_id();
        leptos::task::spawn_local(async move {
            match backend
                .set_option_available(shop, item_id, modifier_id, option, available)
                .await
            {
                Ok(shop) => self.keep_shop(shop),
                Err(error) => self.say(
                    {
                        let why = plain(&error);
                        tf!(
                            "Could not change the menu: {why}",
                            "Não foi possível mudar o cardápio: {why}"
                        )
                    },
                    true,
                ),
            }
            self.items_busy.try_update(|b| _ = b.remove(&key));
        });
    }

    /// The shop as the server answered (its live event follows and says the same).
    pub fn keep_shop(&self, shop: Shop) {
        self.feed.view.try_update(|view| view.set_shop(shop));
    }

    pub fn shop(&self) -> Option<Shop> {
        self.feed.view.with(|view| view.shop().cloned())
    }
}

/// What [`Desk::items_busy`] holds for an option on its way.
pub fn option_key(item_id: &str, modifier_id: &str, option: &str) -> String {
    format!("{item_id}/{modifier_id}/{option}")
}

fn undo_words(mv: Move) -> &'static str {
    match mv {
        Move::Unclaim => t("goes back to the queue", "volta para a fila"),
        Move::Claim => t("is being made again", "volta a ser preparado"),
        _ => "",
    }
}

/// A refusal in a few words.
fn plain(error: &crate::backend::BackendError) -> String {
    match error.problem() {
        Some(_) => error_words(error).trim_end_matches('.').to_owned(),
        None if error.is_transient() => t(
            "the server cannot be reached",
            "não é possível falar com o servidor",
        )
        .into(),
        None => error_words(error),
    }
}
