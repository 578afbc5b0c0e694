//! Who may see and do what: the server's permission rules, written once.
//!
//! Pure functions of who asks (their id and roles) and what they ask about; no I/O. The workflow
//! asks [`Actor::may_see`] and friends before it decides, the handlers ask [`may`] before they
//! look anything up (a wrong role is 403 whether or not the order exists), and the live hub
//! asks [`live_scope`] and [`live_sees`] which events a connection receives. The rules that depend
//! on an order's state (a customer cancels only before a barista starts) stay in the workflow.
//!
//! API.md: roles are `customer` (everyone signed in), `barista`, `display` and `admin` (admin may
//! do what barista and display do). A wrong role → 403 `forbidden`; another customer's order →
//! 404 `not_found` (no existence leak).

use espresso_protocol::{EventType, Order, Role, Scope, UserId};

/// Who sends a command: a signed-in user and the roles they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub roles: Vec<Role>,
}

impl Actor {
    pub fn new(user_id: impl Into<UserId>, roles: impl Into<Vec<Role>>) -> Self {
        Self {
            user_id: user_id.into(),
            roles: roles.into(),
        }
    }

    /// The order is theirs.
    pub fn owns(&self, order: &Order) -> bool {
        self.user_id == order.customer.id
    }

    /// Staff see every order of the shop; a customer sees only their own.
    pub fn may_see(&self, order: &Order) -> bool {
        self.owns(order) || is_staff(&self.roles)
    }

    /// May they do `action` (a rule of roles alone)?
    pub fn may(&self, action: Action) -> bool {
        may(&self.roles, action)
    }

    /// Only the barista making it, or an admin, puts an order back in the queue.
    pub fn may_unclaim(&self, order: &Order) -> bool {
        self.may(Action::WorkTheBar)
            && (order.barista_id.as_deref() == Some(self.user_id.as_str())
                || self.roles.contains(&Role::Admin))
    }
}

/// What a rule of roles alone allows (API.md's "Who" column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Claim, unclaim, complete, collect any order; cancel one before it is ready; open or close
    /// the shop; mark a menu item (un)available: baristas (and admins).
    WorkTheBar,
    /// List the shop's orders: baristas and the display.
    ReadQueue,
    /// Read the booth code: the display and baristas.
    ReadBoothCode,
    /// Rename the shop, set its limits, replace its menu, grant roles: admins.
    Administer,
    /// List the shops (a shop picker): anyone holding a role beyond customer.
    ListShops,
}

impl Action {
    /// The `detail` of the 403 `forbidden` that refuses it.
    pub fn refusal(self) -> &'static str {
        match self {
            Action::WorkTheBar => "only a barista can do that",
            Action::ReadQueue => "the queue is for baristas and the display",
            Action::ReadBoothCode => "the booth code is for the display and baristas",
            Action::Administer => "this needs the admin role",
            Action::ListShops => "the list of shops is for staff",
        }
    }
}

/// May a holder of `roles` do `action`?
pub fn may(roles: &[Role], action: Action) -> bool {
    let acts_as = |role| Role::any_can_act_as(roles, role);
    match action {
        Action::WorkTheBar => acts_as(Role::Barista),
        Action::ReadQueue | Action::ReadBoothCode => {
            acts_as(Role::Barista) || acts_as(Role::Display)
        }
        Action::Administer => acts_as(Role::Admin),
        Action::ListShops => is_staff(roles),
    }
}

/// Any role beyond customer: sees every order of the shop, and the whole live stream.
pub fn is_staff(roles: &[Role]) -> bool {
    roles.iter().any(|role| role.is_staff())
}

/// The live scope of a connection: staff, a signed-in customer, or no one (`None`: no token).
pub fn live_scope(roles: Option<&[Role]>) -> Scope {
    match roles {
        None => Scope::Public,
        Some(roles) if is_staff(roles) => Scope::Staff,
        Some(_) => Scope::Customer,
    }
}

