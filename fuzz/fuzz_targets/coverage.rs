//! Pathoscope depth arrays → `align` coordinates (contract §9.1): `coverage::to_coordinates`,
//! checked against the contract's rules and, for short inputs, against a literal O(N²)
//! Visvalingam–Whyatt.
//!
//! Input: byte 0 picks the encoding of the depths in the rest: one byte each, one byte each
//! folded to 0–3 (long runs, many tied areas), or little-endian `u32`s.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vira::format::coverage::{compact, to_coordinates};

/// The contract's elimination followed literally: smallest (area, stamp) first, neighbours
/// re-stamped with areas raised to the removed one.
fn naive(points: &[[u32; 2]], keep: usize) -> Vec<[u32; 2]> {
    let twice = |a: [u32; 2], b: [u32; 2], c: [u32; 2]| {
        let [x1, y1, x2, y2, x3, y3] = [a[0], a[1], b[0], b[1], c[0], c[1]].map(i128::from);
        (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)).abs()
    };
    let mut counter = 0u64;
    let mut pts: Vec<([u32; 2], i128, u64)> = points.iter().map(|&p| (p, 0, 0)).collect();
    for j in 1..pts.len() - 1 {
        pts[j].1 = twice(pts[j - 1].0, pts[j].0, pts[j + 1].0);
        pts[j].2 = counter;
        counter += 1;
    }
    while pts.len() > keep {
        let j = (1..pts.len() - 1)
            .min_by_key(|&j| (pts[j].1, pts[j].2))
            .unwrap();
        let removed = pts.remove(j).1;
        for k in [j - 1, j] {
            if k > 0 && k < pts.len() - 1 {
                pts[k].1 = twice(pts[k - 1].0, pts[k].0, pts[k + 1].0).max(removed);
                pts[k].2 = counter;
                counter += 1;
            }
        }
    }
    pts.into_iter().map(|p| p.0).collect()
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    let depths: Vec<u32> = match mode % 3 {
        0 => rest.iter().map(|&b| u32::from(b)).collect(),
        1 => rest.iter().map(|&b| u32::from(b % 4)).collect(),
        _ => rest
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
    };
    let out = to_coordinates(&depths);
    let compacted = compact(&depths);
    let n = compacted.len();
    assert_eq!(out.len(), if n > 100 { n * 2 / 5 } else { n });
    let (Some(first), Some(last)) = (out.first(), out.last()) else {
        assert!(depths.is_empty());
        return;
    };
    assert_eq!(*first, [0, depths[0]], "first point kept");
    let end = depths.len() as u32 - 1;
    assert_eq!(*last, [end, depths[depths.len() - 1]], "last point kept");
    for pair in out.windows(2) {
        assert!(
            pair[0][0] < pair[1][0],
            "x not strictly increasing: {pair:?}"
        );
    }
    for point in &out {
        assert_eq!(
            point[1], depths[point[0] as usize],
            "point {point:?} is not on the curve"
        );
    }
    for point in &compacted {
        assert_eq!(point[1], depths[point[0] as usize]);
    }
    if n > 100 && n <= 400 {
        assert_eq!(
            out,
            naive(&compacted, n * 2 / 5),
            "differs from the literal algorithm"
        );
    }
});
