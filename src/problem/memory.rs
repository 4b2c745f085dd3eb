//! Refuses a dataset that cannot fit before anything is allocated.

use crate::error::{GdError, Result};

/// Bytes of host memory the dataset itself needs per sample: x and d in f64.
pub const BYTES_PER_SAMPLE: u64 = 16;

/// A sample count as given on the command line, as this machine's `usize`.
pub fn sample_count(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| GdError::InvalidParameter {
        name: "--n",
        problem: format!("{n} does not fit this machine's address space"),
    })
}

/// Fails with a clear error when N samples (x and d in f64) exceed the memory the OS reports
/// available. Where the OS does not say (not Linux), it passes and allocation itself is checked.
pub fn check_fits(n: usize) -> Result<()> {
    let need = (n as u64).saturating_mul(BYTES_PER_SAMPLE);
    match available_bytes() {
        Some(available) if need > available => Err(GdError::OutOfMemory {
            what: format!("x and d in f64 for N = {n}"),
            need_mib: need.div_ceil(1 << 20),
            available_mib: available >> 20,
        }),
        _ => Ok(()),
    }
}

/// Allocates an empty vector with room for `n` values, turning allocation failure into an error
/// that names `what` was being allocated.
pub fn reserve<T>(n: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| GdError::OutOfMemory {
        what: format!("{what} ({n} values)"),
        need_mib: (n as u64)
            .saturating_mul(std::mem::size_of::<T>() as u64)
            .div_ceil(1 << 20),
        available_mib: available_bytes().unwrap_or(0) >> 20,
    })?;
    Ok(v)
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
pub fn available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_absurd_sizes_and_accepts_small_ones() {
        assert!(check_fits(1000).is_ok());
        if available_bytes().is_some() {
            let err = check_fits(usize::MAX / 32).unwrap_err().to_string();
            assert!(err.contains("choose a smaller --n"), "{err}");
        }
    }
}
