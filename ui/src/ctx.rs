//! What every app gets, provided as context by the root component ([`crate::app::App`]): how to
//! reach the server and which shop it serves. The apps take it with [`Ctx::get`], so nothing
//! imports the root back.

use espresso_core::protocol::{App, ShopId};
use leptos::prelude::expect_context;

use crate::backend::BackendRef;

/// How to reach the server, which app this page is, and which shop it serves (`?shop=`,
/// default `main`).
#[derive(Clone)]
pub struct Ctx {
    pub backend: BackendRef,
    pub app: App,
    pub shop: ShopId,
}

impl Ctx {
    /// The context the root component provided.
    pub fn get() -> Self {
        expect_context::<Ctx>()
    }
}
