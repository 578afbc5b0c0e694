//! What the console's forms hold and how they become the server's calls: the limits form, the
//! drink editor, the staff's roles. Pure (tested natively); the components only show them.

use std::collections::BTreeSet;

use espresso_core::protocol::{Limits, LimitsPatch, MenuItem, Modifier, Role};

use crate::i18n::{Lang, lang, t, tf};

/// How a limit is typed: a count, or minutes (stored as seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Minutes,
}

/// One field of the limits form.
pub struct LimitField {
    /// In English and Portuguese ([`Self::label`]).
    label: (&'static str, &'static str),
    hint: (&'static str, &'static str),
    pub unit: Unit,
    /// 0 allowed (it means "no limit" or "never"), or at least 1.
    pub zero_ok: bool,
    get: fn(&Limits) -> u32,
    set: fn(&mut LimitsPatch, u32),
}

impl LimitField {
    /// Its label in the language now.
    pub fn label(&self) -> &'static str {
        t(self.label.0, self.label.1)
    }

    /// What it means, in the language now.
    pub fn hint(&self) -> &'static str {
        t(self.hint.0, self.hint.1)
    }

    /// The value as the form shows it: a count, or minutes ("5", "1.5"; "1,5" in Portuguese,
    /// and either is read back).
    pub fn shown(&self, limits: &Limits) -> String {
        let value = (self.get)(limits);
        match self.unit {
            Unit::Count => value.to_string(),
            Unit::Minutes if lang() == Lang::Pt => minutes_text(value).replace('.', ","),
            Unit::Minutes => minutes_text(value),
        }
    }

    /// What was typed, as the server's value, or what is wrong with it in words.
    pub fn parse(&self, text: &str) -> Result<u32, String> {
        let text = text.trim();
        let lowest = if self.zero_ok { 0 } else { 1 };
        let value = match self.unit {
            Unit::Count => text.parse::<u32>().ok().filter(|v| *v <= 100_000),
            Unit::Minutes => text
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|m| m.is_finite() && (0.0..=10_080.0).contains(m))
                .map(|m| (m * 60.0).round() as u32),
        };
        match value {
            Some(value) if value >= lowest => Ok(value),
            _ => Err(match (self.unit, self.zero_ok) {
                (Unit::Count, true) => t(
                    "A whole number: 0 or more.",
                    "Um número inteiro: 0 ou mais.",
                ),
                (Unit::Count, false) => t(
                    "A whole number: 1 or more.",
                    "Um número inteiro: 1 ou mais.",
                ),
                (Unit::Minutes, true) => t(
                    "Minutes: 0 or more (up to a week).",
                    "Minutos: 0 ou mais (até uma semana).",
                ),
                (Unit::Minutes, false) => t(
                    "Minutes: more than 0 (up to a week).",
                    "Minutos: mais que 0 (até uma semana).",
                ),
            }
            .into()),
        }
    }
}

