//! The published JSON Schemas (docs/schema/) are the ones the Rust types generate, and every
//! document gdbench writes holds to its schema: the run, sweep, probe and compare documents
//! here, and every JSON any other test reads (through `common::document`).
//!
//! After a deliberate change to a document's fields: `GDBENCH_BLESS=1 cargo test --test schema`
//! rewrites the files, and docs/json.md says when `schema_version` must rise.

mod common;

use std::path::Path;

use common::{Run, document, gdbench, stderr, stdout, validator};
use gdbench::schema::{documents, to_text};
use serde_json::Value;

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema");
    let bless = std::env::var_os("GDBENCH_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in documents() {
        let path = dir.join(format!("{name}.schema.json"));
        let generated = to_text(&schema);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "{} differ from the schemas the types generate: a field changed. If on purpose, run \
         `GDBENCH_BLESS=1 cargo test --test schema` and say in docs/json.md whether \
         schema_version must rise",
        stale.join(", ")
    );
}

#[test]
fn every_document_states_its_version_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    for path in [&a, &b] {
        let out = Run::small()
            .args(&["--solvers", "cpu-fused,cpu-fused-f32"])
            .args(&["--output", path.to_str().unwrap(), "--format", "json"])
            .output();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let run = document(&std::fs::read_to_string(&a).unwrap());
    let compare = gdbench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(compare.status.code(), Some(0), "{}", stderr(&compare));
    let compare = document(&stdout(&compare));
    let sweep_path = dir.path().join("sweep.json");
    let out = Run::small_sweep()
        .args(&["--output", sweep_path.to_str().unwrap()])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sweep = document(&std::fs::read_to_string(&sweep_path).unwrap());
    let probe = gdbench(&["probe", "--backend", "gl", "--format", "json"]);
    assert_eq!(probe.status.code(), Some(0), "{}", stderr(&probe));
    let probe = document(&stdout(&probe));
    for (kind, doc) in [
        ("run", &run),
        ("compare", &compare),
        ("sweep", &sweep),
        ("probe", &probe),
    ] {
        assert_eq!(gdbench::schema::kind_of(doc), Some(kind));
        assert_eq!(doc["schema_version"], 1, "{kind}");
        let p = &doc["provenance"];
        assert_eq!(p["gdbench_version"], env!("CARGO_PKG_VERSION"), "{kind}");
        assert!(
            p["wgpu_version"].as_str().unwrap().starts_with("30."),
            "{kind}: {p}"
        );
        assert!(p["utc"].as_str().unwrap().ends_with('Z'), "{kind}: {p}");
        let command: Vec<&str> = p["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(command.len() > 1, "{kind}: {p}");
    }
    assert!(
        probe["ceilings"]["cpu"]["read_gb_s_one_core"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // The compare document carries both reports' provenance, as read.
    assert_eq!(compare["machines"]["a"]["provenance"], run["provenance"]);
    assert_eq!(
        compare["machines"]["a"]["problem"]["data_sha256"],
        run["problem"]["data_sha256"]
    );
}

#[test]
fn a_document_off_its_schema_is_caught() {
    let (run, code, err) = Run::small().args(&["--solvers", "cpu-fused"]).json();
    assert_eq!(code, 0, "{err}");
    type Break = fn(&mut Value);
    let broken: [(&str, Break); 4] = [
        ("a figure as text", |r| {
            r["runs"][0]["epoch_us"] = "fast".into()
        }),
        ("a status unknown", |r| {
            r["runs"][0]["status"] = "fine".into()
        }),
        ("another version", |r| r["schema_version"] = 2.into()),
        ("no provenance", |r| {
            r.as_object_mut().unwrap().remove("provenance");
        }),
    ];
    assert!(validator("run").is_valid(&run));
    for (what, breaks) in broken {
        let mut doc = run.clone();
        breaks(&mut doc);
        assert!(!validator("run").is_valid(&doc), "{what} passed the schema");
    }
}
