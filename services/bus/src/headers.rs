//! Record headers written by kouan.

/// On `kouan.deadletter`: why the record was rejected (`field: reason`).
pub const REJECT_REASON: &str = "kouan-reject-reason";
/// On `kouan.deadletter`: where the record came from (`file:line` or `topic/partition@offset`).
pub const REJECT_ORIGIN: &str = "kouan-reject-origin";

/// On `kouan.status`: the processor instance that published the record, so that it can skip
/// its own records when it reads the topic back.
pub const PUBLISHER: &str = "kouan-publisher";
