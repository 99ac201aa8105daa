//! Pathoscope depth arrays turned into `[x, depth]` coordinates (contract §9.1): run-length
//! compaction, then Visvalingam–Whyatt elimination down to 40 % of the points.

/// Up to this many compacted points the curve is returned as is (Virtool's threshold).
const SIMPLIFY_ABOVE: usize = 100;

/// The `align` coordinates of one hit: step A ([`compact`]), then, above 100 points, exactly
/// `floor(2N / 5)` of the `N` points, chosen by Visvalingam–Whyatt elimination.
///
/// Panics when `depths` has 2^32 values or more (x and indices are `u32`).
pub fn to_coordinates(depths: &[u32]) -> Vec<[u32; 2]> {
    let mut points = compact(depths);
    let n = points.len();
    if n > SIMPLIFY_ABOVE {
        simplify(&mut points, n * 2 / 5, u32::MAX);
    }
    points
}

/// Step A: the first and last positions, and every interior position that starts or ends a run
/// of equal depths.
///
/// Panics when `depths` has 2^32 values or more.
pub fn compact(depths: &[u32]) -> Vec<[u32; 2]> {
    let Some(&last) = depths.last() else {
        return Vec::new();
    };
    assert!(depths.len() <= u32::MAX as usize, "coverage array too long");
    if depths.len() == 1 {
        return vec![[0, last]];
    }
    let starts_or_ends_run = |w: &&[u32]| w[1] != w[0] || w[1] != w[2];
    // Counting first sizes the vector exactly: on millions of values, growing it would copy
    // repeatedly and leave up to twice the memory allocated.
    let interior = depths.windows(3).filter(starts_or_ends_run).count();
    let mut points = Vec::with_capacity(interior + 2);
    points.push([0, depths[0]]);
    points.extend(
        depths
            .windows(3)
            .enumerate()
            .filter(|(_, w)| starts_or_ends_run(w))
            .map(|(i, w)| [(i + 1) as u32, w[1]]),
    );
    points.push([(depths.len() - 1) as u32, last]);
    points
}

/// Marks a removed point in `Simplifier::slot`.
const REMOVED: u32 = u32::MAX;

/// Heap arity: 4 children of 16 bytes share a cache line or two, and halve the depth of a
/// binary heap. Measured fastest of 2, 4 and 8 on 20 million points.
const ARITY: usize = 4;

/// A heap entry packs `(area, stamp, index)` into one `u128` whose order is the elimination
/// order: 16 bytes instead of a 24-byte struct. The index never decides, as stamps are unique.
fn pack(area: u64, stamp: u32, index: usize) -> u128 {
    (u128::from(area) << 64) | (u128::from(stamp) << 32) | index as u128
}

fn area_of(entry: u128) -> u64 {
    (entry >> 64) as u64
}

fn index_of(entry: u128) -> usize {
    entry as u32 as usize
}

/// Visvalingam–Whyatt state: the points as a linked list (`prev`/`next` indices) and an indexed
/// min-heap of their areas, where `slot[i]` locates point `i`'s entry.
///
/// An indexed heap rather than lazy deletion: a recomputed area replaces its entry in place, so
/// no stale entry is ever popped (they were most of the pops) and the heap never grows. That ran
/// 2–4 times faster on millions of points, where every heap level is a cache miss.
struct Simplifier<'a> {
    points: &'a [[u32; 2]],
    prev: Vec<u32>,
    next: Vec<u32>,
    slot: Vec<u32>,
    heap: Vec<u128>,
    counter: u32,
    stamp_limit: u32,
}

impl<'a> Simplifier<'a> {
    /// Initial areas and stamps, left to right. Needs at least 3 points, fewer than `stamp_limit`.
    fn new(points: &'a [[u32; 2]], stamp_limit: u32) -> Self {
        let n = points.len();
        debug_assert!(n >= 3 && n as u64 <= u64::from(stamp_limit));
        // Interior point i starts in slot i − 1; the endpoints' slots are never read.
        let mut s = Simplifier {
            points,
            prev: (0..n as u32).map(|i| i.saturating_sub(1)).collect(),
            next: (1..=n as u32).collect(),
            slot: (0..n as u32).map(|i| i.saturating_sub(1)).collect(),
            heap: Vec::with_capacity(n - 2),
            counter: 0,
            stamp_limit,
        };
        for i in 1..n - 1 {
            let entry = pack(s.area(i - 1, i, i + 1), s.next_stamp(), i);
            s.heap.push(entry);
        }
        for k in (0..=(n - 2).saturating_sub(2) / ARITY).rev() {
            s.sift_down(k, s.heap[k]);
        }
        s
    }

