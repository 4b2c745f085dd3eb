//! What the host is: CPU model and thread count, read once.

use std::sync::OnceLock;

/// The CPU's model name (from `/proc/cpuinfo` on Linux), or the architecture where unknown.
pub fn cpu_model() -> String {
    static MODEL: OnceLock<String> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                        .and_then(|l| l.split_once(':'))
                        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
                })
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| format!("{} CPU", std::env::consts::ARCH))
        })
        .clone()
}

/// Hardware threads available to this process.
pub fn cpu_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Bytes of the largest CPU cache (the last level, shared), from Linux's sysfs; 32 MiB where the
/// OS does not say (a generous guess: data that small may sit in cache on most machines).
pub fn last_level_cache_bytes() -> u64 {
    static BYTES: OnceLock<u64> = OnceLock::new();
    *BYTES.get_or_init(|| {
        let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
        let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok();
        (0..8)
            .filter_map(|i| {
                let index = dir.join(format!("index{i}"));
                let kind = read(index.join("type"))?;
                if kind.trim() == "Instruction" {
                    return None;
                }
                parse_cache_size(&read(index.join("size"))?)
            })
            .max()
            .unwrap_or(32 << 20)
    })
}

/// `"32768K"`, `"8M"` or `"512"` (bytes) as bytes.
fn parse_cache_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let n: u64 = digits.parse().ok()?;
    Some(match unit.to_ascii_uppercase().as_str() {
        "" => n,
        "K" => n << 10,
        "M" => n << 20,
        "G" => n << 30,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("32768K\n"), Some(32 << 20));
        assert_eq!(parse_cache_size("8M"), Some(8 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("big"), None);
        assert!(last_level_cache_bytes() >= 1 << 16);
    }
}
