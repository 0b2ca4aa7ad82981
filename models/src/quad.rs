//! A slot's region in a camera frame: a convex quadrilateral, and the perspective map from the
//! unit square onto it that the slot crop samples through.

use std::fmt;

/// A point in frame pixels: x to the right, y down; pixel (c, r) covers [c, c+1) x [r, r+1).
pub type Point = [f32; 2];

/// A convex quadrilateral with corners top-left, top-right, bottom-right, bottom-left, and its
/// homography from the unit square ((0,0) -> top-left, (1,0) -> top-right, (1,1) ->
/// bottom-right, (0,1) -> bottom-left).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad {
    corners: [Point; 4],
    // x = (a s + b t + c) / (g s + h t + 1), y = (d s + e t + f) / (g s + h t + 1)
    h: [f64; 8],
}

/// Why corners do not make a usable quad.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadError(pub String);

impl fmt::Display for QuadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QuadError {}

/// Smallest area accepted, in square pixels: below it a crop is a smear of one pixel.
const MIN_AREA: f64 = 16.0;

impl Quad {
    /// Checks the corners (finite, clockwise on screen as TL, TR, BR, BL, convex, at least 16
    /// square pixels) and builds the map.
    pub fn new(corners: [Point; 4]) -> Result<Quad, QuadError> {
        if corners.iter().flatten().any(|v| !v.is_finite()) {
            return Err(QuadError(format!(
                "corner coordinates must be numbers, got {corners:?}"
            )));
        }
        let p: Vec<[f64; 2]> = corners.iter().map(|c| [c[0] as f64, c[1] as f64]).collect();
        // With y down, TL -> TR -> BR -> BL turns the same way at every corner: all cross
        // products positive. A negative one is a reflex corner or a wrong corner order.
        for i in 0..4 {
            let a = p[i];
            let b = p[(i + 1) % 4];
            let c = p[(i + 2) % 4];
            let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
            if cross <= 0.0 {
                return Err(QuadError(format!(
                    "corners {corners:?} are not a convex quad in the order top-left, top-right, \
                     bottom-right, bottom-left"
                )));
            }
        }
        let area = shoelace(&p);
        if area < MIN_AREA {
            return Err(QuadError(format!(
                "the quad covers {area:.1} square pixels, at least {MIN_AREA} are needed"
            )));
        }
        let [x0, y0] = p[0];
        let [x1, y1] = p[1];
        let [x2, y2] = p[2];
        let [x3, y3] = p[3];
        let (dx1, dx2, dx3) = (x1 - x2, x3 - x2, x0 - x1 + x2 - x3);
        let (dy1, dy2, dy3) = (y1 - y2, y3 - y2, y0 - y1 + y2 - y3);
        let (g, h) = if dx3.abs() < 1e-12 && dy3.abs() < 1e-12 {
            (0.0, 0.0)
        } else {
            let den = dx1 * dy2 - dx2 * dy1;
            ((dx3 * dy2 - dx2 * dy3) / den, (dx1 * dy3 - dx3 * dy1) / den)
        };
        let map = [
            x1 - x0 + g * x1,
            x3 - x0 + h * x3,
            x0,
            y1 - y0 + g * y1,
            y3 - y0 + h * y3,
            y0,
            g,
            h,
        ];
        Ok(Quad { corners, h: map })
    }

    /// An axis-aligned rectangle.
    pub fn rect(x: f32, y: f32, width: f32, height: f32) -> Result<Quad, QuadError> {
        Quad::new([
            [x, y],
            [x + width, y],
            [x + width, y + height],
            [x, y + height],
        ])
    }

    /// The corners, TL, TR, BR, BL.
    pub fn corners(&self) -> [Point; 4] {
        self.corners
    }

    /// Where unit-square point (s, t) lands in the frame.
    pub fn map(&self, s: f64, t: f64) -> [f64; 2] {
        let [a, b, c, d, e, f, g, h] = self.h;
        let w = g * s + h * t + 1.0;
        [(a * s + b * t + c) / w, (d * s + e * t + f) / w]
    }

    /// Area in square pixels.
    pub fn area(&self) -> f64 {
        let p: Vec<[f64; 2]> = self
            .corners
            .iter()
            .map(|c| [c[0] as f64, c[1] as f64])
            .collect();
        shoelace(&p)
    }

    /// Smallest and largest x and y: `[min_x, min_y, max_x, max_y]`.
    pub fn bounds(&self) -> [f32; 4] {
        let xs = self.corners.map(|c| c[0]);
        let ys = self.corners.map(|c| c[1]);
        let min = |v: [f32; 4]| v.into_iter().fold(f32::INFINITY, f32::min);
        let max = |v: [f32; 4]| v.into_iter().fold(f32::NEG_INFINITY, f32::max);
        [min(xs), min(ys), max(xs), max(ys)]
    }

    /// Whether `point` lies inside (or on the edge of) the quad.
    pub fn contains(&self, point: Point) -> bool {
        (0..4).all(|i| {
            let a = self.corners[i];
            let b = self.corners[(i + 1) % 4];
            (b[0] - a[0]) * (point[1] - a[1]) - (b[1] - a[1]) * (point[0] - a[0]) >= 0.0
        })
    }
}

fn shoelace(p: &[[f64; 2]]) -> f64 {
    let mut twice = 0.0;
    for i in 0..p.len() {
        let a = p[i];
        let b = p[(i + 1) % p.len()];
        twice += a[0] * b[1] - b[0] * a[1];
    }
    twice.abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_map_to_the_unit_square_corners() {
        let q = Quad::new([[10.0, 20.0], [110.0, 30.0], [100.0, 140.0], [5.0, 120.0]]).unwrap();
        for (i, (s, t)) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .iter()
            .enumerate()
        {
            let [x, y] = q.map(*s, *t);
            let c = q.corners()[i];
            assert!(
                (x - c[0] as f64).abs() < 1e-6 && (y - c[1] as f64).abs() < 1e-6,
                "{i}"
            );
        }
        assert!(q.contains([50.0, 80.0]));
        assert!(!q.contains([0.0, 0.0]));
    }

    #[test]
    fn a_rectangle_maps_linearly() {
        let q = Quad::rect(100.0, 50.0, 200.0, 100.0).unwrap();
        assert_eq!(q.map(0.5, 0.5), [200.0, 100.0]);
        assert_eq!(q.area(), 20000.0);
        assert_eq!(q.bounds(), [100.0, 50.0, 300.0, 150.0]);
    }

    #[test]
    fn bad_quads_are_refused_with_a_reason() {
        let bow_tie = [[0.0, 0.0], [100.0, 100.0], [100.0, 0.0], [0.0, 100.0]];
        let reversed = [[0.0, 0.0], [0.0, 100.0], [100.0, 100.0], [100.0, 0.0]];
        let reflex = [[0.0, 0.0], [100.0, 0.0], [20.0, 20.0], [0.0, 100.0]];
        let tiny = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];
        let nan = [[f32::NAN, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]];
        for (name, q) in [
            ("bow tie", bow_tie),
            ("reversed", reversed),
            ("reflex", reflex),
            ("tiny", tiny),
            ("nan", nan),
        ] {
            assert!(Quad::new(q).is_err(), "{name} accepted");
        }
    }
}
