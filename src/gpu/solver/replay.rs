//! The pass-by-pass replay of a solve: its first epochs one dispatch at a time, each dispatch's
//! output read back and held against the CPU twin of its entry point fed with what the GPU
//! actually read (the weights, errors or partials before it), so the first pass at fault is
//! named, not every pass downstream of it.

use serde::Serialize;

use super::GpuSolver;
use crate::error::Result;
use crate::gpu::buffers::{self, Real};
use crate::gpu::plan::{Schedule, Step};
use crate::gpu::twin::{self, Pass, Sum};
use crate::problem::Problem;

/// Where a replay first left its twins (the suite's `diagnosis`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PassBreak {
    /// The entry point whose output differs.
    pub entry_point: &'static str,
    /// The buffer it wrote, as the kernel binds it.
    pub buffer: &'static str,
    /// The element of that buffer.
    pub index: u64,
    /// The epoch (from 1) the dispatch belongs to.
    pub epoch: u64,
    /// What the kernel wrote there: one value (an error) or a pair.
    pub got: Vec<f64>,
    /// What its CPU twin gives from the same inputs.
    pub want: Vec<f64>,
    /// What the element covers (a workgroup's samples, a sample), in words.
    pub covers: String,
}

/// A dispatch's output beside its twin's.
struct Held {
    got: Vec<[f64; 2]>,
    want: Vec<Sum>,
    /// Partials of one sum, which a kernel may share out its own way.
    partitioned: bool,
    /// Values per element: 1 (an error) or 2.
    width: usize,
    /// The buffer's element of `got[0]`.
    base: u64,
    /// What element `i` covers, in words.
    covers: Box<dyn Fn(u64) -> String>,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq)]
pub enum Replayed {
    /// The first dispatch whose output left its twin.
    Broke(PassBreak),
    /// Every dispatch of this many epochs held.
    Held(u64),
    /// Not replayed, and why.
    Skipped(&'static str),
}

/// The most samples replayed pass by pass: the host keeps an f64 twin of every sample of a chunk
/// (about 90 bytes each), so beyond this the replay would cost gigabytes.
pub const REPLAY_MOST: usize = 1 << 22;

/// The host's copy of the data as the device stores it, cut as its chunks are.
struct Host {
    x: Vec<Vec<f64>>,
    d: Vec<Vec<f64>>,
}

impl GpuSolver {
    /// Replays the first `epochs` epochs of `problem` (which this solver was prepared for) pass
    /// by pass: the first dispatch whose output leaves its twin, or that every one held. Not on
    /// a step-size search, whose kernels have no twins here, nor above [`REPLAY_MOST`] samples.
    pub fn replay(&mut self, problem: &Problem, epochs: u64) -> Result<Replayed> {
        let search = self
            .all_steps()
            .any(|s| matches!(s.role.pass, Pass::Search));
        if self.steps != 1 || search {
            return Ok(Replayed::Skipped("a search is not replayed pass by pass"));
        }
        if problem.n() > REPLAY_MOST {
            return Ok(Replayed::Skipped(
                "N above 4 194 304 is not replayed pass by pass (its CPU twins would take gigabytes)",
            ));
        }
        let host = self.host(problem);
        let zeros = vec![0u8; (self.pairs * 2 * self.real.bytes()) as usize];
        self.ctx.queue.write_buffer(&self.w, 0, &zeros);
        self.schedule.begin_solve(&self.ctx, 1);
        let step_size = problem.steps()[0] * 2.0 / problem.n() as f64;
        for epoch in 1..=epochs {
            let steps = match &self.schedule {
                Schedule::Persistent(_) => self.schedule.steps_for(0, 1, 1),
                _ => self.schedule.steps_for(epoch - 1, 1, epochs),
            };
            for step in steps {
                if let Some(mut found) = self.replay_step(step, &host, step_size)? {
                    found.epoch = epoch;
                    return Ok(Replayed::Broke(found));
                }
            }
        }
        Ok(Replayed::Held(epochs))
    }

    /// Every dispatch the schedule holds.
    fn all_steps(&self) -> impl Iterator<Item = &Step> {
        let steps: Vec<&Step> = match &self.schedule {
            Schedule::Persistent(p) => vec![&p.full, &p.rest],
            Schedule::PerEpoch(s) | Schedule::Batched(s) => s.iter().collect(),
        };
        steps.into_iter()
    }

    /// x and d as the device holds them, chunk by chunk.
    fn host(&self, problem: &Problem) -> Host {
        let stored = |v: &[f64]| v.iter().map(|&v| self.real.stored(v)).collect::<Vec<_>>();
        let mut host = Host {
            x: Vec::new(),
            d: Vec::new(),
        };
        let mut start = 0;
        for c in &self.data.chunks {
            let end = start + c.len as usize;
            host.x.push(stored(&problem.x()[start..end]));
            host.d.push(stored(&problem.d()[start..end]));
            start = end;
        }
        host
    }

