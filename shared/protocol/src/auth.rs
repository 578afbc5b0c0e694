//! Sign-in with an emailed one-time code, sessions, the signed-in user and roles.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{ShopId, UserId};

/// Most characters a `display_name` may have.
pub const MAX_DISPLAY_NAME_CHARS: usize = 32;

/// `POST /api/v1/auth/otp`: send me a one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    pub email: String,
    /// The page the mail's sign-in link opens (the app and shop the code was asked from). The
    /// link signs in only where the code was asked for (the page keeps the challenge); without
    /// it the mail carries the code alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_to: Option<LinkTo>,
    /// The language of the app asking, for the mail: `pt` (or any `pt-…` tag) writes it in
    /// Portuguese; anything else, or none, in English (never refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl OtpRequest {
    /// A request for `email`'s code, its mail linking back to `app` on `shop`.
    pub fn new(email: impl Into<String>, link_to: Option<LinkTo>) -> Self {
        Self {
            email: email.into(),
            link_to,
            lang: None,
        }
    }

    /// The same request, its mail written in `lang` (a BCP 47 tag such as `pt-BR`).
    pub fn in_language(mut self, lang: Option<String>) -> Self {
        self.lang = lang;
        self
    }
}

/// An app's page on one shop: where a sign-in mail's link opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkTo {
    /// `customer`, `barista` or `display`.
    pub app: crate::App,
    /// A shop id (its name rule: lowercase letters, digits and `-`).
    pub shop: ShopId,
}

/// The query parameter of a sign-in mail's link: `otp=<challenge_id>.<code>`.
pub const OTP_LINK_PARAM: &str = "otp";

/// A sign-in mail's link parameter read back: the challenge and its code, if well formed.
pub fn parse_otp_link(value: &str) -> Option<(&str, &str)> {
    let (challenge, code) = value.rsplit_once('.')?;
    (!challenge.is_empty() && code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
        .then_some((challenge, code))
}

/// 202 answer to [`OtpRequest`]; the same whether or not the email is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OtpChallenge {
    pub challenge_id: String,
    /// Seconds the code stays valid.
    pub expires_in_s: u64,
    /// Seconds before another code may be asked for.
    pub resend_after_s: u64,
}

/// `POST /api/v1/auth/otp/verify`: the code the user read in the email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OtpVerify {
    pub challenge_id: String,
    pub code: String,
}

/// `POST /api/v1/auth/refresh`: trade a refresh token for a new pair (the old one dies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The only token type there is; a type so that nothing else can be sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenType {
    #[default]
    Bearer,
}

/// 200 answer of verify and refresh: a token pair and who it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: TokenType,
    /// Seconds the access token lives.
    pub expires_in_s: u64,
    pub user: User,
}

/// A signed-in user as the session and `PUT …/roles` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub roles: Vec<Role>,
}

impl User {
    /// May this user do what `role` may do? See [`Role::can_act_as`].
    pub fn can_act_as(&self, role: Role) -> bool {
        Role::any_can_act_as(&self.roles, role)
    }
}

/// What a user may do. Everyone signed in is a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Barista,
    Display,
    Admin,
}

impl Role {
    /// Baristas, displays and admins: they see the whole shop.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Customer)
    }

    /// May a holder of `self` do what `role` may do? Every role may act as a customer, and an
    /// admin may also do what a barista and a display do.
    pub fn can_act_as(self, role: Role) -> bool {
        self == role || role == Role::Customer || self == Role::Admin
    }

    /// Do any of `roles` grant `role`? An empty list is a plain customer.
    pub fn any_can_act_as(roles: &[Role], role: Role) -> bool {
        role == Role::Customer || roles.iter().any(|held| held.can_act_as(role))
    }
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: UserId,
    pub email: String,
    pub roles: Vec<Role>,
    /// The name shown on the board; null until set.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub display_name: Option<String>,
}

impl Me {
    pub fn can_act_as(&self, role: Role) -> bool {
        Role::any_can_act_as(&self.roles, role)
    }
}

