//! The analytics side of the API: clearance KPIs against a hand computation, SQL (operator only,
//! read-only, bounded, JSON and Arrow) and the `kouan sql` console.

use super::fixtures::*;
use kouan_e2e::*;
use kouan_model::Direction;
use kouan_model::Status;

/// KPIs against a hand computation
pub fn kpis(serve: &Serve, world: &World, _namespace: &str) {
    let operator = OPERATOR_TOKEN;
    let shipper0 = shipper_token(0);
    let kpis = get_json(
        serve,
        "/v1/kpis/clearance?direction=IMPORT&groupBy=portOfEntry,mode",
        operator,
    );
    let groups = kpis["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{kpis}");
    for group in groups {
        let mode = group["mode"].as_str().unwrap();
        let members: Vec<&Status> = world
            .statuses
            .iter()
            .filter(|s| s.direction == Some(Direction::Import) && s.mode.unwrap().code() == mode)
            .collect();
        let mut hours: Vec<f64> = members.iter().filter_map(|s| s.clearance_hours).collect();
        hours.sort_by(f64::total_cmp);
        let declared: Vec<bool> = members.iter().filter_map(|s| s.advance_declared).collect();
        assert_eq!(group["count"], hours.len() as u64, "{group}");
        let close = |field: &str, want: f64| {
            let got = group[field].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 0.0051,
                "{field}: {got} vs {want}: {group}"
            );
        };
        close("p50Hours", percentile(&hours, 0.5));
        close("p90Hours", percentile(&hours, 0.9));
        close("meanHours", hours.iter().sum::<f64>() / hours.len() as f64);
        let rate = declared.iter().filter(|d| **d).count() as f64 / declared.len() as f64;
        assert!(
            (group["advanceDeclarationRate"].as_f64().unwrap() - rate).abs() < 1e-4,
            "{group}"
        );
        assert_eq!(
            group["portOfEntry"],
            if mode == "AIR" { "CNCGO" } else { "CNZZU" }
        );
    }
    let own = get_json(serve, "/v1/kpis/clearance", &shipper0);
    let own_count = world
        .statuses
        .iter()
        .filter(|s| s.shipper.as_deref() == Some("SHIPPER-0") && s.clearance_hours.is_some())
        .count();
    assert_eq!(own["groups"][0]["count"], own_count as u64, "{own}");
    let by_day = get_json(serve, "/v1/kpis/clearance?groupBy=day", operator);
    assert!(
        by_day["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["day"].as_str().is_some_and(|d| d.len() == 10)),
        "{by_day}"
    );
}

/// SQL: operator only, read-only, bounded, JSON and Arrow
pub fn sql(serve: &Serve, _world: &World, _namespace: &str) {
    let operator = OPERATOR_TOKEN;
    let shipper0 = shipper_token(0);
    let (status, body) = post_json(
        serve,
        "/v1/sql",
        operator,
        serde_json::json!({"sql": "SELECT count(*) AS n, count(DISTINCT shipper) AS shippers FROM shipments"}),
    );
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["columns"], serde_json::json!(["n", "shippers"]));
    assert_eq!(answer["rows"], serde_json::json!([[60, 3]]));
    let (status, body) = post_json(
        serve,
        "/v1/sql",
        operator,
        serde_json::json!({"sql": "SELECT m.code, count(*) FROM milestones m JOIN shipments s USING (shipment_id) JOIN alerts a USING (shipment_id) GROUP BY m.code"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["rows"],
        serde_json::json!([["BOOKED", 6]])
    );
    let (status, body) = post_json(
        serve,
        "/v1/sql",
        operator,
        serde_json::json!({"sql": "SELECT shipment_id FROM shipments"}),
    );
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["rows"].as_array().unwrap().len(), 25);
    assert_eq!(answer["truncated"], true);
    for refused in [
        "DROP TABLE shipments",
        "INSERT INTO alerts SELECT * FROM alerts",
        "SELECT 1; DELETE FROM shipments",
        "CREATE TABLE x AS SELECT 1",
        "COPY shipments TO '/tmp/out.csv'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let (status, body) = post_json(
            serve,
            "/v1/sql",
            operator,
            serde_json::json!({ "sql": refused }),
        );
        assert_eq!(status, 400, "{refused}: {body}");
        assert!(error_of(&body).starts_with("sql:"), "{refused}: {body}");
    }
    let (status, body) = post_json(
        serve,
        "/v1/sql",
        operator,
        serde_json::json!({"query": "SELECT 1"}),
    );
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("body"), "{body}");
    let (status, body) = post_json(
        serve,
        "/v1/sql",
        &shipper0,
        serde_json::json!({"sql": "SELECT 1"}),
    );
    assert_eq!(status, 403, "{body}");
    let response = client()
        .post(format!("{}/v1/sql", serve.url))
        .bearer_auth(operator)
        .header("Accept", "application/vnd.apache.arrow.stream")
        .json_body(serde_json::json!({"sql": "SELECT shipment_id, clearance_hours FROM shipments WHERE mode = 'AIR' ORDER BY shipment_id"}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let bytes = response.bytes().unwrap();
    let reader =
        datafusion::arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
            .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 25);
    assert_eq!(batches[0].schema().field(1).name(), "clearance_hours");
}

/// The console, one-shot
pub fn console(serve: &Serve, _world: &World, namespace: &str) {
    let operator = OPERATOR_TOKEN;
    let output = kouan(namespace)
        .args([
            "sql",
            "--url",
            &serve.url,
            "--token",
            operator,
            "SELECT mode, count(*) AS n FROM shipments GROUP BY mode ORDER BY mode",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        text.contains("| mode | n  |")
            && text.contains("| AIR  | 30 |")
            && text.contains("(2 rows)"),
        "{text}"
    );
    let output = kouan(namespace)
        .args([
            "sql",
            "--url",
            &serve.url,
            "--token",
            operator,
            "DELETE FROM shipments",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("400"),
        "{output:?}"
    );
}
