//! GPU adapters: enumerate them, choose one (or all), open a device with the features and
//! limits the solvers use.

use std::sync::{Arc, Mutex};

use crate::error::{GdError, Result};
use crate::solver::DeviceType;

/// The adapter features gdbench uses when they exist.
pub const WANTED_FEATURES: wgpu::Features = wgpu::Features::TIMESTAMP_QUERY
    .union(wgpu::Features::SUBGROUP)
    .union(wgpu::Features::SHADER_F64)
    .union(wgpu::Features::SHADER_F16);

/// Which adapter(s) `--adapter` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterChoice {
    /// Let gdbench choose: a real GPU before a software one, Vulkan/Metal/DX12 before GL.
    Auto,
    /// Every adapter found.
    All,
    /// The adapter at this index in `gdbench adapters`.
    Index(usize),
    /// The adapter whose name contains this text (case-insensitive).
    Name(String),
}

impl AdapterChoice {
    /// Parses `auto`, `all`, an index, or part of a name.
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            t if t.eq_ignore_ascii_case("auto") => AdapterChoice::Auto,
            t if t.eq_ignore_ascii_case("all") => AdapterChoice::All,
            t => t
                .parse()
                .map_or_else(|_| AdapterChoice::Name(t.to_string()), AdapterChoice::Index),
        }
    }
}

/// How long a submission may take before the run is abandoned as hung.
pub const WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// One adapter as `gdbench adapters` lists it.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    /// Position in the enumeration (what `--adapter N` takes).
    pub index: usize,
    /// Name, backend, device type, driver.
    pub info: wgpu::AdapterInfo,
    /// All features the adapter offers.
    pub features: wgpu::Features,
    /// The adapter's own limits.
    pub limits: wgpu::Limits,
}

impl AdapterSummary {
    /// True for a CPU implementation such as lavapipe or llvmpipe: its timings are CPU timings.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }
}

/// `gdbench adapters`' entry: name, backend, type and driver, what the solvers use of its
/// features, and its limits, on four lines.
impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let yes_no = |feature| {
            if self.features.contains(feature) {
                "yes"
            } else {
                "no"
            }
        };
        let i = &self.info;
        let software = if self.is_software() {
            "  (software: CPU emulation, its timings are CPU timings)"
        } else {
            ""
        };
        writeln!(f, "{}: {}{software}", self.index, i.name)?;
        writeln!(
            f,
            "   backend {}, device type {:?}, driver {} {}",
            i.backend, i.device_type, i.driver, i.driver_info
        )?;
        writeln!(
            f,
            "   timestamp queries {}, subgroups {}, shader f64 {}, shader f16 {}",
            yes_no(wgpu::Features::TIMESTAMP_QUERY),
            yes_no(wgpu::Features::SUBGROUP),
            yes_no(wgpu::Features::SHADER_F64),
            yes_no(wgpu::Features::SHADER_F16),
        )?;
        let l = &self.limits;
        writeln!(
            f,
            "   max storage binding {} MiB, max buffer {} MiB, workgroup ≤ {} invocations (x ≤ {}), {} KiB workgroup memory",
            l.max_storage_buffer_binding_size >> 20,
            l.max_buffer_size >> 20,
            l.max_compute_invocations_per_workgroup,
            l.max_compute_workgroup_size_x,
            l.max_compute_workgroup_storage_size >> 10,
        )
    }
}

/// An opened adapter: device and queue, with what it can do.
pub struct GpuContext {
    /// Position in the enumeration.
    pub index: usize,
    /// Name, backend, device type, driver.
    pub info: wgpu::AdapterInfo,
    /// Features enabled on the device (those of [`WANTED_FEATURES`] the adapter has).
    pub features: wgpu::Features,
    /// Limits requested: the adapter's own, so large buffers are allowed.
    pub limits: wgpu::Limits,
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Errors wgpu reported outside an error scope (validation, device loss), oldest first.
    faults: Arc<Mutex<Vec<String>>>,
    /// Why the device was lost, once wgpu's device-lost callback has said so.
    lost: Arc<Mutex<Option<String>>>,
    /// Why later rows on this adapter must not run (device lost, a wait timed out, wgpu panicked).
    broken: Mutex<Option<String>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("index", &self.index)
            .field("name", &self.info.name)
            .field("backend", &self.info.backend)
            .finish()
    }
}

impl GpuContext {
    /// gdbench's device type for the adapter.
    pub fn device_type(&self) -> DeviceType {
        device_type(self.info.device_type)
    }

