//! `gdbench run --roofline FILE.svg`: every point and every ceiling of the picture read back and
//! held against the JSON report of the same run; bad uses refused before anything runs.

mod common;

use std::collections::HashMap;

use common::{Run, missing_in_ci_or_skip, refuses, stderr};
use gdbench::probe::three_digits;
use serde_json::Value;

/// Bytes of x and d per sample, by precision: written out here, not taken from gdbench.
fn bytes(precision: &str) -> f64 {
    match precision {
        "f16" => 4.0,
        "f32" => 8.0,
        "f64" | "df64" => 16.0,
        other => panic!("unknown precision {other}"),
    }
}

/// One point as the SVG gives it.
#[derive(Debug)]
struct Point {
    solver: String,
    x: f64,
    y: f64,
    cx: f64,
    cy: f64,
    label: String,
}

/// One panel as the SVG gives it: its device, axes, pixel box and points.
#[derive(Debug)]
struct Panel {
    device: String,
    x: (f64, f64),
    y: (f64, f64),
    /// left, bottom, right, top.
    px: [f64; 4],
    points: Vec<Point>,
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The `name="value"` attributes of the tag that `text` starts inside of (up to its `>`).
fn attrs(text: &str) -> HashMap<String, String> {
    let tag = &text[..text.find('>').expect("a closed tag")];
    let mut out = HashMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].rsplit(' ').next().unwrap().to_string();
        let value_end = rest[eq + 2..].find('"').unwrap();
        out.insert(name, unescape(&rest[eq + 2..eq + 2 + value_end]));
        rest = &rest[eq + 2 + value_end + 1..];
    }
    out
}

