//! The hub's network as the simulator knows it: nodes with their local UTC offsets, the rail
//! corridors with their gauge-change stations, the air lanes, the shippers. Codes and durations
//! follow `docs/contracts/NETWORK.md`.

/// A place events happen at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub unlocode: &'static str,
    pub facility: &'static str,
    pub name: &'static str,
    /// Local offset from UTC in hours: events are stamped in the local time of where they happen.
    pub utc_offset_hours: i32,
}

pub const CGO: Node = Node {
    unlocode: "CNCGO",
    facility: "CGO-NCT",
    name: "Zhengzhou Xinzheng airport",
    utc_offset_hours: 8,
};
pub const ZZP: Node = Node {
    unlocode: "CNZZP",
    facility: "ZZP-CY",
    name: "Zhengzhou Putian rail container centre",
    utc_offset_hours: 8,
};
pub const AKA: Node = Node {
    unlocode: "CNAKA",
    facility: "AKA-BS",
    name: "Alashankou",
    utc_offset_hours: 8,
};
pub const DOS: Node = Node {
    unlocode: "KZDOS",
    facility: "DOS-GC",
    name: "Dostyk",
    utc_offset_hours: 5,
};
pub const ERL: Node = Node {
    unlocode: "CNERL",
    facility: "ERL-BS",
    name: "Erenhot",
    utc_offset_hours: 8,
};
pub const ZMU: Node = Node {
    unlocode: "MNZMU",
    facility: "ZMU-GC",
    name: "Zamyn-Uud",
    utc_offset_hours: 8,
};
pub const MZL: Node = Node {
    unlocode: "CNMZL",
    facility: "MZL-GC",
    name: "Manzhouli",
    utc_offset_hours: 8,
};
pub const ZAB: Node = Node {
    unlocode: "RUZAB",
    facility: "ZAB-GC",
    name: "Zabaykalsk",
    utc_offset_hours: 9,
};
pub const BRE: Node = Node {
    unlocode: "BYBRE",
    facility: "BRE-BS",
    name: "Brest",
    utc_offset_hours: 3,
};
pub const MAW: Node = Node {
    unlocode: "PLMAW",
    facility: "MAW-GC",
    name: "Malaszewicze",
    utc_offset_hours: 1,
};
pub const HAM: Node = Node {
    unlocode: "DEHAM",
    facility: "HAM-BILLWERDER",
    name: "Hamburg",
    utc_offset_hours: 1,
};
pub const DUI: Node = Node {
    unlocode: "DEDUI",
    facility: "DUI-LOGPORT",
    name: "Duisburg",
    utc_offset_hours: 1,
};
pub const LUX: Node = Node {
    unlocode: "LULUX",
    facility: "LUX-CARGOCENTER",
    name: "Luxembourg airport",
    utc_offset_hours: 1,
};
pub const FRA: Node = Node {
    unlocode: "DEFRA",
    facility: "FRA-CARGOCITY",
    name: "Frankfurt airport",
    utc_offset_hours: 1,
};
pub const LGG: Node = Node {
    unlocode: "BELGG",
    facility: "LGG-CARGO",
    name: "Liege airport",
    utc_offset_hours: 1,
};
pub const ORD: Node = Node {
    unlocode: "USORD",
    facility: "ORD-CARGO",
    name: "Chicago O'Hare",
    utc_offset_hours: -6,
};
pub const ANC: Node = Node {
    unlocode: "USANC",
    facility: "ANC-CARGO",
    name: "Anchorage",
    utc_offset_hours: -9,
};

/// A China–Europe rail corridor: the Chinese border port and the station where the gauge changes
/// to 1520 mm. Whether the transshipment happens on the Chinese side or beyond depends on the
/// direction (Manzhouli transships imports, Zabaykalsk exports).
#[derive(Debug, Clone, Copy)]
pub struct Corridor {
    pub name: &'static str,
    pub china_border: Node,
    pub foreign_border: Node,
    /// Gauge change for westbound (export) trains.
    pub westbound_gauge_change: Node,
    /// Gauge change for eastbound (import) trains.
    pub eastbound_gauge_change: Node,
    /// Share of trains on this corridor.
    pub share: f64,
    /// Train days from Zhengzhou to the Chinese border.
    pub days_to_border: (f64, f64),
    /// Train days from the 1520 mm side of the border to Brest.
    pub days_to_brest: (f64, f64),
}

pub const CORRIDORS: [Corridor; 3] = [
    Corridor {
        name: "Alashankou-Dostyk",
        china_border: AKA,
        foreign_border: DOS,
        westbound_gauge_change: DOS,
        eastbound_gauge_change: DOS,
        share: 0.6,
        days_to_border: (2.5, 3.5),
        days_to_brest: (5.5, 7.0),
    },
    Corridor {
        name: "Erenhot-Zamyn-Uud",
        china_border: ERL,
        foreign_border: ZMU,
        westbound_gauge_change: ZMU,
        eastbound_gauge_change: ZMU,
        share: 0.25,
        days_to_border: (1.5, 2.2),
        days_to_brest: (7.0, 8.5),
    },
    Corridor {
        name: "Manzhouli-Zabaykalsk",
        china_border: MZL,
        foreign_border: ZAB,
        westbound_gauge_change: ZAB,
        eastbound_gauge_change: MZL,
        share: 0.15,
        days_to_border: (2.5, 3.2),
        days_to_brest: (8.0, 9.5),
    },
];

/// European rail terminals and their share of trains.
pub const RAIL_TERMINALS: [(Node, f64); 2] = [(HAM, 0.6), (DUI, 0.4)];

/// Air lanes from CGO: the far airport, its share, the airline (name, 3-digit AWB prefix,
/// 2-letter flight designator) and block hours.
#[derive(Debug, Clone, Copy)]
pub struct AirLane {
    pub airport: Node,
    pub share: f64,
    pub airline_prefix: u16,
    pub designator: &'static str,
    pub block_hours: f64,
}

pub const AIR_LANES: [AirLane; 5] = [
    AirLane {
        airport: LUX,
        share: 0.40,
        airline_prefix: 172,
        designator: "CV",
        block_hours: 11.5,
    },
    AirLane {
        airport: FRA,
        share: 0.20,
        airline_prefix: 20,
        designator: "LH",
        block_hours: 11.0,
    },
    AirLane {
        airport: LGG,
        share: 0.15,
        airline_prefix: 784,
        designator: "CZ",
        block_hours: 11.5,
    },
    AirLane {
        airport: ORD,
        share: 0.15,
        airline_prefix: 172,
        designator: "CV",
        block_hours: 14.5,
    },
    AirLane {
        airport: ANC,
        share: 0.10,
        airline_prefix: 784,
        designator: "CZ",
        block_hours: 9.5,
    },
];

/// Tenants: each shipment belongs to one, and a shipper sees only its own.
pub const SHIPPERS: [&str; 6] = [
    "henan-elec",
    "zz-foxconn-log",
    "yutong-parts",
    "cgo-express",
    "euro-retail",
    "anyang-textile",
];

/// Container owner codes of the pool (ISO 6346 owner + `U`).
pub const CONTAINER_OWNERS: [&str; 5] = ["CSQ", "TGH", "APZ", "ZZC", "TCN"];

/// HS headings typical of the hub's trade (electronics, vehicle parts, machinery, textiles…).
pub const HS_CODES: [&str; 8] = [
    "8471", "8517", "8708", "8703", "8479", "6204", "9403", "3004",
];
