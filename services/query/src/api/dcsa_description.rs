//! kouan's own OpenAPI description of the DCSA T&T 2.2 surface (`/dcsa/tnt/v2`), written from
//! DCSA's published document (TNT 2.2.0 with its event, DCSA and error domains) and faithful to
//! it: the same paths, parameters, headers, event and subscription shapes and error body.
//! Where kouan says more than DCSA (a `limit` above 1000 gets 1000 with a `Next-Page`; `sort`
//! takes `eventCreatedDateTime` for events), the descriptions say so. Merged into
//! `/openapi.json`.

use serde_json::{json, Value};

fn codes(values: &[&str]) -> Value {
    json!({"type": "array", "items": {"type": "string", "enum": values}})
}

fn list_parameter(name: &str, values: &[&str], description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "style": "form", "explode": false,
           "description": description, "schema": codes(values)})
}

fn text_parameter(name: &str, max: usize, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": "string", "maxLength": max}})
}

fn paging_headers() -> Value {
    let link = |what: &str| json!({"description": format!("A link to the {what} page."), "schema": {"type": "string"}});
    json!({
        "API-Version": {"description": "The version of the API answering (2.2.0).", "schema": {"type": "string"}},
        "Current-Page": link("current"),
        "Next-Page": link("next (absent on the last page)"),
        "Prev-Page": link("previous (absent on the first page)"),
        "First-Page": link("first (absent on the first page)"),
        "Last-Page": link("last (absent on the last page)"),
    })
}

fn version_header() -> Value {
    json!({"API-Version": {"description": "The version of the API answering (2.2.0).", "schema": {"type": "string"}}})
}

