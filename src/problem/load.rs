//! Loading datasets from `.csv` (two columns x,d, optional header) and NumPy `.npy` files
//! (shape (N, 2), float64 or float32, either byte order, C or Fortran order).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};

use super::{Dataset, Source, check_fits, reserve};
use crate::error::{GdError, Result};

/// The first bytes of every `.npy` file.
const NPY_MAGIC: &[u8] = b"\x93NUMPY";

impl Dataset {
    /// Loads `path` as `.npy` (by extension or by its magic bytes) or as CSV otherwise.
    pub fn load(path: &Path) -> Result<Self> {
        let io_err = |source| GdError::DataIo {
            path: path.to_path_buf(),
            source,
        };
        let mut file = BufReader::new(File::open(path).map_err(io_err)?);
        if file.get_ref().metadata().map_err(io_err)?.is_dir() {
            return Err(bad(path, "is a directory; give a .csv or .npy file".into()));
        }
        let mut head = [0u8; NPY_MAGIC.len()];
        let got = read_prefix(&mut file, &mut head).map_err(io_err)?;
        let looks_npy = &head[..got] == NPY_MAGIC;
        let whole = (&head[..got]).chain(file);
        let has_npy_ext = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        let (x, d) = if looks_npy {
            read_npy(path, whole)?
        } else if has_npy_ext {
            return Err(bad(path, "not a .npy file (no \\x93NUMPY header)".into()));
        } else {
            read_csv(path, whole)?
        };
        Dataset::new(
            x,
            d,
            Source::File {
                data: path.to_path_buf(),
            },
        )
    }
}

fn bad(path: &Path, problem: String) -> GdError {
    GdError::DataFormat {
        path: path.to_path_buf(),
        // A parser's report (npyz's header error spans lines, with a caret) folded into the
        // one line every error gets.
        problem: crate::error::one_line(&problem),
    }
}

/// Reads up to `buf.len()` bytes, fewer only at end of file.
fn read_prefix(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            k => got += k,
        }
    }
    Ok(got)
}

fn read_npy(path: &Path, reader: impl Read) -> Result<(Vec<f64>, Vec<f64>)> {
    let npy =
        NpyFile::new(reader).map_err(|e| bad(path, format!("unreadable .npy header: {e}")))?;
    let n = match npy.shape() {
        [n, 2] => {
            usize::try_from(*n).map_err(|_| bad(path, format!("{n} rows do not fit in memory")))?
        }
        shape => {
            return Err(bad(
                path,
                format!("array has shape {shape:?}; expected (N, 2) with columns x and d"),
            ));
        }
    };
    check_fits(n)?;
    let fortran = npy.order() == Order::Fortran;
    match npy.dtype() {
        DType::Plain(t) if t.type_char() == TypeChar::Float && t.size_field() == 8 => {
            columns::<f64, _>(path, npy, n, fortran)
        }
        DType::Plain(t) if t.type_char() == TypeChar::Float && t.size_field() == 4 => {
            columns::<f32, _>(path, npy, n, fortran)
        }
        other => Err(bad(
            path,
            format!(
                "dtype {} is not supported; save the array as float64 or float32",
                other.descr()
            ),
        )),
    }
}

/// Streams an (N, 2) array into separate x and d vectors without a second full copy.
fn columns<T, R>(
    path: &Path,
    npy: NpyFile<R>,
    n: usize,
    fortran: bool,
) -> Result<(Vec<f64>, Vec<f64>)>
where
    T: npyz::Deserialize + Into<f64>,
    R: Read,
{
    let truncated = |e: std::io::Error| bad(path, format!("data ends early or is unreadable: {e}"));
    let mut values = npy
        .data::<T>()
        .map_err(|e| bad(path, format!("cannot read the values: {e}")))?;
    let mut next = || -> Result<f64> {
        values
            .next()
            .ok_or_else(|| bad(path, "data ends early".into()))?
            .map(Into::into)
            .map_err(truncated)
    };
    let (mut x, mut d) = (reserve(n, "x")?, reserve(n, "d")?);
    if fortran {
        for _ in 0..n {
            x.push(next()?);
        }
        for _ in 0..n {
            d.push(next()?);
        }
    } else {
        for _ in 0..n {
            x.push(next()?);
            d.push(next()?);
        }
    }
    Ok((x, d))
}

fn read_csv(path: &Path, reader: impl Read) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(reader);
    let (mut x, mut d) = (Vec::new(), Vec::new());
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(bad(path, format!("not readable as CSV: {e}"))),
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != 2 {
            return Err(bad(
                path,
                format!(
                    "line {line} has {} column(s); expected 2 (x,d)",
                    record.len()
                ),
            ));
        }
        let parsed: Vec<Option<f64>> = record.iter().map(|f| f.parse::<f64>().ok()).collect();
        if first && parsed.iter().all(Option::is_none) {
            first = false;
            continue; // a header row such as `x,d`
        }
        first = false;
        for (column, (value, text)) in parsed.iter().zip(record.iter()).enumerate() {
            match value {
                None => {
                    return Err(bad(
                        path,
                        format!(
                            "line {line}, column {}: `{text}` is not a number",
                            column + 1
                        ),
                    ));
                }
                Some(v) if !v.is_finite() => {
                    return Err(bad(
                        path,
                        format!(
                            "line {line}, column {}: `{text}` is not finite; every value must be a finite number",
                            column + 1
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        x.push(parsed[0].expect("checked above"));
        d.push(parsed[1].expect("checked above"));
    }
    if x.is_empty() {
        return Err(bad(path, "no data rows; expected lines of x,d".into()));
    }
    Ok((x, d))
}
