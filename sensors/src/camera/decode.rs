//! JPEG/PNG decoding for snapshot cameras and MJPEG buffers. The size is read from the header and
//! checked before a single pixel is decoded (a 20000x20000 header is refused without allocating
//! for it); image's own `Limits` guard the decoder as a second line; an image without its end
//! marker is refused as truncated (a lenient JPEG decoder would otherwise paint the missing half
//! grey, which looks like an empty shelf); and a decoder panic is caught and reported.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::SystemTime;

use image::error::{DecodingError, ImageError, ImageResult};
use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::error::{panic_message, CorruptFrame};
use super::frame::Frame;

/// Default largest width and height of a frame.
pub const DEFAULT_MAX_SIDE: u32 = 4096;
/// Default largest snapshot file (a 4096x4096 JPEG at high quality is well under this).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 32 << 20;

/// Bounds on what a camera may hand in; anything above is a corrupt frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest width in pixels.
    pub max_width: u32,
    /// Largest height in pixels.
    pub max_height: u32,
    /// Largest encoded size in bytes.
    pub max_file_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_width: DEFAULT_MAX_SIDE,
            max_height: DEFAULT_MAX_SIDE,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// Encoded image formats a camera may deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// JPEG (also each MJPEG frame).
    Jpeg,
    /// PNG.
    Png,
}

/// What an image's header says, read without decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// Format from the signature.
    pub kind: ImageKind,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
/// The IEND chunk every complete PNG ends with (length 0, type, CRC).
const PNG_IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

/// Reads format and size from the first bytes of a JPEG or PNG; no pixel data is touched.
pub fn read_header(bytes: &[u8]) -> Result<ImageHeader, CorruptFrame> {
    if bytes.is_empty() {
        return Err(CorruptFrame::Empty);
    }
    let (kind, (width, height)) = if bytes.starts_with(&PNG_SIGNATURE) {
        (ImageKind::Png, png_size(bytes)?)
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        (ImageKind::Jpeg, jpeg_size(bytes)?)
    } else {
        return Err(CorruptFrame::NotAnImage);
    };
    if width == 0 || height == 0 {
        return Err(CorruptFrame::BadHeader(format!(
            "header claims {width}x{height}"
        )));
    }
    Ok(ImageHeader {
        kind,
        width,
        height,
    })
}

fn png_size(b: &[u8]) -> Result<(u32, u32), CorruptFrame> {
    // Signature, then the IHDR chunk: length 13, "IHDR", width, height (big-endian).
    let ihdr = b
        .get(8..24)
        .ok_or(CorruptFrame::Truncated("PNG ends inside its header"))?;
    if ihdr[4..8] != *b"IHDR" {
        return Err(CorruptFrame::BadHeader(
            "PNG does not start with IHDR".into(),
        ));
    }
    let be = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
    Ok((be(&ihdr[8..12]), be(&ihdr[12..16])))
}

fn jpeg_size(b: &[u8]) -> Result<(u32, u32), CorruptFrame> {
    const CUT: CorruptFrame = CorruptFrame::Truncated("JPEG ends before its frame header");
    let mut i = 2;
    loop {
        if *b.get(i).ok_or(CUT)? != 0xFF {
            return Err(CorruptFrame::BadHeader(format!(
                "JPEG: no marker at byte {i}"
            )));
        }
        while b.get(i) == Some(&0xFF) {
            i += 1; // fill bytes
        }
        let marker = *b.get(i).ok_or(CUT)?;
        i += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue, // markers without a segment
            0xD9 => {
                return Err(CorruptFrame::BadHeader(
                    "JPEG: end of image before a frame header".into(),
                ))
            }
            0xDA => {
                return Err(CorruptFrame::BadHeader(
                    "JPEG: scan before a frame header".into(),
                ))
            }
            0x00 => return Err(CorruptFrame::BadHeader("JPEG: stray 0xFF00".into())),
            _ => {}
        }
        let len = b.get(i..i + 2).ok_or(CUT)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            return Err(CorruptFrame::BadHeader(format!(
                "JPEG: segment length {len}"
            )));
        }
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): length, precision, height, width.
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let sof = b.get(i..i + 7).ok_or(CUT)?;
            let height = u16::from_be_bytes([sof[3], sof[4]]);
            let width = u16::from_be_bytes([sof[5], sof[6]]);
            return Ok((u32::from(width), u32::from(height)));
        }
        i += len;
    }
}