/// "5", "1.5", "0.25": minutes without trailing zeros.
pub fn minutes_text(seconds: u32) -> String {
    if seconds.is_multiple_of(60) {
        return (seconds / 60).to_string();
    }
    let text = format!("{:.2}", f64::from(seconds) / 60.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The limits form, in the order it is shown.
pub const LIMIT_FIELDS: &[LimitField] = &[
    LimitField {
        label: ("Orders per customer per day", "Pedidos por cliente por dia"),
        hint: (
            "0: no limit. Cancelled and timed-out orders do not count.",
            "0: sem limite. Pedidos cancelados ou expirados não contam.",
        ),
        unit: Unit::Count,
        zero_ok: true,
        get: |l| l.max_orders_per_day,
        set: |p, v| p.max_orders_per_day = Some(v),
    },
    LimitField {
        label: ("Orders in the queue at most", "Pedidos na fila, no máximo"),
        hint: (
            "Queued and being made. More are turned away until one is done.",
            "Na fila e em preparo. Outros são recusados até um ficar pronto.",
        ),
        unit: Unit::Count,
        zero_ok: false,
        get: |l| l.max_queue,
        set: |p, v| p.max_queue = Some(v),
    },
    LimitField {
        label: ("Drinks per booth code", "Bebidas por código do balcão"),
        hint: (
            "How many people one code on the booth screen lets order.",
            "Quantas pessoas um código na tela do balcão deixa pedir.",
        ),
        unit: Unit::Count,
        zero_ok: false,
        get: |l| l.drinks_per_code,
        set: |p, v| p.drinks_per_code = Some(v),
    },
    LimitField {
        label: (
            "New booth code every (minutes)",
            "Novo código do balcão a cada (minutos)",
        ),
        hint: (
            "A photo of the screen stops working after this.",
            "Depois disso, uma foto da tela deixa de funcionar.",
        ),
        unit: Unit::Minutes,
        zero_ok: false,
        get: |l| l.code_rotation_s,
        set: |p, v| p.code_rotation_s = Some(v),
    },
    LimitField {
        label: (
            "Time to choose a drink (minutes)",
            "Tempo para escolher a bebida (minutos)",
        ),
        hint: (
            "After scanning; then the order lapses and the customer is told.",
            "Depois de escanear; então o pedido expira e o cliente fica sabendo.",
        ),
        unit: Unit::Minutes,
        zero_ok: false,
        get: |l| l.customer_timeout_s,
        set: |p, v| p.customer_timeout_s = Some(v),
    },
    LimitField {
        label: (
            "Time to make a drink (minutes)",
            "Tempo para preparar a bebida (minutos)",
        ),
        hint: (
            "From joining the queue; a drink not ready by then is called off.",
            "Desde a entrada na fila; uma bebida que não ficar pronta até lá é cancelada.",
        ),
        unit: Unit::Minutes,
        zero_ok: false,
        get: |l| l.barista_timeout_s,
        set: |p, v| p.barista_timeout_s = Some(v),
    },
    LimitField {
        label: (
            "Ready orders stay on the booth screen (minutes)",
            "Pedidos prontos ficam na tela do balcão (minutos)",
        ),
        hint: (
            "How long a ready number is shown.",
            "Por quanto tempo um número pronto aparece na tela.",
        ),
        unit: Unit::Minutes,
        zero_ok: false,
        get: |l| l.ready_display_s,
        set: |p, v| p.ready_display_s = Some(v),
    },
    LimitField {
        label: (
            "Ready but not collected: off the board after (minutes)",
            "Pronto mas não retirado: sai do quadro depois de (minutos)",
        ),
        hint: (
            "0: never. Then it counts as not collected and frees the customer to order again.",
            "0: nunca. Então conta como não retirado e o cliente pode pedir de novo.",
        ),
        unit: Unit::Minutes,
        zero_ok: true,
        get: |l| l.ready_expiry_s,
        set: |p, v| p.ready_expiry_s = Some(v),
    },
];

/// Time zones offered first (any IANA name is accepted; the server checks it).
pub const TIME_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "Europe/Rome",
    "Europe/Stockholm",
    "Europe/Athens",
    "Europe/Istanbul",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/Mexico_City",
    "America/Bogota",
    "America/New_York",
    "America/Toronto",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Vancouver",
    "America/Anchorage",
    "Pacific/Honolulu",
];

/// The limits form's texts for `limits`, one per [`LIMIT_FIELDS`].
pub fn limit_texts(limits: &Limits) -> Vec<String> {
    LIMIT_FIELDS.iter().map(|f| f.shown(limits)).collect()
}

/// The patch that makes `limits` what the form says (only the fields that changed), or each
/// wrong field's index and message.
pub fn limits_patch(
    limits: &Limits,
    texts: &[String],
) -> Result<LimitsPatch, Vec<(usize, String)>> {
    let mut patch = LimitsPatch::default();
    let mut wrong = Vec::new();
    for (index, (field, text)) in LIMIT_FIELDS.iter().zip(texts).enumerate() {
        match field.parse(text) {
            Ok(value) if value != (field.get)(limits) => (field.set)(&mut patch, value),
            Ok(_) => {}
            Err(message) => wrong.push((index, message)),
        }
    }
    if wrong.is_empty() {
        Ok(patch)
    } else {
        Err(wrong)
    }
}

/// What the limits let through at the booth, in one sentence an owner can check against the
/// rush they expect.
pub fn booth_capacity(limits: &Limits) -> String {
    let per_hour =
        u64::from(limits.drinks_per_code) * 3_600 / u64::from(limits.code_rotation_s.max(1));
    let daily = match limits.max_orders_per_day {
        0 => t("as often as they like", "quantas vezes quiser").to_owned(),
        1 => t("once a day", "uma vez por dia").to_owned(),
        n => tf!("{n} times a day", "{n} vezes por dia"),
    };
    let queue = limits.max_queue;
    tf!(
        "The booth code lets up to {per_hour} people an hour order; each customer may order {daily}; \
         at most {queue} orders wait at once.",
        "O código do balcão deixa até {per_hour} pessoas por hora pedirem; cada cliente pode pedir \
         {daily}; no máximo {queue} pedidos esperam ao mesmo tempo."
    )
}

/// A drink as the editor holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrinkDraft {
    pub name: String,
    pub icon: String,
    pub groups: Vec<GroupDraft>,
}

