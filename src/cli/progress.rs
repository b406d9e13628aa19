//! Progress on stderr: only on a terminal, never with `--quiet` (indicatif hides itself when
//! stderr is not a terminal).

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use super::Context;

/// A bar over the files of a scan; nothing at all when quiet.
pub struct Files(Option<ProgressBar>);

pub fn files(ctx: &Context) -> Files {
    if ctx.quiet {
        return Files(None);
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} files  {elapsed}  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Files(Some(bar))
}

impl Files {
    pub fn step(&self, done: usize, total: usize, next: &Path) {
        if let Some(bar) = &self.0 {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(next.display().to_string());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
