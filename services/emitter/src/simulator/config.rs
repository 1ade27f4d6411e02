//! What a simulation run may vary. Everything has a default; the same values and seed give the
//! same bytes.

/// Knobs of the scenario and of how messily it is delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    /// Simulated time of the first booking, in Unix milliseconds.
    pub start_unix_millis: i64,
    /// Scenario volume: shipments booked per simulated day (flights and trains are scheduled to
    /// carry this many).
    pub shipments_per_day: f64,
    /// Share of rail among transport waves; the rest are flights.
    pub rail_share: f64,
    /// Share of shipments with an injected anomaly (recorded in the ground truth).
    pub anomaly_rate: f64,
    /// Share of events delivered a second time, byte for byte.
    pub duplicate_rate: f64,
    /// Events arrive up to this many seconds later than recorded, independently, so that events
    /// recorded within the window may swap places.
    pub reorder_window_secs: f64,
    /// Share of link events (LOAD, STUF, MAN) delivered hours after the events they explain.
    pub late_link_rate: f64,
    /// Share of actual events later corrected (same eventId, later recordedTime, eventTime moved).
    pub correction_rate: f64,
    /// Share of actual events accompanied by an erroneous twin that is later retracted.
    pub retraction_rate: f64,
    /// Share of events accompanied by a malformed record (never by default).
    pub malformed_rate: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            // 2026-11-01T00:00:00+08:00
            start_unix_millis: 1_761_926_400_000,
            shipments_per_day: 1200.0,
            rail_share: 0.25,
            anomaly_rate: 0.05,
            duplicate_rate: 0.02,
            reorder_window_secs: 300.0,
            late_link_rate: 0.05,
            correction_rate: 0.01,
            retraction_rate: 0.005,
            malformed_rate: 0.0,
        }
    }
}

impl SimConfig {
    /// A clean stream: no duplicates, no reordering, no late links, corrections, retractions or
    /// malformed records (anomalies stay, they are part of the scenario).
    pub fn tidy(mut self) -> Self {
        self.duplicate_rate = 0.0;
        self.reorder_window_secs = 0.0;
        self.late_link_rate = 0.0;
        self.correction_rate = 0.0;
        self.retraction_rate = 0.0;
        self.malformed_rate = 0.0;
        self
    }
}
