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