fn num(a: &HashMap<String, String>, key: &str) -> f64 {
    a.get(key)
        .unwrap_or_else(|| panic!("no {key} in {a:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("{key} in {a:?}: {e}"))
}

fn parse(svg: &str) -> Vec<Panel> {
    svg.split("<g class=\"roofline-panel\"")
        .skip(1)
        .map(|chunk| {
            let a = attrs(chunk);
            let px: Vec<f64> = a["data-px"]
                .split(' ')
                .map(|v| v.parse().unwrap())
                .collect();
            let points = chunk
                .split("<g class=\"roofline-point\"")
                .skip(1)
                .map(|p| {
                    let pa = attrs(p);
                    let circle = attrs(&p[p.find("<circle").expect("a circle")..]);
                    let text = &p[p.find("<text").expect("a label")..];
                    let label = &text[text.find('>').unwrap() + 1..text.find("</text>").unwrap()];
                    Point {
                        solver: pa["data-solver"].clone(),
                        x: num(&pa, "data-x"),
                        y: num(&pa, "data-y"),
                        cx: num(&circle, "cx"),
                        cy: num(&circle, "cy"),
                        label: unescape(label),
                    }
                })
                .collect();
            Panel {
                device: a["data-device"].clone(),
                x: (num(&a, "data-x-lo"), num(&a, "data-x-hi")),
                y: (num(&a, "data-y-lo"), num(&a, "data-y-hi")),
                px: [px[0], px[1], px[2], px[3]],
                points,
            }
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a / b - 1.0).abs() <= 1e-9
}

/// Where `v` falls between pixels `from` and `to` on a log axis over `(lo, hi)`.
fn pixel(v: f64, (lo, hi): (f64, f64), from: f64, to: f64) -> f64 {
    from + (v / lo).ln() / (hi / lo).ln() * (to - from)
}

/// The labels the report's ceilings must appear under in the picture.
fn ceiling_labels(report: &Value) -> Vec<String> {
    let c = &report["ceilings"];
    let cpu = &c["cpu"];
    let threads = cpu["threads"].as_u64().unwrap();
    let all = match cpu["disturbed"].as_bool().unwrap() {
        true => format!("{threads} threads (disturbed)"),
        false => format!("{threads} threads"),
    };
    let f = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("a figure: {v}"));
    let mut labels = vec![format!(
        "read, {all}: {:.1} GB/s",
        f(&cpu["read_gb_s_all_cores"])
    )];
    for (what, key) in [("f64", "gflops_f64"), ("f32", "gflops_f32")] {
        let v = f(&cpu[format!("{key}_all_cores")]);
        labels.push(format!("{what} FMA, {all}: {} GFLOP/s", three_digits(v)));
        if threads > 1 {
            let v = f(&cpu[format!("{key}_one_core")]);
            labels.push(format!("{what} FMA, 1 core: {} GFLOP/s", three_digits(v)));
        }
    }
    if threads > 1 {
        let v = f(&cpu["read_gb_s_one_core"]);
        labels.push(format!("read, 1 core: {v:.1} GB/s"));
    }
    for g in c["gpu"].as_array().unwrap() {
        labels.push(format!("read: {:.1} GB/s", f(&g["read_gb_s"])));
        if let Some(v) = g["gflops_f32"].as_f64() {
            labels.push(format!("f32 FMA: {} GFLOP/s", three_digits(v)));
        }
    }
    labels
}

/// Holds the picture against the report: a panel per device; in each, exactly the device's `ok`
/// rows with a FLOP/s figure, at x = 6 flops per sample and step over the bytes of the row's
/// precision and y = its GFLOP/s, labelled with its name and drawn where the panel's axes put
/// those values; every measured ceiling labelled with its figure.
fn check(report: &Value, svg: &str) {
    let machine = &report["machine"];
    let cpu = machine["cpu"].as_str().unwrap();
    let adapters = machine["adapters"].as_array().unwrap();
    let panels = parse(svg);
    let devices: Vec<&str> = panels.iter().map(|p| p.device.as_str()).collect();
    let mut expected: Vec<&str> = vec![cpu];
    expected.extend(adapters.iter().map(|a| a["device"].as_str().unwrap()));
    assert_eq!(devices, expected, "a panel per device");
    assert!(svg.contains(&format!("CPU: {cpu} (")), "CPU panel title");
    for a in adapters {
        let title = format!("GPU adapter: {}", a["device"].as_str().unwrap());
        assert!(svg.contains(&title), "{title} missing");
        let emulation = svg.contains(&format!("{title} — CPU emulation"));
        assert_eq!(
            emulation,
            a["software"] == true,
            "{title}: CPU emulation or not"
        );
    }
    let steps = report["problem"]["mu"].as_array().map_or(1, Vec::len) as f64;
    for panel in &panels {
        let rows: Vec<&Value> = report["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| match panel.device == cpu {
                true => r["kind"] != "gpu" && r["device_type"] == "cpu",
                false => r["kind"] == "gpu" && r["device"] == panel.device.as_str(),
            })
            .filter(|r| r["status"] == "ok" && r["gflop_s"].is_number())
            .collect();
        let mut want: Vec<&str> = rows.iter().map(|r| r["solver"].as_str().unwrap()).collect();
        let mut got: Vec<&str> = panel.points.iter().map(|p| p.solver.as_str()).collect();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want, "{}: a point per ok row", panel.device);
        let [left, bottom, right, top] = panel.px;
        assert!(left < right && top < bottom, "{:?}", panel.px);
        for p in &panel.points {
            let r = rows
                .iter()
                .find(|r| r["solver"] == p.solver.as_str())
                .unwrap();
            let gflop_s = r["gflop_s"].as_f64().unwrap();
            let x = 6.0 * steps / bytes(r["precision"].as_str().unwrap());
            assert!(close(p.x, x), "{}: x {} against {x}", p.solver, p.x);
            // The same intensity from the report's own figures, where it gives a bandwidth.
            if let Some(gb_s) = r["effective_gb_s"].as_f64() {
                assert!(close(p.x, gflop_s / gb_s), "{}: x {}", p.solver, p.x);
            }
            assert!(
                close(p.y, gflop_s),
                "{}: y {} against {gflop_s}",
                p.solver,
                p.y
            );
            assert_eq!(p.label, p.solver, "the point's label");
            assert!(
                panel.x.0 < p.x && p.x < panel.x.1,
                "{p:?} outside {panel:?}"
            );
            assert!(
                panel.y.0 < p.y && p.y < panel.y.1,
                "{p:?} outside {panel:?}"
            );
            let (cx, cy) = (
                pixel(p.x, panel.x, left, right),
                pixel(p.y, panel.y, bottom, top),
            );
            assert!(
                (p.cx - cx).abs() <= 1.5 && (p.cy - cy).abs() <= 1.5,
                "{}: drawn at ({}, {}), its values map to ({cx:.1}, {cy:.1})",
                p.solver,
                p.cx,
                p.cy
            );
        }
        for a in &panel.points {
            for b in &panel.points {
                if a.x < b.x {
                    assert!(a.cx <= b.cx, "x order: {a:?} {b:?}");
                }
                if a.y < b.y {
                    assert!(a.cy >= b.cy, "y order: {a:?} {b:?}");
                }
            }
        }
    }
    for label in ceiling_labels(report) {
        assert!(svg.contains(&label), "ceiling label {label:?} missing");
    }
}

