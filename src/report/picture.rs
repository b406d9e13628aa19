//! The lineage picture of the HTML report: an inline SVG, sources on the left, models on the
//! right, one arrow per flow of personal data coloured by its status (the rawest status of the
//! categories it carries), and each artifact coloured by the rawest status it holds.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Report;
use crate::ledger::Role;
use crate::propagate::Status;

/// Colour of a status (also used by the templates' legend).
pub fn colour(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Direct) => "#c0392b",
        Some(Status::Pseudonymised) => "#d35400",
        Some(Status::Generalised) => "#b7950b",
        Some(Status::Aggregated) => "#1e8449",
        Some(Status::TrainedOn) => "#7d3c98",
        None => "#95a5a6",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(max - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

const W: i64 = 230;
const H: i64 = 46;
const GAP_X: i64 = 90;
const GAP_Y: i64 = 28;
const MARGIN: i64 = 20;

/// The most artifacts a picture draws. Past it only the artifacts that hold personal data are
/// drawn, and past it again none: a picture of thousands of boxes is not read, and one of a
/// ledger of a million steps would be hundreds of megabytes of SVG.
pub const MOST: usize = 400;

/// What the report's lineage picture shows.
pub struct Picture {
    /// The SVG (`<svg id="lineage" ...>`), unless there is nothing or too much to draw.
    pub svg: Option<String>,
    /// How many artifacts hold personal data, when there are more than [`MOST`] artifacts
    /// (only those are drawn, if they are not too many themselves).
    pub holding: Option<usize>,
}

/// The picture of the report's artifacts: every one up to [`MOST`], else those that hold
/// personal data if there are some and not more than that.
pub fn picture(report: &Report) -> Picture {
    let artifacts = report.artifacts.len();
    if artifacts <= MOST {
        return Picture {
            svg: Some(svg(report, &(0..artifacts).collect::<Vec<_>>())),
            holding: None,
        };
    }
    let shown: Vec<usize> = (0..artifacts)
        .filter(|&i| !report.artifacts[i].tags.is_empty())
        .collect();
    let draw = !shown.is_empty() && shown.len() <= MOST;
    Picture {
        svg: draw.then(|| svg(report, &shown)),
        holding: Some(shown.len()),
    }
}

/// The longest chain of flows from a source to each node (`0..n`), in O(nodes + flows): nodes
/// are placed once all their predecessors are. A node on a cycle (a bad import) waits for no
/// predecessor on the cycle: it is placed after those placed, one cycle node at a time.
fn depths(n: usize, flows: &[(usize, usize)]) -> Vec<usize> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for &(from, to) in flows {
        next[from].push(to);
        waiting[to] += 1;
    }
    let mut depth = vec![0usize; n];
    let mut placed = vec![false; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut unplaced = 0;
    loop {
        while let Some(i) = ready.pop() {
            placed[i] = true;
            for &j in &next[i] {
                if placed[j] {
                    continue; // back to a cycle node freed earlier
                }
                depth[j] = depth[j].max(depth[i] + 1);
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    ready.push(j);
                }
            }
        }
        // Only cycles are left: free the first node still waiting.
        while unplaced < n && placed[unplaced] {
            unplaced += 1;
        }
        if unplaced == n {
            return depth;
        }
        waiting[unplaced] = 0;
        ready.push(unplaced);
    }
}