    /// Waits (at most [`WAIT_TIMEOUT`]) for submission `index`, then reports any fault wgpu
    /// raised meanwhile. A lost device is an error before and after the wait (wgpu would panic
    /// in it); a wait that times out marks the adapter broken, so no later row waits again.
    pub fn wait(&self, index: wgpu::SubmissionIndex) -> Result<()> {
        self.alive()?;
        if let Err(e) = self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(WAIT_TIMEOUT),
        }) {
            self.alive()?;
            // A submission wgpu refused cannot be waited for: its refusal is the cause.
            let message = match self.take_error() {
                Err(refused) => refused.to_string(),
                Ok(()) => format!("waiting for the GPU failed: {e}"),
            };
            // Whatever the cause, this adapter has failed a wait: no later row waits on it again.
            self.mark_broken(&message);
            return Err(GdError::Gpu { message });
        }
        self.alive()?;
        self.take_error()
    }

    /// An error saying the device was lost, once wgpu has reported it.
    pub fn alive(&self) -> Result<()> {
        let lost = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        match lost.as_ref() {
            Some(why) => Err(GdError::Gpu {
                message: format!("the GPU device was lost ({why})"),
            }),
            None => Ok(()),
        }
    }

    /// Why later rows on this adapter are `unavailable`, if an earlier one broke it.
    pub fn broken(&self) -> Option<String> {
        self.broken
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records that the adapter must not run further rows, and why (the first reason stays).
    pub fn mark_broken(&self, why: &str) {
        let mut broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        broken.get_or_insert_with(|| why.to_string());
    }

    /// Loses the device on purpose (`GDBENCH_FAULT=device-lost`): wgpu then behaves as after a
    /// driver reset.
    pub fn lose_device(&self) {
        self.device.destroy();
        // wgpu reports the loss (the device-lost callback) at its next poll.
        let _ = self.device.poll(wgpu::PollType::Poll);
    }

    /// Submits `encoder` (which ends by copying what is wanted into `readback`, a MAP_READ
    /// buffer), waits, and returns the first `bytes` of `readback`: the one read-back path, as in
    /// wgpu's examples' `get_data`. `what` names the data in errors.
    pub fn read_back(
        &self,
        encoder: wgpu::CommandEncoder,
        readback: &wgpu::Buffer,
        bytes: u64,
        what: &str,
    ) -> Result<Vec<u8>> {
        let index = self.queue.submit([encoder.finish()]);
        let slice = readback.slice(..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait(index)?;
        let fail = |message: String| GdError::Gpu { message };
        rx.recv_timeout(WAIT_TIMEOUT)
            .map_err(|_| {
                let message = format!("{what} were never mapped for reading");
                self.mark_broken(&message);
                fail(message)
            })?
            .map_err(|e| fail(format!("cannot read {what} back: {e}")))?;
        let data = slice
            .get_mapped_range()
            .map_err(|e| fail(format!("cannot map {what}: {e}")))?
            .to_vec();
        readback.unmap();
        Ok(data)
    }

    /// The first fault wgpu reported since the last call, as an error.
    pub fn take_error(&self) -> Result<()> {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        match faults.drain(..).next() {
            Some(message) => Err(GdError::Gpu { message }),
            None => Ok(()),
        }
    }

    /// Adapter name with its backend, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) [vulkan]`.
    pub fn label(&self) -> String {
        format!("{} [{}]", self.info.name, self.info.backend)
    }
}

/// Converts wgpu's device type to gdbench's.
pub fn device_type(t: wgpu::DeviceType) -> DeviceType {
    match t {
        wgpu::DeviceType::Cpu => DeviceType::Cpu,
        wgpu::DeviceType::DiscreteGpu => DeviceType::DiscreteGpu,
        wgpu::DeviceType::IntegratedGpu => DeviceType::IntegratedGpu,
        wgpu::DeviceType::VirtualGpu => DeviceType::VirtualGpu,
        wgpu::DeviceType::Other => DeviceType::Other,
    }
}

/// Parses `--backend`: vulkan, metal, dx12 or gl.
pub fn parse_backend(text: &str) -> Result<wgpu::Backends> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "vulkan" | "vk" => wgpu::Backends::VULKAN,
        "metal" => wgpu::Backends::METAL,
        "dx12" | "d3d12" => wgpu::Backends::DX12,
        "gl" | "gles" | "opengl" => wgpu::Backends::GL,
        other => {
            return Err(GdError::InvalidParameter {
                name: "--backend",
                problem: format!("unknown backend `{other}`: choose from vulkan, metal, dx12, gl"),
            });
        }
    })
}

fn instance(backends: Option<wgpu::Backends>) -> (wgpu::Instance, wgpu::Backends) {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if let Some(b) = backends {
        desc.backends = b;
    }
    let chosen = desc.backends;
    (wgpu::Instance::new(desc), chosen)
}

fn enumerate(backends: Option<wgpu::Backends>) -> Vec<wgpu::Adapter> {
    let (instance, chosen) = instance(backends);
    pollster::block_on(instance.enumerate_adapters(chosen))
}