/// Does a connection of `scope`, signed in as `viewer` (if anyone), receive an event of `kind`
/// about the order of `customer` (if about an order)? Staff see all of their shop; a customer
/// their own orders plus `shop.updated`; without a token, `shop.updated` and `stats.updated`.
pub fn live_sees(
    scope: Scope,
    viewer: Option<&str>,
    kind: EventType,
    customer: Option<&str>,
) -> bool {
    match scope {
        Scope::Staff => true,
        Scope::Customer => {
            kind == EventType::ShopUpdated
                || (kind.is_order_event() && customer.is_some() && customer == viewer)
        }
        Scope::Public => matches!(kind, EventType::ShopUpdated | EventType::StatsUpdated),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::Utc;
    use espresso_protocol::{CustomerRef, OrderState};

    use super::*;

    const CUSTOMER: &[Role] = &[Role::Customer];
    const BARISTA: &[Role] = &[Role::Customer, Role::Barista];
    const DISPLAY: &[Role] = &[Role::Customer, Role::Display];
    const ADMIN: &[Role] = &[Role::Customer, Role::Admin];

    #[test]
    fn who_may_do_which_action() {
        use Action::*;
        // (roles, work the bar, read the queue, read the booth code, administer, list shops)
        let table: &[(&[Role], [bool; 5])] = &[
            (&[], [false, false, false, false, false]),
            (CUSTOMER, [false, false, false, false, false]),
            (BARISTA, [true, true, true, false, true]),
            (DISPLAY, [false, true, true, false, true]),
            (ADMIN, [true, true, true, true, true]),
            (
                &[Role::Barista, Role::Display],
                [true, true, true, false, true],
            ),
        ];
        for (roles, expected) in table {
            let actual = [WorkTheBar, ReadQueue, ReadBoothCode, Administer, ListShops]
                .map(|a| may(roles, a));
            assert_eq!(&actual, expected, "{roles:?}");
        }
    }

    /// An order of `customer`'s at the main shop, being made (by `barista`, if any).
    pub(crate) fn order(customer: &str, barista: Option<&str>) -> Order {
        let now = Utc::now();
        Order {
            id: "o1".into(),
            shop: "main".into(),
            number: Some(1),
            state: OrderState::InProgress,
            drink: None,
            customer: CustomerRef {
                id: customer.into(),
                display_name: None,
            },
            barista_id: barista.map(UserId::from),
            created_at: now,
            placed_at: Some(now),
            claimed_at: None,
            ready_at: None,
            finished_at: None,
            deadline_at: None,
            cancel_reason: None,
            cancelled_by: None,
            timeout_stage: None,
        }
    }

    #[test]
    fn who_may_see_an_order() {
        let ana_s = order("ana", None);
        // (who, roles, sees it)
        let table: &[(&str, &[Role], bool)] = &[
            ("ana", CUSTOMER, true),
            ("ana", &[], true),
            ("eve", CUSTOMER, false),
            ("eve", &[], false),
            ("bob", BARISTA, true),
            ("dee", DISPLAY, true),
            ("amy", ADMIN, true),
        ];
        for (who, roles, sees) in table {
            let actor = Actor::new(*who, *roles);
            assert_eq!(actor.may_see(&ana_s), *sees, "{who} {roles:?}");
            assert_eq!(actor.owns(&ana_s), *who == "ana", "{who}");
        }
    }

    #[test]
    fn who_may_put_an_order_back() {
        let claimed_by_bob = order("ana", Some("bob"));
        // (who, roles, may unclaim)
        let table: &[(&str, &[Role], bool)] = &[
            ("bob", BARISTA, true),
            ("ben", BARISTA, false),
            ("amy", ADMIN, true),
            ("ana", CUSTOMER, false),
            ("dee", DISPLAY, false),
            // Claimed by them once, but no longer a barista.
            ("bob", CUSTOMER, false),
        ];
        for (who, roles, may) in table {
            let actor = Actor::new(*who, *roles);
            assert_eq!(actor.may_unclaim(&claimed_by_bob), *may, "{who} {roles:?}");
        }
    }

    #[test]
    fn a_connections_scope_follows_its_roles() {
        assert_eq!(live_scope(None), Scope::Public);
        assert_eq!(live_scope(Some(&[])), Scope::Customer);
        assert_eq!(live_scope(Some(CUSTOMER)), Scope::Customer);
        for staff in [BARISTA, DISPLAY, ADMIN] {
            assert_eq!(live_scope(Some(staff)), Scope::Staff, "{staff:?}");
        }
    }

    #[test]
    fn which_scope_sees_which_event() {
        use EventType::*;
        let mine = Some("u1");
        let theirs = Some("u2");
        // (scope, event, about whose order, seen by u1)
        let table = [
            (Scope::Staff, OrderPlaced, theirs, true),
            (Scope::Staff, CodeRotated, None, true),
            (Scope::Staff, CodeRedeemed, None, true),
            (Scope::Staff, StatsUpdated, None, true),
            (Scope::Customer, OrderPlaced, mine, true),
            (Scope::Customer, OrderCompleted, mine, true),
            (Scope::Customer, OrderPlaced, theirs, false),
            (Scope::Customer, OrderPlaced, None, false),
            (Scope::Customer, ShopUpdated, None, true),
            (Scope::Customer, StatsUpdated, None, false),
            (Scope::Customer, CodeRotated, None, false),
            (Scope::Public, ShopUpdated, None, true),
            (Scope::Public, StatsUpdated, None, true),
            (Scope::Public, OrderPlaced, mine, false),
            (Scope::Public, CodeRotated, None, false),
        ];
        for (scope, kind, customer, seen) in table {
            let viewer = (scope != Scope::Public).then_some("u1");
            assert_eq!(
                live_sees(scope, viewer, kind, customer),
                seen,
                "{scope:?} {kind:?} {customer:?}"
            );
        }
        // Without a signed-in user, a customer scope sees no order (never "None == None").
        assert!(!live_sees(Scope::Customer, None, OrderPlaced, None));
    }
}
