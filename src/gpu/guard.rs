//! One GPU row at a time, so a sick device costs that row and no more: a panic inside wgpu
//! (which is how wgpu 30 reports a lost device in some calls) becomes the row's error, and once
//! an adapter's device is lost or a wait on it timed out, its later rows are `unavailable` at once.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use super::context::GpuContext;
use crate::error::{GdError, Result};

thread_local! {
    /// True while this thread runs guarded code: its panics are caught, not printed.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic caught on this thread.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Chains a panic hook that keeps a guarded row's panic quiet (its message becomes the row's
/// error) and leaves every other panic to the hook that was there.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                CAUGHT.with(|c| *c.borrow_mut() = Some(message));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic inside it (wgpu's, naga's) into `Err` with the panic's message on
/// one line, printed nowhere else.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    install_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    outcome.map_err(|_| {
        let message = CAUGHT
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| "(no message)".into());
        crate::error::one_line(&message)
    })
}

/// Runs one GPU row on `ctx`: `unavailable` at once if an earlier row broke the adapter; a
/// panic becomes an error with wgpu's message (saying when the device was lost); a lost device
/// marks the adapter broken for the rows after.
pub fn run_row<T>(ctx: &GpuContext, row: impl FnOnce() -> Result<T>) -> Result<T> {
    if let Some(why) = ctx.broken() {
        return Err(GdError::Unavailable {
            reason: format!("an earlier row broke this adapter: {why}"),
        });
    }
    let result = match catch_panic(row) {
        Ok(result) => result,
        Err(message) => {
            let message = match ctx.alive() {
                Err(lost) => format!("{lost}; the row panicked: {message}"),
                Ok(()) => format!("the row panicked (in wgpu or gdbench): {message}"),
            };
            ctx.mark_broken(&message);
            Err(GdError::Gpu { message })
        }
    };
    if let Err(lost) = ctx.alive() {
        ctx.mark_broken(&lost.to_string());
        return match result {
            Err(GdError::Gpu { message }) if message.contains("device was lost") => {
                Err(GdError::Gpu { message })
            }
            Err(GdError::Gpu { message }) => Err(GdError::Gpu {
                message: format!("{lost}: {message}"),
            }),
            _ => Err(lost),
        };
    }
    result
}
