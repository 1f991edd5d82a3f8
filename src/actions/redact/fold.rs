//! Full-width and space folding: the view of a text that detectors scan.
//!
//! Chinese input methods type digits, letters and punctuation as full-width
//! forms (`１３８００１３８０００`, `ｐａｓｓｗｏｒｄ＝…`, `电话：…`), and copied
//! numbers often carry non-breaking or ideographic spaces. Detectors only
//! know ASCII, so before scanning, each such character is replaced by its
//! ASCII form and a sparse offset map remembers where every folded byte came
//! from. Hits found in the folded view are mapped back, so the output keeps
//! the original characters around each hit untouched.
//!
//! Folded: U+FF01–U+FF5E (full-width ASCII) to U+0021–U+007E, except the
//! sentence punctuation `，！？；`, which ends a hit either way; U+3000
//! (ideographic space), U+00A0, U+2007, U+2009, U+202F (no-break and thin
//! spaces) to a space; U+2010–U+2012, U+2212 (hyphens and minus) to `-`.

/// A text folded to ASCII where it matters, with the offsets to map back.
#[derive(Debug, Default)]
pub(super) struct Folded {
    /// The folded bytes (valid UTF-8: ASCII replaces whole characters).
    pub(super) bytes: Vec<u8>,
    /// `(folded offset, original - folded)` at every point after which the
    /// difference between the two offsets changes; sorted by offset.
    shifts: Vec<(usize, usize)>,
}

impl Folded {
    pub(super) const fn new() -> Self {
        Self { bytes: Vec::new(), shifts: Vec::new() }
    }

    /// Folds `text` into `self`; `leads` are the ascending positions of the
    /// lead bytes `0xC2`, `0xE2`, `0xE3`, `0xEF` in `text` (from the byte
    /// map), the only places a foldable character can start. Returns
    /// `false` (and leaves `self` unspecified) when nothing in `text` needs
    /// folding, so the caller can scan the original bytes directly.
    pub(super) fn fold(&mut self, text: &[u8], leads: impl Iterator<Item = usize>) -> bool {
        self.bytes.clear();
        self.shifts.clear();
        let mut copied = 0;
        for at in leads {
            if at < copied {
                continue;
            }
            if let Some((ascii, width)) = folded_char(text, at) {
                self.bytes.extend_from_slice(text.get(copied..at).unwrap_or_default());
                self.bytes.push(ascii);
                copied = at + width;
                self.shifts.push((self.bytes.len(), copied - self.bytes.len()));
            }
        }
        if self.shifts.is_empty() {
            return false;
        }
        self.bytes.extend_from_slice(text.get(copied..).unwrap_or_default());
        true
    }

    /// The original offset of folded offset `pos` (a character boundary).
    pub(super) fn original(&self, pos: usize) -> usize {
        let idx = self.shifts.partition_point(|&(at, _)| at <= pos);
        match idx.checked_sub(1).and_then(|i| self.shifts.get(i)) {
            Some(&(_, delta)) => pos + delta,
            None => pos,
        }
    }

    /// Gives back memory after a pathological input.
    pub(super) fn trim(&mut self, retained: usize) {
        if self.bytes.capacity() > retained * 8 {
            self.bytes = Vec::new();
        }
        if self.shifts.capacity() > retained {
            self.shifts = Vec::new();
        }
    }
}

/// The ASCII byte the character at `at` folds to, and its UTF-8 width.
fn folded_char(b: &[u8], at: usize) -> Option<(u8, usize)> {
    match *b.get(at..)? {
        // U+00A0 no-break space.
        [0xC2, 0xA0, ..] => Some((b' ', 2)),
        // U+2007 figure space, U+2009 thin space, U+202F narrow no-break space.
        [0xE2, 0x80, 0x87 | 0x89 | 0xAF, ..] => Some((b' ', 3)),
        // U+2010 hyphen, U+2011 non-breaking hyphen, U+2012 figure dash.
        [0xE2, 0x80, 0x90..=0x92, ..] => Some((b'-', 3)),
        // U+2212 minus sign.
        [0xE2, 0x88, 0x92, ..] => Some((b'-', 3)),
        // U+3000 ideographic space.
        [0xE3, 0x80, 0x80, ..] => Some((b' ', 3)),
        // Sentence punctuation (，！？；) already ends every hit as it is;
        // leaving it unfolded spares most Chinese text a copy.
        [0xEF, 0xBC, 0x81 | 0x8C | 0x9B | 0x9F, ..] => None,
        // U+FF01..U+FF3F: EF BC 81..BF -> 0x21..0x5F.
        [0xEF, 0xBC, t @ 0x81..=0xBF, ..] => Some((t - 0x81 + 0x21, 3)),
        // U+FF40..U+FF5E: EF BD 80..9E -> 0x60..0x7E.
        [0xEF, 0xBD, t @ 0x80..=0x9E, ..] => Some((t - 0x80 + 0x60, 3)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(text: &str) -> Option<(String, Folded)> {
        let mut f = Folded::default();
        let b = text.as_bytes();
        let leads = (0..b.len()).filter(|&i| matches!(b[i], 0xC2 | 0xE2 | 0xE3 | 0xEF));
        f.fold(b, leads).then(|| (String::from_utf8(f.bytes.clone()).unwrap(), f))
    }

    #[test]
    fn full_width_forms_fold_to_ascii() {
        let (s, _) = fold("电话：１３８００１３８０００，ｐａｓｓ＝Ｘ＠ｙ").unwrap();
        assert_eq!(s, "电话:13800138000，pass=X@y");
        let (s, _) = fold("a\u{a0}b\u{3000}c\u{202f}d\u{2011}e").unwrap();
        assert_eq!(s, "a b c d-e");
    }

    #[test]
    fn offsets_map_back_to_character_starts() {
        let text = "号１２a\u{a0}b";
        let (s, f) = fold(text).unwrap();
        assert_eq!(s, "号12a b");
        let map: Vec<usize> = (0..=s.len()).map(|p| f.original(p)).collect();
        // 号 (3 bytes) unchanged, １ and ２ fold 3 -> 1, a, NBSP 2 -> 1, b.
        assert_eq!(map, vec![0, 1, 2, 3, 6, 9, 10, 12, 13]);
        assert_eq!(f.original(s.len()), text.len());
    }

    #[test]
    fn text_without_foldable_characters_is_not_copied() {
        assert!(fold("全角逗号，不折叠！").is_none());
        assert!(fold("plain ascii 123").is_none());
        assert!(fold("中文。").is_none());
    }
}
