//! NVIDIA GPUs' clocks around a row's timed solves, from NVIDIA's management library (NVML,
//! `libnvidia-ml.so.1` / `nvml.dll`, opened at run time): absent without error on every other
//! machine. A row whose SM clock fell by more than [`SM_DROP`], that ran below [`IDLE_SHARE`] of
//! the SM clock's maximum, or that hit a throttle reason is `throttled`.

use std::sync::OnceLock;

use nvml_wrapper::Nvml;
use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use serde::Serialize;

/// A fall of the SM clock, as a share of its first reading, that makes a row `throttled`.
pub const SM_DROP: f64 = 0.05;

/// An SM clock below this share of its maximum after the timed solves: the GPU ran them at (or
/// near) idle clocks.
pub const IDLE_SHARE: f64 = 0.5;

/// One reading of a GPU's clocks.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ClockReading {
    /// SM clock, MHz.
    pub sm_mhz: u32,
    /// Memory clock, MHz.
    pub memory_mhz: u32,
    /// GPU temperature, °C; null when the library cannot read it.
    pub temperature_c: Option<u32>,
    /// The reasons the driver gives for holding clocks down, e.g. `sw-power-cap`,
    /// `hw-thermal-slowdown`, `gpu-idle`; empty when none.
    pub throttle_reasons: Vec<String>,
}

/// A GPU row's clocks before and after its timed solves.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RowClocks {
    /// Read after the warm-up, before the first timed solve.
    pub before: ClockReading,
    /// Read after the last timed solve.
    pub after: ClockReading,
    /// The SM clock's maximum, MHz; null when the library does not say.
    pub sm_max_mhz: Option<u32>,
    /// True when the SM clock fell by more than 5 %, stayed below half its maximum, or a
    /// throttle reason (power cap, thermal or hardware slowdown) held it down.
    pub throttled: bool,
    /// Why `throttled`, in words; null when not.
    pub why: Option<String>,
}

