//! The booth's order URL as a QR code, rendered to a standalone SVG.
//!
//! The booth display shows the current order URL (for example
//! `http://192.168.1.20:8080/order?shop=main&code=K7Q2M9XA`) as a large QR code that a phone camera
//! scans from across the booth. [`order_qr_svg`] encodes it at error-correction level M (plenty for
//! a screen, which does not get scratched or dirty, and it keeps the symbol coarser than Q or H
//! would), and draws the modules itself:
//!
//! - dark modules in `--espresso` (`#2B1D14`) on an explicit white (`#FFFFFF`) background, so the
//!   code scans whatever the surrounding page's colours are;
//! - a 4-module quiet zone ([`QUIET_ZONE`]) inside the SVG, so the code scans even when placed edge
//!   to edge;
//! - a `viewBox` in module units, `shape-rendering="crispEdges"` and `width`/`height` of `100%`, so
//!   CSS decides how big it is and the edges stay sharp at any size;
//! - each horizontal run of dark modules as one sub-path of a single `<path>`, so the SVG stays
//!   small;
//! - a `<title>` naming what it is, for screen readers.
//!
//! [`qr_matrix`] exposes the bare module matrix (without the quiet zone), for tests and other
//! renderers. Pure Rust with no I/O: compiles for wasm32 and native targets alike.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// Width of the light border around the symbol, in modules (the QR specification's minimum).
pub const QUIET_ZONE: usize = 4;

/// Colour of dark modules: the palette's `--espresso`.
pub const DARK: &str = "#2B1D14";

/// Colour of light modules and of the quiet zone.
pub const LIGHT: &str = "#FFFFFF";

/// The longest URL, in bytes, that fits a QR code at error-correction level M (version 40, byte
/// mode).
pub const MAX_URL_BYTES: usize = 2331;

/// Why a URL could not be turned into a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The URL does not fit even the largest QR code at error-correction level M.
    #[error("the URL is {len} bytes; a level-M QR code holds at most {MAX_URL_BYTES}")]
    DataTooLong {
        /// Length of the URL, in bytes.
        len: usize,
    },
    /// The encoder rejected the data for another reason (not expected for a URL; reported rather
    /// than panicking).
    #[error("the URL cannot be encoded as a QR code: {0}")]
    Unencodable(String),
}

/// A QR code's modules, without the quiet zone: `width × width`, row by row, `true` = dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    modules: Vec<bool>,
}

impl QrMatrix {
    /// Number of modules along each side (21 for version 1, up to 177 for version 40).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module in column `x`, row `y` is dark. Coordinates past the edge are light: that
    /// is the quiet zone.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules[y * self.width + x]
    }

    /// All modules, row by row (`width * width` of them), `true` = dark.
    pub fn modules(&self) -> &[bool] {
        &self.modules
    }
}

/// Encodes `url` at error-correction level M, choosing the smallest QR version it fits.
pub fn qr_matrix(url: &str) -> Result<QrMatrix, QrError> {
    let code =
        QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).map_err(|e| match e {
            qrcode::types::QrError::DataTooLong => QrError::DataTooLong { len: url.len() },
            other => QrError::Unencodable(other.to_string()),
        })?;
    let modules = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok(QrMatrix {
        width: code.width(),
        modules,
    })
}