    /// Twice the triangle's area. Exact in i128; it fits a `u64` because twice a triangle's
    /// area is at most its bounding box's, and both sides are below 2^32.
    fn area(&self, a: usize, b: usize, c: usize) -> u64 {
        let [x1, y1] = self.points[a].map(i128::from);
        let [x2, y2] = self.points[b].map(i128::from);
        let [x3, y3] = self.points[c].map(i128::from);
        (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)).unsigned_abs() as u64
    }

    fn next_stamp(&mut self) -> u32 {
        self.counter += 1;
        self.counter - 1
    }

    fn place(&mut self, k: usize, entry: u128) {
        self.heap[k] = entry;
        self.slot[index_of(entry)] = k as u32;
    }

    fn sift_up(&mut self, mut k: usize, entry: u128) {
        while k > 0 {
            let parent = (k - 1) / ARITY;
            if self.heap[parent] <= entry {
                break;
            }
            self.place(k, self.heap[parent]);
            k = parent;
        }
        self.place(k, entry);
    }

    fn sift_down(&mut self, mut k: usize, entry: u128) {
        let len = self.heap.len();
        loop {
            let first = ARITY * k + 1;
            if first >= len {
                break;
            }
            let mut child = first;
            for c in first + 1..(first + ARITY).min(len) {
                if self.heap[c] < self.heap[child] {
                    child = c;
                }
            }
            if self.heap[child] >= entry {
                break;
            }
            self.place(k, self.heap[child]);
            k = child;
        }
        self.place(k, entry);
    }

    /// Removes the point with the smallest `(area, stamp)` and returns its area and index.
    fn pop(&mut self) -> (u64, usize) {
        let top = self.heap[0];
        let last = self.heap.pop().expect("an interior point remains");
        if !self.heap.is_empty() {
            self.sift_down(0, last);
        }
        self.slot[index_of(top)] = REMOVED;
        (area_of(top), index_of(top))
    }

    /// Recomputes `i`'s area against its current neighbours, raised to `floor`, new stamp.
    fn requeue(&mut self, i: usize, floor: u64) {
        let area = self
            .area(self.prev[i] as usize, i, self.next[i] as usize)
            .max(floor);
        if self.counter == self.stamp_limit {
            self.renumber();
        }
        let entry = pack(area, self.next_stamp(), i);
        let k = self.slot[i] as usize;
        if entry < self.heap[k] {
            self.sift_up(k, entry);
        } else {
            self.sift_down(k, entry);
        }
    }

    /// Reissues stamps 0, 1, … in `(area, stamp)` order once they run out (past 4 billion).
    /// Relative order is unchanged and later stamps stay above them all; a sorted array is
    /// already a heap.
    fn renumber(&mut self) {
        let mut heap = std::mem::take(&mut self.heap);
        heap.sort_unstable();
        self.counter = 0;
        for (k, entry) in heap.iter_mut().enumerate() {
            *entry = pack(area_of(*entry), self.next_stamp(), index_of(*entry));
            self.slot[index_of(*entry)] = k as u32;
        }
        self.heap = heap;
    }
}

