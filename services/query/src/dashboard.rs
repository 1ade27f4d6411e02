//! The dashboard: one HTML page with its script and styles, embedded in the binary so that it
//! works offline. It asks for a token and talks to the API like any client.

use axum::response::{Html, IntoResponse, Response};

const PAGE: &str = include_str!("../dashboard/index.html");

#[utoipa::path(get, path = "/", tag = "operations",
    description = "The dashboard (it asks for a token).",
    responses((status = 200, description = "the page", content_type = "text/html; charset=utf-8", body = String)))]
pub async fn page() -> Response {
    Html(PAGE).into_response()
}