    /// Runs `step` alone and holds its output against its twin.
    fn replay_step(&self, step: &Step, host: &Host, step_size: f64) -> Result<Option<PassBreak>> {
        let w = self.read_pairs(&self.w, 0, 1)?[0];
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        Self::record(&mut encoder, &[step], None);
        self.ctx.wait(self.ctx.queue.submit([encoder.finish()]))?;
        self.ctx.take_error()?;
        let u = twin::unit_roundoff(self.real);
        let held = match &step.role.pass {
            Pass::Errors { chunk, e } => self.errors_held(host, *chunk, e, w)?,
            Pass::Partials { .. } => self.partials_held(host, &step.role.pass, w)?,
            Pass::Level {
                input,
                out,
                n,
                tile,
            } => {
                let inputs = self.read_pairs(input, 0, u64::from(*n))?;
                let want = twin::level(&inputs, *tile);
                let (tile, n) = (*tile, *n);
                Held {
                    got: self.read_pairs(out, 0, want.len() as u64)?,
                    want,
                    partitioned: true,
                    width: 2,
                    base: 0,
                    covers: Box::new(move |g| {
                        let end = ((g + 1) * tile).min(u64::from(n));
                        format!("workgroup {g}: inputs {}..{end}", g * tile)
                    }),
                }
            }
            Pass::Update { sums, n } => {
                let sums = self.read_pairs(sums, 0, u64::from(*n))?;
                let total = twin::total(&twin::level(&sums, u64::from(*n).max(1)));
                self.weights_held(w, total, step_size)?
            }
            Pass::Epoch => {
                let (x, d) = (&host.x[0], &host.d[0]);
                let mut total = twin::partials(w, (x, d), None, 1, EVERY)[0];
                // One workgroup: each invocation adds its N / WG samples, then a tree over the
                // invocations. Allowing all N terms at once would let a 1 % step through from
                // N ≈ 1e5 in f32.
                let wg = u64::from(self.single_wg.max(1));
                total.terms = (x.len() as u64).div_ceil(wg) + u64::from(wg.ilog2());
                self.weights_held(w, total, step_size)?
            }
            Pass::Search => return Ok(None),
        };
        let found = twin::first_difference(&held.got, &held.want, u, held.partitioned);
        Ok(found.map(|i| PassBreak {
            entry_point: step.role.entry,
            buffer: step.role.buffer,
            index: held.base + i as u64,
            epoch: 0,
            got: held.got[i][..held.width].to_vec(),
            want: held.want[i].value[..held.width].to_vec(),
            covers: (held.covers)(i as u64),
        }))
    }

    /// The error pass's output (chunk `chunk`'s `e`) and its twin from weights `w`.
    fn errors_held(
        &self,
        host: &Host,
        chunk: usize,
        e: &wgpu::Buffer,
        w: [f64; 2],
    ) -> Result<Held> {
        let (x, d) = (&host.x[chunk], &host.d[chunk]);
        let got = self.read_floats(e, x.len() as u64)?;
        Ok(Held {
            got: got.into_iter().map(|e| [e, 0.0]).collect(),
            want: twin::errors(w, x, d),
            partitioned: false,
            width: 1,
            base: 0,
            covers: Box::new(move |i| format!("chunk {chunk}, sample {i}")),
        })
    }

    /// A first level's partials and their twins from weights `w` (or the errors it read).
    fn partials_held(&self, host: &Host, pass: &Pass, w: [f64; 2]) -> Result<Held> {
        let Pass::Partials {
            chunk,
            e,
            out,
            base,
            groups,
            cover,
        } = pass
        else {
            unreachable!("called for a first level")
        };
        let (x, d) = (&host.x[*chunk], &host.d[*chunk]);
        let errors = match e {
            Some(e) => Some(self.read_floats(e, x.len() as u64)?),
            None => None,
        };
        let groups = u64::from(*groups);
        let (n, cover, chunk) = (x.len() as u64, *cover, *chunk);
        Ok(Held {
            got: self.read_pairs(out, u64::from(*base), groups)?,
            want: twin::partials(w, (x, d), errors.as_deref(), groups, cover),
            partitioned: true,
            width: 2,
            base: u64::from(*base),
            covers: Box::new(move |g| format!("chunk {chunk}, {}", cover.describe(g, n, groups))),
        })
    }

    /// The weights after an update of `w` by `total`, and their twin.
    fn weights_held(&self, w: [f64; 2], total: Sum, step_size: f64) -> Result<Held> {
        // mu and 2/N reach an f64 kernel as f32 pairs (about 48 bits), an f32 one as f32.
        let u_params = match self.real {
            Real::F32 | Real::F16 => twin::unit_roundoff(self.real),
            Real::F64 | Real::Df64 => f64::powi(2.0, -46),
        };
        Ok(Held {
            got: self.read_pairs(&self.w, 0, 1)?,
            want: vec![twin::update(w, total, step_size, u_params)],
            partitioned: false,
            width: 2,
            base: 0,
            covers: Box::new(|_| "the weights".to_string()),
        })
    }

    /// `count` pairs of `buffer` from pair `first`.
    fn read_pairs(&self, buffer: &wgpu::Buffer, first: u64, count: u64) -> Result<Vec<[f64; 2]>> {
        let pair = 2 * self.real.bytes();
        let data = self.read(buffer, first * pair, count * pair)?;
        Ok(data
            .chunks_exact(pair as usize)
            .map(|p| self.real.decode_pair(p))
            .collect())
    }

    /// The first `count` f32 of `buffer`.
    fn read_floats(&self, buffer: &wgpu::Buffer, count: u64) -> Result<Vec<f64>> {
        let data = self.read(buffer, 0, count * 4)?;
        Ok(data
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect())
    }

    /// `bytes` of `buffer` from `offset`.
    fn read(&self, buffer: &wgpu::Buffer, offset: u64, bytes: u64) -> Result<Vec<u8>> {
        let readback = buffers::readback(&self.ctx, bytes.max(4));
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, offset, &readback, 0, bytes);
        self.ctx
            .read_back(encoder, &readback, bytes, "a pass's output")
    }
}

/// One workgroup covering every sample (gpu-persistent's epoch).
const EVERY: twin::Cover = twin::Cover::Tiles { tile: u64::MAX };
