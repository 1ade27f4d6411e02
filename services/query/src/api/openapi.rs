//! The frame of the OpenAPI 3.1 document: title, version, the bearer security scheme. Paths and
//! schemas are added by the router from the handlers' operations and the answers' types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};

pub fn frame() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("kouan")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Full-process clearance and logistics status of the shipments through an \
                     inland hub. `/v1` routes take `Authorization: Bearer TOKEN`; a shipper's \
                     token sees only its shipper's shipments (another's answer 404).",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_description_covers_every_route_and_is_openapi_3_1() {
        let document = crate::api::description();
        let json: serde_json::Value = serde_json::from_str(&document.to_json().unwrap()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        let paths: Vec<&str> = json["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for path in [
            "/v1/shipments",
            "/v1/shipments/{id}",
            "/v1/feed",
            "/v1/alerts",
            "/v1/network",
            "/v1/me",
            "/v1/kpis/clearance",
            "/v1/sql",
            "/v1/subscriptions",
            "/v1/subscriptions/{id}",
            "/v1/subscriptions/{id}/resume",
            "/metrics",
            "/healthz",
            "/",
            "/openapi.json",
            "/dcsa/tnt/v2/events",
            "/dcsa/tnt/v2/events/{eventID}",
            "/dcsa/tnt/v2/event-subscriptions",
            "/dcsa/tnt/v2/event-subscriptions/{subscriptionID}",
            "/dcsa/tnt/v2/event-subscriptions/{subscriptionID}/secret",
            "/onerecord/",
            "/onerecord/logistics-objects/{id}",
            "/onerecord/logistics-objects/{id}/logistics-events",
            "/onerecord/subscriptions",
            "/onerecord/action-requests/{id}",
        ] {
            assert!(paths.contains(&path), "{path} is not described: {paths:?}");
        }
        // every schema a path refers to is in the components
        let text = json.to_string();
        let schemas = json["components"]["schemas"].as_object().unwrap();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{name} is referred to but missing"
            );
        }
        assert_eq!(
            json["paths"]["/v1/me"]["get"]["security"][0]["bearer"],
            serde_json::json!([])
        );
    }
}