/// The throttle reasons that slow a GPU under load (not idling, an application's clock setting
/// or sync boost, which are not about this run's speed), as the report names them.
const SLOWING: [(ThrottleReasons, &str); 5] = [
    (ThrottleReasons::SW_POWER_CAP, "sw-power-cap"),
    (ThrottleReasons::HW_SLOWDOWN, "hw-slowdown"),
    (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw-thermal-slowdown"),
    (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw-thermal-slowdown"),
    (
        ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN,
        "hw-power-brake-slowdown",
    ),
];

/// The reasons that do not slow a loaded GPU, named for the record.
const OTHER: [(ThrottleReasons, &str); 4] = [
    (ThrottleReasons::GPU_IDLE, "gpu-idle"),
    (
        ThrottleReasons::APPLICATIONS_CLOCKS_SETTING,
        "applications-clocks-setting",
    ),
    (ThrottleReasons::SYNC_BOOST, "sync-boost"),
    (
        ThrottleReasons::DISPLAY_CLOCK_SETTING,
        "display-clock-setting",
    ),
];

/// The management library, opened once; `None` where it is absent or does not start.
fn nvml() -> Option<&'static Nvml> {
    static NVML: OnceLock<Option<Nvml>> = OnceLock::new();
    NVML.get_or_init(|| Nvml::init().ok()).as_ref()
}

/// A watch on one NVIDIA adapter's clocks.
#[derive(Debug, Clone)]
pub struct Watch {
    /// NVML's index of the device.
    index: u32,
}

impl Watch {
    /// The watch for the adapter `info` names: an NVIDIA adapter the management library finds
    /// (by PCI bus id, else by device id); `None` otherwise.
    pub fn of(info: &wgpu::AdapterInfo) -> Option<Self> {
        Self::find(info.vendor, info.device, &info.device_pci_bus_id)
    }

    /// The watch for the adapter of PCI `vendor`, `device` and `bus_id` (wgpu's spelling).
    fn find(vendor: u32, device: u32, bus_id: &str) -> Option<Self> {
        if vendor != 0x10de {
            return None;
        }
        let nvml = nvml()?;
        let count = nvml.device_count().ok()?;
        let pci = |i: u32| nvml.device_by_index(i).ok()?.pci_info().ok();
        let by_bus = (0..count).find(|&i| pci(i).is_some_and(|p| same_bus(&p.bus_id, bus_id)));
        // Without a bus id, the device id only when one device has it: of several identical
        // GPUs, no guess.
        let by_id = || {
            let same: Vec<u32> = (0..count)
                .filter(|&i| pci(i).is_some_and(|p| p.pci_device_id >> 16 == device))
                .collect();
            match same.as_slice() {
                [one] => Some(*one),
                _ => None,
            }
        };
        by_bus.or_else(by_id).map(|index| Watch { index })
    }

    /// The clocks now; `None` when the library cannot read them.
    pub fn read(&self) -> Option<ClockReading> {
        let device = nvml()?.device_by_index(self.index).ok()?;
        let reasons = device
            .current_throttle_reasons()
            .unwrap_or(ThrottleReasons::NONE);
        Some(ClockReading {
            sm_mhz: device.clock_info(Clock::SM).ok()?,
            memory_mhz: device.clock_info(Clock::Memory).ok()?,
            temperature_c: device.temperature(TemperatureSensor::Gpu).ok(),
            throttle_reasons: SLOWING
                .iter()
                .chain(&OTHER)
                .filter(|(flag, _)| reasons.contains(*flag))
                .map(|(_, name)| name.to_string())
                .collect(),
        })
    }

    /// The SM clock's maximum, MHz.
    pub fn sm_max_mhz(&self) -> Option<u32> {
        let device = nvml()?.device_by_index(self.index).ok()?;
        device.max_clock_info(Clock::SM).ok()
    }

    /// Whether the SM clock has risen to [`WARM_SHARE`] of its maximum (true when either cannot
    /// be read: nothing to wait for).
    pub fn is_up(&self) -> bool {
        match (self.read(), self.sm_max_mhz()) {
            (Some(now), Some(max)) => clock_is_up(now.sm_mhz, max),
            _ => true,
        }
    }
}

/// A GPU row's warm-up lasts until the SM clock is at least this share of its maximum (and its
/// solves agree), within the row's budget.
pub const WARM_SHARE: f64 = 0.9;

/// True when `sm_mhz` is at least [`WARM_SHARE`] of `max_mhz`.
fn clock_is_up(sm_mhz: u32, max_mhz: u32) -> bool {
    f64::from(sm_mhz) >= WARM_SHARE * f64::from(max_mhz)
}

/// True when NVML's bus id (`00000000:01:00.0`) and wgpu's (`0000:01:00.0`) name one slot.
fn same_bus(nvml: &str, wgpu: &str) -> bool {
    let parts = |id: &str| -> Option<(u64, String)> {
        let (domain, rest) = id.trim().split_once(':')?;
        Some((
            u64::from_str_radix(domain, 16).ok()?,
            rest.to_ascii_lowercase(),
        ))
    };
    !wgpu.is_empty() && parts(nvml).is_some_and(|a| parts(wgpu) == Some(a))
}

impl RowClocks {
    /// The clocks `before` and `after` a row's timed solves, judged.
    pub fn of(before: ClockReading, after: ClockReading, sm_max_mhz: Option<u32>) -> Self {
        let why = throttled_why(&before, &after, sm_max_mhz);
        Self {
            before,
            after,
            sm_max_mhz,
            throttled: why.is_some(),
            why,
        }
    }
}

/// Why a row with these readings is throttled, or `None`: an SM clock that fell by more than
/// [`SM_DROP`], one below [`IDLE_SHARE`] of its maximum, a slowing reason in either reading.
pub fn throttled_why(
    before: &ClockReading,
    after: &ClockReading,
    sm_max_mhz: Option<u32>,
) -> Option<String> {
    let mut why = Vec::new();
    if f64::from(after.sm_mhz) < (1.0 - SM_DROP) * f64::from(before.sm_mhz) {
        why.push(format!(
            "the SM clock fell from {} to {} MHz",
            before.sm_mhz, after.sm_mhz
        ));
    }
    if let Some(max) = sm_max_mhz.filter(|&m| f64::from(after.sm_mhz) < IDLE_SHARE * f64::from(m)) {
        why.push(format!(
            "the SM clock was {} of its {max} MHz (near idle clocks)",
            after.sm_mhz
        ));
    }
    let slowing: Vec<&str> = SLOWING
        .iter()
        .map(|(_, name)| *name)
        .filter(|name| {
            before
                .throttle_reasons
                .iter()
                .chain(&after.throttle_reasons)
                .any(|r| r == name)
        })
        .collect();
    if !slowing.is_empty() {
        why.push(format!(
            "the driver held clocks down ({})",
            slowing.join(", ")
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(sm: u32, reasons: &[&str]) -> ClockReading {
        ClockReading {
            sm_mhz: sm,
            memory_mhz: 3201,
            temperature_c: Some(40),
            throttle_reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn a_warm_up_waits_for_the_clock_near_its_maximum() {
        // The H200 idles at 345 of 1 980 MHz, and gave steady solves there.
        assert!(!clock_is_up(345, 1980));
        assert!(!clock_is_up(1700, 1980));
        assert!(clock_is_up(1785, 1980));
        assert!(clock_is_up(1980, 1980));
    }

    #[test]
    fn a_row_is_throttled_by_a_falling_clock_idle_clocks_or_a_slowing_reason() {
        let steady = RowClocks::of(reading(1980, &[]), reading(1965, &[]), Some(1980));
        assert!(!steady.throttled, "{steady:?}");
        // Idling before the solves is not throttling.
        let woke = RowClocks::of(reading(1980, &["gpu-idle"]), reading(1980, &[]), Some(1980));
        assert!(!woke.throttled, "{woke:?}");
        let fell = RowClocks::of(reading(1980, &[]), reading(1800, &[]), Some(1980));
        assert!(fell.why.unwrap().contains("fell from 1980 to 1800"));
        let idle = RowClocks::of(reading(345, &[]), reading(345, &[]), Some(1980));
        assert!(idle.why.unwrap().contains("345 of its 1980"));
        let capped = RowClocks::of(reading(1980, &[]), reading(1950, &["sw-power-cap"]), None);
        assert!(capped.throttled && capped.why.unwrap().contains("sw-power-cap"));
    }

    #[test]
    fn bus_ids_match_across_the_two_spellings() {
        assert!(same_bus("00000000:18:00.0", "0000:18:00.0"));
        assert!(!same_bus("00000000:19:00.0", "0000:18:00.0"));
        assert!(!same_bus("00000000:18:00.0", ""));
    }

    #[test]
    fn without_the_library_there_is_no_watch_and_no_error() {
        // A software adapter never has one; an NVIDIA one has none without the library.
        assert!(Watch::find(0x10005, 0, "").is_none());
        if nvml().is_none() {
            assert!(Watch::find(0x10de, 0x2335, "0000:18:00.0").is_none());
        }
    }
}