/// The SVG (`<svg id="lineage" ...>`) of the artifacts `shown` (places in `report.artifacts`)
/// and the flows between them.
fn svg(report: &Report, shown: &[usize]) -> String {
    let artifacts: Vec<&super::Artifact> = shown.iter().map(|&i| &report.artifacts[i]).collect();
    let index: BTreeMap<&str, usize> = artifacts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.path.as_str(), i))
        .collect();
    // Flows: (from, to) -> (rawest status, categories).
    let mut flows: BTreeMap<(usize, usize), (Status, Vec<String>)> = BTreeMap::new();
    for (to, a) in artifacts.iter().enumerate() {
        for t in a.tags.iter().chain(a.columns.iter().flat_map(|c| &c.tags)) {
            let Some(from) = t.via.last().and_then(|c| index.get(c.path.as_str())) else {
                continue;
            };
            if *from == to {
                continue;
            }
            let e = flows.entry((*from, to)).or_insert((t.status, Vec::new()));
            e.0 = e.0.min(t.status);
            if !e.1.contains(&t.category) {
                e.1.push(t.category.clone());
            }
        }
    }
    let n = artifacts.len();
    let depth = depths(n, &flows.keys().copied().collect::<Vec<_>>());
    let mut rows = vec![0usize; n];
    let mut per_depth: BTreeMap<usize, usize> = BTreeMap::new();
    for i in 0..n {
        let r = per_depth.entry(depth[i]).or_default();
        rows[i] = *r;
        *r += 1;
    }
    let cols = per_depth.keys().max().map_or(1, |d| d + 1) as i64;
    let max_rows = per_depth.values().max().copied().unwrap_or(1).max(1) as i64;
    let pos = |i: usize| {
        (
            MARGIN + depth[i] as i64 * (W + GAP_X),
            MARGIN + rows[i] as i64 * (H + GAP_Y),
        )
    };
    let width = MARGIN * 2 + cols * W + (cols - 1) * GAP_X;
    let legend_y = MARGIN + max_rows * (H + GAP_Y) + 10;
    let height = legend_y + 30;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="lineage" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="Lineage of personal data">"#
    );
    s.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>"##);
    for (&(from, to), (status, cats)) in &flows {
        let (x1, y1) = pos(from);
        let (x2, y2) = pos(to);
        let (x1, y1) = (x1 + W, y1 + H / 2);
        let y2 = y2 + H / 2;
        let mid = (x1 + x2) / 2;
        let _ = write!(
            s,
            r#"<path class="flow" d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" stroke="{}" stroke-width="2.5" fill="none" marker-end="url(#arrow)"><title>{} → {}: {} ({})</title></path>"#,
            colour(Some(*status)),
            esc(&artifacts[from].path),
            esc(&artifacts[to].path),
            esc(&cats.join(", ")),
            status.as_str()
        );
    }
    for (i, a) in artifacts.iter().enumerate() {
        let (x, y) = pos(i);
        let rawest = a.tags.iter().map(|t| t.status).min();
        let special = a.tags.iter().any(|t| {
            matches!(
                t.gdpr_class,
                crate::rules::GdprClass::Special | crate::rules::GdprClass::Criminal
            )
        });
        let rx = if a.kind == Role::Model { 22 } else { 4 };
        let _ = write!(
            s,
            r##"<g class="artifact"><rect x="{x}" y="{y}" width="{W}" height="{H}" rx="{rx}" fill="#fff" stroke="{}" stroke-width="{}"/>"##,
            colour(rawest),
            if special { 4 } else { 2 }
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="12" font-weight="600">{}</text>"#,
            x + 10,
            y + 19,
            esc(&short(&a.path, 32))
        );
        let what = if a.tags.is_empty() {
            format!("{} · no personal data", a.kind)
        } else {
            format!(
                "{} · {} categor{}{}",
                a.kind,
                a.tags.len(),
                if a.tags.len() == 1 { "y" } else { "ies" },
                if special { " · Art. 9/10" } else { "" }
            )
        };
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="11" fill="#555">{}</text><title>{}</title></g>"##,
            x + 10,
            y + 36,
            esc(&what),
            esc(&a.path)
        );
    }
    let mut lx = MARGIN;
    for st in [
        Some(Status::Direct),
        Some(Status::Pseudonymised),
        Some(Status::Generalised),
        Some(Status::Aggregated),
        Some(Status::TrainedOn),
        None,
    ] {
        let label = st.map_or("no personal data", Status::as_str);
        let _ = write!(
            s,
            r#"<g class="legend"><rect x="{lx}" y="{legend_y}" width="14" height="14" fill="{}"/><text x="{}" y="{}" font-size="11">{label}</text></g>"#,
            colour(st),
            lx + 18,
            legend_y + 11
        );
        lx += 28 + 7 * label.len() as i64;
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_the_longest_chain_of_flows_and_cycles_end() {
        // 0 -> 1 -> 2 and 0 -> 2: 2 is two steps from the source.
        assert_eq!(depths(4, &[(0, 1), (1, 2), (0, 2)]), vec![0, 1, 2, 0]);
        // A cycle 1 -> 2 -> 1 behind 0: placed after 0, in turn, and the walk ends.
        assert_eq!(depths(3, &[(0, 1), (1, 2), (2, 1)]), vec![0, 1, 2]);
        assert_eq!(depths(2, &[(0, 1), (1, 0)]), vec![0, 1]);
        // A long chain is linear, not quadratic.
        let n = 200_000;
        let chain: Vec<(usize, usize)> = (1..n).map(|i| (i - 1, i)).collect();
        assert_eq!(depths(n, &chain)[n - 1], n - 1);
    }
}