/// Keeps `keep` (at least 2) of `points` (at least 3, increasing x), in place. Stamps stay below
/// `stamp_limit`; tests lower it to exercise [`Simplifier::renumber`].
fn simplify(points: &mut Vec<[u32; 2]>, keep: usize, stamp_limit: u32) {
    let last = points.len() - 1;
    let mut s = Simplifier::new(points, stamp_limit);
    for _ in keep..points.len() {
        let (area, i) = s.pop();
        let (l, r) = (s.prev[i], s.next[i]);
        s.next[l as usize] = r;
        s.prev[r as usize] = l;
        if l != 0 {
            s.requeue(l as usize, area);
        }
        if r as usize != last {
            s.requeue(r as usize, area);
        }
    }
    let slot = s.slot;
    let mut i = 0;
    points.retain(|_| {
        i += 1;
        slot[i - 1] != REMOVED
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(json: &str) -> Vec<[u32; 2]> {
        serde_json::from_str(json).unwrap()
    }

    /// The contract's rules followed literally, in O(N²), as an oracle for the heap version.
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

    #[test]
    fn small_vectors() {
        assert!(to_coordinates(&[]).is_empty());
        assert_eq!(to_coordinates(&[5]), [[0, 5]]);
        assert_eq!(to_coordinates(&[1, 2]), [[0, 1], [1, 2]]);
        assert_eq!(to_coordinates(&[3, 3, 3]), [[0, 3], [2, 3]]);
        assert_eq!(
            to_coordinates(&[0, 0, 1, 1, 2, 3, 3, 3, 4, 4, 3, 2]),
            parse("[[0,0],[1,0],[2,1],[3,1],[4,2],[5,3],[7,3],[8,4],[9,4],[10,3],[11,2]]")
        );
    }

    #[test]
    fn vector_112_values_stays_unsimplified() {
        let c: Vec<u32> = serde_json::from_str(concat!(
            "[0,0,0,1,1,1,0,0,1,1,1,2,2,2,2,2,3,3,3,2,2,2,5,5,4,4,3,3,2,2,1,1,5,5,5,6,6,6,7,8,7,",
            "6,5,5,5,5,4,3,2,6,7,9,0,0,0,0,0,1,1,2,2,3,3,4,4,5,5,5,6,6,6,7,7,8,7,7,6,6,5,5,5,5,5,",
            "5,5,5,4,4,4,4,4,4,3,3,3,3,4,3,2,2,2,2,2,2,2,2,1,1,2,3,2,3]"
        ))
        .unwrap();
        assert_eq!(c.len(), 112);
        let out = to_coordinates(&c);
        assert_eq!(out.len(), 77);
        assert_eq!(out, compact(&c));
        assert_eq!((out[0], out[76]), ([0, 0], [111, 3]));
    }

    #[test]
    fn vector_a() {
        let c: Vec<u32> = (0..130).map(|i| (7 * i) % 13).collect();
        assert_eq!(compact(&c).len(), 130);
        let expected = parse(concat!(
            "[[0,0],[4,2],[8,4],[11,12],[13,0],[17,2],[21,4],[24,12],[26,0],[30,2],[34,4],[37,12],",
            "[39,0],[43,2],[47,4],[50,12],[52,0],[56,2],[60,4],[63,12],[65,0],[69,2],[73,4],[76,12],",
            "[78,0],[80,1],[82,2],[84,3],[86,4],[88,5],[89,12],[91,0],[93,1],[95,2],[97,3],[99,4],",
            "[101,5],[102,12],[104,0],[106,1],[108,2],[110,3],[112,4],[114,5],[115,12],[117,0],",
            "[119,1],[121,2],[123,3],[125,4],[127,5],[129,6]]"
        ));
        assert_eq!(expected.len(), 52);
        assert_eq!(to_coordinates(&c), expected);
    }

    #[test]
    fn vector_b() {
        let c: Vec<u32> = (0..600).map(|i| (3 * (i / 4)) % 11).collect();
        assert_eq!(compact(&c).len(), 300);
        let expected = parse(concat!(
            "[[0,0],[15,9],[16,1],[31,10],[32,2],[43,8],[44,0],[52,6],[59,9],[60,1],[68,7],[75,10],",
            "[76,2],[84,8],[87,8],[88,0],[96,6],[103,9],[104,1],[112,7],[119,10],[120,2],[128,8],",
            "[131,8],[132,0],[140,6],[147,9],[148,1],[156,7],[163,10],[164,2],[172,8],[175,8],",
            "[176,0],[184,6],[191,9],[192,1],[200,7],[207,10],[208,2],[216,8],[219,8],[220,0],",
            "[228,6],[235,9],[236,1],[244,7],[251,10],[252,2],[260,8],[263,8],[264,0],[272,6],",
            "[279,9],[280,1],[288,7],[295,10],[296,2],[304,8],[307,8],[308,0],[316,6],[323,9],",
            "[324,1],[332,7],[339,10],[340,2],[348,8],[351,8],[352,0],[360,6],[367,9],[368,1],",
            "[376,7],[383,10],[384,2],[392,8],[395,8],[396,0],[404,6],[411,9],[412,1],[420,7],",
            "[427,10],[428,2],[436,8],[439,8],[440,0],[448,6],[455,9],[456,1],[464,7],[471,10],",
            "[472,2],[480,8],[483,8],[484,0],[492,6],[499,9],[500,1],[508,7],[515,10],[516,2],",
            "[524,8],[527,8],[528,0],[536,6],[543,9],[544,1],[552,7],[559,10],[560,2],[568,8],",
            "[571,8],[572,0],[580,6],[587,9],[588,1],[596,7],[599,7]]"
        ));
        assert_eq!(expected.len(), 120);
        assert_eq!(to_coordinates(&c), expected);
    }

    #[test]
    fn real_pathoscope_hits() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/pathoscope/results.fitted.derived.json"
        );
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let hit = |id: &str| -> Vec<u32> {
            let hits = raw["hits"].as_array().unwrap();
            let hit = hits.iter().find(|h| h["id"] == id).unwrap();
            serde_json::from_value(hit["align"].clone()).unwrap()
        };
        let c = hit("agqp7kdv");
        assert_eq!(c.len(), 18_659);
        let out = to_coordinates(&c);
        assert_eq!(out.len(), 2_892);
        assert_eq!((out[0], out[out.len() - 1]), ([0, 0], [18_658, 3]));
        let out = to_coordinates(&hit("d1qg8xzo"));
        assert_eq!((out.len(), out[out.len() - 1]), (624, [3_773, 0]));
    }

    #[test]
    fn largest_area_fits() {
        // Removing [2^32 − 2, 0] gives [1, 2^32 − 1] twice the area (2^32 − 1)², the largest.
        let mut points = vec![[0, 0], [1, u32::MAX], [u32::MAX - 1, 0], [u32::MAX, 0]];
        assert_eq!(naive(&points, 3), [[0, 0], [1, u32::MAX], [u32::MAX, 0]]);
        simplify(&mut points, 3, u32::MAX);
        assert_eq!(points, [[0, 0], [1, u32::MAX], [u32::MAX, 0]]);
    }

    /// Depths with few distinct values: long runs and many tied areas, the cases stamps decide.
    fn depths() -> impl Strategy<Value = Vec<u32>> {
        prop_oneof![
            prop::collection::vec(0u32..4, 0..700),
            prop::collection::vec(0u32..1_000, 0..400),
            prop::collection::vec(prop_oneof![Just(0u32), Just(u32::MAX), 0u32..3], 90..400),
        ]
    }

    proptest! {
        #[test]
        fn properties(c in depths()) {
            let out = to_coordinates(&c);
            let n = compact(&c).len();
            prop_assert_eq!(out.len(), if n > 100 { n * 2 / 5 } else { n });
            prop_assert!(out.len() <= c.len());
            if let (Some(first), Some(last)) = (out.first(), out.last()) {
                prop_assert_eq!(*first, [0, c[0]]);
                prop_assert_eq!(*last, [c.len() as u32 - 1, c[c.len() - 1]]);
            }
            prop_assert!(out.windows(2).all(|w| w[0][0] < w[1][0]));
            for p in &out {
                prop_assert_eq!(p[1], c[p[0] as usize]);
            }
        }

        #[test]
        fn matches_naive_elimination(c in depths(), slack in prop_oneof![0..20u32, Just(u32::MAX)]) {
            let mut points = compact(&c);
            prop_assume!(points.len() > 100);
            let keep = points.len() * 2 / 5;
            let expected = naive(&points, keep);
            prop_assert_eq!(&to_coordinates(&c), &expected);
            // A stamp limit near N forces a renumbering every few removals.
            let limit = (points.len() as u32).saturating_add(slack);
            simplify(&mut points, keep, limit);
            prop_assert_eq!(points, expected);
        }

        #[test]
        fn wide_coordinates_match_naive(
            steps in prop::collection::vec(
                (1..=u32::MAX / 400, prop_oneof![Just(0), Just(u32::MAX), any::<u32>()]),
                101..400,
            ),
        ) {
            let mut x = 0;
            let mut points = Vec::new();
            for (dx, y) in steps {
                points.push([x, y]);
                x += dx;
            }
            let keep = points.len() * 2 / 5;
            let expected = naive(&points, keep);
            simplify(&mut points, keep, u32::MAX);
            prop_assert_eq!(points, expected);
        }
    }
}
