//! A revision file's lines as it is read, normalised as
//! [`crate::model::checksum::normalise`] normalises a whole text: a leading
//! byte-order mark dropped, and `\r\n`, a lone `\r` and `\n` each ending a
//! line. Each line comes with the byte offset in the file where it starts,
//! so a section can be found in the file again without keeping its text.

use std::io::BufRead;

const BOM: &[u8] = b"\xef\xbb\xbf";

#[derive(Debug)]
pub(super) enum Error {
    Io(std::io::Error),
    /// The line (from 1) that is not UTF-8.
    NotUtf8 {
        line: usize,
    },
}

/// Calls `each(line, offset)` for every line, the last one included even
/// when empty (as `text.split('\n')` does on the normalised text), and
/// returns the number of bytes read.
pub(super) fn for_each(reader: &mut impl BufRead, mut each: impl FnMut(&str, u64)) -> Result<u64, Error> {
    let mut buffer = Vec::new();
    let mut read: u64 = 0;
    let mut number = 0;
    // An empty file is one empty line; a file ending in a line break has an
    // empty last line after it.
    let mut ended_by_break = true;
    loop {
        buffer.clear();
        let n = reader.read_until(b'\n', &mut buffer).map_err(Error::Io)?;
        if n == 0 {
            break;
        }
        let mut rest: &[u8] = &buffer;
        let mut offset = read;
        if read == 0 && rest.starts_with(BOM) {
            rest = &rest[BOM.len()..];
            offset += BOM.len() as u64;
        }
        read += n as u64;
        // `read_until` stops after a `\n`, so a chunk holds one line, or
        // several ended by lone `\r`s, and a `\r\n` is never cut in two.
        loop {
            let end = rest.iter().position(|&b| b == b'\r' || b == b'\n');
            let line = &rest[..end.unwrap_or(rest.len())];
            number += 1;
            each(std::str::from_utf8(line).map_err(|_| Error::NotUtf8 { line: number })?, offset);
            let Some(end) = end else {
                ended_by_break = false;
                break;
            };
            let width = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
            offset += (end + width) as u64;
            rest = &rest[end + width..];
            if rest.is_empty() {
                ended_by_break = true;
                break;
            }
        }
    }
    if ended_by_break {
        each("", read);
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checksum::normalise;

    fn lines(bytes: &[u8]) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for_each(&mut &bytes[..], |line, offset| out.push((line.to_string(), offset))).expect("lines");
        out
    }

    #[test]
    fn the_lines_are_those_of_the_normalised_text_with_their_offsets_in_the_file() {
        for text in ["", "a", "a\n", "a\r\nb", "\u{feff}a\rb\r\n\r\nc\n", "a\r", "\n\n", "é\r\nü"] {
            let expected: Vec<String> = normalise(text).split('\n').map(str::to_string).collect();
            let got = lines(text.as_bytes());
            let texts: Vec<String> = got.iter().map(|(line, _)| line.clone()).collect();
            assert_eq!(texts, expected, "{text:?}");
            for (line, offset) in got {
                let offset = usize::try_from(offset).expect("offset");
                assert!(text.as_bytes()[offset..].starts_with(line.as_bytes()), "{text:?} {line:?} {offset}");
            }
        }
    }

    #[test]
    fn a_line_that_is_not_utf8_is_named() {
        let error = for_each(&mut &b"a\nb\xff\n"[..], |_, _| {}).expect_err("not UTF-8");
        assert!(matches!(error, Error::NotUtf8 { line: 2 }), "{error:?}");
    }
}
