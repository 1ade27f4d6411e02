//! kouan's own OpenAPI description of the ONE Record surface (`/onerecord`), written from IATA's
//! ONE Record API specification (2.x): the server information, logistics objects and their
//! LogisticsEvents with the headers the API defines, subscriptions and action requests, and
//! `405` for every write (kouan is a read-only data holder). Bodies are JSON-LD; their schemas
//! name the properties kouan writes. Merged into `/openapi.json`.

use serde_json::{json, Value};

fn error() -> Value {
    json!({"description": "ONE Record's api:Error; api:hasCode is the HTTP status",
           "content": {"application/ld+json": {"schema": {"$ref": "#/components/schemas/OneRecordError"}}}})
}

fn ld(description: &str, schema: &str, headers: Value) -> Value {
    json!({"description": description, "headers": headers,
           "content": {"application/ld+json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn header(description: &str) -> Value {
    json!({"description": description, "schema": {"type": "string"}})
}

fn id(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// The ONE Record paths and schemas, as an OpenAPI document to merge into kouan's.
pub fn document() -> Value {
    let security = json!([{"bearer": []}]);
    let tag = json!(["IATA ONE Record"]);
    let read_only = json!({"tags": tag, "summary": "Refused: kouan holds its logistics objects read-only.",
        "security": security, "responses": {"405": error(), "default": error()}});
    let object_headers = json!({
        "Type": header("The object's type IRI."),
        "Revision": header("Its revision (the status record's version)."),
        "Latest-Revision": header("Its latest revision."),
        "Last-Modified": header("When it last changed."),
        "Content-Language": header("en-US"),
    });
    let list_headers = json!({"Last-Modified": header("When the list last changed."), "Content-Language": header("en-US")});
    let time = json!({"type": "string"});
    let object = id("id", "`waybill-AWB`, `shipment-AWB` or `piece-AWB`");
    json!({
        "openapi": "3.1.0",
        "info": {"title": "kouan", "version": env!("CARGO_PKG_VERSION")},
        "paths": {
            "/onerecord/": {"get": {"tags": tag, "summary": "Server information.", "operationId": "onerecord_server",
                "security": security,
                "responses": {"200": ld("The server's information", "OneRecordObject", list_headers.clone()), "default": error()}}},
            "/onerecord/logistics-objects": {"post": read_only.clone()},
            "/onerecord/logistics-objects/{id}": {
                "get": {"tags": tag, "summary": "An air shipment's Waybill, Shipment or Piece.", "operationId": "onerecord_object",
                    "parameters": [object.clone()], "security": security,
                    "responses": {"200": ld("The logistics object", "OneRecordObject", object_headers), "default": error()}},
                "patch": {"parameters": [object.clone()], "tags": tag, "summary": "Refused: read-only.", "security": security, "responses": {"405": error(), "default": error()}},
                "post": {"parameters": [object.clone()], "tags": tag, "summary": "Refused: read-only.", "security": security, "responses": {"405": error(), "default": error()}}},
            "/onerecord/logistics-objects/{id}/logistics-events": {
                "get": {"tags": tag, "summary": "Its LogisticsEvents: the air statuses, each with its IATA status code, time and time type.",
                    "operationId": "onerecord_events", "security": security,
                    "parameters": [object.clone(),
                        query("event-code", "Comma-separated status codes (`DEP` or its code-list IRI).", json!({"type": "string"})),
                        query("created-after", "`20190926T075830Z` or RFC 3339 with an offset.", time.clone()),
                        query("created-before", "As created-after.", time.clone()),
                        query("occurred-after", "As created-after.", time.clone()),
                        query("occurred-before", "As created-after.", time.clone()),
                        query("sort", "The order (default ASC-eventDate).", json!({"type": "string", "enum": ["ASC-creationDate", "DESC-creationDate", "ASC-eventDate", "DESC-eventDate"]})),
                        query("limit", "At most this many.", json!({"type": "integer", "minimum": 0})),
                        query("skip", "Skip this many first.", json!({"type": "integer", "minimum": 0}))],
                    "responses": {"200": ld("An api:Collection of LogisticsEvents", "OneRecordCollection", list_headers.clone()), "default": error()}},
                "post": {"parameters": [object.clone()], "tags": tag, "summary": "Refused: read-only.", "security": security, "responses": {"405": error(), "default": error()}}},
            "/onerecord/logistics-objects/{id}/logistics-events/{event}": {"get": {"tags": tag, "summary": "One LogisticsEvent.",
                "operationId": "onerecord_event", "security": security,
                "parameters": [object, id("event", "The event's id")],
                "responses": {"200": ld("The LogisticsEvent", "OneRecordObject", list_headers), "default": error()}}},
            "/onerecord/logistics-events": {"post": read_only},
            "/onerecord/subscriptions": {"post": {"tags": tag, "summary": "Subscribe to a logistics object or a type of them.",
                "description": "Accepted at once: `201` with `Location` (the SubscriptionRequest) and `Type`. Notifications go to the subscriber's ONE Record server: `/notifications` beside the `/logistics-objects/` of its `api:hasSubscriber` IRI.",
                "operationId": "onerecord_subscribe", "security": security,
                "requestBody": {"required": true, "content": {"application/ld+json": {"schema": {"$ref": "#/components/schemas/OneRecordObject"}}}},
                "responses": {"201": {"description": "Created", "headers": {"Location": header("The SubscriptionRequest."), "Type": header("api:SubscriptionRequest")}}, "default": error()}}},
            "/onerecord/action-requests/{id}": {
                "get": {"tags": tag, "summary": "A SubscriptionRequest.", "operationId": "onerecord_request",
                    "parameters": [id("id", "The request's id")], "security": security,
                    "responses": {"200": ld("The SubscriptionRequest", "OneRecordObject", json!({"Type": header("api:SubscriptionRequest")})), "default": error()}},
                "delete": {"tags": tag, "summary": "Revoke a subscription.", "operationId": "onerecord_revoke",
                    "parameters": [id("id", "The request's id")], "security": security,
                    "responses": {"204": {"description": "Revoked"}, "default": error()}}},
        },
        "components": {"schemas": {
            "OneRecordObject": {"type": "object", "description": "A JSON-LD node", "required": ["@type"],
                "properties": {"@context": {"type": "object"}, "@id": {"type": "string"}, "@type": {"type": "string"}}},
            "OneRecordCollection": {"type": "object", "required": ["@type", "api:hasTotalItems"],
                "properties": {"@id": {"type": "string"}, "@type": {"type": "string", "enum": ["api:Collection"]},
                    "api:hasTotalItems": {"type": "integer", "minimum": 0},
                    "api:hasItem": {"type": "array", "items": {"$ref": "#/components/schemas/OneRecordObject"}}}},
            "OneRecordError": {"type": "object", "required": ["@type", "api:hasTitle", "api:hasErrorDetail"],
                "properties": {"@type": {"type": "string", "enum": ["api:Error"]}, "api:hasTitle": {"type": "string"},
                    "api:hasErrorDetail": {"type": "array", "items": {"type": "object", "required": ["api:hasCode", "api:hasMessage"],
                        "properties": {"api:hasCode": {"type": "string"}, "api:hasMessage": {"type": "string"}, "api:hasResource": {"type": "string"}}}}}},
        }},
    })
}