/// An option group as the editor holds it: the options typed with commas between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupDraft {
    pub name: String,
    pub options: String,
    pub required: bool,
}

/// The icons the apps draw (any other name gets a plain cup), with what they show in English
/// and Portuguese ([`icon_words`]).
pub const ICONS: &[(&str, &str, &str)] = &[
    ("espresso", "Espresso cup", "Xícara de espresso"),
    (
        "double_espresso",
        "Two espresso cups",
        "Duas xícaras de espresso",
    ),
    ("americano", "Tall mug", "Caneca alta"),
    (
        "flat_white",
        "Wide cup with a heart",
        "Xícara larga com coração",
    ),
    ("cappuccino", "Cup with foam", "Xícara com espuma"),
    ("latte", "Tall glass", "Copo alto"),
    ("cup", "Plain cup", "Xícara simples"),
];

/// What an icon of [`ICONS`] shows, in the language now.
pub fn icon_words(icon: &(&str, &'static str, &'static str)) -> &'static str {
    t(icon.1, icon.2)
}

impl DrinkDraft {
    pub fn new() -> Self {
        Self {
            icon: "cup".into(),
            ..Self::default()
        }
    }

    pub fn of(item: &MenuItem) -> Self {
        Self {
            name: item.name.clone(),
            icon: item.icon.clone(),
            groups: item
                .modifiers
                .iter()
                .map(|m| GroupDraft {
                    name: m.name.clone(),
                    options: m.options.join(", "),
                    required: m.required,
                })
                .collect(),
        }
    }

    /// The menu item this draft makes: `editing` is the item it replaces (its id, availability
    /// and the ids of groups kept by name stay), `menu` the rest of the menu (a new drink gets
    /// an id no other has). Or what is missing, in words.
    pub fn item(&self, editing: Option<&MenuItem>, menu: &[MenuItem]) -> Result<MenuItem, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(t("Give the drink a name.", "Dê um nome à bebida.").into());
        }
        if name.chars().count() > 64 {
            return Err(t(
                "A drink's name is at most 64 characters.",
                "O nome de uma bebida tem no máximo 64 caracteres.",
            )
            .into());
        }
        let same_name = menu.iter().any(|item| {
            item.name.trim().eq_ignore_ascii_case(name) && Some(&item.id) != editing.map(|e| &e.id)
        });
        if same_name {
            return Err(tf!(
                "{name} is on the menu already.",
                "{name} já está no cardápio."
            ));
        }
        let mut modifiers: Vec<Modifier> = Vec::new();
        for group in &self.groups {
            let group_name = group.name.trim();
            let options: Vec<String> = group
                .options
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
            if group_name.is_empty() && options.is_empty() {
                continue;
            }
            if group_name.is_empty() {
                return Err(t(
                    "Give each option group a name (e.g. Milk).",
                    "Dê um nome a cada grupo de opções (ex.: Leite).",
                )
                .into());
            }
            if options.is_empty() {
                return Err(tf!(
                    "{group_name}: list its options, with commas between them.",
                    "{group_name}: liste as opções, separadas por vírgulas."
                ));
            }
            let mut seen = BTreeSet::new();
            if let Some(twice) = options.iter().find(|o| !seen.insert(o.to_lowercase())) {
                return Err(tf!(
                    "{group_name}: {twice} is listed twice.",
                    "{group_name}: {twice} aparece duas vezes."
                ));
            }
            if modifiers
                .iter()
                .any(|m| m.name.eq_ignore_ascii_case(group_name))
            {
                return Err(tf!(
                    "There are two groups called {group_name}.",
                    "Há dois grupos chamados {group_name}."
                ));
            }
            let kept = editing.and_then(|e| {
                e.modifiers
                    .iter()
                    .find(|m| m.name.eq_ignore_ascii_case(group_name))
            });
            let taken: Vec<&str> = modifiers.iter().map(|m| m.id.as_str()).collect();
            let id = match kept {
                Some(old) if !taken.contains(&old.id.as_str()) => old.id.clone(),
                _ => unique_id(&slug(group_name), &taken),
            };
            // Options still offered stay out if they were (oat milk is still out).
            let unavailable = kept
                .map(|old| {
                    old.unavailable
                        .iter()
                        .filter(|o| options.contains(o))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            modifiers.push(Modifier {
                id,
                name: group_name.to_owned(),
                options,
                required: group.required,
                unavailable,
            });
        }
        let id = match editing {
            Some(item) => item.id.clone(),
            None => {
                let taken: Vec<&str> = menu.iter().map(|i| i.id.as_str()).collect();
                unique_id(&slug(name), &taken)
            }
        };
        Ok(MenuItem {
            id,
            name: name.to_owned(),
            icon: if self.icon.trim().is_empty() {
                "cup".into()
            } else {
                self.icon.trim().to_owned()
            },
            available: editing.is_none_or(|item| item.available),
            modifiers,
        })
    }
}

