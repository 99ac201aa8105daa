//! Coverage charts from the prepared coordinates of a Pathoscope analysis: the simplified
//! `align` points (`[x, depth]`, linear between them) are thinned to one value per pixel column
//! — the highest depth over the positions the column covers, so no peak is lost — and drawn as a
//! filled SVG path with at most one point per column.

use std::fmt::Write;

/// One drawable track: a sequence's simplified points and its length in positions.
pub struct Track<'a> {
    pub points: &'a [[u64; 2]],
    pub length: u64,
}

/// The highest depth in each of `columns` equal spans of the tracks laid end to end.
pub fn column_maxima(tracks: &[Track<'_>], columns: usize) -> Vec<u64> {
    let total: u64 = tracks.iter().map(|t| t.length.max(1)).sum();
    let mut maxima = vec![0u64; columns];
    if columns == 0 {
        return maxima;
    }
    let (n, total128) = (columns as u128, total as u128);
    // The column of position `p` of the whole, and the first position of column `c`.
    let column = |p: u64| ((p as u128 * n / total128) as usize).min(columns - 1);
    let start = |c: usize| (c as u128 * total128).div_ceil(n) as u64;
    let mut offset = 0u64;
    for track in tracks {
        let points = track.points;
        if let [[x, y]] = points {
            let c = column(offset + x);
            maxima[c] = maxima[c].max(*y);
        }
        for pair in points.windows(2) {
            // Points come in increasing `x`; a pair that does not is read the other way round.
            let ([x0, y0], [x1, y1]) = match (pair[0], pair[1]) {
                (a, b) if b[0] < a[0] => (b, a),
                (a, b) => (a, b),
            };
            let (c0, c1) = (column(offset + x0), column(offset + x1));
            // In each column the segment crosses, the line is highest at one end of the part
            // of it inside the column.
            for (c, maximum) in maxima.iter_mut().enumerate().take(c1 + 1).skip(c0) {
                let first = (start(c).saturating_sub(offset)).clamp(x0, x1);
                let last = (start(c + 1).saturating_sub(offset + 1)).clamp(x0, x1);
                let depth =
                    interpolate(x0, y0, x1, y1, first).max(interpolate(x0, y0, x1, y1, last));
                *maximum = (*maximum).max(depth);
            }
        }
        offset += track.length.max(1);
    }
    maxima
}

fn interpolate(x0: u64, y0: u64, x1: u64, y1: u64, x: u64) -> u64 {
    if x1 <= x0 {
        return y0.max(y1);
    }
    let (x0, y0, x1, y1, x) = (x0 as i128, y0 as i128, x1 as i128, y1 as i128, x as i128);
    (y0 + (y1 - y0) * (x - x0) / (x1 - x0)).max(0) as u64
}

/// An SVG path (`d`) filling the area under `values` in a `values.len()` × `height` box, scaled so
/// that `top` reaches the top edge. Relative commands keep it short: one `dx,dy` pair a column.
pub fn area_path(values: &[u64], height: u32, top: u64) -> String {
    let top = top.max(1) as f64;
    let y = |v: u64| (height as f64 - (v as f64 / top * height as f64)).round() as i64;
    let Some((&first, rest)) = values.split_first() else {
        return String::new();
    };
    let mut d = String::with_capacity(values.len() * 4 + 16);
    let _ = write!(d, "M0 {height}V{}", y(first));
    let mut previous = y(first);
    for (i, &v) in rest.iter().enumerate() {
        d.push_str(if i == 0 { "l" } else { " " });
        let dy = y(v) - previous;
        // `1-3` needs no separator: the sign starts the second number.
        let _ = if dy < 0 {
            write!(d, "1{dy}")
        } else {
            write!(d, "1 {dy}")
        };
        previous += dy;
    }
    let _ = write!(d, "V{height}z");
    d
}

/// Tick values for an axis from 0 to `max`: 1, 2 or 5 times a power of ten, about `count` of them.
pub fn ticks(max: u64, count: u64) -> Vec<u64> {
    if max == 0 {
        return vec![0];
    }
    let raw = (max as f64 / count.max(1) as f64).max(1.0);
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * power)
        .max(1.0) as u64;
    (0..=max / step).map(|i| i * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The number of `dx dy` pairs after the `l` of a path.
    fn pairs(d: &str) -> usize {
        let Some(start) = d.find('l') else { return 0 };
        let end = d.rfind('V').unwrap();
        let mut numbers = 0;
        let mut in_number = false;
        for c in d[start + 1..end].chars() {
            match c {
                '-' => {
                    numbers += 1;
                    in_number = true;
                }
                '0'..='9' if !in_number => {
                    numbers += 1;
                    in_number = true;
                }
                '0'..='9' => {}
                _ => in_number = false,
            }
        }
        numbers / 2
    }

    fn track(points: &[[u64; 2]], length: u64) -> Vec<u64> {
        column_maxima(&[Track { points, length }], length.min(10) as usize)
    }

    #[test]
    fn one_column_per_position_keeps_every_value() {
        let points = [[0, 1], [1, 5], [2, 2], [9, 2]];
        assert_eq!(track(&points, 10), vec![1, 5, 2, 2, 2, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn peaks_survive_thinning() {
        // 1,000 positions into 10 columns: a one-position spike at 555 stays in column 5.
        let points = [[0, 0], [554, 0], [555, 90], [556, 0], [999, 0]];
        let maxima = column_maxima(
            &[Track {
                points: &points,
                length: 1000,
            }],
            10,
        );
        assert_eq!(maxima, vec![0, 0, 0, 0, 0, 90, 0, 0, 0, 0]);
    }

    #[test]
    fn long_segments_are_interpolated_across_columns() {
        // A ramp from 0 to 100 over 1,000 positions: each column's maximum is its right edge.
        let points = [[0, 0], [999, 100]];
        let maxima = column_maxima(
            &[Track {
                points: &points,
                length: 1000,
            }],
            4,
        );
        assert_eq!(maxima.len(), 4);
        assert!(maxima.windows(2).all(|w| w[0] <= w[1]), "{maxima:?}");
        assert_eq!(maxima[3], 100);
        assert!((20..=30).contains(&maxima[0]), "{maxima:?}");
    }

    #[test]
    fn tracks_are_laid_end_to_end() {
        let a = [[0, 7], [9, 7]];
        let b = [[0, 3], [9, 3]];
        let maxima = column_maxima(
            &[
                Track {
                    points: &a,
                    length: 10,
                },
                Track {
                    points: &b,
                    length: 10,
                },
            ],
            2,
        );
        assert_eq!(maxima, vec![7, 3]);
    }

    #[test]
    fn paths_have_one_pair_per_column() {
        let d = area_path(&[0, 10, 5, 10], 10, 10);
        assert_eq!(d, "M0 10V10l1-10 1 5 1-5V10z");
        assert_eq!(area_path(&[], 10, 1), "");
        assert_eq!(area_path(&[3], 10, 0), "M0 10V-20V10z");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0, 4), vec![0]);
        assert_eq!(ticks(10, 4), vec![0, 5, 10]);
        assert_eq!(ticks(18_659, 5), vec![0, 5000, 10000, 15000]);
        assert_eq!(ticks(3, 4), vec![0, 1, 2, 3]);
    }

    proptest::proptest! {
        #[test]
        fn a_chart_never_has_more_points_than_pixels(
            depths in proptest::collection::vec(0u64..1000, 1..400),
            columns in 1usize..300,
        ) {
            let points: Vec<[u64; 2]> = depths.iter().enumerate().map(|(x, &y)| [x as u64, y]).collect();
            let length = depths.len() as u64;
            let maxima = column_maxima(&[Track { points: &points, length }], columns);
            proptest::prop_assert_eq!(maxima.len(), columns);
            // Thinning never invents a depth and never loses the highest one.
            let top = *depths.iter().max().unwrap();
            proptest::prop_assert_eq!(*maxima.iter().max().unwrap(), top);
            // One relative pair a column after the first.
            let d = area_path(&maxima, 24, top);
            proptest::prop_assert_eq!(pairs(&d), columns - 1);
        }
    }
}
