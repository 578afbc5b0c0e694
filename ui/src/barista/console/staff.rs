//! The staff tab: who works here and what they may do; give and take a role with one tap, add a
//! person by email (they sign in with a code sent to it). The server keeps the last admin.

use espresso_core::protocol::{Invitation, Role, StaffMember};
use leptos::prelude::*;

use super::Pending;
use super::model::{STAFF_ROLES, StaffRole, looks_like_email, with_role};
use crate::backend::Calls;
use crate::barista::desk::Desk;
use crate::i18n::{Lang, lang, t, tf};

#[component]
pub fn StaffTab(desk: Desk) -> impl IntoView {
    let people = RwSignal::new(None::<Vec<StaffMember>>);
    let pending = Pending::new();
    let load = move || {
        let backend = desk.backend.get();
        pending.run(async move { backend.staff().await }, move |list| {
            people.set(Some(list));
            None
        });
    };
    load();
    // A role given or taken; then the list as the server has it (a refused change shows the
    // roles as they still are).
    let change = move |email: String, roles: Vec<Role>, said: String| {
        let backend = desk.backend.get();
        pending.run(
            async move {
                let changed = backend.set_roles(email, roles).await;
                let list = backend.staff().await;
                if let Ok(list) = list {
                    people.try_set(Some(list));
                } else if changed.is_err() {
                    // The list could not be reloaded: the tick box the person clicked shows a
                    // change the server refused. Notifying the unchanged list makes each box read
                    // its state from it again, as it was.
                    people.try_update(|_| {});
                }
                changed
            },
            move |_user| Some(said),
        );
    };
    view! {
        <div class="stack">
            <AddPerson pending=pending on_add=Callback::new(move |(email, roles): (String, Vec<Role>)| {
                let said = match lang() {
                    Lang::En => format!(
                        "Invitation sent to {email}: the link in it signs them in as {}.",
                        role_words(&roles)
                    ),
                    Lang::Pt => format!(
                        "Convite enviado para {email}: o link nele faz a pessoa entrar com {}.",
                        role_words(&roles)
                    ),
                };
                let backend = desk.backend.get();
                let invitation = Invitation {
                    email,
                    roles,
                    shop: desk.shop_id(),
                    lang: Some(crate::i18n::lang().tag().to_owned()),
                };
                pending.run(
                    async move {
                        let invited = backend.invite(invitation).await;
                        if let Ok(list) = backend.staff().await {
                            people.try_set(Some(list));
                        }
                        invited
                    },
                    move |_user| Some(said),
                );
            })/>
            {pending.line()}
            <section class="panel console-card" aria-labelledby="staff-title">
                <h3 id="staff-title">{t("Staff", "Equipe")}</h3>
                {move || match people.get() {
                    None => view! { <p class="hint">{t("Loading the staff…", "Carregando a equipe…")}</p> }.into_any(),
                    Some(list) if list.is_empty() => view! {
                        <p class="hint">{t("Nobody yet. Add a barista above.", "Ninguém ainda. Convide um barista acima.")}</p>
                    }.into_any(),
                    Some(list) => view! {
                        <table class="console-table">
                            <thead>
                                <tr>
                                    <th scope="col">{t("Person", "Pessoa")}</th>
                                    {STAFF_ROLES.iter().map(|staff_role| view! {
                                        <th scope="col" title=staff_role.what()>{staff_role.name()}</th>
                                    }).collect_view()}
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|person| {
                                    let who = person.display_name.clone()
                                        .map(|n| format!("{n} · {}", person.email))
                                        .unwrap_or_else(|| person.email.clone());
                                    view! {
                                        <tr>
                                            <th scope="row">{who}</th>
                                            {STAFF_ROLES.iter().map(|staff_role| {
                                                let role = &staff_role.role;
                                                let name = staff_role.name();
                                                let has = person.roles.contains(role);
                                                let email = person.email.clone();
                                                let roles = person.roles.clone();
                                                let label = format!("{name}: {}", person.email);
                                                view! {
                                                    <td>
                                                        <input type="checkbox" aria-label=label
                                                            prop:checked=has
                                                            disabled=move || pending.busy.get()
                                                            on:change=move |ev| {
                                                                let on = event_target_checked(&ev);
                                                                let what = role_words(&[*role]);
                                                                let said = if on {
                                                                    tf!("{email} is now {what}.", "{email} agora tem {what}.")
                                                                } else {
                                                                    tf!("{email} is no longer {what}.", "{email} não tem mais {what}.")
                                                                };
                                                                change(email.clone(), with_role(&roles, *role, on), said);
                                                            }/>
                                                    </td>
                                                }
                                            }).collect_view()}
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }}
                <p class="hint">{t("Untick every role to take someone off the staff; they stay a customer. There is always at least one admin.",
                    "Desmarque todas as funções para tirar alguém da equipe; a pessoa continua cliente. Sempre há pelo menos um admin.")}</p>
            </section>
        </div>
    }
}

/// "a barista and an admin" / "as funções Barista e Admin", "a função Barista".
fn role_words(roles: &[Role]) -> String {
    let chosen: Vec<&StaffRole> = STAFF_ROLES
        .iter()
        .filter(|staff_role| roles.contains(&staff_role.role))
        .collect();
    if lang() == Lang::Pt {
        let names: Vec<&str> = chosen.iter().map(|r| r.name()).collect();
        return match names.as_slice() {
            [] => "nenhuma função".into(),
            [one] => format!("a função {one}"),
            [first @ .., last] => format!("as funções {} e {last}", first.join(", ")),
        };
    }
    let names: Vec<String> = chosen.iter().map(|r| r.name().to_lowercase()).collect();
    match names.as_slice() {
        [] => "a customer".into(),
        [one] => format!("{} {one}", article(one)),
        [first, rest @ ..] if rest.len() == 1 => {
            format!("{} {first} and {}", article(first), rest[0])
        }
        [first, middle @ .., last] => {
            format!(
                "{} {first}, {} and {last}",
                article(first),
                middle.join(", ")
            )
        }
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[component]
fn AddPerson(pending: Pending, on_add: Callback<(String, Vec<Role>)>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let roles = RwSignal::new(vec![Role::Barista]);
    let problem = RwSignal::new(None::<String>);
    let add = move || {
        let wanted = email.get_untracked().trim().to_lowercase();
        if !looks_like_email(&wanted) {
            problem.set(Some(
                t(
                    "Type their email address, e.g. sam@example.com.",
                    "Digite o e-mail da pessoa, ex.: sam@example.com.",
                )
                .into(),
            ));
            return;
        }
        let chosen = roles.get_untracked();
        if chosen.is_empty() {
            problem.set(Some(
                t(
                    "Choose what they do here.",
                    "Escolha o que a pessoa faz aqui.",
                )
                .into(),
            ));
            return;
        }
        problem.set(None);
        email.set(String::new());
        on_add.run((wanted, chosen));
    };
    view! {
        <section class="panel console-card" aria-labelledby="add-person-title">
            <h3 id="add-person-title">{t("Invite a person", "Convidar uma pessoa")}</h3>
            <form class="console-add-person" on:submit=move |ev| { ev.prevent_default(); add(); }>
                <label class="field">
                    <span class="field-label">{t("Their email", "E-mail da pessoa")}</span>
                    <input type="email" autocomplete="off" placeholder="sam@example.com"
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))/>
                </label>
                <fieldset class="console-roles">
                    <legend>{t("They are", "Funções")}</legend>
                    {STAFF_ROLES.iter().map(|staff_role| { let role = &staff_role.role; view! {
                        <label class="console-check">
                            <input type="checkbox"
                                prop:checked=move || roles.with(|r| r.contains(role))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    roles.update(|r| *r = with_role(r, *role, on));
                                }/>
                            {format!("{} ({})", staff_role.name(), staff_role.what())}
                        </label>
                    }}).collect_view()}
                </fieldset>
                <button type="submit" class="button-primary" disabled=move || pending.busy.get()>
                    {t("Invite", "Convidar")}
                </button>
            </form>
            <p class="error" role="alert">{move || problem.get()}</p>
            <p class="hint">{t("They get an email with a link that signs them in to the barista app (or the booth screen). Later they sign in with this email and a code.",
                "A pessoa recebe um e-mail com um link que a faz entrar no app do barista (ou na tela do balcão). Depois, ela entra com este e-mail e um código.")}</p>
        </section>
    }
}