/// A run with the probe on (and `extra`), its JSON report and its roofline written to files:
/// both, parsed.
fn run_with_roofline(solvers: &str, extra: &[&str]) -> (Value, String, i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let (json, svg) = (dir.path().join("r.json"), dir.path().join("r.svg"));
    let out = Run::bare()
        .args(&["--solvers", solvers, "--n", "20000", "--epochs", "200"])
        .args(extra)
        .args(&[
            "--repeat", "3", "--warmup", "0", "--quiet", "--format", "json",
        ])
        .args(&["--output", json.to_str().unwrap()])
        .args(&["--roofline", svg.to_str().unwrap()])
        .output();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let report = common::document(&std::fs::read_to_string(&json).unwrap());
    let picture = std::fs::read_to_string(&svg).unwrap_or_else(|e| panic!("{e}: {err}"));
    (report, picture, out.status.code().unwrap(), err)
}

#[test]
fn the_cpu_roofline_draws_the_reports_rows_under_its_ceilings() {
    let (report, svg, code, err) =
        run_with_roofline("cpu-fused,cpu-fused-f32,cpu-fused-f16,cpu-moments", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(report["ceilings"]["cpu"]["gflops_f64_all_cores"].is_number());
    check(&report, &svg);
    // The reference row is a point; cpu-moments ran ok but has no FLOP/s, so it is none.
    let panels = parse(&svg);
    let names: Vec<&str> = panels[0].points.iter().map(|p| p.solver.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"cpu-fused"));
    let moments = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["solver"] == "cpu-moments")
        .unwrap();
    assert_eq!(moments["status"], "ok");
    assert!(!names.contains(&"cpu-moments"));
}

#[test]
fn a_search_of_k_steps_stands_at_k_times_a_steps_intensity() {
    let (report, svg, code, err) =
        run_with_roofline("cpu-fused,cpu-fused-f32", &["--mu", "0.001,0.002,0.004"]);
    assert_eq!(code, 0, "{err}");
    check(&report, &svg);
    let x: Vec<f64> = parse(&svg)[0].points.iter().map(|p| p.x).collect();
    assert_eq!(x.len(), 2, "{x:?}");
    assert!(
        x.contains(&(3.0 * 6.0 / 16.0)) && x.contains(&(3.0 * 6.0 / 8.0)),
        "{x:?}"
    );
}

#[test]
fn each_adapter_gets_a_panel_of_its_own() {
    let (report, svg, code, err) = run_with_roofline("cpu-fused,gpu-fused", &[]);
    if report["machine"]["adapters"].as_array().unwrap().is_empty() {
        missing_in_ci_or_skip(
            "each_adapter_gets_a_panel_of_its_own: no GPU adapter",
            "install mesa-vulkan-drivers (or a GPU driver)",
        );
        return;
    }
    assert_eq!(code, 0, "{err}");
    check(&report, &svg);
    assert!(
        parse(&svg)[1]
            .points
            .iter()
            .any(|p| p.solver == "gpu-fused")
    );
}

#[test]
fn a_roofline_needs_the_probe_and_an_svg_path() {
    for command in [&[][..], &["run"][..]] {
        let with = |extra: &[&'static str]| [command, extra].concat();
        refuses(
            &with(&["--roofline", "r.svg", "--no-probe"]),
            "invalid --roofline: draws the measured ceilings, which --no-probe skips",
        );
        refuses(
            &with(&["--roofline", "r.png"]),
            "invalid --roofline: `r.png` does not end in .svg",
        );
    }
}
