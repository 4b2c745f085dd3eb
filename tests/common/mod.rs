//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gdbench::{Dataset, Outcome, Problem, SolverId};

/// The article's dataset (NumPy seed 444), committed by `scripts/make_article_fixture.py`.
pub fn article_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/article.npy")
}

/// Prepares and solves once.
pub fn solve(id: SolverId, problem: &Problem) -> Outcome {
    id.prepare(problem).unwrap().solve().unwrap()
}

/// A synthetic problem.
pub fn synthetic(n: usize, sigma: f64, seed: u64, mu: f64, epochs: u64) -> Problem {
    Problem::new(Dataset::synthetic(n, sigma, seed).unwrap(), mu, epochs).unwrap()
}

/// Runs the gdbench binary with `args`.
pub fn gdbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gdbench"))
        .args(args)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .output()
        .expect("the gdbench binary runs")
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes a `.npy` file by hand (version 1.0) so tests control dtype, order and byte order.
pub fn write_npy(path: &Path, descr: &str, fortran: bool, shape: &[usize], data: &[u8]) {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape_text}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}
