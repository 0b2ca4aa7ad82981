//! Line framer: cuts the byte stream of a serial device into complete, bounded text lines.
//!
//! CR, LF and CRLF all end a line (a CR then LF is one line end followed by an empty line, and
//! empty lines are skipped, so CRLF needs no state across reads). A line longer than the bound
//! is discarded up to the next line end and reported once as [`Framed::Overlong`]; the framer is
//! then in step again. A line that is not valid UTF-8 is rejected whole and reported as
//! [`Framed::NotUtf8`] rather than decoded lossily: shelf devices speak ASCII, so invalid bytes
//! mean line noise (wrong baud rate, a glitch on plug-in), and a lossy line would only reach a
//! parser to be rejected there under a less precise name.

/// Default longest line in bytes (without its line end); SICS lines are about 20 bytes.
pub const DEFAULT_MAX_LINE: usize = 256;

/// One outcome of framing: a line, or a line that was thrown away and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// A complete, non-empty line without its line end.
    Line(String),
    /// A line longer than the bound; `len` is how many bytes it had before its line end.
    Overlong {
        /// Bytes discarded (the line's full length).
        len: usize,
    },
    /// A line of bounded length that is not valid UTF-8.
    NotUtf8 {
        /// Length of the rejected line in bytes.
        len: usize,
    },
}

/// Running totals of what the framer produced, for device health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FramerCounters {
    /// Lines delivered.
    pub lines: u64,
    /// Overlong lines discarded.
    pub overlong: u64,
    /// Lines rejected as not UTF-8.
    pub not_utf8: u64,
}

/// Bytes in, complete lines out; never allocates more than its line bound.
#[derive(Debug, Clone)]
pub struct LineFramer {
    max_line: usize,
    buf: Vec<u8>,
    /// Bytes seen in the current line while discarding it (`Some` once it went over the bound).
    discarding: Option<usize>,
    counters: FramerCounters,
}

impl Default for LineFramer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl LineFramer {
    /// A framer that accepts lines of up to `max_line` bytes (at least 1).
    pub fn new(max_line: usize) -> Self {
        let max_line = max_line.max(1);
        Self {
            max_line,
            buf: Vec::with_capacity(max_line.min(4096)),
            discarding: None,
            counters: FramerCounters::default(),
        }
    }

    /// The longest line accepted, in bytes.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Totals since the framer was created.
    pub fn counters(&self) -> FramerCounters {
        self.counters
    }

