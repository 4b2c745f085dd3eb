//! The JSON Schema of every document gdbench writes, generated from the Rust types that write
//! them. docs/schema/ holds them committed; tests/schema.rs fails when they drift apart.

use schemars::{Schema, schema_for};
use serde_json::Value;

/// Each document's name (its file `docs/schema/NAME.schema.json`) and schema.
pub fn documents() -> Vec<(&'static str, Schema)> {
    vec![
        ("run", schema_for!(crate::report::Report)),
        ("sweep", schema_for!(crate::sweep::SweepDocument)),
        ("probe", schema_for!(crate::probe::ProbeDocument)),
        ("compare", schema_for!(crate::report::CompareDocument)),
    ]
}

/// Which document `value` is, by the fields only it has: `run` (`runs`), `sweep` (`points`),
/// `compare` (`rows`) or `probe` (`ceilings` alone); `None` for anything else.
pub fn kind_of(value: &Value) -> Option<&'static str> {
    let has = |field: &str| value.get(field).is_some();
    if has("runs") {
        Some("run")
    } else if has("points") {
        Some("sweep")
    } else if has("rows") {
        Some("compare")
    } else if has("ceilings") {
        Some("probe")
    } else {
        None
    }
}

/// A schema as the committed file holds it: pretty JSON with a final newline.
pub fn to_text(schema: &Schema) -> String {
    serde_json::to_string_pretty(schema).expect("a schema serialises") + "\n"
}