fn error_response() -> Value {
    json!({"description": "An error: DCSA's error body, naming the parameter or field at fault",
           "headers": version_header(),
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DcsaError"}}}})
}

fn api_version_parameter() -> Value {
    json!({"name": "API-Version", "in": "header", "required": false,
           "description": "The major version asked for (a full version is taken too); only 2 is served.",
           "schema": {"type": "string", "pattern": "^2(\\.[0-9]+){0,2}$"}})
}

fn paging_parameters() -> Vec<Value> {
    vec![
        json!({"name": "limit", "in": "query", "required": false,
               "description": "Maximum number of items to return (at most 1000 per page; more follow with `Next-Page`).",
               "schema": {"type": "integer", "format": "int32", "minimum": 1, "default": 100}}),
        json!({"name": "cursor", "in": "query", "required": false,
               "description": "A value from a paging header of an earlier answer: it carries the query, so it is sent alone (with `limit` at most).",
               "schema": {"type": "string"}}),
    ]
}

fn events_parameters() -> Vec<Value> {
    use crate::dcsa::filter::*;
    let mut parameters = vec![
        list_parameter(
            "eventType",
            EVENT_TYPES,
            "The kinds of event (OR of the values).",
        ),
        list_parameter(
            "shipmentEventTypeCode",
            SHIPMENT_CODES,
            "Shipment events of these codes only.",
        ),
        list_parameter(
            "documentTypeCode",
            DOCUMENT_TYPES,
            "Shipment events about these kinds of document only.",
        ),
        text_parameter(
            "carrierBookingReference",
            35,
            "Events of this booking (kouan's shipment id).",
        ),
        json!({"name": "bookingReference", "in": "query", "required": false, "deprecated": true,
               "description": "Deprecated: use carrierBookingReference.", "schema": {"type": "string", "maxLength": 35}}),
        json!({"name": "transportDocumentID", "in": "query", "required": false, "deprecated": true,
               "description": "Deprecated: use transportDocumentReference.", "schema": {"type": "string", "maxLength": 35}}),
        text_parameter(
            "transportDocumentReference",
            20,
            "Events of this transport document (kouan's shipment id).",
        ),
        list_parameter(
            "transportEventTypeCode",
            TRANSPORT_CODES,
            "Transport events of these codes only.",
        ),
        json!({"name": "scheduleID", "in": "query", "required": false, "deprecated": true,
               "description": "Deprecated by DCSA; kouan's events name no schedule, so it matches nothing.",
               "schema": {"type": "string", "maxLength": 100}}),
        text_parameter("transportCallID", 100, "Events of this transport call."),
        text_parameter(
            "vesselIMONumber",
            7,
            "Events of this vessel (kouan's events name no vessel: nothing matches).",
        ),
        json!({"name": "carrierVoyageNumber", "in": "query", "required": false, "deprecated": true,
               "description": "Deprecated: use exportVoyageNumber.", "schema": {"type": "string", "maxLength": 50}}),
        text_parameter(
            "exportVoyageNumber",
            50,
            "Events of this voyage, train run or trip.",
        ),
        text_parameter(
            "carrierServiceCode",
            5,
            "Events of this service (kouan's events name no service: nothing matches).",
        ),
        text_parameter("UNLocationCode", 5, "Events at this UN/LOCODE."),
        list_parameter(
            "equipmentEventTypeCode",
            EQUIPMENT_CODES,
            "Equipment events of these codes only.",
        ),
        text_parameter(
            "equipmentReference",
            15,
            "Events of this container or wagon.",
        ),
    ];
    for (suffix, what) in [
        ("", "equal to (as `:eq`)"),
        (":gte", "at or after"),
        (":gt", "after"),
        (":lte", "at or before"),
        (":lt", "before"),
        (":eq", "equal to"),
    ] {
        parameters.push(json!({"name": format!("eventCreatedDateTime{suffix}"), "in": "query", "required": false,
            "description": format!("Events created {what} this date-time (with its offset)."),
            "schema": {"type": "string", "format": "date-time"}}));
    }
    parameters.extend(paging_parameters());
    parameters.push(json!({"name": "sort", "in": "query", "required": false,
        "description": "`eventCreatedDateTime:ASC` (the default) or `eventCreatedDateTime:DESC`.",
        "schema": {"type": "string"}}));
    parameters.push(api_version_parameter());
    parameters
}

fn subscription_id() -> Value {
    json!({"name": "subscriptionID", "in": "path", "required": true,
           "description": "The subscription's id.", "schema": {"type": "string"}})
}

fn schemas() -> Value {
    use crate::dcsa::filter::*;
    let time = json!({"type": "string", "format": "date-time"});
    let base = |kind: &str, required: &[&str], extra: Value| {
        let mut properties = json!({
            "eventID": {"type": "string", "format": "uuid"},
            "eventType": {"type": "string", "enum": [kind]},
            "eventCreatedDateTime": time,
            "eventDateTime": time,
            "eventClassifierCode": {"type": "string", "enum": ["ACT", "PLN", "EST"]},
            "documentReferences": {"type": "array", "items": {"$ref": "#/components/schemas/DcsaDocumentReference"}},
        });
        for (name, schema) in extra.as_object().expect("an object") {
            properties[name] = schema.clone();
        }
        let mut all = vec![
            "eventID",
            "eventType",
            "eventCreatedDateTime",
            "eventDateTime",
            "eventClassifierCode",
        ];
        all.extend_from_slice(required);
        json!({"type": "object", "properties": properties, "required": all})
    };
    let filter_properties = json!({
        "eventType": codes(EVENT_TYPES),
        "shipmentEventTypeCode": codes(SHIPMENT_CODES),
        "documentTypeCode": codes(DOCUMENT_TYPES),
        "carrierBookingReference": {"type": "string", "maxLength": 35},
        "bookingReference": {"type": "string", "maxLength": 35, "deprecated": true},
        "transportDocumentID": {"type": "string", "maxLength": 35, "deprecated": true},
        "transportDocumentReference": {"type": "string", "maxLength": 20},
        "transportEventTypeCode": codes(TRANSPORT_CODES),
        "transportCallID": {"type": "string", "maxLength": 100},
        "vesselIMONumber": {"type": "string", "maxLength": 7},
        "carrierVoyageNumber": {"type": "string", "maxLength": 50, "deprecated": true},
        "exportVoyageNumber": {"type": "string", "maxLength": 50},
        "carrierServiceCode": {"type": "string", "maxLength": 5},
        "UNLocationCode": {"type": "string", "maxLength": 5},
        "equipmentEventTypeCode": codes(EQUIPMENT_CODES),
        "equipmentReference": {"type": "string", "maxLength": 15},
    });
    let with = |extra: Value, required: &[&str]| {
        let mut properties = filter_properties.clone();
        for (name, schema) in extra.as_object().expect("an object") {
            properties[name] = schema.clone();
        }
        json!({"type": "object", "properties": properties, "required": required})
    };
    let callback = json!({"type": "string", "format": "uri", "maxLength": 1024,
        "description": "Where the events are POSTed; loopback, private and link-local destinations are refused unless the server allows them."});
    let secret = json!({"type": "string", "format": "byte", "minLength": 24, "maxLength": 1024,
        "description": "Base64; the decoded bytes key the HMAC-SHA256 of `Notification-Signature`."});
    json!({
        "DcsaDocumentReference": {"type": "object", "required": ["documentReferenceType", "documentReferenceValue"],
            "properties": {"documentReferenceType": {"type": "string", "enum": ["BKG", "TRD"]},
                           "documentReferenceValue": {"type": "string"}}},
        "DcsaTransportCall": {"type": "object", "required": ["transportCallID", "modeOfTransport"],
            "properties": {"transportCallID": {"type": "string", "maxLength": 100},
                           "exportVoyageNumber": {"type": "string", "maxLength": 50},
                           "modeOfTransport": {"type": "string", "enum": ["VESSEL", "RAIL", "TRUCK", "BARGE"]},
                           "UNLocationCode": {"type": "string", "maxLength": 5},
                           "otherFacility": {"type": "string"}}},
        "DcsaLocation": {"type": "object",
            "properties": {"UNLocationCode": {"type": "string", "maxLength": 5}, "locationName": {"type": "string"}}},
        "DcsaShipmentEvent": base("SHIPMENT", &["shipmentEventTypeCode", "documentTypeCode", "documentID"], json!({
            "shipmentEventTypeCode": {"type": "string", "enum": SHIPMENT_CODES},
            "documentTypeCode": {"type": "string", "enum": DOCUMENT_TYPES},
            "documentID": {"type": "string"},
            "reason": {"type": "string", "maxLength": 250},
        })),
        "DcsaTransportEvent": base("TRANSPORT", &["transportEventTypeCode", "transportCall"], json!({
            "transportEventTypeCode": {"type": "string", "enum": TRANSPORT_CODES},
            "transportCall": {"$ref": "#/components/schemas/DcsaTransportCall"},
        })),
        "DcsaEquipmentEvent": base("EQUIPMENT", &["equipmentEventTypeCode", "emptyIndicatorCode"], json!({
            "equipmentEventTypeCode": {"type": "string", "enum": EQUIPMENT_CODES},
            "equipmentReference": {"type": "string", "maxLength": 15},
            "emptyIndicatorCode": {"type": "string", "enum": ["EMPTY", "LADEN"]},
            "eventLocation": {"$ref": "#/components/schemas/DcsaLocation"},
            "transportCall": {"$ref": "#/components/schemas/DcsaTransportCall"},
        })),
        "DcsaEvent": {"anyOf": [
            {"$ref": "#/components/schemas/DcsaTransportEvent"},
            {"$ref": "#/components/schemas/DcsaShipmentEvent"},
            {"$ref": "#/components/schemas/DcsaEquipmentEvent"}]},
        "DcsaError": {"type": "object",
            "required": ["httpMethod", "requestUri", "errors", "statusCode", "statusCodeText", "errorDateTime"],
            "properties": {"httpMethod": {"type": "string"}, "requestUri": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "required": ["reason", "message"],
                    "properties": {"reason": {"type": "string"}, "message": {"type": "string"}}}},
                "statusCode": {"type": "integer"}, "statusCodeText": {"type": "string"}, "errorDateTime": time}},
        "DcsaSubscriptionBodyWithSecret": with(json!({"callbackUrl": callback, "secret": secret}), &["callbackUrl", "secret"]),
        "DcsaSubscriptionBody": with(json!({"callbackUrl": callback, "subscriptionID": {"type": "string"}}), &["callbackUrl"]),
        "DcsaSubscription": with(json!({"callbackUrl": callback, "subscriptionID": {"type": "string", "format": "uuid"}}), &["subscriptionID", "callbackUrl"]),
        "DcsaSecret": {"type": "object", "required": ["secret"], "properties": {"secret": secret}},
    })
}