    /// Drops a partial line, e.g. after the port was reopened, so that bytes from before an
    /// unplug never join bytes from after it.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.discarding = None;
    }

    /// Feeds bytes and hands every completed outcome to `sink`, in order.
    pub fn push_with(&mut self, bytes: &[u8], mut sink: impl FnMut(Framed)) {
        for &b in bytes {
            if b == b'\n' || b == b'\r' {
                if let Some(outcome) = self.end_line() {
                    sink(outcome);
                }
            } else if let Some(seen) = self.discarding.as_mut() {
                *seen = seen.saturating_add(1);
            } else if self.buf.len() == self.max_line {
                self.discarding = Some(self.buf.len() + 1);
                self.buf.clear();
            } else {
                self.buf.push(b);
            }
        }
    }

    /// Feeds bytes and returns the completed outcomes, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Framed> {
        let mut out = Vec::new();
        self.push_with(bytes, |f| out.push(f));
        out
    }

    fn end_line(&mut self) -> Option<Framed> {
        if let Some(len) = self.discarding.take() {
            self.counters.overlong += 1;
            return Some(Framed::Overlong { len });
        }
        if self.buf.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.buf);
        self.buf.reserve(self.max_line.min(4096));
        match String::from_utf8(bytes) {
            Ok(line) => {
                self.counters.lines += 1;
                Some(Framed::Line(line))
            }
            Err(e) => {
                self.counters.not_utf8 += 1;
                Some(Framed::NotUtf8 {
                    len: e.as_bytes().len(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(s: &str) -> Framed {
        Framed::Line(s.to_owned())
    }

    #[test]
    fn cr_lf_and_crlf_all_end_lines() {
        let mut f = LineFramer::default();
        assert_eq!(
            f.push(b"a\nb\rc\r\nd"),
            vec![line("a"), line("b"), line("c")]
        );
        assert_eq!(f.push(b"\r\n"), vec![line("d")]);
        assert_eq!(f.counters().lines, 4);
    }

    #[test]
    fn crlf_split_across_reads_gives_one_line() {
        let mut f = LineFramer::default();
        assert_eq!(f.push(b"S S 1 g\r"), vec![line("S S 1 g")]);
        assert_eq!(f.push(b"\n"), vec![]);
    }

    #[test]
    fn empty_lines_are_skipped_and_partial_lines_wait() {
        let mut f = LineFramer::default();
        assert_eq!(f.push(b"\n\r\n\r\r\nab"), vec![]);
        assert_eq!(f.push(b"c\n"), vec![line("abc")]);
    }

    #[test]
    fn overlong_line_is_discarded_once_and_framer_resynchronises() {
        let mut f = LineFramer::new(4);
        assert_eq!(f.push(b"abcd\n"), vec![line("abcd")]);
        assert_eq!(f.push(b"abcdefgh"), vec![], "nothing until the line ends");
        assert_eq!(
            f.push(b"ij\r\nok\n"),
            vec![Framed::Overlong { len: 10 }, line("ok")]
        );
        assert_eq!(f.counters().overlong, 1);
        assert_eq!(f.counters().lines, 2);
    }

    #[test]
    fn invalid_utf8_is_rejected_and_counted_not_decoded() {
        let mut f = LineFramer::default();
        assert_eq!(
            f.push(b"\xff\xfe\x80\nchiller-1=3.5\n"),
            vec![Framed::NotUtf8 { len: 3 }, line("chiller-1=3.5")]
        );
        assert_eq!(f.counters().not_utf8, 1);
        // Valid non-ASCII UTF-8 is passed on; the parsers decide.
        assert_eq!(f.push("kühl=4\n".as_bytes()), vec![line("kühl=4")]);
    }

    #[test]
    fn reset_drops_the_partial_line() {
        let mut f = LineFramer::new(4);
        f.push(b"S S 12");
        f.reset();
        assert_eq!(f.push(b"ok\n"), vec![line("ok")]);
        f.push(b"toolongline");
        f.reset();
        assert_eq!(f.push(b"ok\n"), vec![line("ok")]);
    }

    proptest! {
        #[test]
        fn chunking_never_changes_the_outcome(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            cuts in proptest::collection::vec(0usize..600, 0..8),
            max in 1usize..40,
        ) {
            let mut whole = LineFramer::new(max);
            let expected = whole.push(&bytes);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut pieces = LineFramer::new(max);
            let mut got = Vec::new();
            let mut start = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                got.extend(pieces.push(&bytes[start..c]));
                start = c;
            }
            prop_assert_eq!(got, expected);
            prop_assert_eq!(pieces.counters(), whole.counters());
        }

        #[test]
        fn lines_are_bounded_and_never_contain_line_ends(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            max in 1usize..40,
        ) {
            let mut f = LineFramer::new(max);
            for out in f.push(&bytes) {
                match out {
                    Framed::Line(l) => {
                        prop_assert!(!l.is_empty() && l.len() <= max);
                        prop_assert!(!l.contains('\n') && !l.contains('\r'));
                    }
                    Framed::Overlong { len } => prop_assert!(len > max),
                    Framed::NotUtf8 { len } => prop_assert!(len >= 1 && len <= max),
                }
            }
        }

        #[test]
        fn a_good_line_after_garbage_always_comes_through(
            garbage in proptest::collection::vec(any::<u8>(), 0..300),
            line_text in "[ -~]{1,20}",
        ) {
            let mut f = LineFramer::new(32);
            let mut bytes = garbage;
            bytes.extend_from_slice(b"\n");
            bytes.extend_from_slice(line_text.as_bytes());
            bytes.extend_from_slice(b"\r\n");
            let out = f.push(&bytes);
            prop_assert_eq!(out.last(), Some(&Framed::Line(line_text)));
        }
    }
}