/// One element of `GET /api/v1/staff` (admin): someone holding a role beyond `customer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffMember {
    pub id: UserId,
    pub email: String,
    /// The name shown on the board; null until set.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub display_name: Option<String>,
    /// Every role held, `customer` included.
    pub roles: Vec<Role>,
}

impl StaffMember {
    pub fn can_act_as(&self, role: Role) -> bool {
        Role::any_can_act_as(&self.roles, role)
    }
}

/// `POST /api/v1/staff/invitations` (admin): give `email` these roles and mail them a link that
/// signs them in to `shop`'s app (the booth screen's for a display, else the barista's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    pub email: String,
    /// Their roles from now on (replacing any they had, as `PUT …/roles`): at least one of
    /// `barista`, `display`, `admin`.
    pub roles: Vec<Role>,
    /// The shop the link opens (it must exist).
    pub shop: ShopId,
    /// The language of the admin's console, for the mail: `pt` (or any `pt-…` tag) writes it
    /// in Portuguese; anything else, or none, in English (never refused), as `lang` of
    /// [`OtpRequest`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `POST /api/v1/auth/link`: sign in with the token of an invitation's link (`?signin=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkSignIn {
    pub token: String,
}

/// `PATCH /api/v1/me`. PATCH semantics: a field left out stays as it is.
/// `"display_name": null` clears the name; a string sets it (≤ [`MAX_DISPLAY_NAME_CHARS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    /// `None`: unchanged; `Some(None)`: cleared; `Some(Some(name))`: set.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<Option<String>>,
}

