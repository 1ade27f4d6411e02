//! Query-string parameters, typed: each route names the parameters it knows (an unknown one is a
//! 400 naming it), and codes, limits and cursors are parsed once, here, with the error naming the
//! parameter and the reason.

use super::error::ApiError;
use crate::store::ListQuery;
use kouan_model::{AlertState, CustomsState, ShipmentMode, TransportStage};
use std::collections::HashMap;

/// Largest page of a list.
pub const MAX_LIMIT: usize = 1000;
/// The page of a list when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;

/// A request's query-string parameters, every name known to its route.
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn new(raw: HashMap<String, String>, known: &[&str]) -> Result<Self, ApiError> {
        if let Some(name) = raw.keys().find(|name| !known.contains(&name.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown parameter `{name}`: expected one of {}",
                known.join(", ")
            )));
        }
        Ok(Params(raw))
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A contract code among `all`, parsed by `code_of`.
    fn code<T: Copy>(
        &self,
        name: &str,
        all: &[T],
        code_of: fn(T) -> &'static str,
    ) -> Result<Option<T>, ApiError> {
        let Some(value) = self.text(name) else {
            return Ok(None);
        };
        match all.iter().copied().find(|known| code_of(*known) == value) {
            Some(known) => Ok(Some(known)),
            None => {
                let codes: Vec<&str> = all.iter().map(|known| code_of(*known)).collect();
                Err(ApiError::bad_request(format!(
                    "{name}: `{value}` is not one of {}",
                    codes.join(", ")
                )))
            }
        }
    }

    /// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
    fn limit(&self) -> Result<usize, ApiError> {
        match self.text("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_request(format!(
                    "limit: `{text}` is not a number from 1 to {MAX_LIMIT}"
                ))),
            },
        }
    }

    /// `cursor`: the last item's key, hex-encoded so it travels safely in a query string.
    fn cursor(&self) -> Result<Option<String>, ApiError> {
        self.text("cursor")
            .map(|text| {
                hex::decode(text)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| ApiError::bad_request("cursor: not a cursor of this API"))
            })
            .transpose()
    }
}

/// `GET /v1/shipments`' parameters as `/openapi.json` describes them; [`shipment_list`] parses
/// them (a test keeps the two lists of names equal).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ShipmentListParams {
    /// Only this shipper's shipments (a shipper sees only its own whatever it asks).
    shipper: Option<String>,
    #[param(inline)]
    transport_stage: Option<TransportStage>,
    #[param(inline)]
    customs_status: Option<CustomsState>,
    #[param(inline)]
    mode: Option<ShipmentMode>,
    /// Page size, 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

const SHIPMENT_LIST: [&str; 6] = [
    "shipper",
    "transportStage",
    "customsStatus",
    "mode",
    "limit",
    "cursor",
];

/// `GET /v1/shipments`.
pub fn shipment_list(raw: HashMap<String, String>) -> Result<ListQuery, ApiError> {
    let params = Params::new(raw, &SHIPMENT_LIST)?;
    Ok(ListQuery {
        shipper: params.text("shipper").map(str::to_string),
        transport_stage: params
            .code("transportStage", TransportStage::ALL, TransportStage::code)?
            .map(|c| c.code().to_string()),
        customs_status: params
            .code("customsStatus", CustomsState::ALL, CustomsState::code)?
            .map(|c| c.code().to_string()),
        mode: params
            .code("mode", ShipmentMode::ALL, ShipmentMode::code)?
            .map(|c| c.code().to_string()),
        after: params.cursor()?,
        limit: params.limit()?,
    })
}

/// `GET /v1/alerts`' parameters as `/openapi.json` describes them; [`alert_list`] parses them.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AlertListParams {
    #[param(inline)]
    state: Option<AlertState>,
    /// Page size, 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

const ALERT_LIST: [&str; 3] = ["state", "limit", "cursor"];

/// `GET /v1/kpis/clearance`' parameters as `/openapi.json` describes them; the handler parses
/// them with [`KPI`]'s names.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct KpiParams {
    /// `IMPORT` or `EXPORT`; both when absent.
    direction: Option<String>,
    /// Comma-separated, each at most once: `portOfEntry`, `mode`, `direction`, `day`.
    group_by: Option<String>,
}

pub const KPI: [&str; 2] = ["direction", "groupBy"];

/// `GET /v1/alerts`.
pub struct AlertList {
    pub state: Option<AlertState>,
    pub after: Option<String>,
    pub limit: usize,
}

pub fn alert_list(raw: HashMap<String, String>) -> Result<AlertList, ApiError> {
    let params = Params::new(raw, &ALERT_LIST)?;
    Ok(AlertList {
        state: params.code("state", AlertState::ALL, AlertState::code)?,
        after: params.cursor()?,
        limit: params.limit()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::IntoParams;

    fn names<P: IntoParams>() -> Vec<String> {
        P::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .map(|p| p.name)
            .collect()
    }

    #[test]
    fn the_described_parameters_are_the_parsed_ones() {
        assert_eq!(names::<ShipmentListParams>(), SHIPMENT_LIST);
        assert_eq!(names::<AlertListParams>(), ALERT_LIST);
        assert_eq!(names::<KpiParams>(), KPI);
    }
}
