//! `gdbench gallery DIR` and the gallery kept in docs/results/: its page is what the command
//! writes from its reports, each report holds to its schema, and a report of yours compares with
//! one of them.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, document, gdbench, refuses, stderr, stdout};
use serde_json::Value;

fn results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/results")
}

/// The gallery's JSON reports.
fn gallery_reports() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(results())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_committed_page_is_what_gallery_writes_and_every_report_holds_to_its_schema() {
    let reports = gallery_reports();
    assert!(reports.len() >= 3, "{reports:?}");
    for path in &reports {
        document(&std::fs::read_to_string(path).unwrap());
    }
    let page = gdbench::report::render_gallery(&results()).unwrap();
    let committed = std::fs::read_to_string(results().join("README.md")).unwrap();
    assert_eq!(
        page, committed,
        "docs/results/README.md is stale: run `cargo run --release -- gallery docs/results`"
    );
    for path in &reports {
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            page.contains(&format!("[`{name}`]({name})")),
            "{name}: {page}"
        );
    }
}

#[test]
fn gallery_writes_a_line_per_machine() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine.json");
    let out = Run::bare()
        .args(&[
            "--n",
            "10000",
            "--epochs",
            "100",
            "--repeat",
            "3",
            "--no-probe",
        ])
        .args(&["--solvers", "cpu-fused,cpu-fused-f32,cpu-moments"])
        .args(&["--format", "json", "--output", mine.to_str().unwrap()])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The same report, as if from another machine.
    let mut other: Value = document(&std::fs::read_to_string(&mine).unwrap());
    other["machine"]["cpu"] = "Other CPU 9000".into();
    std::fs::write(dir.path().join("other.json"), other.to_string()).unwrap();

    let out = gdbench(&["gallery", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    let lines: Vec<&str> = page.lines().filter(|l| l.starts_with("| ")).collect();
    // The header and two machines.
    assert_eq!(lines.len(), 3, "{page}");
    assert!(
        lines.iter().any(|l| l.starts_with("| Other CPU 9000 |")),
        "{page}"
    );
    for line in &lines[1..] {
        // cpu-moments' shortcut is never the best CPU row; no GPU row, no ratio.
        assert!(line.contains("| cpu-fused-f32 "), "{line}");
        assert!(line.ends_with("| – | – | – | – |"), "{line}");
    }
    assert!(
        page.contains("[`mine.json`](mine.json): run N = 1e4"),
        "{page}"
    );

    // Anything else in the folder is refused, in one line.
    std::fs::write(dir.path().join("notes.json"), "[1, 2]").unwrap();
    refuses(
        &["gallery", dir.path().to_str().unwrap()],
        "notes.json is not a gdbench report",
    );
}

#[test]
fn a_report_of_yours_compares_with_a_gallery_report() {
    let article = results().join("vm-lavapipe-article.json");
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine.json");
    let out = Run::small()
        .args(&["--solvers", "cpu-fused,cpu-fused-f32"])
        .args(&["--format", "json", "--output", mine.to_str().unwrap()])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (mine, article) = (mine.to_str().unwrap(), article.to_str().unwrap());
    // A smaller problem than the article's: refused, then compared on request.
    let out = gdbench(&["compare", mine, article]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("n: A has 2000, B has 10000"),
        "{}",
        stderr(&out)
    );
    let out = gdbench(&[
        "compare",
        mine,
        article,
        "--different-problems",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = document(&stdout(&out));
    let solvers: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["solver"].as_str().unwrap())
        .collect();
    assert_eq!(solvers, ["cpu-fused", "cpu-fused-f32"], "{v}");
    assert!(
        v["machines"]["b"]["provenance"]["git_commit"].is_string(),
        "{v}"
    );
}