/// Every adapter wgpu finds (honouring `WGPU_BACKEND`, or `backends` when given).
pub fn list_adapters(backends: Option<wgpu::Backends>) -> Vec<AdapterSummary> {
    enumerate(backends)
        .into_iter()
        .enumerate()
        .map(|(index, a)| AdapterSummary {
            index,
            info: a.get_info(),
            features: a.features(),
            limits: a.limits(),
        })
        .collect()
}

/// Rank for automatic choice: lower is better.
fn preference(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = u8::from(info.backend == wgpu::Backend::Gl);
    (kind, backend)
}

/// Why there is no adapter, and what to install.
pub const NO_ADAPTER_HINT: &str = "no GPU adapter found: install your GPU's Vulkan/Metal/DX12 driver, \
or a software one (Debian/Ubuntu: apt-get install mesa-vulkan-drivers)";

/// The adapters opened for a run, and why any could not be.
#[derive(Debug, Default)]
pub struct Opened {
    /// Devices ready for the GPU solvers.
    pub contexts: Vec<Arc<GpuContext>>,
    /// One line per adapter that failed to open.
    pub failures: Vec<String>,
}

/// Opens the adapter(s) `choice` names. No adapter at all is not an error (GPU rows become
/// `unavailable`); a choice that names no existing adapter is, and lists those there are.
pub fn open(choice: &AdapterChoice, backends: Option<wgpu::Backends>) -> Result<Opened> {
    let adapters = enumerate(backends);
    let infos: Vec<wgpu::AdapterInfo> = adapters.iter().map(|a| a.get_info()).collect();
    let listing = || {
        if infos.is_empty() {
            "there are none".to_string()
        } else {
            let names: Vec<String> = infos
                .iter()
                .enumerate()
                .map(|(i, a)| format!("{i}: {} [{}]", a.name, a.backend))
                .collect();
            format!("there are {}", names.join("; "))
        }
    };
    let picked: Vec<usize> = match choice {
        AdapterChoice::All => (0..adapters.len()).collect(),
        AdapterChoice::Auto => (0..adapters.len())
            .min_by_key(|&i| preference(&infos[i]))
            .into_iter()
            .collect(),
        AdapterChoice::Index(i) if *i < adapters.len() => vec![*i],
        AdapterChoice::Index(i) => {
            return Err(GdError::InvalidParameter {
                name: "--adapter",
                problem: format!("no adapter {i}: {}", listing()),
            });
        }
        AdapterChoice::Name(part) => {
            let lower = part.to_lowercase();
            let found: Vec<usize> = (0..adapters.len())
                .filter(|&i| infos[i].name.to_lowercase().contains(&lower))
                .collect();
            if found.is_empty() {
                return Err(GdError::InvalidParameter {
                    name: "--adapter",
                    problem: format!("no adapter's name contains `{part}`: {}", listing()),
                });
            }
            found
        }
    };
    let mut adapters: Vec<Option<wgpu::Adapter>> = adapters.into_iter().map(Some).collect();
    let mut opened = Opened::default();
    for i in picked {
        match open_adapter(i, adapters[i].take().expect("each adapter is opened once")) {
            Ok(ctx) => opened.contexts.push(ctx),
            Err(e) => opened.failures.push(e.to_string()),
        }
    }
    Ok(opened)
}

fn open_adapter(index: usize, adapter: wgpu::Adapter) -> Result<Arc<GpuContext>> {
    let info = adapter.get_info();
    let features = adapter.features() & WANTED_FEATURES;
    let limits = adapter.limits();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("gdbench"),
        required_features: features,
        required_limits: limits.clone(),
        ..Default::default()
    }))
    .map_err(|e| GdError::Gpu {
        message: format!("cannot open a device on {}: {e}", info.name),
    })?;
    let faults = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&faults);
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        let mut f = sink.lock().unwrap_or_else(|p| p.into_inner());
        f.push(crate::error::one_line(&e.to_string()));
    }));
    let lost = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&lost);
    device.set_device_lost_callback(move |reason, message| {
        let mut lost = sink.lock().unwrap_or_else(|p| p.into_inner());
        let message = if message.is_empty() {
            String::new()
        } else {
            format!(": {}", crate::error::one_line(&message))
        };
        lost.get_or_insert(format!("{reason:?}{message}"));
    });
    Ok(Arc::new(GpuContext {
        index,
        info,
        features,
        limits,
        device,
        queue,
        faults,
        lost,
        broken: Mutex::new(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_choices_parse() {
        assert_eq!(AdapterChoice::parse("ALL"), AdapterChoice::All);
        assert_eq!(AdapterChoice::parse("auto"), AdapterChoice::Auto);
        assert_eq!(AdapterChoice::parse("2"), AdapterChoice::Index(2));
        assert_eq!(
            AdapterChoice::parse("nvidia"),
            AdapterChoice::Name("nvidia".into())
        );
        assert!(parse_backend("Vulkan").is_ok());
        assert!(
            parse_backend("cuda")
                .unwrap_err()
                .to_string()
                .contains("vulkan, metal, dx12, gl")
        );
    }
}