/// Refuses an image whose end marker is missing (trailing zero padding is tolerated).
fn check_complete(kind: ImageKind, bytes: &[u8]) -> Result<(), CorruptFrame> {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(&bytes[..0], |last| &bytes[..=last]);
    // The IEND chunk ends in a non-zero CRC byte, so the trim above never eats into it.
    match kind {
        ImageKind::Jpeg if !end.ends_with(&[0xFF, 0xD9]) => Err(CorruptFrame::Truncated(
            "JPEG has no end-of-image marker (cut off or still being written)",
        )),
        ImageKind::Png if !end.ends_with(&PNG_IEND) => Err(CorruptFrame::Truncated(
            "PNG has no IEND chunk (cut off or still being written)",
        )),
        _ => Ok(()),
    }
}

/// Decodes a JPEG or PNG into an RGB8 [`Frame`] within `limits`.
pub fn decode_frame(
    bytes: &[u8],
    limits: &DecodeLimits,
    captured: SystemTime,
    seq: u64,
) -> Result<Frame, CorruptFrame> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(CorruptFrame::FileTooLarge {
            len: bytes.len() as u64,
            max: limits.max_file_bytes,
        });
    }
    let header = read_header(bytes)?;
    if header.width > limits.max_width || header.height > limits.max_height {
        return Err(CorruptFrame::TooLarge {
            width: header.width,
            height: header.height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    check_complete(header.kind, bytes)?;
    let (width, height, pixels) = decode_within(bytes, header, limits)?;
    Ok(Frame {
        width,
        height,
        pixels,
        captured,
        seq,
    })
}

/// Runs image's decoder with its own limits set to the header's size, catching panics. RGB8
/// images (nearly every camera JPEG) are decoded straight into the frame's shared buffer, so
/// there is no second copy of the picture.
fn decode_within(
    bytes: &[u8],
    header: ImageHeader,
    limits: &DecodeLimits,
) -> Result<(u32, u32, Arc<[u8]>), CorruptFrame> {
    let format = match header.kind {
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Png => ImageFormat::Png,
    };
    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    // The decoded image at up to 16-bit RGBA, plus the decoder's working buffers.
    let pixels = u64::from(header.width) * u64::from(header.height);
    image_limits.max_alloc = Some(pixels * 8 + (16 << 20));
    let decoded = catch_unwind(AssertUnwindSafe(
        || -> ImageResult<(u32, u32, Arc<[u8]>)> {
            let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
            reader.limits(image_limits);
            let decoder = reader.into_decoder()?;
            let (width, height) = decoder.dimensions();
            if (width, height) != (header.width, header.height) {
                return Err(ImageError::Decoding(DecodingError::new(
                    format.into(),
                    format!(
                        "decoder sees {width}x{height} but the header said {}x{}",
                        header.width, header.height
                    ),
                )));
            }
            if decoder.color_type() == ColorType::Rgb8 {
                let len = usize::try_from(decoder.total_bytes()).unwrap_or(usize::MAX);
                let mut pixels: Arc<[u8]> = std::iter::repeat_n(0u8, len).collect();
                if let Some(out) = Arc::get_mut(&mut pixels) {
                    decoder.read_image(out)?;
                    return Ok((width, height, pixels));
                }
                // Unreachable (the Arc was just made); fall back to an owned decode.
                let rgb = DynamicImage::from_decoder(decoder)?.into_rgb8();
                return Ok((width, height, Arc::from(rgb.into_raw())));
            }
            let rgb = DynamicImage::from_decoder(decoder)?.into_rgb8();
            Ok((rgb.width(), rgb.height(), Arc::from(rgb.into_raw())))
        },
    ));
    match decoded {
        Ok(Ok(decoded)) => Ok(decoded),
        Ok(Err(e)) => Err(CorruptFrame::Decode(e.to_string())),
        Err(panic) => Err(CorruptFrame::Panicked(panic_message(panic.as_ref()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut b = PNG_SIGNATURE.to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    fn jpeg_header(width: u16, height: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        // An APP0 segment to skip, then SOF0.
        b.extend_from_slice(&[0xFF, 0xE0, 0, 4, 0, 0]);
        b.extend_from_slice(&[0xFF, 0xFF, 0xC0, 0, 11, 8]);
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&[1, 1, 0x11, 0]);
        b
    }

    #[test]
    fn header_sizes_are_read_without_decoding() {
        let h = read_header(&png_header(640, 480)).unwrap();
        assert_eq!((h.kind, h.width, h.height), (ImageKind::Png, 640, 480));
        let h = read_header(&jpeg_header(1280, 720)).unwrap();
        assert_eq!((h.kind, h.width, h.height), (ImageKind::Jpeg, 1280, 720));
    }

    #[test]
    fn oversized_headers_are_refused_before_decoding() {
        let limits = DecodeLimits::default();
        for bytes in [png_header(20_000, 20_000), jpeg_header(20_000, 20_000)] {
            let err = decode_frame(&bytes, &limits, SystemTime::now(), 0).unwrap_err();
            assert!(matches!(err, CorruptFrame::TooLarge { width: 20_000, .. }));
            assert!(err.to_string().contains("refused before decoding"), "{err}");
        }
    }

    #[test]
    fn garbage_and_cut_headers_are_corrupt_not_panics() {
        assert_eq!(read_header(b""), Err(CorruptFrame::Empty));
        assert_eq!(read_header(b"GIF89a"), Err(CorruptFrame::NotAnImage));
        let jpeg = jpeg_header(64, 64);
        for cut in 2..jpeg.len() - 4 {
            assert!(read_header(&jpeg[..cut]).is_err(), "cut at {cut}");
        }
        let png = png_header(64, 64);
        for cut in 8..24 {
            assert!(read_header(&png[..cut]).is_err(), "cut at {cut}");
        }
        assert!(read_header(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]).is_err());
        assert!(read_header(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1]).is_err());
        assert!(read_header(&png_header(0, 10)).is_err());
    }

    #[test]
    fn a_jpeg_without_its_end_marker_is_truncated() {
        let frame = Frame::from_rgb(16, 16, vec![200; 16 * 16 * 3], SystemTime::now(), 0).unwrap();
        let jpeg = frame.encode_jpeg(90).unwrap();
        let limits = DecodeLimits::default();
        let ok = decode_frame(&jpeg, &limits, SystemTime::now(), 3).unwrap();
        assert_eq!((ok.width, ok.height, ok.seq), (16, 16, 3));
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        assert!(decode_frame(&padded, &limits, SystemTime::now(), 0).is_ok());
        let cut = &jpeg[..jpeg.len() - 10];
        assert!(matches!(
            decode_frame(cut, &limits, SystemTime::now(), 0),
            Err(CorruptFrame::Truncated(_))
        ));
    }

    #[test]
    fn image_limits_guard_the_decoder_too() {
        let frame = Frame::from_rgb(32, 32, vec![7; 32 * 32 * 3], SystemTime::now(), 0).unwrap();
        let jpeg = frame.encode_jpeg(90).unwrap();
        let header = read_header(&jpeg).unwrap();
        let small = DecodeLimits {
            max_width: 16,
            max_height: 16,
            ..DecodeLimits::default()
        };
        // Straight to the decoder, past the header check: image's own limits refuse it.
        assert!(matches!(
            decode_within(&jpeg, header, &small),
            Err(CorruptFrame::Decode(_))
        ));
    }

    #[test]
    fn file_size_limit_is_checked_first() {
        let limits = DecodeLimits {
            max_file_bytes: 10,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode_frame(&[0u8; 11], &limits, SystemTime::now(), 0),
            Err(CorruptFrame::FileTooLarge { len: 11, max: 10 })
        ));
    }
}
