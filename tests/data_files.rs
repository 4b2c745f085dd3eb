//! Loading CSV and .npy datasets: the forms docs/options.md promises, and the ones it refuses.

mod common;

use common::write_npy;
use gdbench::Dataset;

fn f64_bytes(values: &[f64], big_endian: bool) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        })
        .collect()
}

#[test]
fn csv_with_and_without_header() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("h.csv", "x,d\n0,3\n1,5\n2,7.5\n"),
        ("n.csv", "0,3\n1 , 5\n\n2,7.5\n"),
        ("c.csv", "# made by hand\nx , d\n0,3\n1,5\n2,7.5\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let data = Dataset::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(data.x(), [0.0, 1.0, 2.0], "{name}");
        assert_eq!(data.d(), [3.0, 5.0, 7.5], "{name}");
    }
}

#[test]
fn npy_in_every_supported_layout() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [(0.0, 3.0), (0.5, 4.25), (2.0, 7.0)];
    let c_order: Vec<f64> = rows.iter().flat_map(|&(x, d)| [x, d]).collect();
    let f_order: Vec<f64> = rows
        .iter()
        .map(|r| r.0)
        .chain(rows.iter().map(|r| r.1))
        .collect();
    let f32_bytes: Vec<u8> = c_order
        .iter()
        .flat_map(|&v| (v as f32).to_le_bytes())
        .collect();
    let cases = [
        ("c.npy", "<f8", false, f64_bytes(&c_order, false)),
        ("f.npy", "<f8", true, f64_bytes(&f_order, false)),
        ("be.npy", ">f8", false, f64_bytes(&c_order, true)),
        ("f32.npy", "<f4", false, f32_bytes),
    ];
    for (name, descr, fortran, bytes) in cases {
        let path = dir.path().join(name);
        write_npy(&path, descr, fortran, &[3, 2], &bytes);
        let data = Dataset::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(data.x(), [0.0, 0.5, 2.0], "{name}");
        assert_eq!(data.d(), [3.0, 4.25, 7.0], "{name}");
    }
}

#[test]
fn npy_of_the_wrong_kind_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.npy");
    let check = |expected: &str| {
        let err = Dataset::load(&path).unwrap_err().to_string();
        assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        assert_eq!(err.lines().count(), 1, "{err}");
    };
    write_npy(&path, "<i8", false, &[2, 2], &[0; 32]);
    check("dtype '<i8' is not supported");
    write_npy(&path, "<f8", false, &[4], &[0; 32]);
    check("shape [4]; expected (N, 2)");
    write_npy(&path, "<f8", false, &[2, 3], &[0; 48]);
    check("shape [2, 3]");
    write_npy(&path, "<f8", false, &[3, 2], &[0; 40]);
    check("data ends early");
    std::fs::write(&path, b"\x93NUMPY\x01\x00garbage").unwrap();
    check("unreadable .npy header");
    let mut values = f64_bytes(&[0.0, 1.0, f64::NAN, 2.0], false);
    write_npy(&path, "<f8", false, &[2, 2], &values);
    check("x of sample 2 is NaN");
    values = f64_bytes(&[0.0, 1.0, 1.0, f64::INFINITY], false);
    write_npy(&path, "<f8", false, &[2, 2], &values);
    check("d of sample 2 is inf");
}
