//! The command line: JSON contract, table, output file, exit codes, bad input.

mod common;

use common::{Run, article_fixture, gdbench, refuses, row, stderr, stdout};
use serde_json::Value;

/// A short JSON run on a data file: the parsed report, the exit code and stderr.
fn json_on_file(path: &std::path::Path, extra: &[&str]) -> (Value, i32, String) {
    let (r, code, err) = Run::bare()
        .args(&["--epochs", "10", "--repeat", "1", "--no-probe"])
        .args(&["--data", path.to_str().unwrap()])
        .args(extra)
        .json();
    assert!(!err.contains("panicked"), "{err}");
    (r, code, err)
}

#[test]
fn json_report_carries_the_contract() {
    let (r, code, _) = Run::small().args(&["--solvers", "cpu"]).json();
    assert_eq!(code, 0);
    assert_eq!(r["problem"]["n"], 2000);
    assert_eq!(r["problem"]["epochs"], 200);
    assert_eq!(r["problem"]["mu"], 0.001);
    assert_eq!(r["problem"]["source"], "synthetic");
    assert_eq!(r["problem"]["seed"], 444);
    assert_eq!(r["reference"]["solver"], "cpu-fused");
    assert_eq!(r["reference"]["w"].as_array().unwrap().len(), 2);
    assert_eq!(r["closed_form"]["w"].as_array().unwrap().len(), 2);
    assert!(r["machine"]["cpu"].is_string());
    assert_eq!(r["interrupted"], false);
    for run in r["runs"].as_array().unwrap() {
        assert_eq!(run["kind"], "cpu", "{run}");
    }

    let runs = r["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["solver"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "cpu-naive",
            "cpu-fused",
            "cpu-fused-f32",
            "cpu-fused-f16",
            "cpu-threads",
            "cpu-persistent",
            "cpu-persistent-f32",
            "cpu-moments"
        ]
    );
    for run in runs {
        for field in ["device", "device_type", "precision", "status", "message"] {
            assert!(run[field].is_string(), "{field} in {run}");
        }
        assert_eq!(run["status"], "ok", "{run}");
        assert_eq!(run["device_type"], "cpu");
        let w = run["w"].as_array().unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(run["spot_check"]["status"], "ok", "{run}");
        if run["reference"] == true {
            // The reference is not compared with itself: it carries its cross-check instead.
            assert!(
                run["max_abs_diff"].is_null() && run["cross_check"]["status"] == "ok",
                "{run}"
            );
        } else {
            assert!(run["max_abs_diff"].as_f64().unwrap() >= 0.0);
            assert!(run["cross_check"].is_null(), "{run}");
        }
        let t = &run["time_s"];
        let (median, min, max) = (
            t["median"].as_f64().unwrap(),
            t["min"].as_f64().unwrap(),
            t["max"].as_f64().unwrap(),
        );
        assert!(min <= median && median <= max && min > 0.0, "{t}");
        assert_eq!(t["repeats"].as_array().unwrap().len(), 2);
        let epoch_us = run["epoch_us"].as_f64().unwrap();
        assert!((epoch_us - median / 200.0 * 1e6).abs() <= 1e-9 * epoch_us.max(1.0));
    }
    let reference = r["reference"]["w"].clone();
    assert_eq!(
        runs[1]["w"], reference,
        "the reference is cpu-fused's answer"
    );
    assert_eq!(runs[0]["speedup"], 1.0);
    assert_eq!(runs[2]["precision"], "f32");
    // The f16 rung carries the cost of rounding its data; no other row does.
    assert_eq!(runs[3]["precision"], "f16");
    assert!(runs[3]["data_rounding_rel_diff"].as_f64().unwrap() > 0.0);
    assert!(runs[2]["data_rounding_rel_diff"].is_null());
}