/// The DCSA paths and schemas, as an OpenAPI document to merge into kouan's.
pub fn document() -> Value {
    let security = json!([{"bearer": []}]);
    let ok = |description: &str, schema: Value, headers: Value| json!({"description": description, "headers": headers, "content": {"application/json": {"schema": schema}}});
    let events = json!({"type": "array", "items": {"$ref": "#/components/schemas/DcsaEvent"}});
    let subscription = json!({"$ref": "#/components/schemas/DcsaSubscription"});
    let body = |schema: &str| json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
    let no_content = json!({"description": "Done", "headers": version_header()});
    let mut subscription_list_parameters = paging_parameters();
    subscription_list_parameters.push(json!({"name": "sort", "in": "query", "required": false,
        "description": "`subscriptionID` or `callbackUrl`, with `:ASC` (the default) or `:DESC`.", "schema": {"type": "string"}}));
    subscription_list_parameters.push(api_version_parameter());
    let tag = json!(["DCSA Track & Trace 2.2"]);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "kouan", "version": env!("CARGO_PKG_VERSION")},
        "paths": {
            "/dcsa/tnt/v2/events": {"get": {
                "tags": tag, "summary": "Find events.", "operationId": "dcsa_events",
                "description": "The DCSA events of the caller's shipments (an operator: all), filtered, in `eventCreatedDateTime` order. Filters combine with AND, the values of a list filter with OR.",
                "parameters": events_parameters(), "security": security,
                "responses": {"200": ok("The events", events, paging_headers()), "default": error_response()}}},
            "/dcsa/tnt/v2/events/{eventID}": {"get": {
                "tags": tag, "summary": "Find an event by eventID.", "operationId": "dcsa_event", "deprecated": true,
                "parameters": [{"name": "eventID", "in": "path", "required": true, "schema": {"type": "string"}}, api_version_parameter()],
                "security": security,
                "responses": {"200": ok("The event", json!({"$ref": "#/components/schemas/DcsaEvent"}), version_header()), "default": error_response()}}},
            "/dcsa/tnt/v2/event-subscriptions": {
                "get": {"tags": tag, "summary": "The caller's subscriptions.", "operationId": "dcsa_subscriptions",
                    "parameters": subscription_list_parameters, "security": security,
                    "responses": {"200": ok("The subscriptions", json!({"type": "array", "items": subscription}), paging_headers()), "default": error_response()}},
                "post": {"tags": tag, "summary": "Create a subscription.", "operationId": "dcsa_subscribe",
                    "description": "Every event that passes the filters and that the caller may see is POSTed to `callbackUrl` as a JSON array, signed with `Notification-Signature: sha256=<hex HMAC-SHA256 of the body keyed by the decoded secret>`, with `Subscription-ID` and `API-Version`; in order, retried, from the subscription's creation on.",
                    "parameters": [api_version_parameter()], "security": security,
                    "requestBody": body("DcsaSubscriptionBodyWithSecret"),
                    "responses": {"201": ok("Created", subscription.clone(), version_header()), "default": error_response()}}},
            "/dcsa/tnt/v2/event-subscriptions/{subscriptionID}": {
                "get": {"tags": tag, "summary": "A subscription.", "operationId": "dcsa_subscription",
                    "parameters": [subscription_id(), api_version_parameter()], "security": security,
                    "responses": {"200": ok("The subscription", subscription.clone(), version_header()), "default": error_response()}},
                "put": {"tags": tag, "summary": "Change a subscription's callback and filters.", "operationId": "dcsa_change_subscription",
                    "parameters": [subscription_id(), api_version_parameter()], "security": security,
                    "requestBody": body("DcsaSubscriptionBody"),
                    "responses": {"200": ok("The subscription", subscription, version_header()), "default": error_response()}},
                "delete": {"tags": tag, "summary": "Stop a subscription.", "operationId": "dcsa_unsubscribe",
                    "parameters": [subscription_id(), api_version_parameter()], "security": security,
                    "responses": {"204": no_content.clone(), "default": error_response()}}},
            "/dcsa/tnt/v2/event-subscriptions/{subscriptionID}/secret": {
                "put": {"tags": tag, "summary": "Reset a subscription's secret.", "operationId": "dcsa_secret",
                    "parameters": [subscription_id(), api_version_parameter()], "security": security,
                    "requestBody": body("DcsaSecret"),
                    "responses": {"204": no_content, "default": error_response()}}},
        },
        "components": {"schemas": schemas()},
    })
}
