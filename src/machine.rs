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

/// The CPU's last-level (largest) data cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastLevelCache {
    /// Bytes of the instance one core uses.
    pub per_core: u64,
    /// Bytes of every distinct instance together (several on multi-die and multi-socket CPUs):
    /// what data shared by all cores can occupy.
    pub total: u64,
}

/// Every data or unified cache of every CPU from Linux's sysfs: (level, the CPUs that share it,
/// bytes); empty where the OS does not say.
fn caches() -> &'static [(u32, String, u64)] {
    static CACHES: OnceLock<Vec<(u32, String, u64)>> = OnceLock::new();
    CACHES.get_or_init(|| {
        let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok();
        let mut caches = Vec::new();
        for cpu in 0..cpu_threads().max(1) {
            let dir = std::path::PathBuf::from(format!("/sys/devices/system/cpu/cpu{cpu}/cache"));
            for i in 0..8 {
                let index = dir.join(format!("index{i}"));
                let Some(kind) = read(index.join("type")) else {
                    continue;
                };
                if kind.trim() == "Instruction" {
                    continue;
                }
                let level = read(index.join("level")).and_then(|l| l.trim().parse().ok());
                let shared = read(index.join("shared_cpu_list")).unwrap_or_default();
                let size = read(index.join("size")).and_then(|t| parse_cache_size(&t));
                if let (Some(level), Some(size)) = (level, size) {
                    caches.push((level, shared.trim().to_string(), size));
                }
            }
        }
        caches
    })
}

/// The last-level cache from Linux's sysfs (each distinct instance counted once, by the CPUs that
/// share it); 32 MiB for both where the OS does not say (a generous guess: data that small may sit
/// in cache on most machines).
pub fn last_level_cache() -> LastLevelCache {
    let caches = caches();
    let Some(top) = caches.iter().map(|c| c.0).max() else {
        return LastLevelCache {
            per_core: 32 << 20,
            total: 32 << 20,
        };
    };
    let mut instances: Vec<(&str, u64)> = caches
        .iter()
        .filter(|c| c.0 == top)
        .map(|c| (c.1.as_str(), c.2))
        .collect();
    instances.sort();
    instances.dedup();
    LastLevelCache {
        per_core: instances.iter().map(|i| i.1).max().unwrap_or(32 << 20),
        total: instances.iter().map(|i| i.1).sum(),
    }
}

/// Bytes of one core's level-`level` data cache (the largest instance), where the OS says.
pub fn core_cache(level: u32) -> Option<u64> {
    caches().iter().filter(|c| c.0 == level).map(|c| c.2).max()
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
        if let (Some(l1), Some(l2)) = (core_cache(1), core_cache(2)) {
            assert!(l1 >= 4 << 10 && l2 > l1, "L1d {l1}, L2 {l2}");
        }
        let llc = last_level_cache();
        assert!(
            llc.per_core >= 1 << 16 && llc.total >= llc.per_core,
            "{llc:?}"
        );
    }
}