/// A member that is present (even as null) becomes `Some(_)`; `default` covers an absent one.
/// This is how a PATCH tells "clear it" from "leave it".
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PUT /api/v1/users/{email}/roles`: the user's whole role list (replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RolesUpdate {
    pub roles: Vec<Role>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_mail_link_reads_back_as_its_challenge_and_six_digits() {
        assert_eq!(
            parse_otp_link("otp_01HZ.123456"),
            Some(("otp_01HZ", "123456"))
        );
        for bad in [
            "",
            "123456",
            ".123456",
            "otp_1.12345",
            "otp_1.1234567",
            "otp_1.12a456",
        ] {
            assert_eq!(parse_otp_link(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_session_reads_as_api_md_shows_it() {
        let json = json!({
            "access_token": "at",
            "refresh_token": "rt",
            "token_type": "Bearer",
            "expires_in_s": 900,
            "user": {"id": "u1", "email": "ann@example.com", "roles": ["customer", "barista"]}
        });
        let session: Session = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(session.user.roles, vec![Role::Customer, Role::Barista]);
        assert_eq!(serde_json::to_value(&session).unwrap(), json);
    }

    #[test]
    fn only_bearer_tokens_exist() {
        let parsed: Result<TokenType, _> = serde_json::from_value(json!("MAC"));
        assert!(parsed.is_err());
    }

    #[test]
    fn otp_bodies_have_the_documented_names() {
        let request: OtpRequest = serde_json::from_value(json!({"email": "a@b.c"})).unwrap();
        assert_eq!(request.email, "a@b.c");
        let challenge = OtpChallenge {
            challenge_id: "c1".into(),
            expires_in_s: 600,
            resend_after_s: 30,
        };
        assert_eq!(
            serde_json::to_value(&challenge).unwrap(),
            json!({"challenge_id": "c1", "expires_in_s": 600, "resend_after_s": 30})
        );
        let verify: OtpVerify =
            serde_json::from_value(json!({"challenge_id": "c1", "code": "123456"})).unwrap();
        assert_eq!(verify.code, "123456");
        let refresh: RefreshRequest =
            serde_json::from_value(json!({"refresh_token": "rt"})).unwrap();
        assert_eq!(refresh.refresh_token, "rt");
    }

    #[test]
    fn commands_refuse_unknown_fields() {
        assert!(serde_json::from_value::<OtpRequest>(json!({"email": "a@b.c", "x": 1})).is_err());
        // The link's page is optional and, when given, an app and a shop.
        let linked: OtpRequest = serde_json::from_value(
            json!({"email": "a@b.c", "link_to": {"app": "customer", "shop": "main"}}),
        )
        .unwrap();
        assert_eq!(
            linked.link_to,
            Some(LinkTo {
                app: crate::App::Customer,
                shop: "main".into()
            })
        );
        assert!(
            serde_json::from_value::<OtpRequest>(
                json!({"email": "a@b.c", "link_to": {"app": "kitchen", "shop": "main"}})
            )
            .is_err()
        );
        assert_eq!(
            serde_json::to_value(OtpRequest::new("a@b.c", None)).unwrap(),
            json!({"email": "a@b.c"}),
            "no link: the body as before"
        );
        let portuguese: OtpRequest =
            serde_json::from_value(json!({"email": "a@b.c", "lang": "pt-BR"})).unwrap();
        assert_eq!(portuguese.lang.as_deref(), Some("pt-BR"));
        assert!(
            serde_json::from_value::<OtpVerify>(
                json!({"challenge_id": "c", "code": "1", "user_id": "u"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<RefreshRequest>(json!({"refresh_token": "r", "x": 1}))
                .is_err()
        );
        assert!(serde_json::from_value::<MePatch>(json!({"email": "a@b.c"})).is_err());
        assert!(
            serde_json::from_value::<RolesUpdate>(json!({"roles": [], "email": "a@b.c"})).is_err()
        );
    }

    #[test]
    fn me_patch_tells_leave_from_clear_from_set() {
        let leave: MePatch = serde_json::from_value(json!({})).unwrap();
        assert_eq!(leave.display_name, None);
        let clear: MePatch = serde_json::from_value(json!({"display_name": null})).unwrap();
        assert_eq!(clear.display_name, Some(None));
        let set: MePatch = serde_json::from_value(json!({"display_name": "Ann"})).unwrap();
        assert_eq!(set.display_name, Some(Some("Ann".into())));
        assert_eq!(
            serde_json::to_value(&clear).unwrap(),
            json!({"display_name": null})
        );
        assert_eq!(serde_json::to_value(&leave).unwrap(), json!({}));
    }

    #[test]
    fn me_without_a_name_says_null() {
        let me = Me {
            id: "u1".into(),
            email: "a@b.c".into(),
            roles: vec![Role::Customer],
            display_name: None,
        };
        assert_eq!(
            serde_json::to_value(&me).unwrap(),
            json!({"id": "u1", "email": "a@b.c", "roles": ["customer"], "display_name": null})
        );
    }

    #[test]
    fn admin_may_act_as_barista_and_display_but_a_barista_not_as_admin() {
        assert!(Role::Admin.can_act_as(Role::Barista));
        assert!(Role::Admin.can_act_as(Role::Display));
        assert!(Role::Barista.can_act_as(Role::Customer));
        assert!(!Role::Barista.can_act_as(Role::Admin));
        assert!(!Role::Barista.can_act_as(Role::Display));
        assert!(!Role::Display.can_act_as(Role::Barista));
        assert!(!Role::Customer.can_act_as(Role::Barista));
        assert!(Role::any_can_act_as(&[], Role::Customer));
        assert!(!Role::any_can_act_as(&[Role::Customer], Role::Display));
        assert!(Role::any_can_act_as(
            &[Role::Customer, Role::Admin],
            Role::Barista
        ));
    }

    #[test]
    fn staff_are_everyone_but_customers() {
        assert!(!Role::Customer.is_staff());
        assert!(Role::Barista.is_staff());
        assert!(Role::Display.is_staff());
        assert!(Role::Admin.is_staff());
        let roles =
            serde_json::to_value([Role::Customer, Role::Barista, Role::Display, Role::Admin])
                .unwrap();
        assert_eq!(roles, json!(["customer", "barista", "display", "admin"]));
    }
}
