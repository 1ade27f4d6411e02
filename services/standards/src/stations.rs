//! The airports of the hub's network by their IATA codes: Cargo-IMP names stations by IATA
//! code, the event contract names places by UN/LOCODE and facility. This is reference data of
//! the network (`docs/contracts/NETWORK.md`); a station not here is rejected with its code, and
//! adding one is a row here and in `docs/standards/cargo-imp.md`.

pub struct Station {
    pub iata: &'static str,
    pub unlocode: &'static str,
    /// The cargo terminal kouan's other sources name for this airport.
    pub facility: &'static str,
}

pub const STATIONS: &[Station] = &[
    Station {
        iata: "CGO",
        unlocode: "CNCGO",
        facility: "CGO-NCT",
    },
    Station {
        iata: "LUX",
        unlocode: "LULUX",
        facility: "LUX-CARGOCENTER",
    },
    Station {
        iata: "FRA",
        unlocode: "DEFRA",
        facility: "FRA-CARGOCITY",
    },
    Station {
        iata: "LGG",
        unlocode: "BELGG",
        facility: "LGG-CARGO",
    },
    Station {
        iata: "ORD",
        unlocode: "USORD",
        facility: "ORD-CARGO",
    },
    Station {
        iata: "ANC",
        unlocode: "USANC",
        facility: "ANC-CARGO",
    },
];

pub fn by_iata(code: &str) -> Option<&'static Station> {
    STATIONS.iter().find(|station| station.iata == code)
}

pub fn by_unlocode(code: &str) -> Option<&'static Station> {
    STATIONS.iter().find(|station| station.unlocode == code)
}
