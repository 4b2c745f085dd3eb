//! The JSON Schema of every document gdbench writes, generated from the Rust types that write
//! them. docs/schema/ holds them committed; tests/schema.rs fails when they drift apart.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

/// Each document's name (its file `docs/schema/NAME.schema.json`) and schema.
pub fn documents() -> Vec<(&'static str, Schema)> {
    vec![
        ("run", of::<crate::report::Report>()),
        ("sweep", of::<crate::sweep::SweepDocument<'static>>()),
        ("probe", of::<crate::probe::ProbeDocument>()),
        ("compare", of::<crate::report::CompareDocument<'static>>()),
    ]
}

/// The schema of `T` as gdbench writes it: a field always written is required, even when it
/// may be null; only fields skipped when empty may be absent.
fn of<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
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