/// `Oat Flat White` → `oat_flat_white`: lowercase ASCII letters and digits joined by `_`
/// (`drink` when nothing is left).
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_end_matches('_');
    if slug.is_empty() {
        "drink".into()
    } else {
        slug.chars().take(48).collect()
    }
}

/// `base`, or `base_2`, `base_3`… whichever is not `taken`.
pub fn unique_id(base: &str, taken: &[&str]) -> String {
    if !taken.contains(&base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|id| !taken.contains(&id.as_str()))
        .unwrap_or_else(|| base.to_owned())
}

/// The menu with the item at `index` moved one place (`up` or down); unchanged at the ends.
pub fn moved(menu: &[MenuItem], index: usize, up: bool) -> Vec<MenuItem> {
    let mut menu = menu.to_vec();
    let other = if up {
        index.checked_sub(1)
    } else {
        Some(index + 1)
    };
    if let Some(other) = other.filter(|o| *o < menu.len())
        && index < menu.len()
    {
        menu.swap(index, other);
    }
    menu
}

/// A drink's option groups in words: "Milk (choose one): Regular, Oat".
pub fn groups_text(item: &MenuItem) -> String {
    item.modifiers
        .iter()
        .map(|m| {
            let how = if m.required {
                t("choose one", "escolha uma")
            } else {
                t("optional", "opcional")
            };
            format!("{} ({how}): {}", m.name, m.options.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A staff role the console grants: its name and what it lets a person do, in both languages.
pub struct StaffRole {
    pub role: Role,
    name: (&'static str, &'static str),
    what: (&'static str, &'static str),
}

impl StaffRole {
    /// "Barista", "Display" / "Tela", "Admin".
    pub fn name(&self) -> &'static str {
        t(self.name.0, self.name.1)
    }

    /// "works the queue" / "cuida da fila".
    pub fn what(&self) -> &'static str {
        t(self.what.0, self.what.1)
    }
}

/// The staff roles the console grants, in the order they are shown.
pub const STAFF_ROLES: &[StaffRole] = &[
    StaffRole {
        role: Role::Barista,
        name: ("Barista", "Barista"),
        what: ("works the queue", "cuida da fila"),
    },
    StaffRole {
        role: Role::Display,
        name: ("Display", "Tela"),
        what: ("signs in a booth screen", "abre uma tela do balcão"),
    },
    StaffRole {
        role: Role::Admin,
        name: ("Admin", "Admin"),
        what: ("runs this console", "usa este painel"),
    },
];

/// `roles` with `role` given (`on`) or taken away, sorted, without the plain customer role.
pub fn with_role(roles: &[Role], role: Role, on: bool) -> Vec<Role> {
    let mut roles: BTreeSet<Role> = roles
        .iter()
        .copied()
        .filter(|r| *r != Role::Customer)
        .collect();
    if on {
        roles.insert(role);
    } else {
        roles.remove(&role);
    }
    roles.into_iter().collect()
}

/// Is this a plausible email address (the server has the last word)?
pub fn looks_like_email(text: &str) -> bool {
    let text = text.trim();
    match text.split_once('@') {
        Some((user, host)) => {
            !user.is_empty() && host.contains('.') && !host.starts_with('.') && !text.contains(' ')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use espresso_core::protocol::Shop;

    use super::*;

    #[test]
    fn the_limits_form_shows_minutes_and_sends_seconds_of_what_changed_only() {
        let limits = Limits::default();
        let mut texts = limit_texts(&limits);
        assert_eq!(texts[0], "1", "orders per day");
        assert_eq!(texts[3], "5", "a code every 300 s");
        texts[0] = "3".into();
        texts[4] = "2.5".into();
        let patch = limits_patch(&limits, &texts).unwrap();
        assert_eq!(patch.max_orders_per_day, Some(3));
        assert_eq!(patch.customer_timeout_s, Some(150));
        assert_eq!(patch.max_queue, None, "unchanged fields are not sent");
        assert_eq!(minutes_text(90), "1.5");
        assert_eq!(minutes_text(15), "0.25");
    }

    #[test]
    fn wrong_limits_are_named_and_nothing_is_sent() {
        let limits = Limits::default();
        let mut texts = limit_texts(&limits);
        texts[1] = "0".into(); // queue: at least 1
        texts[3] = "soon".into();
        texts[0] = "0".into(); // per day: 0 is "no limit", fine
        let wrong = limits_patch(&limits, &texts).unwrap_err();
        assert_eq!(
            wrong,
            [
                (1, "A whole number: 1 or more.".to_owned()),
                (3, "Minutes: more than 0 (up to a week).".to_owned())
            ]
        );
        assert!(LIMIT_FIELDS[4].parse("-1").is_err());
        assert!(LIMIT_FIELDS[1].parse("2.5").is_err());
    }

    #[test]
    fn the_capacity_sentence_shows_what_a_rush_meets() {
        // The original's New York rush: 85 orders in 10 minutes. The defaults let 120 an hour
        // through the code, one a day each.
        let text = booth_capacity(&Limits::default());
        assert!(text.contains("up to 120 people an hour"), "{text}");
        assert!(text.contains("once a day"), "{text}");
        let raised = Limits {
            drinks_per_code: 100,
            code_rotation_s: 120,
            max_orders_per_day: 0,
            ..Limits::default()
        };
        let text = booth_capacity(&raised);
        assert!(text.contains("up to 3000 people an hour"), "{text}");
        assert!(text.contains("as often as they like"), "{text}");
    }

    #[test]
    fn a_new_drink_gets_a_fresh_id_and_its_groups() {
        let menu = Shop::default_main().menu;
        let draft = DrinkDraft {
            name: "  Chai Latte ".into(),
            icon: "latte".into(),
            groups: vec![
                GroupDraft {
                    name: "Milk".into(),
                    options: "Whole, Oat ,, Soy".into(),
                    required: true,
                },
                GroupDraft::default(), // an empty row is ignored
            ],
        };
        let item = draft.item(None, &menu).unwrap();
        assert_eq!(item.id, "chai_latte");
        assert_eq!(item.name, "Chai Latte");
        assert!(item.available);
        assert_eq!(item.modifiers.len(), 1);
        assert_eq!(item.modifiers[0].id, "milk");
        assert_eq!(item.modifiers[0].options, ["Whole", "Oat", "Soy"]);
        assert!(item.modifiers[0].required);

        // A second "Espresso!" gets a new id but the same name is refused.
        let again = DrinkDraft {
            name: "espresso".into(),
            ..DrinkDraft::new()
        };
        assert_eq!(
            again.item(None, &menu).unwrap_err(),
            "espresso is on the menu already."
        );
        assert_eq!(
            unique_id("espresso", &["espresso", "espresso_2"]),
            "espresso_3"
        );
    }

    #[test]
    fn editing_keeps_the_id_the_availability_and_the_groups_ids() {
        let mut menu = Shop::default_main().menu;
        menu[1].available = false;
        menu[1].modifiers[0].unavailable = vec!["Oat".into()];
        let flat_white = menu[1].clone();
        let mut draft = DrinkDraft::of(&flat_white);
        assert_eq!(draft.groups[0].options, "Regular, Oat");
        draft.name = "Flat White".into(); // its own name is not "taken"
        draft.groups[0].options = "Regular, Oat, Almond".into();
        let item = draft.item(Some(&flat_white), &menu).unwrap();
        assert_eq!(item.id, "flat_white");
        assert!(!item.available);
        assert_eq!(item.modifiers[0].id, "milk");
        assert_eq!(item.modifiers[0].options.len(), 3);
        assert_eq!(item.modifiers[0].unavailable, ["Oat"], "oat is still out");
        draft.groups[0].options = "Regular, Almond".into();
        let item = draft.item(Some(&flat_white), &menu).unwrap();
        assert!(
            item.modifiers[0].unavailable.is_empty(),
            "oat is off the list"
        );
    }

    #[test]
    fn drafts_say_what_is_missing() {
        let menu = Shop::default_main().menu;
        let group = |name: &str, options: &str| GroupDraft {
            name: name.into(),
            options: options.into(),
            required: false,
        };
        let draft = |groups| DrinkDraft {
            name: "Mocha".into(),
            icon: "cup".into(),
            groups,
        };
        assert_eq!(
            DrinkDraft::new().item(None, &menu).unwrap_err(),
            "Give the drink a name."
        );
        assert!(draft(vec![group("", "A, B")]).item(None, &menu).is_err());
        assert!(draft(vec![group("Milk", " , ")]).item(None, &menu).is_err());
        assert_eq!(
            draft(vec![group("Milk", "Oat, oat")])
                .item(None, &menu)
                .unwrap_err(),
            "Milk: oat is listed twice."
        );
        assert!(
            draft(vec![group("Milk", "A"), group("milk", "B")])
                .item(None, &menu)
                .is_err()
        );
    }

    #[test]
    fn the_forms_speak_portuguese_too() {
        crate::i18n::set_lang(Lang::Pt);
        let limits = Limits::default();
        let text = booth_capacity(&limits);
        assert!(text.contains("até 120 pessoas por hora"), "{text}");
        assert!(text.contains("uma vez por dia"), "{text}");
        assert_eq!(LIMIT_FIELDS[1].label(), "Pedidos na fila, no máximo");
        assert_eq!(
            LIMIT_FIELDS[1].parse("0").unwrap_err(),
            "Um número inteiro: 1 ou mais."
        );
        // Minutes are written with a decimal comma, and read with either.
        let slow = Limits {
            customer_timeout_s: 90,
            ..Limits::default()
        };
        assert_eq!(LIMIT_FIELDS[4].shown(&slow), "1,5");
        assert_eq!(LIMIT_FIELDS[4].parse("1,5"), Ok(90));
        assert_eq!(LIMIT_FIELDS[4].parse("1.5"), Ok(90));
        let menu = Shop::default_main().menu;
        assert_eq!(
            DrinkDraft::new().item(None, &menu).unwrap_err(),
            "Dê um nome à bebida."
        );
        assert!(groups_text(&menu[1]).contains("Milk (escolha uma): Regular, Oat"));
        assert_eq!(STAFF_ROLES[1].name(), "Tela");
        assert_eq!(icon_words(&ICONS[6]), "Xícara simples");
        crate::i18n::set_lang(Lang::En);
        assert_eq!(STAFF_ROLES[1].name(), "Display");
    }

    #[test]
    fn slugs_moves_roles_and_emails() {
        assert_eq!(slug("Oat Flat-White!"), "oat_flat_white");
        assert_eq!(slug("☕"), "drink");
        let menu = Shop::default_main().menu;
        let ids = |menu: &[MenuItem]| menu.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&moved(&menu, 1, true))[..2],
            ["flat_white", "americano"]
        );
        assert_eq!(ids(&moved(&menu, 0, true)), ids(&menu));
        assert_eq!(ids(&moved(&menu, 4, false)), ids(&menu));
        assert_eq!(
            with_role(&[Role::Customer, Role::Admin], Role::Barista, true),
            [Role::Barista, Role::Admin]
        );
        assert_eq!(with_role(&[Role::Barista], Role::Barista, false), []);
        assert!(looks_like_email("ann@cafe.example"));
        assert!(!looks_like_email("ann@cafe"));
        assert!(!looks_like_email("ann cafe@x.y"));
        assert!(groups_text(&menu[1]).contains("Milk (choose one): Regular, Oat"));
    }
}