/// Renders `url` as a standalone SVG QR code (see the [module docs](self) for what it looks like).
///
/// The result can be written to a `.svg` file or inlined into HTML; it fills its container (`width`
/// and `height` are `100%`), so size it with CSS on a square box.
pub fn order_qr_svg(url: &str) -> Result<String, QrError> {
    let matrix = qr_matrix(url)?;
    let size = matrix.width + 2 * QUIET_ZONE;

    // Writing to a String cannot fail, so the `fmt::Result`s below are ignored.
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {size} {size}""#,
            r#" width="100%" height="100%" shape-rendering="crispEdges">"#
        ),
        size = size
    );
    let _ = write!(svg, "<title>Scan to order: {}</title>", xml_escape(url));
    let _ = write!(
        svg,
        r#"<rect width="{size}" height="{size}" fill="{LIGHT}"/>"#
    );
    let _ = write!(svg, r#"<path fill="{DARK}" d=""#);
    for y in 0..matrix.width {
        let mut x = 0;
        while x < matrix.width {
            if !matrix.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < matrix.width && matrix.is_dark(x, y) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(
                svg,
                "M{} {}h{run}v1h-{run}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
    }
    svg.push_str(r#""/></svg>"#);
    Ok(svg)
}

/// Escapes text for use in XML character data and attribute values.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const URL: &str = "http://192.168.1.20:8080/order?shop=main&code=K7Q2M9XA";
    /// Pixels per module when the SVG is rasterised for the decoder.
    const SCALE: usize = 4;

    /// What a test reads back out of an SVG produced by [`order_qr_svg`].
    struct Raster {
        /// Side of the viewBox, in modules (symbol + quiet zone on both sides).
        size: usize,
        /// `size × size`, row by row, `true` = dark.
        dark: Vec<bool>,
    }

    impl Raster {
        fn is_dark(&self, x: usize, y: usize) -> bool {
            self.dark[y * self.size + x]
        }

        /// Scales up to `SCALE` pixels per module and decodes with rqrr, as a phone camera would.
        fn decode(&self) -> (rqrr::MetaData, String) {
            let px = self.size * SCALE;
            let mut img = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| {
                if self.is_dark(x / SCALE, y / SCALE) {
                    0
                } else {
                    255
                }
            });
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1, "expected exactly one QR code in the image");
            grids[0].decode().unwrap()
        }
    }

    /// The value of attribute `name` in the first tag of `svg` that starts with `tag`.
    fn attr<'a>(svg: &'a str, tag: &str, name: &str) -> &'a str {
        let start = svg.find(tag).unwrap_or_else(|| panic!("no {tag} in SVG"));
        let end = start + svg[start..].find('>').unwrap();
        let element = &svg[start..end];
        let key = format!(" {name}=\"");
        let at = element
            .find(&key)
            .unwrap_or_else(|| panic!("{tag} has no {name}"))
            + key.len();
        let len = element[at..].find('"').unwrap();
        &element[at..at + len]
    }

    /// Parses our own SVG back into a bitmap: the viewBox, the light background rect, and the dark
    /// path, filled with SVG's default non-zero rule (sampled at each module's centre). The path
    /// parser understands M/m, H/h, V/v and Z/z, i.e. axis-aligned outlines.
    fn rasterise(svg: &str) -> Raster {
        let view_box: Vec<usize> = attr(svg, "<svg", "viewBox")
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(view_box[..2], [0, 0]);
        assert_eq!(view_box[2], view_box[3], "the viewBox must be square");
        let size = view_box[2];

        // The background must cover the whole viewBox in the light colour.
        assert_eq!(attr(svg, "<rect", "width"), size.to_string());
        assert_eq!(attr(svg, "<rect", "height"), size.to_string());
        assert_eq!(attr(svg, "<rect", "fill"), LIGHT);
        assert!(!svg.contains("<rect x"), "only the background is a rect");

        assert_eq!(attr(svg, "<path", "fill"), DARK);
        let d = attr(svg, "<path", "d");

        // Vertical edges (x, y0, y1) of every sub-path; horizontal edges don't affect a horizontal
        // ray.
        let mut edges: Vec<(i64, i64, i64)> = Vec::new();
        let (mut cx, mut cy, mut sx, mut sy) = (0i64, 0i64, 0i64, 0i64);
        let mut tokens = tokenize(d).into_iter().peekable();
        while let Some(tok) = tokens.next() {
            let Token::Cmd(cmd) = tok else {
                panic!("path data must start with a command: {d}")
            };
            let mut num = || match tokens.next() {
                Some(Token::Num(n)) => n,
                other => panic!("expected a number after {cmd}, got {other:?}"),
            };
            let (nx, ny) = match cmd {
                'M' => (num(), num()),
                'm' => (cx + num(), cy + num()),
                'H' => (num(), cy),
                'h' => (cx + num(), cy),
                'V' => (cx, num()),
                'v' => (cx, cy + num()),
                'Z' | 'z' => (sx, sy),
                other => panic!("unexpected path command {other}"),
            };
            match cmd {
                'M' | 'm' => (sx, sy) = (nx, ny),
                _ if nx == cx && ny != cy => edges.push((cx, cy, ny)),
                _ => assert!(ny == cy, "only axis-aligned edges are expected"),
            }
            (cx, cy) = (nx, ny);
        }

        let mut dark = vec![false; size * size];
        for y in 0..size {
            for x in 0..size {
                // Sample at the module's centre, doubled to stay in integers.
                let (px, py) = (2 * x as i64 + 1, 2 * y as i64 + 1);
                let winding: i64 = edges
                    .iter()
                    .filter(|&&(ex, y0, y1)| {
                        2 * ex > px && (2 * y0.min(y1) < py) && (py < 2 * y0.max(y1))
                    })
                    .map(|&(_, y0, y1)| (y1 - y0).signum())
                    .sum();
                dark[y * size + x] = winding != 0;
            }
        }
        Raster { size, dark }
    }

    #[derive(Debug)]
    enum Token {
        Cmd(char),
        Num(i64),
    }

    fn tokenize(d: &str) -> Vec<Token> {
        let mut out = Vec::new();
        let mut chars = d.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphabetic() {
                out.push(Token::Cmd(c));
                chars.next();
            } else if c == '-' || c.is_ascii_digit() {
                let mut n = String::from(c);
                chars.next();
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    n.push(d);
                    chars.next();
                }
                out.push(Token::Num(n.parse().unwrap()));
            } else if c == ' ' || c == ',' {
                chars.next();
            } else {
                panic!("unexpected character {c:?} in path data");
            }
        }
        out
    }

    /// A URL of about 200 characters, shaped like a real order URL.
    fn long_url() -> String {
        let url = format!(
            "{}{}{}&lang=en",
            "http://192.168.1.20:8080/order?shop=main-booth-at-the-conference-centre",
            "&code=K7Q2M9XA&return=",
            "%2Fmenu%2Fdrinks%2Fflat-white%3Fsize%3Dlarge%26milk%3Doat".repeat(2)
        );
        assert!(
            (190..=230).contains(&url.len()),
            "long URL is {} chars",
            url.len()
        );
        url
    }

    #[test]
    fn qr_svg_decodes_back_to_the_url() {
        let svg = order_qr_svg(URL).unwrap();
        let (_, text) = rasterise(&svg).decode();
        assert_eq!(text, URL);
    }

    #[test]
    fn qr_svg_of_a_long_url_decodes_back_to_it() {
        let url = long_url();
        let svg = order_qr_svg(&url).unwrap();
        let (meta, text) = rasterise(&svg).decode();
        assert_eq!(text, url);
        assert!(
            meta.version.0 > 5,
            "a 200-char URL needs a larger symbol (got version {})",
            meta.version.0
        );
    }

    #[test]
    fn qr_uses_error_correction_level_m() {
        let (meta, _) = rasterise(&order_qr_svg(URL).unwrap()).decode();
        // rqrr reports the format bits' level indicator: M = 0, L = 1, H = 2, Q = 3.
        assert_eq!(meta.ecc_level, 0);
    }

    #[test]
    fn qr_svg_has_a_light_quiet_zone_of_four_modules() {
        for url in [URL.to_owned(), long_url()] {
            let raster = rasterise(&order_qr_svg(&url).unwrap());
            let width = qr_matrix(&url).unwrap().width();
            assert_eq!(raster.size, width + 2 * QUIET_ZONE);
            for y in 0..raster.size {
                for x in 0..raster.size {
                    let inside = (QUIET_ZONE..QUIET_ZONE + width).contains(&x)
                        && (QUIET_ZONE..QUIET_ZONE + width).contains(&y);
                    if !inside {
                        assert!(
                            !raster.is_dark(x, y),
                            "module ({x}, {y}) of the quiet zone is dark"
                        );
                    }
                }
            }
            // The finder pattern's corner sits right inside the quiet zone.
            assert!(raster.is_dark(QUIET_ZONE, QUIET_ZONE));
        }
    }

    #[test]
    fn qr_svg_draws_exactly_the_matrix() {
        let matrix = qr_matrix(URL).unwrap();
        let raster = rasterise(&order_qr_svg(URL).unwrap());
        for y in 0..matrix.width() {
            for x in 0..matrix.width() {
                assert_eq!(
                    raster.is_dark(x + QUIET_ZONE, y + QUIET_ZONE),
                    matrix.is_dark(x, y),
                    "module ({x}, {y})"
                );
            }
        }
    }

    #[test]
    fn qr_matrix_is_square_and_sized_by_version() {
        let matrix = qr_matrix(URL).unwrap();
        assert_eq!(matrix.modules().len(), matrix.width() * matrix.width());
        assert_eq!((matrix.width() - 17) % 4, 0, "width is 17 + 4 × version");
        assert!(
            !matrix.is_dark(matrix.width(), 0),
            "past the edge is quiet zone"
        );
    }

    #[test]
    fn qr_svg_is_standalone_sized_by_css_and_accessible() {
        let svg = order_qr_svg(URL).unwrap();
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(attr(&svg, "<svg", "xmlns"), "http://www.w3.org/2000/svg");
        assert_eq!(attr(&svg, "<svg", "width"), "100%");
        assert_eq!(attr(&svg, "<svg", "height"), "100%");
        assert_eq!(attr(&svg, "<svg", "shape-rendering"), "crispEdges");
        assert_eq!(attr(&svg, "<svg", "role"), "img");
        // The title is escaped: the URL's `&` would otherwise make the SVG malformed.
        assert!(
            svg.contains(concat!(
                "<title>Scan to order: ",
                "http://192.168.1.20:8080/order?shop=main&amp;code=K7Q2M9XA</title>"
            )),
            "{svg}"
        );
        assert!(!svg.contains("currentColor"));
    }

    #[test]
    fn qr_svg_merges_runs_of_dark_modules() {
        let url = long_url();
        let matrix = qr_matrix(&url).unwrap();
        let svg = order_qr_svg(&url).unwrap();
        let dark = matrix.modules().iter().filter(|&&d| d).count();
        // A run starts at every dark module whose left neighbour is light (or the edge).
        let runs = (0..matrix.width())
            .flat_map(|y| (0..matrix.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| matrix.is_dark(x, y) && (x == 0 || !matrix.is_dark(x - 1, y)))
            .count();
        let subpaths = attr(&svg, "<path", "d").matches('M').count();
        assert_eq!(subpaths, runs, "one sub-path per horizontal run");
        assert!(
            subpaths < dark * 2 / 3,
            "{subpaths} sub-paths for {dark} dark modules"
        );
        assert_eq!(svg.matches("<rect").count(), 1);
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(svg.len() < 40 * 1024, "SVG is {} bytes", svg.len());
    }

    #[test]
    fn qr_too_long_url_is_an_error_not_a_panic() {
        let at_limit = format!("http://x/{}", "a".repeat(MAX_URL_BYTES - "http://x/".len()));
        assert!(
            order_qr_svg(&at_limit).is_ok(),
            "{MAX_URL_BYTES} bytes must still fit"
        );

        let over = format!("{at_limit}a");
        assert_eq!(
            order_qr_svg(&over),
            Err(QrError::DataTooLong {
                len: MAX_URL_BYTES + 1
            })
        );
        let huge = "x".repeat(10_000);
        assert_eq!(qr_matrix(&huge), Err(QrError::DataTooLong { len: 10_000 }));
        assert!(
            QrError::DataTooLong { len: 10_000 }
                .to_string()
                .contains("10000")
        );
    }
}