#[test]
fn data_files_are_named_in_the_report() {
    let (r, code, err) = json_on_file(&article_fixture(), &["--solvers", "cpu-fused,cpu-naive"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["problem"]["source"], "file");
    assert!(
        r["problem"]["data"]
            .as_str()
            .unwrap()
            .ends_with("article.npy")
    );
    assert_eq!(r["problem"]["n"], 10_000);
    assert_eq!(r["runs"].as_array().unwrap().len(), 2);
}

#[test]
fn table_has_a_row_per_solver_and_the_closed_form() {
    // --wide: the weights are columns 4 and 5 (the device `cpu ×1` is two words).
    let mut args = vec!["--solvers", "cpu-fused,cpu-moments", "--wide"];
    let small = Run::small();
    args.extend(small.arg_list());
    let out = gdbench(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| {
            cols.first()
                .is_some_and(|c| c.starts_with("cpu-") && !c.ends_with(':'))
        })
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    for cols in &rows {
        let verdict = if cols[0] == "cpu-fused" { "ref" } else { "ok" };
        assert!(cols.contains(&verdict), "{cols:?}");
        let w0: f64 = cols[4].parse().unwrap();
        assert!((0.0..4.0).contains(&w0), "{cols:?}");
    }
    assert!(
        text.contains("closed form (least squares): w0 = ") && text.contains("verdict: fastest: "),
        "{text}"
    );
    assert!(text.contains("not an array benchmark"), "{text}");
}

#[test]
fn output_file_receives_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let mut args = vec![
        "--format",
        "json",
        "--quiet",
        "--solvers",
        "cpu-fused",
        "--output",
        path.to_str().unwrap(),
    ];
    let small = Run::small();
    args.extend(small.arg_list());
    let out = gdbench(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let r: Value = common::document(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(r["runs"][0]["solver"], "cpu-fused");
}

#[test]
fn divergence_is_one_verdict_on_every_row_with_its_own_exit_code() {
    let (r, code, _) = Run::small()
        .args(&["--mu", "10", "--solvers", "cpu"])
        .json();
    assert_eq!(code, 5);
    let limit = r["problem"]["max_stable_mu"].as_f64().unwrap();
    assert!(
        limit > 0.4 && limit < 0.5,
        "2/λ_max for x in [0, 2]: {limit}"
    );
    for run in r["runs"].as_array().unwrap() {
        // f64 rows included: their weights stay finite for a while but leave the sane range.
        assert_eq!(run["status"], "diverged", "{run}");
        assert!(run["diverged_at_epoch"].as_u64().unwrap() < 200, "{run}");
        assert!(
            run["message"].as_str().unwrap().contains("2/λ_max"),
            "{run}"
        );
    }
    // The example: f64 once said `ok` with weights of -1e264 here.
    let out = gdbench(&[
        "--mu",
        "5",
        "--n",
        "1000",
        "--epochs",
        "200",
        "--solvers",
        "cpu",
        "--no-probe",
        "--repeat",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let text = stdout(&out);
    let warning = text
        .lines()
        .find(|l| l.starts_with("warning: mu = 5 is at or above the stability limit"));
    assert!(
        warning.is_some_and(|w| w.contains("2/λ_max = 4.")),
        "{text}"
    );
    assert!(!text.contains(" ok "), "{text}");
    // Just below the limit the same data converges and every row is ok.
    let below = format!("{}", limit * 0.99);
    let (r, code, _) = Run::small()
        .args(&["--mu", &below, "--solvers", "cpu"])
        .json();
    assert_eq!(code, 0, "{}", r["runs"]);
}

#[test]
fn the_reference_row_is_marked_and_cross_checked_and_a_failed_cross_check_exits_3() {
    let (r, code, _) = Run::small()
        .args(&["--solvers", "cpu-fused,cpu-naive"])
        .json();
    assert_eq!(code, 0);
    let fused = &r["runs"][1];
    assert_eq!(
        (fused["solver"].as_str(), fused["reference"].as_bool()),
        (Some("cpu-fused"), Some(true))
    );
    assert_eq!(fused["status"], "ok");
    assert_eq!(fused["cross_check"]["status"], "ok");
    // The tolerance is the rounding model's for both sides: far below f32-stored data's 1e-10.
    let tolerance = r["reference"]["cross_check"]["tolerance"].as_f64().unwrap();
    assert!(tolerance > 0.0 && tolerance < 1e-12, "{tolerance}");
    assert!(fused["cross_check"]["max_rel_diff"].as_f64().unwrap() <= tolerance);
    assert_eq!(r["runs"][0]["reference"], false);
    let table = stdout(&Run::small().args(&["--solvers", "cpu-fused"]).output());
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("cpu-fused"))
        .unwrap();
    assert!(row.split_whitespace().any(|w| w == "ref"), "{row}");

    // The fault the cross-check exists for: a reference off by one part in 10⁸.
    let (r, code, err) = Run::small()
        .args(&["--solvers", "cpu-fused"])
        .env("GDBENCH_FAULT", "reference")
        .json();
    assert_eq!(code, 3, "{err}");
    assert_eq!(r["reference"]["cross_check"]["status"], "mismatch");
    assert_eq!(r["runs"][0]["status"], "mismatch");
    assert!(
        r["runs"][0]["message"]
            .as_str()
            .unwrap()
            .contains("disagrees with cpu-moments")
    );
}

#[test]
fn data_too_narrow_for_a_closed_form_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.csv");
    std::fs::write(&path, "1e-200,1\n2e-200,2\n").unwrap();
    let (r, code, err) = json_on_file(&path, &[]);
    assert!(r["closed_form"]["w"].is_null(), "{}", r["closed_form"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn solvers_command_lists_every_solver() {
    // Without a GDBENCH_SIMD cap, so the line below is this CPU's own.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gdbench"))
        .arg("solvers")
        .env_remove("GDBENCH_SIMD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    for name in [
        "cpu-naive",
        "cpu-fused",
        "cpu-fused-f32",
        "cpu-threads",
        "cpu-persistent",
        "cpu-persistent-f32",
        "cpu-moments",
    ] {
        assert!(stdout(&out).lines().any(|l| l.starts_with(name)), "{name}");
    }
    // Which rows contract to FMA on this CPU: the f32 ones where it has AVX2 and FMA (or
    // AVX-512F), none elsewhere.
    #[cfg(target_arch = "x86_64")]
    let fma = std::arch::is_x86_feature_detected!("avx512f")
        || std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    let fma = false;
    let said = if fma {
        "FMA: the f32 and f16 rows contract)"
    } else {
        "no FMA used: no row contracts)"
    };
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.contains("(this CPU: ") && l.ends_with(said)),
        "{text}"
    );
}

#[test]
fn bad_options_get_one_line_errors() {
    refuses(&["--n", "1"], "invalid --n");
    refuses(&["--n", "ten"], "not a whole number");
    refuses(&["--epochs", "0"], "invalid --epochs");
    refuses(&["--mu", "0"], "invalid --mu");
    refuses(&["--mu", "-0.1"], "invalid --mu");
    refuses(&["--mu", "nan"], "invalid --mu");
    refuses(&["--mu", "inf"], "invalid --mu");
    refuses(&["--sigma", "-1"], "invalid --sigma");
    refuses(&["--repeat", "0"], "--repeat");
    refuses(
        &["--solvers", "cpu-turbo"],
        "unknown solver `cpu-turbo`: choose from cpu-naive",
    );
    refuses(&["--format", "xml"], "--format");
    refuses(&["--n", "1e15"], "choose a smaller --n");
}

#[test]
fn bad_data_files_get_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    refuses(
        &["--data", missing.to_str().unwrap()],
        "cannot read data file",
    );
    refuses(&["--data", dir.path().to_str().unwrap()], "is a directory");
    let cases = [
        ("empty.csv", "", "no data rows"),
        ("cols.csv", "x,d\n1,2\n3,4,5\n", "line 3 has 3 column(s)"),
        (
            "word.csv",
            "1,2\n3,abc\n",
            "line 2, column 2: `abc` is not a number",
        ),
        (
            "nan.csv",
            "1,2\nnan,3\n",
            "line 2, column 1: `nan` is not finite",
        ),
        ("flat.csv", "1,2\n1,3\n", "all x values equal 1"),
        ("one.csv", "1,2\n", "a line needs at least 2"),
        ("fake.npy", "x,d\n1,2\n", "not a .npy file"),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        refuses(&["--data", path.to_str().unwrap()], expected);
    }
}

#[test]
fn csv_has_a_header_and_a_row_per_run_with_every_json_figure() {
    let small = Run::small().args(&["--solvers", "cpu-fused,cpu-moments"]);
    let args = small.arg_list();
    let out = gdbench(&[args.as_slice(), &["--format", "csv"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<std::collections::HashMap<String, String>> =
        reader.deserialize().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["solver"], "cpu-fused");
    assert_eq!(rows[1]["solver"], "cpu-moments");
    // Every figure the JSON runs carry is a CSV column: top-level fields by name, nested ones
    // flattened by rule, so a field added to the JSON without its column fails here.
    let (json, _, _) = Run::small()
        .args(&["--solvers", "cpu-fused,cpu-moments"])
        .json();
    for run in json["runs"].as_array().unwrap() {
        for (field, value) in run.as_object().unwrap() {
            let columns: Vec<String> = match (field.as_str(), value) {
                ("w", _) => vec!["w0".into(), "w1".into()],
                // Per-step results stay in the JSON; the CSV counts them.
                ("descents", _) => vec!["steps".into()],
                ("time_s", Value::Object(t)) => t
                    .keys()
                    .flat_map(|k| match k.as_str() {
                        "repeats" => vec!["times_s".to_string()],
                        "outliers" => vec!["outliers".to_string()],
                        "ci95" => vec!["ci95_lo_s".to_string(), "ci95_hi_s".to_string()],
                        other => vec![format!("{other}_s")],
                    })
                    .chain(["repeats".to_string()])
                    .collect(),
                ("bound", Value::Object(b)) => b
                    .keys()
                    .map(|k| match k.as_str() {
                        "kind" => "bound".to_string(),
                        other => format!("bound_{other}"),
                    })
                    .collect(),
                ("pacing", Value::Object(p)) => p.keys().cloned().collect(),
                // The notes' sentences are `message`; their kinds stay in the JSON.
                ("notes", _) => vec!["message".to_string()],
                ("phases", Value::Object(p)) => p.keys().cloned().collect(),
                ("spot_check", Value::Object(c)) => c.keys().map(|k| format!("spot_{k}")).collect(),
                ("cross_check", Value::Object(c)) => {
                    c.keys().map(|k| format!("cross_check_{k}")).collect()
                }
                // A nested figure this row lacks (another row has it, and is checked there).
                (
                    "time_s" | "phases" | "spot_check" | "cross_check" | "bound" | "pacing",
                    Value::Null,
                ) => Vec::new(),
                (other, _) => vec![other.to_string()],
            };
            for column in columns {
                assert!(
                    header.contains(&column),
                    "CSV lacks {column} (JSON {field})"
                );
            }
        }
    }
    for row in &rows {
        assert_eq!(row["status"], "ok");
        let w0: f64 = row["w0"].parse().unwrap();
        let median: f64 = row["median_s"].parse().unwrap();
        let repeats: usize = row["repeats"].parse().unwrap();
        let gflop: f64 = row["gflop_s"].parse().unwrap_or(0.0);
        assert!(w0 > 0.0 && median > 0.0 && repeats == 2, "{row:?}");
        assert_eq!(row["spot_status"], "ok");
        assert_eq!(row["n"], "2000");
        assert!(gflop >= 0.0);
    }
    assert_eq!(rows[0]["reference"], "true");
    assert_eq!(rows[0]["cross_check_status"], "ok");
}

#[test]
fn markdown_is_a_table_with_the_baseline_column() {
    let out = Run::small()
        .args(&["--solvers", "cpu-fused,cpu-naive", "--format", "markdown"])
        .args(&["--baseline", "cpu-fused"])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let table: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 4, "{text}");
    assert!(table[0].ends_with("| × cpu-fused |"), "{text}");
    assert!(table[1].starts_with("|---|"), "{text}");
    for row in &table[2..] {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 16, "{row}");
        assert!(matches!(cells[6], "ok" | "ref"), "{row}");
        assert!(
            cells[9].contains(" … ") && cells[10] == "2",
            "min … max and repeats: {row}"
        );
    }
    // The notes travel with the table: two repeats cannot show a spread.
    assert!(
        text.contains("Notes:") && text.contains("2 repeats: too few for a 95 % interval"),
        "{text}"
    );
    let fused = table
        .iter()
        .find(|l| l.starts_with("| cpu-fused |"))
        .unwrap();
    // Formatted as the table formats it (one formatter for every human format).
    assert!(fused.ends_with("| 1.0× |"), "{fused}");
}

#[test]
fn baseline_sets_the_speedups_and_unknown_baselines_are_refused() {
    let (r, code, _) = Run::small()
        .args(&[
            "--solvers",
            "cpu-fused,cpu-naive",
            "--baseline",
            "cpu-fused",
        ])
        .json();
    assert_eq!(code, 0);
    assert_eq!(r["baseline"], "cpu-fused");
    let runs = r["runs"].as_array().unwrap();
    let fused = runs.iter().find(|x| x["solver"] == "cpu-fused").unwrap();
    assert_eq!(fused["speedup"], 1.0);
    let t = &fused["time_s"];
    for field in ["mean", "stddev"] {
        assert!(t[field].as_f64().unwrap() >= 0.0, "{t}");
    }
    assert!(t["outliers"].as_u64().is_some(), "{t}");
    refuses(
        &["--baseline", "cpu-warp"],
        "invalid --baseline: `cpu-warp` is neither a solver nor a peer",
    );
}

#[test]
fn compare_reads_two_saved_reports() {
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, solvers: &str| {
        let path = dir.path().join(name);
        // Three repeats: fewer cannot show a spread, and compare would not tell.
        let small = [
            "--n",
            "2000",
            "--epochs",
            "200",
            "--repeat",
            "3",
            "--warmup",
            "0",
            "--no-probe",
        ];
        let out = gdbench(
            &[
                &small[..],
                &[
                    "--solvers",
                    solvers,
                    "--format",
                    "json",
                    "--quiet",
                    "--output",
                    path.to_str().unwrap(),
                ],
            ]
            .concat(),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        path
    };
    let a = save("a.json", "cpu-fused,cpu-moments");
    let b = save("b.json", "cpu-fused,cpu-naive");
    let out = gdbench(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let fused = text
        .lines()
        .find(|l| l.trim_start().starts_with("cpu-fused "))
        .expect("a cpu-fused row");
    let numbers: Vec<f64> = fused
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 3, "A, B and B/A in {fused:?}");
    assert!(
        (numbers[2] - numbers[1] / numbers[0]).abs() < 2e-3 * numbers[2].max(1.0),
        "{fused}"
    );
    assert!(
        text.contains("cpu-moments (") && text.contains("only in A"),
        "{text}"
    );
    assert!(
        text.contains("cpu-naive (") && text.contains("only in B"),
        "{text}"
    );
    refuses(
        &["compare", a.to_str().unwrap(), "/no/such/report.json"],
        "cannot read /no/such/report.json (B)",
    );
}

#[test]
fn the_probe_gives_ceilings_and_rows_their_share_only_out_of_cache() {
    let run = |n: &str| {
        let out = gdbench(&[
            "--n",
            n,
            "--epochs",
            "2",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--solvers",
            "cpu-fused,cpu-threads",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        common::document(&stdout(&out))
    };
    // In cache: a ceiling, but no percentage (a share of DRAM bandwidth would be a lie).
    let r = run("2000");
    let cpu = &r["ceilings"]["cpu"];
    let (one, all) = (
        cpu["read_gb_s_one_core"].as_f64().unwrap(),
        cpu["read_gb_s_all_cores"].as_f64().unwrap(),
    );
    assert!(one > 0.0 && all > 0.0, "{cpu}");
    assert!(
        cpu["buffer_bytes"].as_u64().unwrap() >= 4 * (1 << 20),
        "{cpu}"
    );
    for run in r["runs"].as_array().unwrap() {
        // Several threads are held against the larger figure (a busy probe can read all cores
        // below one).
        let expected = if run["threads"].as_u64().unwrap() > 1 {
            all.max(one)
        } else {
            one
        };
        assert_eq!(run["peak_gb_s"].as_f64().unwrap(), expected, "{run}");
        assert!(run["peak_pct"].is_null(), "{run}");
        assert!(
            run["message"].as_str().unwrap().contains("in cache"),
            "{run}"
        );
        assert!(
            run["epochs_per_s"].as_f64().unwrap() > 0.0 && run["gflop_s"].as_f64().unwrap() > 0.0
        );
    }
    // Beyond the last-level cache (f64 x and d: 16 bytes a sample) a share is shown, or a note
    // says the ceiling is suspect; never a figure over 100 %.
    let llc = gdbench::machine::last_level_cache().total;
    let n = (3 * llc / 16).max(1 << 20);
    if n <= 40_000_000 {
        let r = run(&n.to_string());
        for run in r["runs"].as_array().unwrap() {
            let gb = run["effective_gb_s"].as_f64().unwrap();
            let peak = run["peak_gb_s"].as_f64().unwrap();
            match run["peak_pct"].as_f64() {
                Some(pct) => {
                    assert!((pct - 100.0 * gb / peak).abs() < 1e-9 * pct, "{run}");
                    assert!(pct <= 100.0, "{run}");
                    assert!(run["peak_note"].is_null(), "{run}");
                }
                None => assert!(
                    run["peak_note"]
                        .as_str()
                        .unwrap()
                        .contains("ceiling is suspect"),
                    "{run}"
                ),
            }
        }
    }
    let out = gdbench(&["probe"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("CPU read bandwidth: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_failed_run_leaves_the_previous_output_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, "previous report").unwrap();
    let out = gdbench(&[
        "--mu",
        "-1",
        "--output",
        path.to_str().unwrap(),
        "--no-probe",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous report");
    let missing_dir = dir.path().join("no/such/dir/report.json");
    let out = Run::small()
        .args(&[
            "--solvers",
            "cpu-fused",
            "--output",
            missing_dir.to_str().unwrap(),
        ])
        .output();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.json"], "no temporary file left behind");
}

#[test]
fn json_carries_phases_and_the_machine() {
    let (r, code, _) = Run::small().args(&["--solvers", "cpu-fused"]).json();
    assert_eq!(code, 0);
    let phases = &r["runs"][0]["phases"];
    let (setup, compute) = (
        phases["setup_s"].as_f64().unwrap(),
        phases["compute_s"].as_f64().unwrap(),
    );
    assert!(setup >= 0.0 && compute > 0.0, "{phases}");
    assert!(
        phases["upload_s"].is_null() && phases["readback_s"].is_null(),
        "CPU rows upload nothing: {phases}"
    );
    for field in ["cpu", "arch"] {
        assert!(r["machine"][field].is_string(), "{}", r["machine"]);
    }
    assert!(r["machine"]["threads"].as_u64().unwrap() >= 1);
    assert!(
        r["machine"]["adapters"].as_array().unwrap().is_empty(),
        "no GPU solver, no adapter opened"
    );
    let p = &r["provenance"];
    assert_eq!(p["gdbench_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(p["os"], std::env::consts::OS);
    assert!(
        p["command"][0].as_str().unwrap().ends_with("gdbench"),
        "{p}"
    );
    // The hash is of the data solved: the same seed gives the same hash, another seed another.
    let hash = |seed: &str| {
        let (r, code, err) = Run::small()
            .args(&["--solvers", "cpu-fused", "--seed", seed])
            .json();
        assert_eq!(code, 0, "{err}");
        r["problem"]["data_sha256"].as_str().unwrap().to_string()
    };
    let own = r["problem"]["data_sha256"].as_str().unwrap();
    assert_eq!(own.len(), 64, "{own}");
    assert_eq!(hash("444"), own);
    assert_ne!(hash("445"), own);
    // The table's head carries it in one line.
    let text = stdout(&Run::small().args(&["--solvers", "cpu-fused"]).output());
    let title = text
        .lines()
        .find(|l| l.contains(": batch gradient descent"))
        .expect(&text);
    let commit = p["git_commit"]
        .as_str()
        .map_or(String::new(), |c| c[..10].to_string());
    assert!(
        title.starts_with(&format!("gdbench {} ({commit}", env!("CARGO_PKG_VERSION"))),
        "{title}"
    );
    let line = text.lines().find(|l| l.starts_with("made:")).expect(&text);
    assert!(
        line.contains(&format!("· data sha256 {}", &own[..12])),
        "{line}"
    );
}

#[test]
fn the_default_table_fits_100_columns_with_every_solver_and_a_legend() {
    // Every solver (GPU ones on whatever adapter there is, or `unavailable`) and a peer row.
    let out = Run::small().args(&["--peers", "python"]).output();
    let text = stdout(&out);
    // 4 only where python3 is missing (the named peer is then `unavailable`).
    assert!(
        matches!(out.status.code(), Some(0 | 4)),
        "{}{text}",
        stderr(&out)
    );
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "{widest} columns:\n{text}");
    let header = text.lines().find(|l| l.starts_with(" solver")).unwrap();
    assert!(
        header.contains("µs/epoch") && header.contains("spread"),
        "{header}"
    );
    // Every row's short device is explained under the table.
    assert!(
        text.lines()
            .any(|l| l.starts_with("cpu ×1") && l.contains(" threads")),
        "{text}"
    );
    assert!(
        text.contains("python: CPython") || text.contains("UNAVAILABLE"),
        "{text}"
    );
    // --wide restores every column.
    let wide = stdout(
        &Run::small()
            .args(&["--solvers", "cpu-fused", "--wide"])
            .output(),
    );
    let header = wide.lines().find(|l| l.starts_with(" solver")).unwrap();
    assert!(
        header.contains("w0") && header.contains("min … max"),
        "{header}"
    );
}

#[test]
fn a_run_in_which_rows_failed_or_nothing_ran_never_exits_0() {
    // A syntax error in common.wgsl breaks every GPU kernel: every GPU row is an `error`.
    let dir = tempfile::tempdir().unwrap();
    let shaders = dir.path().to_str().unwrap();
    let out = common::gdbench(&["shaders", "dump", shaders]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let common_wgsl = dir.path().join("common.wgsl");
    let text = std::fs::read_to_string(&common_wgsl).unwrap();
    std::fs::write(&common_wgsl, text + "\nfn broken( {\n").unwrap();
    // Only GPU rows, grouped: none measured (errors here, `unavailable` without an adapter).
    let out = Run::small()
        .args(&["--solvers", "gpu", "--shaders", shaders])
        .output();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}{}", stderr(&out));
    assert!(text.contains("no row was measured"), "{text}");
    assert!(!text.contains("0 epochs checked"), "{text}");
    // Beside rows that ran, a grouped GPU row that failed still fails the command.
    if common::gpu_or_skip("a failed grouped GPU row beside ok rows").is_none() {
        return;
    }
    let (r, code, err) = Run::small()
        .args(&["--solvers", "cpu-fused,gpu", "--shaders", shaders])
        .json();
    assert_eq!(code, 4, "{err}");
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs[0]["status"], "ok", "{}", runs[0]);
    assert!(
        runs.iter()
            .any(|r| r["kind"] == "gpu" && r["status"] == "error"),
        "{}",
        r["runs"]
    );
}

#[test]
fn without_its_baseline_row_the_speed_up_column_uses_the_first_cpu_row_and_says_so() {
    let (r, code, err) = Run::small()
        .args(&["--solvers", "cpu-fused,cpu-fused-f32"])
        .json();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["baseline"], "cpu-fused", "{r}");
    let note = r["baseline_note"].as_str().unwrap();
    assert!(
        note.contains("cpu-naive (the baseline) was not selected"),
        "{note}"
    );
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs[0]["speedup"].as_f64(), Some(1.0), "{}", runs[0]);
    let (f32_median, f64_median) = (
        runs[1]["time_s"]["median"].as_f64().unwrap(),
        runs[0]["time_s"]["median"].as_f64().unwrap(),
    );
    let speedup = runs[1]["speedup"].as_f64().unwrap();
    assert!((speedup - f64_median / f32_median).abs() < 1e-9 * speedup);
    let text = stdout(
        &Run::small()
            .args(&["--solvers", "cpu-fused,cpu-fused-f32"])
            .output(),
    );
    assert!(text.contains("× cpu-fused"), "{text}");
    assert!(
        text.contains("speed-ups are against cpu-fused, since cpu-naive"),
        "{text}"
    );
    // cpu-moments, another algorithm, never stands in.
    let (r, code, err) = Run::small()
        .args(&["--solvers", "cpu-moments,cpu-fused-f32"])
        .json();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["baseline"], "cpu-fused-f32", "{r}");
    // With the baseline selected, no note.
    let (r, _, _) = Run::small()
        .args(&["--solvers", "cpu-naive,cpu-fused"])
        .json();
    assert_eq!(r["baseline"], "cpu-naive");
    assert!(r.get("baseline_note").is_none(), "{r}");
}

#[test]
fn cpu_fused_f32_holds_its_tolerance_on_every_instruction_set_and_avx512_and_avx2_agree_bit_for_bit()
 {
    // GDBENCH_SIMD caps the kernels' instruction set: AVX-512 and AVX2+FMA contract to FMA with
    // the same operations in the same order; the baseline does not contract.
    let mut weights = Vec::new();
    for simd in ["baseline", "avx2", "avx512"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gdbench"))
            .args([
                "--solvers",
                "cpu-fused-f32",
                "--n",
                "10003",
                "--epochs",
                "500",
            ])
            .args([
                "--repeat",
                "1",
                "--warmup",
                "0",
                "--no-probe",
                "--format",
                "json",
            ])
            .env("GDBENCH_SIMD", simd)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{simd}: {}", stderr(&out));
        let report: serde_json::Value = common::document(&stdout(&out));
        let run = row(&report, "cpu-fused-f32");
        assert_eq!(run["status"], "ok", "{simd}: {run}");
        weights.push(run["w"].clone());
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma")
    {
        assert_eq!(weights[1], weights[2], "avx2 and avx512");
    }
}
