//! The ORF map of a NuVs contig: the contig as a line, each ORF as an arrow in the lane of its
//! strand and frame (three lanes above the line for the forward strand, three below for the
//! reverse), labelled with its HMM annotation and e-value where it has one.

/// One ORF as the map needs it.
pub struct Orf {
    pub index: i64,
    /// Nucleotide positions of the ORF on the contig (`pos` of the results), in any order.
    pub start: i64,
    pub end: i64,
    /// 1 forward, -1 reverse.
    pub strand: i64,
    pub frame: i64,
    /// The best annotation, e.g. `RNA-dependent RNA polymerase · 8.8e-22`.
    pub label: Option<String>,
}

/// An arrow of the map, in pixels.
pub struct Arrow {
    pub index: i64,
    /// `points` of an SVG polygon.
    pub points: String,
    pub label: Option<String>,
    /// Where the label starts, and how many characters fit over the arrow.
    pub label_x: u32,
    pub label_y: u32,
    pub label_fits: usize,
    /// `ORF 3, forward frame 2, 5106–6798`, for the tooltip and screen readers.
    pub title: String,
}

pub struct OrfMap {
    pub width: u32,
    pub height: u32,
    pub line_y: u32,
    pub arrows: Vec<Arrow>,
    /// Axis ticks under the map: `(x in pixels, position)`.
    pub ticks: Vec<(u32, u64)>,
}

const LANE: u32 = 24;
const ARROW: u32 = 10;
const TIP: f64 = 7.0;
/// Roughly the width of a character of the labels, in pixels.
const CHAR: u32 = 6;

/// Lay out the ORFs of a contig of `length` nucleotides on a map `width` pixels wide.
pub fn layout(length: u64, orfs: &[Orf], width: u32) -> OrfMap {
    let line_y = 3 * LANE + 8;
    let height = line_y + 3 * LANE + 28;
    let scale = width as f64 / length.max(1) as f64;
    let px = |p: i64| (p.clamp(0, length as i64) as f64 * scale).clamp(0.0, width as f64);
    let arrows = orfs
        .iter()
        .map(|orf| {
            let (a, b) = (orf.start.min(orf.end), orf.start.max(orf.end));
            let (x0, x1) = (px(a), px(b).max(px(a) + 1.0));
            let forward = orf.strand >= 0;
            let lane = (orf.frame.rem_euclid(3) as u32) + 1;
            let y = if forward {
                line_y - lane * LANE
            } else {
                line_y + lane * LANE - 8
            } as f64;
            let half = ARROW as f64 / 2.0;
            let tip = TIP.min(x1 - x0);
            let points = if forward {
                format!(
                    "{x0:.0},{t:.0} {b:.0},{t:.0} {x1:.0},{y:.0} {b:.0},{u:.0} {x0:.0},{u:.0}",
                    t = y - half,
                    u = y + half,
                    b = x1 - tip,
                )
            } else {
                format!(
                    "{x1:.0},{t:.0} {b:.0},{t:.0} {x0:.0},{y:.0} {b:.0},{u:.0} {x1:.0},{u:.0}",
                    t = y - half,
                    u = y + half,
                    b = x0 + tip,
                )
            };
            let strand = if forward { "forward" } else { "reverse" };
            let frame = orf.frame.rem_euclid(3) + 1;
            Arrow {
                index: orf.index,
                points,
                label: orf.label.clone(),
                label_x: x0.round() as u32,
                label_y: (y + half + 10.0) as u32,
                label_fits: ((x1 - x0) as u32 / CHAR).max(1) as usize,
                title: format!("ORF {}, {strand} frame {frame}, {a}–{b}", orf.index),
            }
        })
        .collect();
    let ticks = super::coverage::ticks(length, 6)
        .into_iter()
        .map(|p| ((p as f64 * scale).round() as u32, p))
        .collect();
    OrfMap {
        width,
        height,
        line_y,
        arrows,
        ticks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orf(index: i64, start: i64, end: i64, strand: i64, frame: i64) -> Orf {
        Orf {
            index,
            start,
            end,
            strand,
            frame,
            label: None,
        }
    }

    #[test]
    fn strands_and_frames_have_their_own_lanes() {
        let map = layout(
            1000,
            &[
                orf(0, 100, 400, 1, 0),
                orf(1, 100, 400, 1, 2),
                orf(2, 600, 900, -1, 1),
            ],
            500,
        );
        let y = |a: &Arrow| -> Vec<u32> {
            a.points
                .split(' ')
                .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
                .collect()
        };
        let (first, second, reverse) = (y(&map.arrows[0]), y(&map.arrows[1]), y(&map.arrows[2]));
        assert!(first.iter().all(|&v| v < map.line_y));
        assert!(
            second.iter().max() < first.iter().min(),
            "frame 3 is further out"
        );
        assert!(reverse.iter().all(|&v| v > map.line_y));
        // Forward arrows point right (the tip is the third point, at the end), reverse ones left.
        assert!(map.arrows[0]
            .points
            .split(' ')
            .nth(2)
            .unwrap()
            .starts_with("200,"));
        assert!(map.arrows[2]
            .points
            .split(' ')
            .nth(2)
            .unwrap()
            .starts_with("300,"));
        assert_eq!(map.arrows[2].title, "ORF 2, reverse frame 2, 600–900");
    }

    #[test]
    fn positions_outside_the_contig_are_clamped() {
        let map = layout(100, &[orf(0, -20, 300, 1, 0)], 100);
        let xs: Vec<u32> = map.arrows[0]
            .points
            .split(' ')
            .map(|p| p.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert!(xs.iter().all(|&x| x <= 100));
        assert_eq!(map.ticks.first(), Some(&(0, 0)));
    }
}
