//! A pair of reads files, read side by side so the names of record *i* are compared as they come
//! (memory: the names of about one chunk), while problems are still reported in §3.3's order:
//! file 1, file 2, the record count, the names.

use std::io::{Read, Write};

use super::fastq::{FastqChecker, NameLog};
use super::gzip::Fault;
use super::lines::Lines;
use super::quality::Quality;
use super::source::{self, Feed, Piece};
use super::{fault_error, CheckError, Invalid, ReadsFile};

/// True when two read names pair (§3.3): equal, or differing only in a final `1` (file 1) and `2`
/// (file 2) after `/`, `.`, `_` or `;`.
pub fn names_pair(first: &[u8], second: &[u8]) -> bool {
    if first == second {
        return true;
    }
    match (first.split_last(), second.split_last()) {
        (Some((b'1', stem)), Some((b'2', other))) => {
            stem == other && matches!(stem.last(), Some(b'/' | b'.' | b'_' | b';'))
        }
        _ => false,
    }
}

/// One file of the pair as it is being read.
struct Side<'a> {
    name: &'a str,
    feed: Feed,
    lines: Lines,
    checker: FastqChecker<'a>,
    state: State,
}

enum State {
    Reading,
    Done,
    Failed(CheckError),
}

impl Side<'_> {
    fn reading(&self) -> bool {
        matches!(self.state, State::Reading)
    }

    fn pending_names(&self) -> usize {
        self.checker.names.as_ref().map_or(0, NameLog::len)
    }

    /// Checks the lines of the next piece of input.
    fn advance(&mut self) {
        let checker = &mut self.checker;
        let outcome = match self.feed.next() {
            Piece::Data(buffer, len) => {
                let fed = self.lines.feed(&buffer[..len], |line| checker.line(line));
                self.feed.recycle(buffer);
                match fed {
                    Ok(()) => return,
                    Err(invalid) => Err(invalid.into()),
                }
            }
            Piece::End => match self.lines.unterminated() {
                Some(last) => checker.line(last).and_then(|()| checker.finish()),
                None => checker.finish(),
            }
            .map_err(CheckError::from),
            Piece::Corrupt => Err(fault_error(Fault::Corrupt, self.name, Invalid::reads)),
            Piece::Failed(error) => Err(CheckError::Io(error)),
        };
        self.state = match outcome {
            Ok(()) => State::Done,
            Err(error) => State::Failed(error),
        };
    }

    fn stop_naming(&mut self) {
        self.checker.names = None;
    }
}

/// The first record whose names do not pair.
struct Mismatch {
    record: u64,
    first: String,
    second: String,
}

pub(super) fn check<R, W>(
    first: ReadsFile<'_, R, W>,
    second: ReadsFile<'_, R, W>,
) -> Result<[Quality; 2], CheckError>
where
    R: Read + Send,
    W: Write + Send,
{
    std::thread::scope(|scope| {
        let mut sides = [first, second].map(|file| {
            let mut checker = FastqChecker::new(file.name);
            checker.names = Some(NameLog::default());
            Side {
                name: file.name,
                feed: source::spawn(scope, file.input, file.keep, file.stored),
                lines: Lines::default(),
                checker,
                state: State::Reading,
            }
        });
        let mut compared = 0u64;
        let mut mismatch = None;
        let mut turn = 0;
        loop {
            let [one, two] = &mut sides;
            if let State::Failed(_) = two.state {
                // File 2 has failed; its problem counts only if file 1 has none.
                two.stop_naming();
                one.stop_naming();
            }
            let next = match (one.reading(), two.reading()) {
                (false, false) => break,
                (true, false) => 0,
                (false, true) => 1,
                // Keep the two name logs level; without names, take turns.
                (true, true) if one.checker.names.is_some() => {
                    usize::from(one.pending_names() > two.pending_names())
                }
                (true, true) => {
                    turn ^= 1;
                    turn
                }
            };
            sides[next].advance();
            let [one, two] = &mut sides;
            if let State::Failed(_) = one.state {
                break;
            }
            compare_names(one, two, &mut compared, &mut mismatch);
        }
        let [one, two] = sides;
        if let State::Failed(error) = one.state {
            return Err(error);
        }
        if let State::Failed(error) = two.state {
            return Err(error);
        }
        let [count_1, count_2] = [&one, &two].map(|side| side.checker.counts().records());
        if count_1 != count_2 {
            return Err(Invalid::reads(format!(
                "the files hold different numbers of reads: {count_1} in {}, {count_2} in {}",
                one.name, two.name
            ))
            .into());
        }
        if let Some(m) = mismatch {
            return Err(Invalid::reads(format!(
                r#"the reads of record {} do not pair: "{}" in {}, "{}" in {}"#,
                m.record, m.first, one.name, m.second, two.name
            ))
            .into());
        }
        Ok([one, two].map(|side| side.checker.into_counts().finish()))
    })
}

/// Compares the names both logs hold; after the first mismatch, or once one file has ended with
/// nothing left to compare, names are no longer collected.
fn compare_names(
    one: &mut Side<'_>,
    two: &mut Side<'_>,
    compared: &mut u64,
    mismatch: &mut Option<Mismatch>,
) {
    let (Some(left), Some(right)) = (&mut one.checker.names, &mut two.checker.names) else {
        return;
    };
    let level = left.len().min(right.len());
    if let Some(i) = (0..level).find(|&i| !names_pair(left.get(i), right.get(i))) {
        *mismatch = Some(Mismatch {
            record: *compared + i as u64 + 1,
            first: String::from_utf8_lossy(left.get(i)).into_owned(),
            second: String::from_utf8_lossy(right.get(i)).into_owned(),
        });
        one.stop_naming();
        two.stop_naming();
        return;
    }
    left.take(level);
    right.take(level);
    *compared += level as u64;
    let ended_unmatched = |side: &Side<'_>| !side.reading() && side.pending_names() == 0;
    if ended_unmatched(one) || ended_unmatched(two) {
        // The counts differ from here on, which ranks before any name.
        one.stop_naming();
        two.stop_naming();
    }
}
