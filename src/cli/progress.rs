//! Progress on stderr: only on a terminal, never with `--quiet` (indicatif hides itself when
//! stderr is not a terminal). A scan's bar says which file of how many, and for the file at
//! hand the bytes and rows done, the throughput and the time left ([`crate::progress`]),
//! refreshed a few times a second by a thread of its own.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Context;
use crate::progress::Meter;

/// A bar over the files of a scan and the work within each, or over one long piece of work;
/// nothing at all when quiet.
pub struct Files {
    bar: Option<ProgressBar>,
    stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

/// How often the bar is redrawn from the meter.
const TICK: Duration = Duration::from_millis(150);

/// A bar for the files of a scan: which of how many, and the meter's reading of the one at hand.
pub fn files(ctx: &Context, meter: &Meter) -> Files {
    bar(
        ctx,
        meter,
        "{spinner} {pos}/{len} files  {elapsed}  {wide_msg}",
    )
}

/// A bar for one long piece of work (reading a ledger): the meter's reading.
pub fn work(ctx: &Context, meter: &Meter) -> Files {
    bar(ctx, meter, "{spinner} {elapsed}  {wide_msg}")
}

fn bar(ctx: &Context, meter: &Meter, template: &str) -> Files {
    let stop = Arc::new(AtomicBool::new(false));
    if ctx.quiet {
        return Files {
            bar: None,
            stop,
            ticker: None,
        };
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ticker = {
        let (bar, meter, stop) = (bar.clone(), meter.clone(), stop.clone());
        std::thread::Builder::new()
            .name("piitrail-progress".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    bar.set_message(meter.reading().describe());
                    bar.tick();
                    std::thread::sleep(TICK);
                }
            })
            .ok()
    };
    Files {
        bar: Some(bar),
        stop,
        ticker,
    }
}

impl Files {
    pub fn step(&self, done: usize, total: usize, _next: &Path) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    }

    /// Clears the bar (as dropping it does, on an early return too).
    pub fn finish(self) {}
}

impl Drop for Files {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
