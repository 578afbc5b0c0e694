//! A drink and its options in words, the one way every screen writes them: "Flat White · Oat
//! milk". The option groups' names come from the menu where it is at hand, else from the group's
//! id; nothing here knows which groups a menu has.

use std::collections::BTreeMap;

use espresso_core::protocol::MenuItem;

/// "Oat milk", from `{"milk": "Oat"}` and the menu's "Milk" group; several joined with " · ".
pub fn options_text(
    options: &std::collections::BTreeMap<String, String>,
    item: Option<&MenuItem>,
) -> String {
    // In the menu's order of groups where known.
    let mut parts: Vec<(usize, String)> = options
        .iter()
        .map(|(group, option)| {
            let modifier = item.and_then(|item| {
                item.modifiers
                    .iter()
                    .enumerate()
                    .find(|(_, modifier)| &modifier.id == group)
            });
            match modifier {
                Some((at, modifier)) => (at, format!("{option} {}", modifier.name.to_lowercase())),
                None => (usize::MAX, format!("{option} {}", group.replace('_', " "))),
            }
        })
        .collect();
    parts.sort();
    parts
        .into_iter()
        .map(|(_, part)| part)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The drink `name` with its `options` (see [`options_text`]): "Flat White · Oat milk", or the
/// name alone.
pub fn drink_text(
    name: &str,
    options: &BTreeMap<String, String>,
    item: Option<&MenuItem>,
) -> String {
    let options = options_text(options, item);
    if options.is_empty() {
        name.to_owned()
    } else {
        format!("{name} · {options}")
    }
}

#[cfg(test)]
mod tests {
    use espresso_core::protocol::Modifier;

    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(group, option)| ((*group).to_owned(), (*option).to_owned()))
            .collect()
    }

    #[test]
    fn groups_are_named_from_the_menu_in_its_order_else_from_their_id() {
        let item = MenuItem {
            id: "latte".into(),
            name: "Latte".into(),
            icon: "latte".into(),
            available: true,
            modifiers: vec![
                Modifier {
                    id: "syrup".into(),
                    name: "Syrup".into(),
                    options: vec!["Vanilla".into()],
                    required: false,
                    unavailable: vec![],
                },
                Modifier {
                    id: "milk".into(),
                    name: "Milk".into(),
                    options: vec!["Oat".into()],
                    required: true,
                    unavailable: vec![],
                },
            ],
        };
        let chosen = options(&[("milk", "Oat"), ("syrup", "Vanilla")]);
        assert_eq!(
            drink_text("Latte", &chosen, Some(&item)),
            "Latte · Vanilla syrup · Oat milk"
        );
        // Without the menu: by group id, and no hard-coded group.
        assert_eq!(
            drink_text("Latte", &options(&[("extra_shot", "Double")]), None),
            "Latte · Double extra shot"
        );
        assert_eq!(
            drink_text("Espresso", &BTreeMap::new(), Some(&item)),
            "Espresso"
        );
    }
}
