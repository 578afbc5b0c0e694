use serde::{Deserialize, Serialize};

/// The body of `GET /healthz`: the server is up, and which build it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub status: HealthStatus,
    /// The server's package version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The HTTP/live API version, see [`super::API_VERSION`].
    pub api_version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
}

impl Health {
    /// The answer of a healthy server of this build.
    pub fn ok(version: impl Into<String>) -> Self {
        Self {
            status: HealthStatus::Ok,
            version: version.into(),
            api_version: super::API_VERSION,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reads_as_the_api_documents_it() {
        let json = serde_json::to_value(Health::ok("1.2.3")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "ok", "version": "1.2.3", "api_version": 1})
        );
    }

    #[test]
    fn health_with_an_unknown_status_is_rejected() {
        let parsed: Result<Health, _> =
            serde_json::from_str(r#"{"status":"on fire","version":"1","api_version":1}"#);
        assert!(parsed.is_err());
    }
}
