//! The clearance-time KPI (整体通关时间): per group, how many shipments cleared and how long it
//! took (exact p50/p90 and mean of `clearanceHours`), and the advance-declaration rate — computed
//! by DataFusion over the snapshot.
//!
//! Decisions: `count`, the percentiles and the mean cover shipments with a clearance time; the
//! advance-declaration rate covers shipments where it is defined (declared imports). `day` is the
//! calendar day at the hub (UTC+08:00) of `releasedAt`. Hours are rounded to 2 decimals.

use crate::api::answers::KpiGroup;
use crate::auth::Caller;
use crate::error::QueryError;
use crate::sql::SqlEngine;
use datafusion::common::ScalarValue;

/// The groupings a caller may ask for: (API name, SQL expression).
const GROUPS: [(&str, &str); 4] = [
    ("portOfEntry", "port_of_entry"),
    ("mode", "mode"),
    ("direction", "direction"),
    (
        "day",
        "CAST(CAST(released_at + INTERVAL '8 hours' AS DATE) AS VARCHAR)",
    ),
];

#[derive(Debug, Clone, Default)]
pub struct KpiQuery {
    pub direction: Option<String>,
    /// API names from [`GROUPS`].
    pub group_by: Vec<String>,
}

impl KpiQuery {
    /// Parses `direction` and `groupBy` (comma-separated), naming the parameter at fault.
    pub fn parse(direction: Option<&str>, group_by: Option<&str>) -> Result<Self, QueryError> {
        let direction = match direction {
            None | Some("") => None,
            Some(d @ ("IMPORT" | "EXPORT")) => Some(d.to_string()),
            Some(other) => {
                return Err(QueryError::bad(
                    "direction",
                    format!("`{other}` is not IMPORT or EXPORT"),
                ))
            }
        };
        let mut groups = Vec::new();
        for name in group_by
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            if !GROUPS.iter().any(|(api, _)| *api == name) {
                return Err(QueryError::bad(
                    "groupBy",
                    format!("unknown group `{name}`: expected portOfEntry, mode, direction or day"),
                ));
            }
            if groups.iter().any(|g| g == name) {
                return Err(QueryError::bad("groupBy", format!("`{name}` given twice")));
            }
            groups.push(name.to_string());
        }
        Ok(Self {
            direction,
            group_by: groups,
        })
    }
}

/// The KPI rows as JSON objects, ordered by group.
pub async fn clearance(
    engine: &SqlEngine,
    caller: &Caller,
    query: &KpiQuery,
) -> Result<Vec<KpiGroup>, QueryError> {
    let group_exprs: Vec<(&str, &str)> = query
        .group_by
        .iter()
        .map(|name| {
            *GROUPS
                .iter()
                .find(|(api, _)| api == name)
                .expect("checked by parse")
        })
        .collect();
    let select_groups: String = group_exprs
        .iter()
        .enumerate()
        .map(|(i, (_, expr))| format!("{expr} AS g{i}, "))
        .collect();
    let mut filters =
        vec!["(clearance_hours IS NOT NULL OR advance_declared IS NOT NULL)".to_string()];
    let mut params = Vec::new();
    if let Some(direction) = &query.direction {
        params.push(ScalarValue::Utf8(Some(direction.clone())));
        filters.push(format!("direction = ${}", params.len()));
    }
    if let Some(shipper) = caller.shipper() {
        params.push(ScalarValue::Utf8(Some(shipper.to_string())));
        filters.push(format!("shipper = ${}", params.len()));
    }
    let group_clause = if group_exprs.is_empty() {
        String::new()
    } else {
        let positions: Vec<String> = (0..group_exprs.len()).map(|i| format!("g{i}")).collect();
        format!(
            " GROUP BY {} ORDER BY {}",
            positions.join(", "),
            positions.join(", ")
        )
    };
    let sql = format!(
        "SELECT {select_groups}\
         COUNT(clearance_hours) AS n, \
         percentile_cont(0.5) WITHIN GROUP (ORDER BY clearance_hours) AS p50, \
         percentile_cont(0.9) WITHIN GROUP (ORDER BY clearance_hours) AS p90, \
         AVG(clearance_hours) AS mean, \
         AVG(CASE WHEN advance_declared THEN 1.0 WHEN NOT advance_declared THEN 0.0 END) AS adv \
         FROM shipments WHERE {}{group_clause}",
        filters.join(" AND ")
    );
    let _slot = engine.slot()?;
    let frame = engine
        .context()
        .sql(&sql)
        .await
        .and_then(|frame| frame.with_param_values(params))
        .map_err(|e| QueryError::Sql(e.to_string()))?;
    let batches = tokio::time::timeout(engine.limits().timeout, frame.collect())
        .await
        .map_err(|_| QueryError::SqlTimeout(engine.limits().timeout))?
        .map_err(|e| QueryError::Sql(e.to_string()))?;
    let answer = crate::sql::Answer {
        schema: batches
            .first()
            .map(|b| b.schema())
            .unwrap_or_else(|| std::sync::Arc::new(datafusion::arrow::datatypes::Schema::empty())),
        batches,
        truncated: false,
    };
    let json = answer.to_json();
    let hours = |value: &serde_json::Value| value.as_f64().map(|v| (v * 100.0).round() / 100.0);
    let mut groups = Vec::new();
    for row in json.rows {
        let count = row[group_exprs.len()].as_u64().unwrap_or(0);
        let at = group_exprs.len();
        let mut group = KpiGroup {
            port_of_entry: None,
            mode: None,
            direction: None,
            day: None,
            count,
            p50_hours: hours(&row[at + 1]),
            p90_hours: hours(&row[at + 2]),
            mean_hours: hours(&row[at + 3]),
            advance_declaration_rate: row[at + 4]
                .as_f64()
                .map(|v| (v * 10_000.0).round() / 10_000.0),
        };
        for (i, (api, _)) in group_exprs.iter().enumerate() {
            let key = match *api {
                "portOfEntry" => &mut group.port_of_entry,
                "mode" => &mut group.mode,
                "direction" => &mut group.direction,
                _ => &mut group.day,
            };
            *key = Some(row[i].clone());
        }
        // an ungrouped answer over nothing is one empty row: no groups at all
        if count == 0 && group.advance_declaration_rate.is_none() {
            continue;
        }
        groups.push(group);
    }
    Ok(groups)
}
